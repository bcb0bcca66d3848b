"""Module-level lazy exports (PEP 562), so importing a package does not import its parts."""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, resolving `name -> module` on first use.

    Module names starting with "." are relative to `package`. A resolved name is cached in
    the package's namespace, so each lookup costs an import only once.
    """
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module, package)
        # an export may be a whole subpackage ("cluster" -> "acl_notebook.cluster")
        value = imported if imported.__name__ == f"{package}.{name}" else getattr(imported, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
