"""Per-stage counters of every workflow: how many live records are in each stage and
the exact sum of each money field over them, so that a board or home reads its numbers
from a few rows instead of grouping every live record (issue 11).

`karte_stage_totals` holds one row per (entity, workflow field, stage, measure): the
measure "" carries the count alone; a money field's name carries the count and the sum
of that field in cents (an integer: exact on both databases, where SQLite would add
NUMERICs as floats).

Every write of the records service that changes a stage, a money value or whether a
record is live (create, create_many per batch, update and move, delete with its
cascades, restore) calls `change` in its own transaction, with the rows as they were and
as they are: the difference is added with `INSERT … ON CONFLICT DO UPDATE SET count =
count + excluded.count`, so concurrent writers never lose an increment and a rollback
takes the change back with the rest. Lines (part entities) are not counted: their
boards keep the grouped query.

`rebuild` computes the rows afresh (one grouped query per workflow field); the
migration calls `ensure`, which rebuilds whenever it applied a step or the counters'
rows are not those the definitions expect (a workflow, stage or money field added,
renamed or removed), and `karte recompute --stage-totals` rebuilds them on demand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from karte.meta.model import Pack, Workflow
from karte.store.tables import engine_table

NAME = "karte_stage_totals"
COUNT = ""  # the measure of the count-only row
Key = tuple[str, str, str, str]  # entity, field, stage, measure
Row = Mapping[str, Any]


def table() -> sa.Table:
    return engine_table(NAME)


def tracked(pack: Pack, entity: str) -> list[tuple[str, tuple[str, ...]]]:
    """(workflow field, money fields) counted for `entity`; none for a part (lines)."""
    found = pack.entities.get(entity)
    if found is None or found.part_of is not None:
        return []
    money = tuple(f.name for f in found.fields.values() if f.type == "money")
    fields = dict.fromkeys(w.field for w in pack.workflows_of(entity))
    return [(name, money) for name in fields if name in found.fields]


def cents(value: Any) -> int:
    """A money value in cents (money is Numeric(18, 2))."""
    if value is None:
        return 0
    return int((Decimal(str(value)) * 100).to_integral_value())


def deltas(pack: Pack, entity: str, before: Iterable[Row | None],
           after: Iterable[Row | None]) -> dict[Key, tuple[int, int]]:
    """What changes per counter row when `before` rows become `after` rows (None, or a
    row with `deleted_at` set: not counted)."""
    plan = tracked(pack, entity)
    found: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for rows, sign in ((before, -1), (after, 1)):
        for row in rows:
            if row is None or row.get("deleted_at") is not None:
                continue
            for field, money in plan:
                stage = row.get(field)
                if stage is None:
                    continue
                for measure in (COUNT, *money):
                    delta = found[(entity, field, str(stage), measure)]
                    delta[0] += sign
                    if measure:
                        delta[1] += sign * cents(row.get(measure))
    return {key: (n, c) for key, (n, c) in found.items() if n or c}


def _upsert(conn: sa.Connection, params: list[dict[str, Any]]) -> None:
    t = table()
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(t)
    statement = insert.on_conflict_do_update(
        index_elements=[t.c.entity, t.c.field, t.c.stage, t.c.measure],
        set_={"count": t.c["count"] + insert.excluded["count"],
              "cents": t.c.cents + insert.excluded.cents})
    conn.execute(statement, params)


def change(conn: sa.Connection, pack: Pack, entity: str, before: Iterable[Row | None],
           after: Iterable[Row | None]) -> None:
    """Add to the counters what turning `before` into `after` changed (one statement)."""
    if not tracked(pack, entity):
        return
    found = deltas(pack, entity, before, after)
    if found:  # in key order: concurrent writers lock the rows in the same order
        _upsert(conn, [{"entity": k[0], "field": k[1], "stage": k[2], "measure": k[3],
                        "count": n, "cents": c} for k, (n, c) in sorted(found.items())])


def _summed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The sum of a money column in cents, exact on both databases."""
    return sa.func.coalesce(sa.func.sum(sa.cast(sa.func.round(column * 100), sa.BigInteger)), 0)


def fresh(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table],
          entity: str) -> dict[Key, tuple[int, int]]:
    """The counter rows of `entity` computed afresh (one grouped query per field)."""
    found: dict[Key, tuple[int, int]] = {}
    records = tables[entity]
    for field, money in tracked(pack, entity):
        stage = records.c[field]
        query = (sa.select(stage, sa.func.count(), *(_summed(records.c[m]) for m in money))
                 .where(records.c.deleted_at.is_(None), stage.is_not(None)).group_by(stage))
        for key, count, *sums in conn.execute(query):
            found[(entity, field, str(key), COUNT)] = (int(count), 0)
            for name, total in zip(money, sums, strict=True):
                found[(entity, field, str(key), name)] = (int(count), int(total))
    return found


def _expected(pack: Pack) -> set[Key]:
    """Every row the definitions call for: a zero row per stage too."""
    keys = set()
    for workflow in pack.workflows.values():
        for field, money in tracked(pack, workflow.entity):
            if field == workflow.field:
                keys |= {(workflow.entity, field, s, m) for s in workflow.stage_keys
                         for m in (COUNT, *money)}
    return keys


def rebuild(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table]) -> int:
    """Every counter row afresh; returns how many rows were written."""
    t = table()
    conn.execute(t.delete())
    rows = dict.fromkeys(_expected(pack), (0, 0))
    for entity in {w.entity for w in pack.workflows.values()}:
        rows |= fresh(conn, pack, tables, entity)
    params = [{"entity": k[0], "field": k[1], "stage": k[2], "measure": k[3], "count": n,
               "cents": c} for k, (n, c) in sorted(rows.items())]
    if params:
        conn.execute(t.insert(), params)
    return len(params)


def ensure(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table],
           changed: bool) -> bool:
    """Rebuild after a migration that `changed` anything, or when the rows are not the
    ones the definitions expect; True when it rebuilt."""
    t = table()
    held = {tuple(r) for r in conn.execute(sa.select(t.c.entity, t.c.field, t.c.stage,
                                                     t.c.measure))}
    if not changed and _expected(pack) <= held:
        return False
    rebuild(conn, pack, tables)
    return True


def read(conn: sa.Connection, workflow: Workflow,
         money: str | None) -> dict[str, tuple[int, Decimal | None]] | None:
    """Per stage (count, sum of `money` or None) from the counters; None when they do not
    hold that workflow or money field (the caller then groups the records)."""
    t = table()
    rows = conn.execute(sa.select(t.c.stage, t.c["count"], t.c.cents).where(
        t.c.entity == workflow.entity, t.c.field == workflow.field,
        t.c.measure == (money or COUNT))).all()
    if not rows:
        return None
    return {stage: (int(count), (Decimal(int(total)) / 100).quantize(Decimal("0.01"))
                    if money else None) for stage, count, total in rows}


def removed(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table],
            deletes: Mapping[str, Iterable[int]]) -> None:
    """Before a delete soft-deletes `deletes` (ids per entity, cascades included): take
    the live ones out of the counters."""
    for entity, ids in deletes.items():
        plan, wanted = tracked(pack, entity), sorted(ids)
        if not plan or not wanted:
            continue
        records = tables[entity]
        names = dict.fromkeys(n for field, money in plan for n in (field, *money))
        for start in range(0, len(wanted), 1000):
            rows = conn.execute(sa.select(*(records.c[n] for n in names)).where(
                records.c.id.in_(wanted[start:start + 1000]),
                records.c.deleted_at.is_(None))).mappings().all()
            change(conn, pack, entity, [dict(row) for row in rows], ())


def held(conn: sa.Connection) -> dict[Key, tuple[int, int]]:
    """The counter rows as stored."""
    t = table()
    return {(e, f, s, m): (int(n), int(c)) for e, f, s, m, n, c in conn.execute(
        sa.select(t.c.entity, t.c.field, t.c.stage, t.c.measure, t.c["count"], t.c.cents))}


def recompute(engine: sa.Engine, pack: Pack,
              tables: Mapping[str, sa.Table]) -> tuple[int, list[Key]]:
    """`karte recompute stage-totals`: rebuild every counter row in one transaction;
    returns how many rows there are and the keys that held another value."""
    with engine.begin() as conn:
        before = held(conn)
        written = rebuild(conn, pack, tables)
        after = held(conn)
    keys = sorted(set(before) | set(after))
    return written, [k for k in keys if before.get(k, (0, 0)) != after.get(k, (0, 0))]
