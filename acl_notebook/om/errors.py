"""The one exception the OM reader raises for bad input."""

from __future__ import annotations


class OMFormatError(ValueError):
    """The bytes are not a readable offline model.

    The message always says what is wrong and what to do about it; callers show it as is.
    """


def bad_modeldef(size: int, reason: object) -> OMFormatError:
    """The refusal of a MODEL_DEF partition that does not decode: one wording for the protobuf
    decoder and both pure-Python wire readers, which the differential fuzz tests hold equal."""
    return OMFormatError(
        f"the MODEL_DEF partition ({size} bytes) is not a valid ModelDef protobuf ({reason}); "
        "the file is damaged, export it again"
    )
