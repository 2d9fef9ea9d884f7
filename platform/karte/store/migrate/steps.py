"""The migration plan as a value: steps a person can read before anything is changed.

A plan is computed by comparing the pack with the database (`store/migrate/compare.py`) and
printed by `karte migrate`; the same object, returned by `migrate`, says which steps were
applied, which wait for `--apply` and which are only reported (SPEC §6.3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NOTE_KINDS = frozenset({"retire_column", "retire_table", "required_on_empty", "differs"})
STEP_ORDER = ("rename_table", "rename_column", "drop_index", "drop_foreign_key", "add_table",
              "add_column", "widen_column", "change_type", "rename_value", "retire_value",
              "add_index", "add_foreign_key", "fill_values",
              "retire_table", "retire_column", "required_on_empty", "differs")
MARKS = {"applied": "✓", "automatic": "+", "waiting": "!", "refused": "✗", "reported": "·"}
LABELS = {"applied": "applied", "automatic": "applied automatically",
          "waiting": "waits for --apply", "refused": "refused: data would be lost",
          "reported": "reported only"}


@dataclass(frozen=True)
class Step:
    """One planned change, printable; `detail` is JSON (it is stored in the history)."""

    kind: str
    table: str
    column: str | None
    description: str
    safe: bool
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def is_note(self) -> bool:
        return self.kind in NOTE_KINDS

    @property
    def refused(self) -> str | None:
        """Why this step may not run even with --apply (data would be lost), else None."""
        return self.detail.get("refused")

    @property
    def column_name(self) -> str:
        """The column of a column step (set on every kind that changes a column)."""
        if self.column is None:
            raise TypeError(f"a {self.kind} step on {self.table} names no column")
        return self.column

    @property
    def target(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def step_rank(step: Step) -> int:
    """Execution order: renames before the comparison's changes, drops of indexes before
    their re-creation, tables before the columns and constraints that point at them."""
    return STEP_ORDER.index(step.kind) if step.kind in STEP_ORDER else len(STEP_ORDER)


@dataclass(frozen=True)
class Plan:
    """Every difference found, in execution order, and which of them were applied."""

    steps: tuple[Step, ...] = ()
    applied: tuple[Step, ...] = ()
    executed: bool = False
    pack: str = ""
    # After `migrate`: the definitions the history ends with (what each column holds while
    # a type change waits), so the app reads them without asking the database again.
    definitions: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def safe(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.safe and not s.is_note)

    @property
    def risky(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.safe and not s.is_note)

    @property
    def notes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.is_note)

    @property
    def refused(self) -> tuple[Step, ...]:
        return tuple(s for s in self.risky if s.refused)

    @property
    def waiting(self) -> tuple[Step, ...]:
        """Risky steps not applied: refused until rows are corrected, or waiting for
        `karte migrate --apply` (the app serves beside them: store/migrate/pending.py)."""
        return tuple(s for s in self.risky if s not in self.applied)

    @property
    def blocking(self) -> bool:
        """Whether the database does not match the definitions yet (`karte migrate`
        exits 2)."""
        return bool(self.waiting)

    @property
    def changes(self) -> bool:
        """Whether anything would change (notes alone change nothing)."""
        return bool(self.safe or self.risky)

    def status(self, step: Step) -> str:
        if step.is_note:
            return "reported"
        if step in self.applied:
            return "applied"
        if step.refused:
            return "refused"
        return "automatic" if step.safe and not self.executed else "waiting"

    def render(self) -> str:
        """Human text: a heading, one line per step, and what to do next."""
        if not self.steps:
            return "The database matches the definitions: nothing to do."
        lines = [f"Migration plan{f' for {self.pack}' if self.pack else ''}: "
                 f"{len(self.safe)} safe, {len(self.risky)} risky, {len(self.notes)} notes"]
        width = max(len(s.kind) for s in self.steps)
        for step in self.steps:
            status = self.status(step)
            lines.append(f"  {MARKS[status]} {step.kind:<{width}}  {step.description}"
                         f"  [{LABELS[status]}]")
        pending = [self.status(s) for s in self.waiting]
        if "waiting" in pending:
            lines.append("Risky steps wait: review them, then run `karte migrate --apply`.")
        if "refused" in pending:
            lines.append("Refused steps run once the rows they name are corrected.")
        if pending:
            lines.append("Meanwhile the app serves these fields as the database holds them; "
                         "admins see the waiting steps with links to the rows.")
        return "\n".join(lines)
