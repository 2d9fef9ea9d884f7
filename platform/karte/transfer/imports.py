"""Importing a sheet into an entity (SPEC §14): one batch, through the records service.

`services` everywhere is the app's `karte.workflow.service.Workflows` (it holds the
`Records` service as `.records`): every row is created or updated by the records service
with the acting user (validation, audit, role scopes, stage rules), a stage column only
with `Plan.allow_moves`, applied as moves. Links are resolved in bulk per chunk of rows
(by id, by a unique field, by title; users by email), duplicates are reported, never
merged. A batch remembers what it created and what it changed (the values before), so
`revert` can undo it. The web wizard and `karte import` are two skins over these
functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

from karte.store.actor import Actor

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` while a batch runs (rows handled so far)."""


@dataclass
class Plan:
    """What the user chose: which column feeds which field, and how rows meet records."""

    entity: str
    mapping: dict[str, str | None]      # column → field (or "lines_field.child"; None: ignored)
    key: str | None = None              # upsert by this field (a unique field, or "id")
    allow_moves: bool = False           # a stage column is applied as moves
    encoding: str | None = None         # the file's encoding, when the user overrides it
    day_first: bool = False             # 30/11/2026 read day first

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(entity=data["entity"], mapping=dict(data.get("mapping") or {}),
                   key=data.get("key"), allow_moves=bool(data.get("allow_moves")),
                   encoding=data.get("encoding"), day_first=bool(data.get("day_first")))


@dataclass
class RowProblem:
    """One problem of one row (line = the spreadsheet's row number, header = 1), or of the
    plan as a whole (line 0). `column` is the file's header the value came from, when the
    problem is about one cell; `details` carries the facts for a translated message."""

    line: int
    column: str | None
    field: str | None
    code: str
    message: str
    details: dict[str, Any] = default(default_factory=dict)
    value: str | None = None        # the cell's text as in the file, when about one cell

    def __str__(self) -> str:
        where = f'line {self.line}' if self.line else "plan"
        if self.column is not None:
            where += f', column "{self.column}"'
        return f"{where}: {self.message}"


@dataclass
class Duplicate:
    """A row that looks like other rows of the file or like stored records, by one of the
    entity's duplicate rules (SPEC §3.3): reported, never merged."""

    line: int
    rule: list[str]                                   # the rule's fields
    lines: list[int] = default(default_factory=list)    # other lines of the file
    records: list[dict[str, Any]] = default(default_factory=list)  # {"id", "title"} stored


@dataclass
class Report:
    """A batch's state and outcome; `problems` lists every problem (plan problems first,
    line 0), `preview` the first rows as they will be stored (field → shown value)."""

    batch: int | None
    entity: str
    dry_run: bool
    state: str          # "planned" | "running" | "done" | "failed" | "reverting" | "reverted"
    total: int = 0
    done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    problems: list[RowProblem] = default(default_factory=list)
    duplicates: list[Duplicate] = default(default_factory=list)
    preview: list[dict[str, Any]] = default(default_factory=list)
    file_name: str = ""
    reason: str = ""    # why a batch failed, or why a revert was refused
    actor: int | None = None        # the user who ran the batch
    plan: Plan | None = None

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


class ImportRefused(Exception):
    """A revert (or a start) that cannot be done; `reasons` name the records."""

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("\n".join(self.reasons))


def dry_run(services: Any, sheet: Any, plan: Plan, actor: Actor | None) -> Report:
    """Everything `run` does, rolled back: the counts, every problem, the duplicates and
    a preview of the first 10 rows as they would be stored. Nothing is written."""
    from karte.transfer import import_run
    return import_run.execute(services, sheet, plan, actor, dry=True)


def run(services: Any, sheet: Any, plan: Plan, actor: Actor | None,
        progress: Progress | None = None, *, file_name: str = "") -> Report:
    """Import the sheet as one batch: good rows are written, failed rows reported with
    line, column and message. The plan is remembered for the entity when rows were
    imported. Returns the final report (its `batch` is the id `revert` takes)."""
    from karte.transfer import import_run
    return import_run.execute(services, sheet, plan, actor, dry=False, progress=progress,
                              file_name=file_name)


def start(services: Any, path: Path, plan: Plan, actor: Actor | None, *,
          file_name: str = "") -> int:
    """A batch for the file at `path`; returns its id at once. Files above
    KARTE_IMPORT_BACKGROUND_ROWS rows (default 2000) are imported in a background thread
    with its own connection (follow it with `report`); smaller ones before returning.
    The thread owns `path` until it ends (it does not delete it)."""
    from karte.transfer import import_background
    return import_background.start(services, path, plan, actor, file_name=file_name)


def report(services: Any, batch: int) -> Report:
    """The batch's report as stored now: state, progress while running, counts and
    problems (survives a reload and a restart). Raises LookupError for no such batch."""
    from karte.transfer import import_batches
    return import_batches.report(services, batch)


def revert(services: Any, batch: int, actor: Actor | None, *,
           background: bool = False) -> Report:
    """Undo a batch: soft-delete the records it created, restore the values it changed.
    Refused (ImportRefused, nothing written) when a record was edited since the import,
    naming those records. `background`: a batch above KARTE_IMPORT_BACKGROUND_ROWS
    records is undone by a thread; the report's state is "reverting" meanwhile, then
    "reverted" (or back to "done" with the reason when a record refused)."""
    from karte.transfer import import_revert
    return import_revert.revert(services, batch, actor, background=background)


def failed_rows(services: Any, batch: int) -> Iterator[list[str]]:
    """The header (the file's columns + "problem") and each failed row as read, with its
    problems joined: written as CSV it can be fixed and imported again as is."""
    from karte.transfer import import_batches
    return import_batches.failed_rows(services, batch)


def remembered_mapping(services: Any, entity: str) -> dict[str, str | None]:
    """The mapping of the entity's last batch that imported rows ({} when none)."""
    from karte.transfer import import_batches
    return import_batches.remembered_mapping(services, entity)
