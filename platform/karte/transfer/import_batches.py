"""Reading stored batches back: the report (a page polls it while a background import
runs, and it survives a reload), the failed rows as a file to fix and import again, and
the mapping an entity's last successful import used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from karte.store import audit
from karte.store import imports as stored
from karte.transfer.imports import Duplicate, Plan, Report, RowProblem

PROBLEM_COLUMN = "problem"
STALE = dt.timedelta(minutes=10)   # a running batch commits a chunk far more often


def problem_json(problem: RowProblem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "field": problem.field,
            "code": problem.code, "message": problem.message,
            "details": {k: audit.jsonable(v) for k, v in problem.details.items()},
            "value": problem.value}


def problem_of(data: dict[str, Any]) -> RowProblem:
    return RowProblem(int(data.get("line") or 0), data.get("column"), data.get("field"),
                      str(data.get("code") or ""), str(data.get("message") or ""),
                      dict(data.get("details") or {}), data.get("value"))


def _report(row: dict[str, Any]) -> Report:
    return Report(
        batch=row["id"], entity=row["entity"], dry_run=False, state=row["state"],
        total=row["total"], done=row["done"], created=row["created"],
        updated=row["updated"], unchanged=row["unchanged"], failed=row["failed"],
        problems=[problem_of(p) for p in row["problems"] or []],
        duplicates=[Duplicate(int(d["line"]), list(d["rule"]), list(d.get("lines") or []),
                              list(d.get("records") or [])) for d in row["duplicates"] or []],
        file_name=row["file_name"], reason=row["reason"], actor=row["user_id"],
        plan=Plan.from_json(dict(row["plan"])) if row["plan"] else None)


def report(services: Any, batch: int) -> Report:
    """The batch as stored now; LookupError when there is no such batch. A batch still
    "running" (or "reverting") without progress for STALE is marked failed: the server
    that ran it stopped (what it committed stays, and can be reverted)."""
    row = batch_row(services, batch)
    if row["state"] in ("running", "reverting") and _stalled(services, row):
        said = (row["updated_at"] or row["created_at"]).strftime("%Y-%m-%d %H:%M UTC")
        work = "import" if row["state"] == "running" else "revert"
        row["state"] = "failed"
        row["reason"] = (f"The {work} stopped: no progress since {said} (the server "
                         "running it stopped).")
        with services.records.transaction() as conn:
            stored.update_batch(conn, int(batch), state="failed", reason=row["reason"])
    return _report(row)


def _stalled(services: Any, row: dict[str, Any]) -> bool:
    last = row["updated_at"] or row["created_at"]
    return bool(services.store.clock() - last > STALE)


def batch_row(services: Any, batch: int) -> dict[str, Any]:
    with services.records.engine.connect() as conn:
        row = stored.read_batch(conn, int(batch))
    if row is None:
        raise LookupError(f"There is no import batch {batch}.")
    return row


def said(problem: dict[str, Any]) -> str:
    """A problem for the "problem" column: 'column "Email": message'."""
    column = problem.get("column")
    message = str(problem.get("message") or "")
    return f'column "{column}": {message}' if column else message


def failed_rows(services: Any, batch: int) -> Iterator[list[str]]:
    """The header (the file's columns and "problem"), then each failed line's cells as
    read with its problems; streamed from the batch's items."""
    row = batch_row(services, batch)
    columns = [str(c) for c in row["columns"]]
    header = [*columns, PROBLEM_COLUMN if PROBLEM_COLUMN not in columns
              else f"{PROBLEM_COLUMN} (import)"]
    yield header
    with services.records.engine.connect() as conn:
        for item in stored.read_items(conn, int(batch), ["failed"]):
            cells = ["" if c is None else str(c) for c in item["cells"] or []]
            cells = (cells + [""] * len(columns))[:len(columns)]
            yield [*cells, "; ".join(said(p) for p in item["problems"] or [])]


def remembered_mapping(services: Any, entity: str) -> dict[str, str | None]:
    with services.records.engine.connect() as conn:
        plan = stored.last_plan(conn, entity)
    if not plan:
        return {}
    return {str(k): (None if v is None else str(v)) for k, v in
            (plan.get("mapping") or {}).items()}
