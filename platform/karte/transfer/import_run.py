"""Running an import: the plan checked, the file read in chunks of rows, each chunk's links
resolved, keys matched, duplicates noted and rows written through the records service,
the batch's progress and items stored as it goes.

A real run commits chunk by chunk (a background import shows its progress, a large file
never sits in one transaction): a row is written whole or not at all, the batch row says
how far it got, and a revert undoes what it did. A dry run is the same work, each chunk
in a transaction rolled back at once, so its counts, problems and preview are what the
run would give.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from itertools import islice
from typing import Any

import sqlalchemy as sa

from karte.store import imports as stored
from karte.store.actor import Actor, actor_id
from karte.store.errors import NotFound
from karte.store.records.gc_pause import fewer_collections
from karte.transfer import import_cells, import_plan, import_refs, import_write
from karte.transfer.import_batches import problem_json
from karte.transfer.import_cells import Row
from karte.transfer.import_dupes import Duplicates
from karte.transfer.import_preview import preview
from karte.transfer.imports import Plan, Progress, Report, RowProblem
from karte.transfer.values import Reading

CHUNK = 1000
PREVIEW = 10
PROBLEMS_KEPT = 10_000    # in the report; the failed-rows file has every failed row
log = logging.getLogger(__name__)


def _now(services: Any) -> dt.datetime:
    now: dt.datetime = services.store.clock()
    return now


def count_rows(sheet: Any) -> int:
    """The file's data rows (blank rows left out): the progress bar's end."""
    return sum(1 for _ in sheet.numbered())


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


class Run:
    """One import's state across its chunks."""

    def __init__(self, services: Any, sheet: Any, plan: Plan, actor: Actor | None,
                 dry: bool, report: Report):
        self.services, self.sheet, self.plan, self.actor = services, sheet, plan, actor
        self.dry, self.report = dry, report
        self.entity = services.store.entity(plan.entity)
        self.mapped = import_plan.check(services.store, self.entity, plan,
                                        list(sheet.columns), actor)
        self.reading = Reading.of(services.pack, True if plan.day_first else None)
        self.seen: dict[str, set[Any]] = {}
        self.duplicates = Duplicates(services.store, self.entity, actor)
        self.shown: list[int] = []
        self.refers = any(c.field.type in import_refs.REFERRING for c in self.mapped.columns)

    def rows(self) -> Iterator[list[Row]]:
        return _chunks(import_cells.rows(self.mapped, self.sheet.numbered(), self.reading))

    def chunk(self, conn: sa.Connection, rows: list[Row]) -> import_write.Chunk:
        """Resolve, match, check and write one chunk; the report's counts follow."""
        out = import_write.Chunk()
        if self.refers:
            import_refs.resolve(self.services.store, conn, self.entity, rows, self.actor)
        import_write.match(self.services, conn, self.mapped, rows, self.actor)
        self.duplicates.check(conn, rows)
        import_write.create(self.services, conn, self.mapped, rows, self.actor, self.seen, out)
        self.duplicates.created.update(out.created)
        import_write.update(self.services, conn, self.mapped, rows, self.actor, out)
        import_write.failed(rows, out)
        report = self.report
        for name, value in out.counts.items():
            setattr(report, name, getattr(report, name) + value)
        report.done += sum(len(row.members) for row in rows)
        room = PROBLEMS_KEPT - len(report.problems)
        if room > 0:
            report.problems += [p for row in rows for p in row.problems][:room]
        if len(self.shown) < PREVIEW:
            self.shown += [row.record["id"] for row in rows
                           if not row.failed and row.record][:PREVIEW - len(self.shown)]
        return out


def _counts(report: Report) -> dict[str, Any]:
    return {name: getattr(report, name) for name in stored.COUNTS}


def _plan_failed(report: Report, problems: list[RowProblem]) -> Report:
    report.problems = list(problems)
    report.state = "failed"
    report.reason = "The plan has problems: fix the mapping and try again."
    return report


def execute(services: Any, sheet: Any, plan: Plan, actor: Actor | None, *, dry: bool,
            progress: Progress | None = None, file_name: str = "",
            batch: int | None = None, total: int | None = None) -> Report:
    """Import (or, `dry`, try) the sheet; `batch`: a batch opened beforehand (`start`),
    `total`: its rows when counted already. The rows are counted first (a second read of
    the file) only when someone follows the progress."""
    report = Report(batch, plan.entity, dry, "running", file_name=file_name,
                    actor=actor_id(actor), plan=plan)
    try:
        run = Run(services, sheet, plan, actor, dry, report)
    except NotFound as error:
        problem = RowProblem(0, None, None, "import.plan.entity", str(error), {})
        return _finish_plan(services, report, [problem], plan, sheet, actor, dry)
    if run.mapped.problems:
        return _finish_plan(services, report, run.mapped.problems, plan, sheet, actor, dry)
    if total is not None or progress is not None:
        report.total = count_rows(sheet) if total is None else total
    with fewer_collections():       # many small objects per row, none of them cyclic
        done = _dry(services, run) if dry else _real(services, run, progress)
    return done


def _finish_plan(services: Any, report: Report, problems: list[RowProblem], plan: Plan,
                 sheet: Any, actor: Actor | None, dry: bool) -> Report:
    _plan_failed(report, problems)
    if dry:
        report.state = "planned"
        return report
    with services.records.transaction() as conn:
        if report.batch is None:
            report.batch = stored.open_batch(conn, plan.entity, actor_id(actor),
                                             report.file_name, plan.as_json(),
                                             list(sheet.columns), _now(services))
        stored.update_batch(conn, report.batch, state="failed", reason=report.reason,
                            problems=[problem_json(p) for p in problems],
                            finished_at=_now(services))
    return report


def _dry(services: Any, run: Run) -> Report:
    """Each chunk written in a transaction rolled back at once (SQLite's one writer is
    free between chunks, so others can save while a big file is tried); what the run
    carries from chunk to chunk — unique values, duplicates — is kept in memory."""
    report = run.report
    with services.records.engine.connect() as conn:
        for rows in run.rows():
            transaction = conn.begin()
            try:
                shown = len(run.shown)
                run.chunk(conn, rows)
                if len(run.shown) > shown:
                    report.preview += preview(services, conn, run.entity, run.shown[shown:],
                                              run.actor)
            finally:
                transaction.rollback()
    report.duplicates = run.duplicates.found
    report.state, report.total = "planned", max(report.total, report.done)
    return report


def _real(services: Any, run: Run, progress: Progress | None) -> Report:
    report, plan = run.report, run.plan
    if report.batch is None:
        with services.records.transaction() as conn:
            report.batch = stored.open_batch(conn, plan.entity, actor_id(run.actor),
                                             report.file_name, plan.as_json(),
                                             list(run.sheet.columns), _now(services))
    batch = report.batch
    with services.records.transaction() as conn:
        stored.update_batch(conn, batch, state="running", total=report.total)
    try:
        for rows in run.rows():
            with services.records.transaction() as conn:
                out = run.chunk(conn, rows)
                stored.add_items(conn, batch, out.items)
                stored.update_batch(conn, batch, updated_at=_now(services), **_counts(report))
            if progress is not None:
                progress(report.done, report.total)
    except Exception as error:          # the batch says why; what was committed stays
        log.exception("import batch %s failed", batch)
        report.state, report.reason = "failed", f"The import stopped: {error}"
    else:
        report.state = "done"
    report.duplicates = run.duplicates.found
    report.total = max(report.total, report.done)
    with services.records.transaction() as conn:
        stored.update_batch(conn, batch, state=report.state, reason=report.reason,
                            problems=[problem_json(p) for p in report.problems],
                            duplicates=[_duplicate_json(d) for d in report.duplicates],
                            finished_at=_now(services), **_counts(report))
    return report


def _duplicate_json(duplicate: Any) -> dict[str, Any]:
    return {"line": duplicate.line, "rule": duplicate.rule, "lines": duplicate.lines,
            "records": duplicate.records}
