"""Compare the definitions with the database and migrate (SPEC §6.3).

`plan` only reads; `migrate` applies the safe steps always and the risky ones when asked,
in one transaction, and records what it applied in `karte_schema_history`; `purge` is the
only way a column is ever dropped, after a CSV backup. Nothing else drops data: removed
fields and entities are kept and reported as retired.

The comparison lives in `compare`, the dry-run counts in `checks`, type
conversions in `types`, and the DDL in `operations`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.meta.model import SYSTEM_FIELDS, Pack
from karte.problems import counted
from karte.store import (
    duplicate_keys,
    search_index,
    stage_reached,
    stage_times,
    stage_totals,
    title_index,
)
from karte.store.migrate import schema_history as recorded
from karte.store.migrate.compare import compare, rename_steps
from karte.store.migrate.fill import fill_steps
from karte.store.migrate.fingerprint import (
    FINGERPRINT,
    fingerprint,
    inputs,
    remember,
    remembered,
)
from karte.store.migrate.operations import Target, apply, operations, session
from karte.store.migrate.schema_history import HistoryEntry, describe, history
from karte.store.migrate.steps import Plan, Step, step_rank
from karte.store.migrate.types import batches, drop_indexes_on
from karte.store.tables import metadata_for

__all__ = ["HistoryEntry", "Plan", "Step", "describe", "history", "migrate", "plan", "purge"]

COLUMN_REF = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")


def plan(engine: sa.Engine, pack: Pack) -> Plan:
    """What `migrate` would do, without changing anything."""
    metadata = metadata_for(pack, engine.dialect.name)
    with engine.connect() as conn:
        renames = rename_steps(conn, pack)
        last = recorded.last_definitions(conn)
        steps = (renames + compare(conn, pack, metadata, last, renames)
                 + fill_steps(conn, pack, last))
    return Plan(tuple(sorted(steps, key=step_rank)), pack=pack.name)


def _runs(step: Step, apply_risky: bool) -> bool:
    return not step.is_note and not step.refused and (step.safe or apply_risky)


def migrate(engine: sa.Engine, pack: Pack, *, apply_risky: bool = False,
            full: bool = True, cache: Path | None = None) -> Plan:
    """Apply the safe steps (and the risky ones with `apply_risky`, except those whose dry
    run found rows that would not convert); return the plan with what was applied.

    `full=False` (a start) first reads the newest history row: when its fingerprint is
    this pack's on this database (`fingerprint`), the database was left matching these
    definitions and nothing is compared; `cache` (a folder) remembers fingerprints, so
    that an unchanged start need not build the tables to make it. `karte migrate` always
    compares in full."""
    if not full:
        with engine.connect() as conn:
            last = recorded.last_definitions(conn)
        stored = (last or {}).get(FINGERPRINT)
        if stored and stored == _expected(engine, pack, cache):
            return Plan((), executed=True, pack=pack.name, definitions=last)
    metadata = metadata_for(pack, engine.dialect.name)
    with session(engine) as conn:
        target = Target(operations(conn), metadata, pack)
        last = recorded.last_definitions(conn)
        renames = rename_steps(conn, pack)
        apply(target, renames)  # first, so the comparison sees the renamed columns
        steps = sorted(renames + compare(conn, pack, metadata, last)
                       + fill_steps(conn, pack, last), key=step_rank)
        chosen = [s for s in steps if _runs(s, apply_risky)]
        apply(target, [s for s in chosen if s not in renames])
        title_index.ensure(conn, pack)
        duplicate_keys.ensure(conn, pack)
        searchable = search_index.ensure(conn, pack)
        stage_times.backfill(conn, pack, metadata.tables, stage_times.added_columns(pack, chosen))
        stage_reached.backfill(conn, pack, metadata.tables,
                               stage_reached.added_columns(pack, chosen))
        stage_totals.ensure(conn, pack, _entity_tables(metadata, pack), bool(chosen))
        result = Plan(tuple(steps), tuple(chosen), executed=True, pack=pack.name)
        # only a database left matching the definitions may be trusted on the next start
        trusted = searchable and not result.waiting
        stored = _record_changes(conn, pack, result, last,
                                 _expected(engine, pack, cache) if trusted else None)
    return replace(result, definitions=stored)


def _expected(engine: sa.Engine, pack: Pack, cache: Path | None) -> str:
    """The pack's fingerprint on this database: remembered, or made from the DDL."""
    key = inputs(pack, engine.dialect)
    found = remembered(cache, key)
    if found is None:
        found = fingerprint(pack, metadata_for(pack, engine.dialect.name), engine.dialect)
        remember(cache, key, found)
    return found


def _entity_tables(metadata: sa.MetaData, pack: Pack) -> dict[str, sa.Table]:
    return {e.name: metadata.tables[e.table_name] for e in pack.entities.values()}


def _summary(result: Plan) -> str:
    """One line for `karte history`: the steps when few ("add_column deal.amount"), else
    counted by kind ("5 steps: 5 add_table"); risky steps left waiting are named."""
    if len(result.applied) <= 3:
        line = ", ".join(f"{s.kind} {s.target}" for s in result.applied)
    else:
        kinds = Counter(s.kind for s in result.applied)
        line = (f"{counted(len(result.applied), 'step')}: "
                + ", ".join(f"{count} {kind}" for kind, count in kinds.items()))
    if result.waiting:
        line += f"; {counted(len(result.waiting), 'risky step')} not applied"
    return line


def _kept_values(result: Plan) -> dict[tuple[str, str], set[str]]:
    """Stage or option keys still stored in rows after this run (retirements waiting)."""
    kept: dict[tuple[str, str], set[str]] = {}
    for step in result.waiting:
        if step.kind == "retire_value":
            kept.setdefault((step.table, step.column_name), set()).add(step.detail["from"])
    return kept


def _keep_stored_types(snapshot: dict[str, Any], last: dict[str, Any] | None,
                       result: Plan) -> None:
    """A field whose type change waits keeps its last applied entry: that is what its
    column holds, and what the app serves until `--apply` (store/migrate/pending.py)."""
    for step in result.waiting:
        if step.kind != "change_type":
            continue
        before = (last or {}).get("entities", {}).get(step.table, {}).get("fields", {})
        if step.column in before and step.table in snapshot["entities"]:
            snapshot["entities"][step.table]["fields"][step.column] = before[step.column]


def _record_changes(conn: sa.Connection, pack: Pack, result: Plan,
                    last: dict[str, Any] | None, print_: str | None) -> dict[str, Any] | None:
    """A history row when steps were applied or the definitions changed since the last
    row (a stage added, a field made required, a rule changed: no DDL, still a trace), or
    when the schema's fingerprint changed (`print_`, None while a step waits).
    Returns the definitions the history now ends with."""
    snapshot = recorded.describe(pack, _kept_values(result))
    snapshot[FINGERPRINT] = print_
    _keep_stored_types(snapshot, last, result)
    lines = recorded.changes((last or {}).get("raw"), snapshot["raw"])
    operations = [s.as_dict() for s in result.applied] + [
        {"kind": "definition", "description": line} for line in lines]
    if result.applied:
        summary = _summary(result)
    elif lines:
        summary = (f"definitions changed ({counted(len(lines), 'change')}): "
                   + ", ".join(recorded.changed_files(lines)))
    elif last is not None and last.get("entities") != snapshot["entities"]:
        summary = "definitions recorded"
    elif (last or {}).get(FINGERPRINT) != print_:
        summary = ("schema checked: the database matches the definitions" if print_
                   else "schema checked: steps wait")
    else:
        return last
    recorded.record(conn, pack, summary, operations, snapshot)
    return snapshot


def _purge_problem(pack: Pack, existing: dict[str, set[str]], ref: str) -> str | None:
    match = COLUMN_REF.match(ref)
    if match is None:
        return f"{ref}: name a column as entity.field"
    entity, column = match.groups()
    if entity not in pack.entities:
        return f"{ref}: no entity {entity!r} in the definitions"
    if column in SYSTEM_FIELDS:
        return f"{ref}: a system column cannot be purged"
    if column in pack.entities[entity].fields:
        return f"{ref}: the field is still defined; remove it from the definitions first"
    if column not in existing.get(pack.entities[entity].table_name, ()):
        return f"{ref}: no such column in the database"
    return None


def _purgeable(conn: sa.Connection, pack: Pack, refs: list[str]) -> list[tuple[str, str]]:
    """(table, column) for each retired column named; every problem at once otherwise."""
    inspector = sa.inspect(conn)
    existing = {t: {c["name"] for c in inspector.get_columns(t)}
                for t in inspector.get_table_names()}
    problems = [p for ref in refs if (p := _purge_problem(pack, existing, ref))]
    if problems:
        raise ValueError("Cannot purge:\n" + "\n".join(f"  {p}" for p in problems))
    return [(pack.entities[e].table_name, c) for e, c in (r.split(".") for r in refs)]


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _backup(conn: sa.Connection, table: str, column: str, folder: Path) -> Path:
    """Every stored value of the column (with its row id) to CSV, on disk before the drop."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{table}.{column}-{stamp}.csv"
    column_type = sa.Table(table, sa.MetaData(), autoload_with=conn).c[column].type
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", column])
        for rows in batches(conn, table, column, column_type):
            writer.writerows([row.id, _cell(row.value)] for row in rows)
        out.flush()
        os.fsync(out.fileno())
    return path


def purge(engine: sa.Engine, pack: Pack, columns: list[str], instance_dir: Path) -> list[Path]:
    """Drop retired columns ("entity.field"), each after a CSV backup under
    `instance_dir/backups/`; refuse (ValueError) if any named column is not retired."""
    folder = Path(instance_dir) / "backups"
    with session(engine) as conn:
        targets = _purgeable(conn, pack, columns)
        folder.mkdir(parents=True, exist_ok=True)
        op, paths, steps = operations(conn), [], []
        for table, column in targets:
            paths.append(_backup(conn, table, column, folder))
            drop_indexes_on(op, table, column)
            with op.batch_alter_table(table) as batch:
                batch.drop_column(column)
            steps.append(Step("purge_column", table, column,
                              f"drop retired column {table}.{column} (backup: {paths[-1]})",
                              False, {"backup": str(paths[-1])}))
        if sa.inspect(conn).has_table(recorded.HISTORY):
            recorded.record(conn, pack, "\n".join(s.description for s in steps),
                            [s.as_dict() for s in steps], recorded.describe(pack))
    return paths
