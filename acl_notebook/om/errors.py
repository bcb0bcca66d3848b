"""The one exception the OM reader raises for bad input."""

from __future__ import annotations


class OMFormatError(ValueError):
    """The bytes are not a readable offline model.

    The message always says what is wrong and what to do about it; callers show it as is.
    """
