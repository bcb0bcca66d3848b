"""The refusals of a run, raised before any ACL call.

Each is one line naming the input, what was given and what is expected; they subclass
the builtin a caller would catch (ValueError, TypeError, KeyError) and are raised
without a chained traceback.
"""

from __future__ import annotations

import sys
from typing import Any


class InputError(ValueError):
    """An input's shape, size or gear does not fit the model."""


class InputTypeError(TypeError):
    """An input's dtype cannot be converted, or the inputs are not an array, list or dict."""


class InputNameError(KeyError):
    """An input name that the model does not have, or a missing one."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown input"


def refuse_masked(value: Any, what: str) -> None:
    """Refuse a numpy masked array: the device (and the CPU reference) read every element, so
    the mask would silently be dropped and the masked entries' hidden values run instead.
    numpy.ma is only imported by someone who made such an array, so this costs no import. The
    class is looked up on numpy.ma.core, where it is defined, and may be missing: another thread
    can be importing numpy.ma right now (numpy imports it lazily), and until the class exists no
    value can be one."""
    core = sys.modules.get("numpy.ma.core")
    masked = getattr(core, "MaskedArray", None)
    if masked is not None and isinstance(value, masked):
        raise InputTypeError(f"{what} is a numpy masked array; a run reads every element, masked or not, "
                             "so pass arr.filled(value) with the value the masked entries should have "
                             "(e.g. arr.filled(0))")


__all__ = ["InputError", "InputNameError", "InputTypeError", "refuse_masked"]
