"""Rich-display methods that result classes bind in their own bodies.

IPython's pretty printer takes a class's own ``__repr__`` (a dataclass's, or tuple's
printer) before an inherited ``_repr_pretty_``, so each class assigns these two directly.
The display module is imported on first use, keeping `%load_ext` and imports cheap and
letting the bottom layer (`om.model`) reuse them without an import cycle.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any


def _repr_html_(self: Any) -> str:
    from .display import render_html

    return render_html(self)


def _repr_pretty_(self: Any, p: Any, cycle: bool) -> None:
    from .display import repr_pretty

    repr_pretty(self, p, cycle)
