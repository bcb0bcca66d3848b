"""Run existing pyACL programs (``import acl``) unchanged on acl-notebook's runtime.

Most Ascend inference code is written against CANN's Python module ``acl``. This package
gives that module's inference surface on top of the session, so such a program runs with
no CANN installed (on the simulator), and the models and device memory it uses show in
``%acl_models``, ``acl_notebook.memory()`` and the panel while it runs:

- ``python -m acl_notebook.pyacl SCRIPT [ARGS...]`` runs SCRIPT as ``python SCRIPT ARGS``
  would, with ``import acl`` resolving to the image;
- `install()` / `uninstall()` do it in-process, and ``%acl_pyacl`` in a notebook kernel.

On a machine with CANN's real ``acl`` module, that one is left alone unless ``force=True``.
Importing this package is cheap: the image is imported by `install()`.
"""

from __future__ import annotations

import importlib.machinery
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional

_NAMES = ("acl", "acl.rt", "acl.mdl", "acl.util")
_saved: dict[str, Optional[ModuleType]] = {}


@dataclass(frozen=True)
class PyaclStatus:
    """What `install()` did: whether ``import acl`` now gives acl-notebook's image."""

    installed: bool
    real_acl: str  # where CANN's own acl module is ("" when there is none)
    message: str

    def __str__(self) -> str:
        return self.message


def real_acl_location() -> str:
    """Where CANN's own ``acl`` module is (its file), or "" when this Python has none."""
    current = sys.modules.get("acl")
    if current is not None and not _ours(current):
        return getattr(current, "__file__", "") or "(already imported)"
    saved = _saved.get("acl")
    if saved is not None:
        return getattr(saved, "__file__", "") or "(already imported)"
    try:  # search sys.path only: sys.modules may hold our image under that name
        spec = importlib.machinery.PathFinder.find_spec("acl")
    except (ImportError, ValueError):
        return ""
    return "" if spec is None else (spec.origin or "(namespace package)")


def _ours(module: Any) -> bool:
    return bool(getattr(module, "__acl_notebook__", False))


def image() -> ModuleType:
    """acl-notebook's ``acl`` module image (imported on first use)."""
    from . import acl as module

    return module


def install(force: bool = False, session: Any = None) -> PyaclStatus:
    """Make ``import acl`` give acl-notebook's image (``sys.modules["acl"]`` and its submodules).

    force: replace CANN's real ``acl`` module too (it is left alone by default).
    session: the session the program's models join (default: the kernel's, `get_session()`).
    """
    real = real_acl_location()
    module = image()
    if real and not force and not _ours(sys.modules.get("acl")):
        return PyaclStatus(False, real, f"CANN's own pyACL is installed ({real}) and is left alone; "
                                        "pass force=True (%acl_pyacl --force) to use acl-notebook's image instead")
    from .core import PROGRAM

    if session is not None or PROGRAM._session is None:
        PROGRAM.bind(session)
    if not _ours(sys.modules.get("acl")):
        for name in _NAMES:
            _saved[name] = sys.modules.get(name)
    sys.modules["acl"] = module
    sys.modules["acl.rt"], sys.modules["acl.mdl"], sys.modules["acl.util"] = module.rt, module.mdl, module.util
    where = "in place of CANN's pyACL" if real else "(no CANN pyACL on this machine)"
    return PyaclStatus(True, real, f"import acl now gives acl-notebook's pyACL image {where}; its models "
                                   "and device memory show in %acl_models, %acl_mem and the panel")


def uninstall() -> bool:
    """Undo `install()`: ``import acl`` gives what it gave before. True if anything changed."""
    if not _ours(sys.modules.get("acl")):
        return False
    for name in _NAMES:
        previous = _saved.pop(name, None)
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return True


def installed() -> bool:
    """True while ``import acl`` gives acl-notebook's image."""
    return bool(_ours(sys.modules.get("acl")))


__all__ = ["PyaclStatus", "image", "install", "installed", "real_acl_location", "uninstall"]
