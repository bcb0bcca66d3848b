""""Did you mean ...": the close match for a mistyped model name, an id given as text, or a
path missing its ``.om``.

A leaf module (stdlib only, no package imports) so every layer that refuses a name or a
path can add the suggestion where the error is made, and the message carries it to the
magics, the panel and plain Python alike.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Iterable, Optional

#: How close a name must be to be suggested (difflib ratio).
CUTOFF = 0.6
_ID_TEXT = re.compile(r"^\s*(?:#|id\s*[=:#]?\s*|model\s*#?\s*)(\d+)\s*$", re.IGNORECASE)


def close_name(key: str, names: Iterable[str]) -> Optional[str]:
    """The known name most like `key` (case-insensitive), or None."""
    names = [n for n in names if n]
    by_lower = {n.lower(): n for n in names}
    if key.lower() in by_lower:
        return by_lower[key.lower()]
    found = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=CUTOFF)
    return by_lower[found[0]] if found else None


def id_in_text(key: str) -> Optional[int]:
    """The id in text such as "#3", "id 3", "id=3" or "model 3" (None for anything else)."""
    m = _ID_TEXT.match(key)
    return int(m.group(1)) if m else None


def close_path(path: str) -> Optional[str]:
    """An existing .om file the user probably meant by the missing `path`: the same path with
    ``.om`` added, or the closest ``.om`` name in the same folder."""
    path = os.path.expanduser(str(path))
    if os.path.exists(path):
        return None
    if not path.lower().endswith(".om") and os.path.isfile(path + ".om"):
        return path + ".om"
    folder = Path(path).parent
    try:
        candidates = [p.name for p in folder.iterdir() if p.suffix.lower() == ".om" and p.is_file()]
    except OSError:
        return None
    name = Path(path).name
    stem = name[:-3] if name.lower().endswith(".om") else name
    found = difflib.get_close_matches(stem, [c[:-3] for c in candidates], n=1, cutoff=0.75)
    return str(folder / f"{found[0]}.om") if found else None


def did_you_mean(suggestion: Optional[str]) -> str:
    """" (did you mean 'x'?)" or "" when there is nothing to suggest."""
    return f" (did you mean {suggestion!r}?)" if suggestion else ""


__all__ = ["close_name", "close_path", "did_you_mean", "id_in_text"]
