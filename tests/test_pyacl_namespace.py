"""What a program sees when it looks inside the pyACL image: ``dir(acl)``, ``dir(acl.mdl)``, ...

Real pyACL is a C extension: its modules list their calls and nothing else. Programs and
notebooks print ``dir(acl.mdl)`` to find a call, and a few probe with ``"name" in dir(...)``
to pick a code path, so the image must list every call it has (the desc-from-file calls were
missing from the list) and none of its own imports and helpers (``text``, ``view_of``,
``Region``, ``Any``, ``os``).
"""

from __future__ import annotations

import inspect

import pytest

#: Names of the image's internals that a program must not find listed.
INTERNALS = {
    "": {"text", "signed", "unsigned", "os", "struct", "logging", "Any", "AclError", "tensors", "reports",
         "takes_no_arguments"},
    "mdl": {"text", "uint32", "unsigned", "view_of", "Desc", "os", "Any", "mdl_config", "takes_no_arguments"},
    "rt": {"signed", "unsigned", "uint32", "ACL_HOST", "DEVICE", "AclError", "takes_no_arguments"},
    "util": {"Region", "unsigned", "ctypes", "warnings"},
}


def _module(acl, name: str):
    return getattr(acl, name) if name else acl


@pytest.mark.parametrize("name", sorted(INTERNALS))
def test_dir_lists_calls_not_internals(env, name):
    acl, _session = env
    module = _module(acl, name)
    listed = set(dir(module))
    assert not listed & INTERNALS[name]
    assert all(not n.startswith("_") for n in listed)
    for call in listed:  # everything listed is there and is a call or one of pyACL's modules
        value = getattr(module, call)
        assert callable(value) or inspect.ismodule(value), call


@pytest.mark.parametrize("name", sorted(INTERNALS))
def test_dir_lists_every_call_the_image_answers(env, name):
    """Every function of the image that takes a program's call is listed: a public function
    of the module that is not one of its helpers is pyACL's."""
    acl, _session = env
    module = _module(acl, name)
    listed = set(dir(module))
    functions = {n for n, v in vars(module).items()
                 if not n.startswith("_") and inspect.isfunction(v) and n not in INTERNALS[name]}
    assert functions - listed == set()


def test_the_desc_calls_and_submodules_are_listed(env):
    acl, _session = env
    assert {"get_desc_from_file", "get_desc_from_mem", "get_desc", "load_from_mem"} <= set(dir(acl.mdl))
    assert {"mdl", "rt", "util", "init", "finalize"} <= set(dir(acl))
    assert "device_get_stream_priority_range" in dir(acl.rt)
