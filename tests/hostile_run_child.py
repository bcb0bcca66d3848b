"""Runs hostile graphs (`hostile.GRAPH_CASES`) through `acl.reference`, a simulator run,
`acl.compare` and a pyACL execute inside an address-space limit, one JSON line per run.

usage: python hostile_run_child.py LIMIT_MIB CASE [CASE ...]

Run by tests/test_hostile_run.py in a child process: under the limit, an allocation the
reference should have refused is a MemoryError here instead of paging the test machine out.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from hostile import GRAPH_CASES  # noqa: E402

import acl_notebook as acl  # noqa: E402


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


def _inputs(tensors) -> list:
    return [np.ones([max(d, 1) for d in t.dims], t.numpy_dtype) for t in tensors]


def _outcome(fn) -> dict:
    t0 = time.perf_counter()
    try:
        out = fn()
    except BaseException as exc:  # everything is reported, so the parent sees what escaped
        return {"raised": type(exc).__name__, "message": str(exc), "seconds": time.perf_counter() - t0}
    return {"fidelity": getattr(out, "fidelity", None), "notes": list(getattr(out, "notes", ()) or ()),
            "value": getattr(out, "value", None), "seconds": time.perf_counter() - t0}


def _pyacl(data: bytes):
    """aclmdlLoadFromMem, one execute of ones, through the pyACL image: the return codes."""
    import acl as pyacl_image

    ptr = pyacl_image.util.bytes_to_ptr(data)
    model_id, ret = pyacl_image.mdl.load_from_mem(ptr, len(data))
    assert ret == 0, ret
    desc = pyacl_image.mdl.create_desc()
    assert pyacl_image.mdl.get_desc(desc, model_id) == 0
    sets = []
    for count, size_of in ((pyacl_image.mdl.get_num_inputs(desc), pyacl_image.mdl.get_input_size_by_index),
                           (pyacl_image.mdl.get_num_outputs(desc), pyacl_image.mdl.get_output_size_by_index)):
        dataset = pyacl_image.mdl.create_dataset()
        for i in range(count):
            size = size_of(desc, i)
            dev, ret = pyacl_image.rt.malloc(size, 0)
            assert ret == 0, ret
            host = np.ones(size, np.uint8)
            assert pyacl_image.rt.memcpy(dev, size, host.ctypes.data, size, 1) == 0
            pyacl_image.mdl.add_dataset_buffer(dataset, pyacl_image.create_data_buffer(dev, size))
        sets.append(dataset)
    ret = pyacl_image.mdl.execute(model_id, sets[0], sets[1])
    pyacl_image.mdl.unload(model_id)

    class Code:
        value = ret

    return Code()


def main() -> None:
    limit_mib, names = int(sys.argv[1]), sys.argv[2:]
    built = {name: GRAPH_CASES[name]() for name in names}
    acl.configure(backend="sim")
    from acl_notebook import pyacl

    pyacl.install(force=True)
    import acl as pyacl_image

    assert pyacl_image.init() == 0 and pyacl_image.rt.set_device(0) == 0
    limit = _vm_bytes() + (limit_mib << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for name, data in built.items():
        print(json.dumps(_case(name, data)), flush=True)


def _case(name: str, data: bytes) -> dict:
    report: dict = {"case": name}
    info = acl.inspect(data)
    report["reference"] = _outcome(lambda: acl.reference(data, _inputs(info.inputs)))
    model = acl.load(data, force=True)
    try:
        report["run"] = _outcome(lambda: model.run(_inputs(model.inputs)))
        report["compare"] = _outcome(lambda: acl.compare(model, _inputs(model.inputs)))
    finally:
        acl.unload(model)
    report["pyacl"] = _outcome(lambda: _pyacl(data))
    report["models_left"] = len(acl.models())
    report["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    return report

if __name__ == "__main__":
    main()
