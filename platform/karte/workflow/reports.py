"""Pipeline numbers for boards and dashboards, each one SQL query (no per-record Python).

Soft-deleted records are left out everywhere. Every result has one entry per stage, in
the workflow's order, so a chart or a board column never has to guess a missing zero.

- `stage_counts`: records now in each stage (from the counters of
  `karte.store.stage_totals` when nothing narrows them, else from the stage index), the
  sum of a money field, and how many are overdue (capped).
- `funnel`: distinct records that ever entered each stage (the creation row counts for
  the first stage; a record that skipped a stage did not reach it).
- `median_time_in_stage`: the median seconds records spent in a stage before leaving it,
  from the history rows of moves out of it (window functions: SQLite has no
  percentile_cont; with an even count the two middle values are averaged).
- `win_rate`: won / (won + lost) among records now in a final stage whose outcome is
  "won" or "lost"; None while there are none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Workflow
from karte.store import stage_totals
from karte.workflow.history import overdue

Tables = Mapping[str, sa.Table]


def money_field_of(entity: Entity, name: str | None = None,
                   unseen: frozenset[str] = frozenset()) -> str | None:
    """The field summed per stage: `name`, else the entity's first money field — of the
    fields the viewer sees (`unseen`: hidden from them; a sum would reveal them)."""
    if name is not None:
        return name if name not in unseen else None
    return next((f.name for f in entity.fields.values()
                 if f.type == "money" and f.name not in unseen), None)


def _per_stage(workflow: Workflow, found: Mapping[str, Any], empty: Any) -> dict[str, Any]:
    return {key: found.get(key, empty) for key in workflow.stage_keys}


def _exact(value: Any) -> Decimal:
    """A database sum as an exact two-place Decimal (SQLite sums NUMERIC as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _grouped(conn: sa.Connection, table: sa.Table, stage: sa.ColumnElement[Any],
             where: sa.ColumnElement[bool] | None, *columns: Any) -> dict[str, tuple]:
    query = (sa.select(stage, *columns).where(table.c.deleted_at.is_(None))
             .group_by(stage))
    if where is not None:
        query = query.where(where)
    return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


OVERDUE_CAP = 1000  # a stage's overdue count stops there ("1000+ overdue")


def everything(where: sa.ColumnElement[bool] | None) -> bool:
    """`where` admits every live record (no filter, a read scope of "all")."""
    return where is None or isinstance(where, sa.sql.elements.True_)


def stage_counts(conn: sa.Connection, tables: Tables, workflow: Workflow, entity: Entity,
                 now: dt.datetime, money_field: str | None = None,
                 where: sa.ColumnElement[bool] | None = None,
                 unseen: frozenset[str] = frozenset(),
                 only_counts: bool = False, cap: int | None = None) -> dict[str, dict]:
    """Per stage: {"count", "sum" (None without a money field), "overdue",
    "overdue_capped"}, over the records `where` admits (an actor's read scope, a board's
    filters; default all).

    When `where` admits every live record, the counts and sums are read from the
    counters kept by every write (`karte.store.stage_totals`): a few rows, exact, whatever
    the table's size. Otherwise (a filter, a search, a role that reads its own records
    only) one grouped query over the records `where` admits, reading the stage's
    (stage, created_at, id, deleted_at) index alone for the counts, and the rows for a
    money sum. The overdue counts, one query per stage with `max_days` reading that
    index and the move index (see `history.overdue`), stop at OVERDUE_CAP
    ("overdue_capped"). `only_counts`: the counts alone ({"count"} per stage, for home);
    with `cap`, each stage's count stops there ({"count", "capped"}: see
    `capped_counts`) unless the counters answer (exact, never capped)."""
    table = tables[workflow.entity]
    stage = table.c[workflow.field]
    money = None if only_counts else money_field_of(entity, money_field, unseen)
    kept = stage_totals.read(conn, workflow, money) if everything(where) else None
    if only_counts and kept is not None:
        return _per_stage(workflow, {k: {"count": n, "capped": False}
                                     for k, (n, _) in kept.items()},
                          {"count": 0, "capped": False})
    if only_counts and cap is not None:
        return capped_counts(conn, table, workflow, where, cap)
    if kept is not None:
        grouped = {k: (n, total) for k, (n, total) in kept.items()}
    else:
        total = [sa.func.sum(table.c[money])] if money else []
        grouped = _grouped(conn, table, stage, where, sa.func.count(), *total)
    if only_counts:
        return _per_stage(workflow, {k: {"count": n} for k, (n, *_) in grouped.items()},
                          {"count": 0})
    lates = overdue_counts(conn, tables, workflow, now, where, OVERDUE_CAP)
    found = {key: {"count": row[0], "sum": _exact(row[1]) if money else None,
                   "overdue": min(lates.get(key, 0), OVERDUE_CAP),
                   "overdue_capped": lates.get(key, 0) > OVERDUE_CAP}
             for key, row in grouped.items()}
    return _per_stage(workflow, found, {"count": 0, "sum": _exact(0) if money else None,
                                        "overdue": 0, "overdue_capped": False})


def overdue_counts(conn: sa.Connection, tables: Tables, workflow: Workflow,
                   now: dt.datetime, where: sa.ColumnElement[bool] | None,
                   cap: int) -> dict[str, int]:
    """Per stage with `max_days`: how many records `where` admits are overdue, counting
    no further than cap + 1 (one UNION ALL of a LIMITed read per stage)."""
    table = tables[workflow.entity]
    parts = []
    for timed in (s.key for s in workflow.stages if s.max_days is not None):
        rows = sa.select(table.c.id).where(table.c.deleted_at.is_(None),
                                           table.c[workflow.field] == timed,
                                           overdue(workflow, tables, now, timed))
        if where is not None:
            rows = rows.where(where)
        parts.append(sa.select(sa.literal(timed).label("stage"), sa.func.count().label("n"))
                     .select_from(rows.limit(cap + 1).subquery()))
    return {key: int(n) for key, n in conn.execute(sa.union_all(*parts))} if parts else {}


def capped_counts(conn: sa.Connection, table: sa.Table, workflow: Workflow,
                  where: sa.ColumnElement[bool] | None, cap: int) -> dict[str, dict]:
    """Per stage {"count", "capped"}: how many live records `where` admits, counting no
    further than `cap` (then "capped" and count == cap). One UNION ALL of a LIMITed read
    of the stage index per stage: at most cap + 1 index entries a stage, whatever the
    table's size (a whole GROUP BY reads every live record)."""
    stage = table.c[workflow.field]
    parts = []
    for key in workflow.stage_keys:
        rows = sa.select(table.c.id).where(table.c.deleted_at.is_(None), stage == key)
        if where is not None:
            rows = rows.where(where)
        parts.append(sa.select(sa.literal(key).label("stage"), sa.func.count().label("n"))
                     .select_from(rows.limit(cap + 1).subquery()))
    found = {key: int(n) for key, n in conn.execute(sa.union_all(*parts))} if parts else {}
    return {key: {"count": min(found.get(key, 0), cap), "capped": found.get(key, 0) > cap}
            for key in workflow.stage_keys}


def _history_of(tables: Tables, workflow: Workflow) -> tuple[sa.Table, list]:
    """The history table and the filter: this workflow's rows of live records."""
    moves, table = tables["karte_stage_move"], tables[workflow.entity]
    live = sa.exists().where(table.c.id == moves.c.record_id, table.c.deleted_at.is_(None))
    return moves, [moves.c.entity == workflow.entity, moves.c.workflow == workflow.name, live]


def funnel(conn: sa.Connection, tables: Tables, workflow: Workflow) -> dict[str, int]:
    """Per stage: how many (live) records ever entered it."""
    moves, where = _history_of(tables, workflow)
    query = (sa.select(moves.c.to_stage, sa.func.count(sa.distinct(moves.c.record_id)))
             .where(*where).group_by(moves.c.to_stage))
    return _per_stage(workflow, dict(conn.execute(query).all()), 0)


def median_time_in_stage(conn: sa.Connection, tables: Tables,
                         workflow: Workflow) -> dict[str, float | None]:
    """Per stage: the median seconds spent in it by records that left it (None: none did)."""
    moves, where = _history_of(tables, workflow)
    seconds, stage = moves.c.seconds_in_previous, moves.c.from_stage
    ranked = (sa.select(stage.label("stage"), seconds.label("seconds"),
                        sa.func.row_number().over(partition_by=stage, order_by=seconds)
                        .label("n"),
                        sa.func.count().over(partition_by=stage).label("total"))
              .where(*where, stage.is_not(None), seconds.is_not(None)).subquery())
    middle = sa.between(ranked.c.n, (ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2)
    query = (sa.select(ranked.c.stage, sa.func.avg(ranked.c.seconds))
             .where(middle).group_by(ranked.c.stage))
    found = {key: float(value) for key, value in conn.execute(query)}
    return _per_stage(workflow, found, None)


def win_rate(conn: sa.Connection, tables: Tables, workflow: Workflow) -> float | None:
    """Won / (won + lost) among live records now in a won or lost stage."""
    table = tables[workflow.entity]
    stage = table.c[workflow.field]
    won = [s.key for s in workflow.stages if s.final == "won"]
    lost = [s.key for s in workflow.stages if s.final == "lost"]
    counted = sa.select(sa.func.sum(sa.case((stage.in_(won), 1), else_=0)),
                        sa.func.count()).where(table.c.deleted_at.is_(None),
                                               stage.in_(won + lost))
    wins, closed = conn.execute(counted).one()
    return int(wins or 0) / closed if closed else None
