"""Device lists as people write them: ``"all"``, ``"0-3"``, ``"0,2"``, ``[0, 2]`` or ``1``.

One parser, shared by `acl.load(device=...)` and `%acl_load --device`, so the two accept the
same spellings and give the same errors.
"""

from __future__ import annotations

import operator
from typing import Any, Union

DeviceSpec = Union[int, str, "list[int]", "tuple[int, ...]", range]


def is_single(spec: Any) -> bool:
    """True for one device id (an int, or a string of one integer): a plain `Model` load.

    Everything else ("all", ranges, lists, even of one) asks for a `ModelGroup`.
    """
    if isinstance(spec, str):
        return spec.strip().isdigit()
    return _index(spec) is not None


def device_id(spec: Any) -> int:
    """The id of a single-device `spec` (`is_single`): an int, a numpy integer (a device
    picked with ``np.argmax``) or a string of digits."""
    found = int(spec) if isinstance(spec, str) else _index(spec)
    if found is None:
        raise TypeError(f"device must be an int, got {spec!r}")
    return found


def _index(value: Any) -> Any:
    """`value` as a Python int when it is an integer (numpy's too), else None; a bool is not
    a device id (True would silently mean device 1)."""
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def parse_devices(spec: Any, count: int) -> tuple[int, ...]:
    """The device ids `spec` names, in ascending order, each checked against `count` devices."""
    if isinstance(spec, bool):
        raise TypeError(f"device must be an int, 'all', a range like '0-3', a list like '0,2' or [0, 2]; got {spec!r}")
    if _index(spec) is not None:
        ids = [_index(spec)]
    elif isinstance(spec, str):
        ids = _parse_text(spec, count)
    elif isinstance(spec, (list, tuple, range)) or type(spec).__name__ == "ndarray":  # np.arange(4) too
        ids = []
        for d in spec:
            found = _index(d)
            if found is None:
                raise TypeError(f"device ids must be ints, got {d!r} in {spec!r}")
            ids.append(found)
    else:
        raise TypeError(f"device must be an int, 'all', a range like '0-3', a list like '0,2' or [0, 2]; "
                        f"got {type(spec).__name__}")
    if not ids:
        raise ValueError(f"no device named by {spec!r}; give at least one device id")
    seen = set()
    for d in ids:
        if d in seen:
            raise ValueError(f"device {d} is named twice in {spec!r}")
        seen.add(d)
        if not 0 <= d < count:
            raise ValueError(f"device {d} does not exist; valid devices are 0..{count - 1}")
    return tuple(sorted(ids))


def _parse_text(text: str, count: int) -> list[int]:
    body = text.strip().lower()
    if body == "all":
        return list(range(count))
    ids: list[int] = []
    for part in body.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            if dash:
                first, last = int(lo), int(hi)
                if last < first:
                    raise ValueError(f"device range {part!r} runs backwards; write it as {last}-{first}")
                ids.extend(range(first, last + 1))
            else:
                ids.append(int(part))
        except ValueError as exc:
            if "backwards" in str(exc):
                raise
            raise ValueError(f"cannot read device list {text!r}: use 'all', '0-3', '0,2' or a mix such as "
                             "'0-1,4'") from None
    return ids
