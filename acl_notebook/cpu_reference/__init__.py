"""The CPU reference: compute an offline model's outputs with numpy from the .om bytes alone.

Depends only on `acl_notebook.om` and numpy (never on a backend or the session), so the same
code gives the simulator its outputs and an Atlas user a CPU reference for the NPU's.
`reference(source, inputs, override=None)` returns a `Result` with a `fidelity`
("computed" / "approximate" / "placeholder") and `notes`; `coverage(source)` says the same
before running. See om-execution.md in the project's shared docs for the rules it follows.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "Coverage": ".result",
    "Result": ".result",
    "Interpreter": ".interpreter",
    "OverrideError": ".interpreter",
    "ReferenceLimitError": ".budget",
    "coverage": ".run",
    "open_model": ".run",
    "reference": ".run",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
