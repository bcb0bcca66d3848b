"""The refusals of a run, raised before any ACL call.

Each is one line naming the input, what was given and what is expected; they subclass
the builtin a caller would catch (ValueError, TypeError, KeyError) and are raised
without a chained traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input's shape, size or gear does not fit the model."""


class InputTypeError(TypeError):
    """An input's dtype cannot be converted, or the inputs are not an array, list or dict."""


class InputNameError(KeyError):
    """An input name that the model does not have, or a missing one."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown input"


__all__ = ["InputError", "InputNameError", "InputTypeError"]
