"""Byte sizes: read them from what people type, write them the way people read them.

Standard library only: the launcher (`lab.py`) and the display layer both use it.
"""

from __future__ import annotations

import re

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_bytes(n: float) -> str:
    """Binary-unit size with one decimal ("1.5 MiB"); plain bytes below 1 KiB ("512 B").

    The unit is chosen after rounding, so 1,048,575 bytes reads "1.0 MiB", not "1024.0 KiB".
    """
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 1024:
        return f"{sign}{int(value)} B"
    unit = 0
    while unit < len(_UNITS) - 1 and round(value, 1) >= 1024:
        value /= 1024
        unit += 1
    return f"{sign}{value:.1f} {_UNITS[unit]}"


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 2**10, "kib": 2**10, "kb": 10**3,
    "m": 2**20, "mib": 2**20, "mb": 10**6,
    "g": 2**30, "gib": 2**30, "gb": 10**9,
    "t": 2**40, "tib": 2**40, "tb": 10**12,
}


def parse_size(text: str) -> int:
    """Bytes from "8GiB", "512MiB", "1.5G", "64GB" or "1e9".

    Units ending in "iB" and bare K/M/G/T are binary (powers of 1024); KB/MB/GB/TB are
    decimal, as disk vendors write them.
    """
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"cannot read {text!r} as a size; write e.g. 8GiB, 512MiB, 64GB or 1e9")
    number = float(match.group(1)) * _SIZE_UNITS[unit]
    if number != number or number in (float("inf"), float("-inf")):  # "1e400": no device has that
        raise ValueError(f"{text!r} is too large to be a size; write e.g. 8GiB, 512MiB, 64GB or 1e9")
    value = int(number)
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value
