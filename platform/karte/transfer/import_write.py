"""Writing one chunk of import rows through the records service, in the caller's
transaction: stored records matched by the key in one query, new rows created by
`Records.create_each` (validated like any create, the refused ones left out), matched
rows updated one by one (`Records.update`, or `Workflows.move` when the stage changes)
unless nothing would change. Each row's outcome is an item of the batch: what a revert
and the report read.

An import sets `read_only` fields as SPEC §3.1 allows (the service's `moving=True`), a
series number it brings is kept (the counter moves past it), and new records may start
in the stage the file gives (a stage column is only mapped when moves are allowed): an
import brings records as they are elsewhere. A stored record's stage changes only by a
move, so the workflow's rules apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.fields import record_id
from karte.problems import Problem
from karte.store import audit
from karte.store import field_rights as rights
from karte.store.actor import Actor
from karte.store.errors import RecordError
from karte.store.permissions import scope
from karte.store.records.store import chunks
from karte.store.validation import differs
from karte.transfer.import_batches import problem_json
from karte.transfer.import_cells import Row
from karte.transfer.import_plan import ID, Mapped

Item = dict[str, Any]


@dataclass
class Chunk:
    """What writing a chunk did: one item per row (per file line for a failed row) and
    the ids it created."""

    items: list[Item] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("created", "updated", "unchanged", "failed"), 0))


def _add_problems(row: Row, problems: list[Problem]) -> None:
    for problem in problems:
        details = dict(getattr(problem, "details", {}) or {})
        row.fail(problem.where, f"record.{problem.code or 'invalid'}", problem.message,
                 details)


# ---------------------------------------------------------------- matching

def _key_value(mapped: Mapped, row: Row) -> Any:
    if mapped.key == ID:
        return record_id(str(row.key or "").lstrip("#"))
    return row.values.get(mapped.key or "")


def match(services: Any, conn: sa.Connection, mapped: Mapped, rows: list[Row],
          actor: Actor | None) -> None:
    """Each row's stored record by the key (one query per chunk), read whole (links,
    lines) as an update needs it. A row whose id matches nothing readable fails."""
    if mapped.key is None:
        return
    store, entity = services.store, mapped.entity
    table = store.table(entity)
    column = table.c.id if mapped.key == ID else table.c[mapped.key]
    keyed = {id(row): _key_value(mapped, row) for row in rows if not row.failed}
    values = {v for v in keyed.values() if v is not None and v != []}
    ids: dict[Any, int] = {}
    for part in chunks(sorted(values, key=str)):
        query = sa.select(column, table.c.id).where(
            column.in_(part), table.c.deleted_at.is_(None), scope(store, entity, actor, "read"))
        ids.update((value, id) for value, id in conn.execute(query))
    stored = store.read(conn, entity, sorted(set(ids.values())))
    for row in rows:
        value = keyed.get(id(row))
        if row.failed:
            continue
        if value in ids and ids[value] in stored:
            row.record = stored[ids[value]]
        elif mapped.key == ID and row.key:
            row.fail("id", "import.id", f'There is no {entity.name} with the id "{row.key}" '
                     "to update (leave the id empty to create a new record).",
                     {"value": str(row.key or "")})


# ---------------------------------------------------------------- creating

def _input(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.values.items() if k != ID}


def create(services: Any, conn: sa.Connection, mapped: Mapped, rows: list[Row],
           actor: Actor | None, seen: dict[str, set[Any]], out: Chunk) -> None:
    """The rows matching no stored record, created together; refused ones get their
    problems."""
    new = [row for row in rows if not row.failed and row.record is None]
    if not new:
        return
    try:
        ids, refused = services.records.create_each(
            mapped.entity.name, [_input(row) for row in new], actor, moving=True, conn=conn,
            seen=seen)
    except RecordError as error:    # the role may not create (a key matched nothing)
        for row in new:
            _add_problems(row, error.problems)
        return
    for position, row in enumerate(new):
        if position in refused:
            _add_problems(row, refused[position])
            continue
        row.record, row.action = {"id": ids[position], "version": 1}, "created"
        out.items.append({"line": row.line, "record_id": ids[position], "action": "created",
                          "version": 1})
        out.created.append(ids[position])
        out.counts["created"] += 1


# ---------------------------------------------------------------- updating

def _stored_lines(services: Any, mapped: Mapped, name: str, stored: list[dict[str, Any]],
                  given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The file's lines of a stored record, each given the id of the stored line at its
    position (an identical file changes nothing; extra stored lines are removed). An
    empty cell of a fetched field keeps the stored value (it was fetched, not typed)."""
    part = services.pack.entities[mapped.entity.fields[name].of]
    lines = []
    for position, line in enumerate(given):
        kept = {k: v for k, v in line.items()
                if not (v is None and k in part.fields and part.fields[k].fetch)}
        if position < len(stored):
            kept["id"] = stored[position]["id"]
        lines.append(kept)
    return lines


def _changes(services: Any, mapped: Mapped, row: Row) -> dict[str, Any]:
    """The given values that differ from the stored record (lines always count: the
    service tells whether they changed)."""
    assert row.record is not None
    given = _input(row)
    for name, declared in mapped.entity.fields.items():
        if declared.type == "lines" and isinstance(given.get(name), list):
            given[name] = _stored_lines(services, mapped, name, row.record.get(name) or [],
                                        given[name])
    loaded, _problems = services.store.schemas.load(mapped.entity, given)
    return {name: given[name] for name in given
            if mapped.entity.fields[name].type == "lines"
            or name not in loaded or differs(row.record.get(name), loaded[name])}


def nested(conn: sa.Connection) -> Any:
    """A savepoint on PostgreSQL, where a refused statement aborts the transaction."""
    return conn.begin_nested() if conn.dialect.name == "postgresql" else nullcontext()


def _write(services: Any, conn: sa.Connection, mapped: Mapped, row: Row,
           changes: Mapping[str, Any], actor: Actor | None) -> dict[str, Any]:
    assert row.record is not None
    entity, stored = mapped.entity, row.record
    stage = next((n for n in mapped.stage_fields if n in changes), None)
    if stage is not None:
        values = {k: v for k, v in changes.items() if k != stage}
        return services.move(entity.name, stored["id"], changes[stage], actor, values,
                             stored["version"], entity.fields[stage].workflow, conn=conn)
    rights.check_input(services.store, entity, actor, changes, stored)
    return services.records.update(entity.name, stored["id"], changes, stored["version"],
                                   actor, moving=True, conn=conn)


def update(services: Any, conn: sa.Connection, mapped: Mapped, rows: list[Row],
           actor: Actor | None, out: Chunk) -> None:
    """The rows matching a stored record: unchanged ones counted, the others updated one
    by one (refusals become the row's problems), their values before kept for a revert."""
    for row in rows:
        if row.failed or row.record is None or row.action == "created":
            continue
        stored = row.record
        changes = _changes(services, mapped, row)
        if not changes:
            out.items.append({"line": row.line, "record_id": stored["id"],
                              "action": "unchanged", "version": stored["version"]})
            out.counts["unchanged"] += 1
            continue
        try:
            with nested(conn):
                after = _write(services, conn, mapped, row, changes, actor)
        except RecordError as error:
            _add_problems(row, error.problems)
            continue
        if after["version"] == stored["version"]:
            action = "unchanged"
        else:
            action = "updated"
        before = {name: audit.jsonable(stored.get(name)) for name in changes} \
            if action == "updated" else None
        if before is not None:
            before = _lines_before(services, mapped, stored, before)
        out.items.append({"line": row.line, "record_id": stored["id"], "action": action,
                          "version": after["version"], "before": before})
        out.counts[action] += 1


def _lines_before(services: Any, mapped: Mapped, stored: Mapping[str, Any],
                  before: dict[str, Any]) -> dict[str, Any]:
    """A lines field's value before: its lines' own input fields (what a revert gives
    back as the lines to save)."""
    for name in list(before):
        field = mapped.entity.fields[name]
        if field.type != "lines":
            continue
        part = services.pack.entities[field.of]
        inputs = [n for n, f in part.fields.items() if not f.derived and n != part.part_of
                  and f.type not in ("file", "lines")]
        before[name] = [{n: audit.jsonable(line.get(n)) for n in inputs}
                        for line in stored.get(name) or []]
    return before


def failed(rows: list[Row], out: Chunk) -> None:
    """An item per file line of each failed row: its cells as read and its problems."""
    for row in rows:
        if not row.failed:
            continue
        out.counts["failed"] += 1
        lines = {line for line, _ in row.members}
        for position, (line, cells) in enumerate(row.members):
            mine = [p for p in row.problems
                    if p.line == line or (position == 0 and p.line not in lines)]
            out.items.append({"line": line, "action": "failed", "cells": _jsonable(cells),
                              "problems": [problem_json(p) for p in mine]})


def _jsonable(cells: list[Any]) -> list[Any]:
    return [c if c is None or isinstance(c, str | int | float | bool) else
            (c.isoformat() if hasattr(c, "isoformat") else str(c)) for c in cells]
