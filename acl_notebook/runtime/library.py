"""Finding and loading libascendcl.so, and resolving its symbols lazily.

Why this shape (the pynvml pattern): `find_library` only looks at the file system, so the
"auto" backend choice stays cheap and never dlopen()s anything; `load_library` opens a
library once per path under a lock; `function` fetches a symbol on first use and applies
its prototype from `prototypes.PROTOTYPES`. A symbol an older CANN lacks therefore fails
only the feature that needs it, with a message that says so, never at import or load.

Search order (first usable file wins):

1. the ``library=`` argument, else ``$ACL_NOTEBOOK_LIBRARY`` (a file or a directory).
   An explicit choice is the only candidate: a wrong one is reported, not silently
   replaced by another install;
2. ``$ASCEND_HOME_PATH`` then ``$ASCEND_TOOLKIT_HOME`` (set by CANN's ``set_env.sh``);
3. each directory on ``$LD_LIBRARY_PATH``;
4. the usual install roots (`INSTALL_ROOTS`).

Under each root we look in `SUBDIRS` (``lib64`` first, then the CANN 6-7, CANN <= 5 and
per-architecture layouts). A path with a ``stub`` or ``devlib`` component (as given or
after resolving symlinks) is a link-time stub whose functions do nothing: it is skipped.
"""

from __future__ import annotations

import ctypes
import glob
import os
import platform
import threading
from dataclasses import dataclass
from typing import Any, Optional

from .errors import FunctionNotFoundError, LibraryNotFoundError
from .prototypes import PROTOTYPES

LIBRARY_NAME = "libascendcl.so"
ENV_LIBRARY = "ACL_NOTEBOOK_LIBRARY"
ENV_ROOTS = ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME")

#: Install roots probed last, in order; globs are expanded newest-name first.
INSTALL_ROOTS: tuple[str, ...] = (
    "/usr/local/Ascend/ascend-toolkit/latest",
    "~/Ascend/ascend-toolkit/latest",
    "/usr/local/Ascend/nnrt/latest",
    "/usr/local/Ascend/nnae/latest",
    "/usr/local/Ascend/cann*/latest",
    "/usr/local/Ascend/cann-*",
)

#: Library directories under a root: current layout, CANN 6-7, CANN <= 5, per-architecture.
SUBDIRS: tuple[str, ...] = ("lib64", "runtime/lib64", "acllib/lib64", f"{platform.machine()}-linux/lib64")

_STUB_PARTS = ("stub", "devlib")

_ADVICE = (
    "What to do: source the CANN environment before starting Python/Jupyter "
    "(e.g. `source /usr/local/Ascend/ascend-toolkit/set_env.sh`), or set "
    f'{ENV_LIBRARY}=/path/to/{LIBRARY_NAME}, or pass library="/path/to/{LIBRARY_NAME}". '
    "Without CANN, use the simulator backend."
)


@dataclass(frozen=True)
class _Place:
    """One place in the search: a root (or explicit path) and the files it offers."""

    source: str  # where the place came from, e.g. "$ASCEND_HOME_PATH"
    root: str  # the directory (or file) as configured
    paths: tuple[str, ...]
    exists: bool = True  # False when the root itself is missing (or a glob matched nothing)


def stub_reason(path: str) -> Optional[str]:
    """Why `path` must not be loaded (a stub/devlib component), or None if it may be."""
    for candidate in (path, os.path.realpath(path)):
        parts = candidate.split(os.sep)
        for part in _STUB_PARTS:
            if part in parts:
                return f"a link-time {part} library (path has a {part!r} component), not the runtime"
    return None


def _under(root: str) -> tuple[str, ...]:
    return tuple(os.path.join(root, sub, LIBRARY_NAME) for sub in SUBDIRS)


def _explicit_place(value: str, source: str) -> _Place:
    path = os.path.expanduser(value)
    if os.path.isdir(path):
        path = os.path.join(path, LIBRARY_NAME)
    return _Place(source, value, (path,))


def search_plan(explicit: Optional[str] = None) -> list[_Place]:
    """The places `find_library` looks, in order (also what the not-found error lists)."""
    if explicit:
        return [_explicit_place(str(explicit), "library= argument")]
    env_value = os.environ.get(ENV_LIBRARY, "").strip()
    if env_value:
        return [_explicit_place(env_value, f"${ENV_LIBRARY}")]
    plan: list[_Place] = []
    for var in ENV_ROOTS:
        root = os.environ.get(var, "").strip()
        if root:
            root = os.path.expanduser(root)
            plan.append(_Place(f"${var}", root, _under(root), os.path.isdir(root)))
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if entry.strip():
            plan.append(_Place("$LD_LIBRARY_PATH", entry, (os.path.join(entry, LIBRARY_NAME),)))
    for pattern in INSTALL_ROOTS:
        expanded = os.path.expanduser(pattern)
        if glob.has_magic(expanded):
            matches = sorted(glob.glob(expanded), reverse=True)
            if not matches:
                plan.append(_Place("install root", pattern, (), False))
            for root in matches:
                plan.append(_Place("install root", root, _under(root)))
        else:
            plan.append(_Place("install root", expanded, _under(expanded), os.path.isdir(expanded)))
    return plan


def find_library(explicit: Optional[str] = None) -> Optional[str]:
    """The first usable libascendcl.so on the search path, or None. Loads nothing."""
    for place in search_plan(explicit):
        if not place.exists:
            continue
        for path in place.paths:
            if os.path.isfile(path) and stub_reason(path) is None:
                return path
    return None


def locate(explicit: Optional[str] = None) -> str:
    """Like `find_library`, but a miss raises `LibraryNotFoundError` listing every place tried."""
    found = find_library(explicit)
    if found is not None:
        return found
    lines, stubs = [], []
    for place in search_plan(explicit):
        if not place.exists:
            what = "no match" if glob.has_magic(place.root) else "directory does not exist"
            lines.append(f"  - {place.root} ({place.source}): {what}")
            continue
        for path in place.paths:
            if not os.path.exists(path):
                status = "not there"
            elif not os.path.isfile(path):
                status = "not a file"
            else:
                status = f"skipped, {stub_reason(path)}"
                stubs.append(path)
            lines.append(f"  - {path} ({place.source}): {status}")
    message = (f"{LIBRARY_NAME} (AscendCL) was not found; the places tried and what to do follow.\n"
               "Places tried, in order:\n" + "\n".join(lines))
    if stubs:
        message += (
            "\nOnly compile-time stub libraries were found; they cannot run models. Install the CANN "
            "runtime (toolkit or nnrt package) and point at its lib64 directory instead."
        )
    raise LibraryNotFoundError(message + "\n" + _ADVICE)


_lock = threading.Lock()
_loaded: dict[str, ctypes.CDLL] = {}
_functions: dict[tuple[int, str], Any] = {}


def load_library(path: str) -> ctypes.CDLL:
    """dlopen() `path` once per process (keyed by its resolved path), under a lock."""
    path = os.path.expanduser(str(path))
    real = os.path.realpath(path)
    with _lock:
        lib = _loaded.get(real)
        if lib is not None:
            return lib
        reason = stub_reason(path)
        if reason is not None:
            raise LibraryNotFoundError(f"refusing to load {path}: it is {reason}.\n{_ADVICE}")
        try:
            lib = ctypes.CDLL(real)
        except OSError as exc:
            raise LibraryNotFoundError(
                f"{path} could not be loaded: {exc}.\nIf a dependency is missing (e.g. libascend_hal.so), "
                "the driver and CANN library directories are not on LD_LIBRARY_PATH: source set_env.sh "
                "in the shell that starts Jupyter (LD_LIBRARY_PATH is read at process start).\n" + _ADVICE
            ) from None
        _loaded[real] = lib
        return lib


def function(lib: ctypes.CDLL, name: str) -> Any:
    """The C function `name` from `lib` with its prototype applied; cached per library.

    Raises `FunctionNotFoundError` (at call time, never at load) when the library lacks the
    symbol, naming the feature an older CANN cannot offer.
    """
    key = (lib._handle, name)
    with _lock:
        fn = _functions.get(key)
        if fn is not None:
            return fn
        proto = PROTOTYPES.get(name)
        if proto is None:
            raise KeyError(f"{name} has no prototype; add it to acl_notebook.runtime.prototypes.PROTOTYPES")
        try:
            fn = lib[name]
        except AttributeError:
            raise FunctionNotFoundError(
                f"{name} is not exported by {lib._name}: your CANN is too old for {proto.feature}. "
                "Upgrade CANN to use this feature; everything else keeps working."
            ) from None
        fn.restype = proto.restype
        fn.argtypes = list(proto.argtypes)
        _functions[key] = fn
        return fn


def has_function(lib: ctypes.CDLL, name: str) -> bool:
    """True if `lib` exports `name` (resolving and caching it as `function` does)."""
    try:
        function(lib, name)
    except FunctionNotFoundError:
        return False
    return True


__all__ = [
    "ENV_LIBRARY",
    "INSTALL_ROOTS",
    "LIBRARY_NAME",
    "SUBDIRS",
    "find_library",
    "function",
    "has_function",
    "load_library",
    "locate",
    "search_plan",
    "stub_reason",
]
