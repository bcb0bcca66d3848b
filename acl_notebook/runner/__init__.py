"""Running loaded models: numpy in, numpy out (`execute`), and timing them (`bench`).

Everything here calls only the session (`Session.execute`); the device side of a run
lives in `acl_notebook.session_io`. Names are exported lazily so importing the package
does not import numpy.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "run": ".execute",
    "Outputs": ".outputs",
    "Timing": ".outputs",
    "bench": ".bench",
    "BenchResult": ".bench",
    "InputError": ".errors",
    "InputTypeError": ".errors",
    "InputNameError": ".errors",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
