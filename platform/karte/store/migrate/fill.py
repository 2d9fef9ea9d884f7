"""Backfill of rollups (SPEC §3.6): a rollup added to an entity that has records, or one
whose `of`, `agg`, `field`, `where` or `result` changed, is computed for every record in
the migration's transaction, after the DDL. The plan says "fill customer.won_amount for
1,204 records"; a table without records needs no step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Pack
from karte.meta.rollups import KEYS
from karte.problems import counted
from karte.store.migrate.steps import Step
from karte.store.records.recompute import recompute
from karte.store.records.store import Store

FILL = "fill_values"
SHAPE = (*KEYS, "type", "result")


def _shape(raw: Any) -> dict[str, Any]:
    return {k: raw.get(k) for k in SHAPE} if isinstance(raw, Mapping) else {}


def _last_fields(last: Mapping[str, Any] | None, entity: str) -> Mapping[str, Any]:
    raw = (last or {}).get("raw") or {}
    fields: Mapping[str, Any] = raw.get("entities", {}).get(entity, {}).get("fields", {})
    return fields


def fill_steps(conn: sa.Connection, pack: Pack, last: Mapping[str, Any] | None) -> list[Step]:
    """A step per rollup that is new or changed since the last migration, on a table with
    records."""
    steps = []
    inspector = sa.inspect(conn)
    for entity in pack.entities.values():
        now = pack.definitions.get("entities", {}).get(entity.name, {}).get("fields", {})
        before = _last_fields(last, entity.name)
        names = [n for n, f in entity.fields.items() if f.type == "rollup"
                 and f.rollup is not None and _shape(now.get(n)) != _shape(before.get(n))]
        if not names or not inspector.has_table(entity.table_name):
            continue
        table = sa.table(entity.table_name)
        rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if rows:
            steps += [Step(FILL, entity.table_name, name,
                           f"fill {entity.name}.{name} for {counted(rows, 'record')}", True,
                           {"records": rows}) for name in names]
    return steps


def fill(conn: sa.Connection, pack: Pack, steps: list[Step]) -> None:
    """Compute each step's rollup for every record (in batches, in this transaction)."""
    store = Store(conn.engine, pack)
    for step in steps:
        entity = next(e for e in pack.entities.values() if e.table_name == step.table)
        recompute(store, conn, entity, step.column_name)
