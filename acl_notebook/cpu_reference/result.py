"""What the CPU reference returns: values with their fidelity and notes, and the coverage of a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMPUTED = "computed"
APPROXIMATE = "approximate"
PLACEHOLDER = "placeholder"
FIDELITIES = (COMPUTED, APPROXIMATE, PLACEHOLDER)


@dataclass(frozen=True)
class Result:
    """The outputs (numpy arrays in model output order) and how far to trust them.

    `fidelity` is "computed" (every op computed with attributes read from the file),
    "approximate" (something was guessed or solved from shapes: see `notes`) or
    "placeholder" (some op could not be computed; the values are not the model's).
    Each note names one op by its full name in the file and says what was guessed or missing.
    """

    outputs: tuple[Any, ...]
    names: tuple[str, ...]
    fidelity: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """What the reference can do for a model, found by planning every op without running any."""

    fidelity: str
    notes: tuple[str, ...]
    ops: int  # ops that would run (Data, Const and NetOutput not counted)
    guessed: int  # of which approximate
    placeholders: tuple[str, ...]  # op types (FrameworkOp with its framework type) that block

    @property
    def summary(self) -> str:
        """One line: "computed", "approximate: 12 ops guessed", "placeholder: FrameworkOp RandomStandardNormal"."""
        if self.fidelity == PLACEHOLDER:
            return f"{PLACEHOLDER}: " + ", ".join(self.placeholders)
        if self.fidelity == APPROXIMATE:
            return f"{APPROXIMATE}: {self.guessed} op{'s' if self.guessed != 1 else ''} guessed"
        return COMPUTED

    def to_dict(self) -> dict:
        return {"fidelity": self.fidelity, "summary": self.summary, "ops": self.ops, "guessed": self.guessed,
                "placeholders": list(self.placeholders), "notes": list(self.notes)}
