"""Finding libascendcl.so: search order, stub rejection, overrides, and the not-found report.

Everything runs in temporary CANN-shaped trees with the environment and the install roots
replaced, so the machine's own set-up never leaks in. `find_library` must not load what it
finds, so most trees hold empty placeholder files.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import pytest
from abi_lib import build_fake_acl

from acl_notebook.runtime import library
from acl_notebook.runtime.errors import FunctionNotFoundError, LibraryNotFoundError
from acl_notebook.runtime.library import find_library, function, load_library, locate
from acl_notebook.runtime.prototypes import PROTOTYPES

LIB = "libascendcl.so"
ENV_VARS = ("ACL_NOTEBOOK_LIBRARY", "ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "LD_LIBRARY_PATH")


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No ACL variables, install roots under tmp, HOME under tmp."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    roots = (
        str(tmp_path / "usr/local/Ascend/ascend-toolkit/latest"),
        "~/Ascend/ascend-toolkit/latest",
        str(tmp_path / "usr/local/Ascend/nnrt/latest"),
        str(tmp_path / "usr/local/Ascend/cann*/latest"),
    )
    monkeypatch.setattr(library, "INSTALL_ROOTS", roots)
    return tmp_path


def put(path: Path, content: bytes = b"") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def test_nothing_anywhere_gives_none_and_a_report_of_every_place(clean, monkeypatch):
    monkeypatch.setenv("ASCEND_HOME_PATH", str(clean / "missing-root"))
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{clean / 'ld1'}:{clean / 'ld2'}")
    (clean / "ld1").mkdir()
    assert find_library() is None
    with pytest.raises(LibraryNotFoundError) as info:
        locate()
    text = str(info.value)
    for fragment in (
        f"{clean / 'missing-root'} ($ASCEND_HOME_PATH): directory does not exist",
        f"{clean / 'ld1' / LIB} ($LD_LIBRARY_PATH): not there",
        f"{clean / 'ld2' / LIB} ($LD_LIBRARY_PATH)",
        "usr/local/Ascend/ascend-toolkit/latest (install root): directory does not exist",
        "cann*/latest (install root): no match",
        "set_env.sh",
        "library=",
        "ACL_NOTEBOOK_LIBRARY",
    ):
        assert fragment in text, fragment
    # listed in search order
    assert text.index("$ASCEND_HOME_PATH") < text.index("$LD_LIBRARY_PATH") < text.index("install root")


def test_search_order(clean, monkeypatch):
    home_root, toolkit_root = clean / "home_path", clean / "toolkit_home"
    ld_dir, install = clean / "ld", clean / "usr/local/Ascend/ascend-toolkit/latest"
    found = [
        put(home_root / "lib64" / LIB),
        put(toolkit_root / "lib64" / LIB),
        put(ld_dir / LIB),
        put(install / "lib64" / LIB),
    ]
    monkeypatch.setenv("ASCEND_HOME_PATH", str(home_root))
    monkeypatch.setenv("ASCEND_TOOLKIT_HOME", str(toolkit_root))
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{clean / 'nowhere'}:{ld_dir}")
    for expected in found:
        assert find_library() == expected
        os.remove(expected)
    assert find_library() is None


def test_layouts_under_a_root_in_order(clean):
    root = clean / "usr/local/Ascend/ascend-toolkit/latest"
    layouts = ["lib64", "runtime/lib64", "acllib/lib64", f"{os.uname().machine}-linux/lib64"]
    paths = [put(root / sub / LIB) for sub in layouts]
    for expected in paths:
        assert find_library() == expected
        os.remove(expected)


def test_user_install_and_versioned_cann_roots(clean):
    user = put(clean / "home/Ascend/ascend-toolkit/latest/lib64" / LIB)
    older = put(clean / "usr/local/Ascend/cann-8.0/latest/lib64" / LIB)
    newer = put(clean / "usr/local/Ascend/cann-8.5/latest/lib64" / LIB)
    assert find_library() == user
    os.remove(user)
    assert find_library() == newer  # newest name first
    os.remove(newer)
    assert find_library() == older


def test_stub_and_devlib_are_never_chosen(clean, monkeypatch):
    root = clean / "toolkit"
    stub = put(root / "runtime/lib64/stub" / LIB)
    devlib = put(clean / "ld" / "devlib" / LIB)
    monkeypatch.setenv("ASCEND_HOME_PATH", str(root))
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{root / 'runtime/lib64/stub'}:{clean / 'ld' / 'devlib'}")
    assert find_library() is None
    with pytest.raises(LibraryNotFoundError) as info:
        locate()
    text = str(info.value)
    assert f"{stub} ($LD_LIBRARY_PATH): skipped, a link-time stub library" in text
    assert f"{devlib} ($LD_LIBRARY_PATH): skipped, a link-time devlib library" in text
    assert "Only compile-time stub libraries were found" in text
    real = put(root / "lib64" / LIB)  # a real one beside the stub wins
    assert find_library() == real


def test_a_symlink_into_a_stub_directory_is_rejected(clean, monkeypatch):
    stub = put(clean / "toolkit/lib64/stub" / LIB)
    link = clean / "toolkit/lib64" / LIB
    link.symlink_to(stub)
    monkeypatch.setenv("ASCEND_HOME_PATH", str(clean / "toolkit"))
    assert find_library() is None
    with pytest.raises(LibraryNotFoundError, match="refusing to load"):
        load_library(str(link))


def test_explicit_path_wins_and_is_the_only_candidate(clean, monkeypatch):
    monkeypatch.setenv("ASCEND_HOME_PATH", str(clean / "toolkit"))
    put(clean / "toolkit/lib64" / LIB)
    mine = put(clean / "mine" / "custom-acl.so")
    assert find_library(mine) == mine
    assert find_library(str(clean / "mine")) is None  # a directory means <dir>/libascendcl.so
    put(clean / "mine" / LIB)
    assert find_library(str(clean / "mine")) == str(clean / "mine" / LIB)
    with pytest.raises(LibraryNotFoundError) as info:
        locate(str(clean / "typo.so"))  # not silently replaced by the toolkit's copy
    assert f"{clean / 'typo.so'} (library= argument): not there" in str(info.value)
    assert str(clean / "toolkit") not in str(info.value)


def test_env_override(clean, monkeypatch):
    monkeypatch.setenv("ASCEND_HOME_PATH", str(clean / "toolkit"))
    toolkit = put(clean / "toolkit/lib64" / LIB)
    override = put(clean / "override" / LIB)
    monkeypatch.setenv("ACL_NOTEBOOK_LIBRARY", override)
    assert find_library() == override
    monkeypatch.setenv("ACL_NOTEBOOK_LIBRARY", str(clean / "override"))  # a directory works too
    assert find_library() == override
    explicit = put(clean / "explicit" / LIB)
    assert find_library(explicit) == explicit  # the argument beats the variable
    monkeypatch.setenv("ACL_NOTEBOOK_LIBRARY", str(clean / "gone.so"))
    assert find_library() is None
    with pytest.raises(LibraryNotFoundError, match=r"gone\.so \(\$ACL_NOTEBOOK_LIBRARY\): not there"):
        locate()
    monkeypatch.delenv("ACL_NOTEBOOK_LIBRARY")
    assert find_library() == toolkit


def test_find_library_does_not_load(clean, monkeypatch):
    garbage = put(clean / "toolkit/lib64" / LIB, b"this is not an ELF file")
    monkeypatch.setenv("ASCEND_HOME_PATH", str(clean / "toolkit"))
    assert find_library() == garbage  # no dlopen, so no error yet
    with pytest.raises(LibraryNotFoundError) as info:
        load_library(garbage)
    assert "could not be loaded" in str(info.value) and "LD_LIBRARY_PATH" in str(info.value)


@pytest.fixture(scope="module")
def fake_libs(tmp_path_factory):
    return (
        build_fake_acl(tmp_path_factory.mktemp("fakeacl")),
        build_fake_acl(tmp_path_factory.mktemp("fakeacl-old"), "old"),
    )


def test_load_library_is_cached_per_resolved_path_and_thread_safe(fake_libs, tmp_path):
    current, _old = fake_libs
    link = tmp_path / "link.so"
    link.symlink_to(current)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(load_library(str(current)))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert load_library(str(link)) is results[0]


def test_function_applies_prototypes_and_resolves_lazily(fake_libs):
    current, old = fake_libs
    lib = load_library(str(current))
    fn = function(lib, "aclmdlGetInputDims")
    proto = PROTOTYPES["aclmdlGetInputDims"]
    assert fn.restype is proto.restype and tuple(fn.argtypes) == proto.argtypes
    assert function(lib, "aclmdlGetInputDims") is fn  # cached
    old_lib = load_library(str(old))  # loading the old build succeeds ...
    assert function(old_lib, "aclmdlLoadFromMem")
    with pytest.raises(FunctionNotFoundError) as info:  # ... and only the missing symbol fails
        function(old_lib, "aclmdlLoadWithConfig")
    text = str(info.value)
    assert "aclmdlLoadWithConfig" in text and "your CANN is too old for loading with a config handle" in text
    assert library.has_function(old_lib, "aclsysGetVersionStr") is False
    assert library.has_function(lib, "aclsysGetVersionStr") is True
    with pytest.raises(KeyError, match="no prototype"):
        function(lib, "aclrtMemcpy2d")


def test_prototypes_are_real_ctypes_types():
    for name, proto in PROTOTYPES.items():
        assert proto.feature, name
        for arg in proto.argtypes:
            # a C function pointer (aclrtCallback) is a CFUNCTYPE, ctypes' own type for one
            assert isinstance(arg, type) and issubclass(arg, (ctypes._SimpleCData, ctypes._Pointer,
                                                              ctypes._CFuncPtr)), (name, arg)
