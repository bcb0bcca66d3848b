"""Arguments of the wrong type or an absurd value, the way real programs get them wrong: each is a
TypeError (what pyACL's C extension raises for what it cannot parse), an ACL code, or the clear
ValueError the image documents, never an OverflowError or numpy's own message about a buffer
the program never passed, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from pyacl_helpers import run_program, two_input_spec

from acl_notebook.om.writer import write_om

NPY_UINT8, NPY_FLOAT32 = 2, 11


@pytest.fixture
def acl(env_with_device):
    return env_with_device[0]


def test_float_to_float16_saturates_to_infinity_like_a_c_conversion(acl):
    assert acl.float_to_float16(1.0) == 0x3C00
    assert acl.float_to_float16(65504.0) == 0x7BFF  # the largest float16
    for big in (1e6, 2**64, 2**31, 10**30):
        assert acl.float_to_float16(big) == 0x7C00 == int(np.float16(np.inf).view(np.uint16))
        assert acl.float_to_float16(-big) == 0xFC00
    assert acl.float16_to_float(acl.float_to_float16(1e9)) == float("inf")
    with pytest.raises(TypeError):
        acl.float_to_float16("1.0")


def test_ptr_to_numpy_takes_a_shape_of_ints_and_says_what_is_wrong_with_another(acl):
    host = np.arange(16, dtype=np.float32)
    ptr = host.ctypes.data
    assert acl.util.ptr_to_numpy(ptr, (4, 4), NPY_FLOAT32).tolist() == host.reshape(4, 4).tolist()
    assert acl.util.ptr_to_numpy(ptr, [16], NPY_FLOAT32).shape == (16,)
    assert acl.util.ptr_to_numpy(ptr, np.int64(8), NPY_FLOAT32).shape == (8,)  # one int (numpy's index types too)
    assert acl.util.ptr_to_numpy(ptr, (0,), NPY_FLOAT32).shape == (0,)
    for shape in ("7", 1.5, None, (2.0, 2), (b"",), float("nan")):
        with pytest.raises(TypeError, match="shape must be a tuple of ints"):
            acl.util.ptr_to_numpy(ptr, shape, NPY_FLOAT32)
    for shape in ((-1,), (4, -4), -2**40, (2**64 - 1,)):
        with pytest.raises(ValueError, match="negative dimensions" if shape != (2**64 - 1,) else "more than any"):
            acl.util.ptr_to_numpy(ptr, shape, NPY_UINT8)
    for shape in ((2**64,), (2**62, 4), (10**30,)):
        with pytest.raises(ValueError, match="more than any array can address"):
            acl.util.ptr_to_numpy(ptr, shape, NPY_FLOAT32)
    assert host.tolist() == list(range(16))  # nothing was written


def test_get_input_dynamic_dims_never_builds_a_list_of_a_huge_gear_count(acl):
    """gear_count is a size_t: 2**32 made a list of 2**32 dicts (32 GiB of pointers before a
    MemoryError, or the kernel killed for memory); past ACL_MAX_SHAPE_COUNT it is 100000."""
    om = write_om(two_input_spec())
    model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))
    assert ret == 0
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    count, ret = acl.mdl.get_input_dynamic_gear_count(desc, -1)
    assert (count, ret) == (2, 0)
    gears, ret = acl.mdl.get_input_dynamic_dims(desc, -1, 128)  # extra entries are empty dims, as pyACL's
    assert ret == 0 and len(gears) == 128 and gears[2]["dimCount"] == 0
    for huge in (129, 2**32, 2**64 - 1):
        assert acl.mdl.get_input_dynamic_dims(desc, -1, huge) == ([], 100000)
        assert "ACL_MAX_SHAPE_COUNT" in acl.get_recent_err_msg()
    assert acl.mdl.unload(model_id) == 0


@pytest.mark.parametrize("target, why", [("DIR", "is a directory"), ("/dev/null", "not a regular file"),
                                         ("/nonexistent/x.py", "no such file")])
def test_the_runner_says_why_it_cannot_open_a_script(tmp_path, target, why):
    """A directory was reported as "no such file"."""
    proc = run_program(str(tmp_path) if target == "DIR" else target)
    assert proc.returncode == 2 and f": {why}" in proc.stderr, proc.stderr


def test_set_context_of_null_is_invalid_param_on_both_backends(acl):
    """The simulator said 107017 (an unknown handle) where the C library, like ACL's own argument
    check, says 100000; a made-up context is 107017 on both."""
    assert acl.rt.set_context(0) == 100000
    assert "NULL" in acl.get_recent_err_msg()
    assert acl.rt.set_context(0x1234) == 107017
    ctx, ret = acl.rt.create_context(0)
    assert ret == 0 and acl.rt.set_context(ctx) == 0 and acl.rt.destroy_context(ctx) == 0
