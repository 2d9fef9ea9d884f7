"""Pipeline numbers for boards and dashboards, each one SQL query (no per-record Python).

Soft-deleted records are left out everywhere. Every result has one entry per stage, in
the workflow's order, so a chart or a board column never has to guess a missing zero.

- `stage_counts`: records now in each stage (from the stage index alone), the sum of a
  money field, and how many are overdue.
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


def stage_counts(conn: sa.Connection, tables: Tables, workflow: Workflow, entity: Entity,
                 now: dt.datetime, money_field: str | None = None,
                 where: sa.ColumnElement[bool] | None = None,
                 unseen: frozenset[str] = frozenset(),
                 only_counts: bool = False, cap: int | None = None) -> dict[str, dict]:
    """Per stage: {"count", "sum" (None without a money field), "overdue"}, over the
    records `where` admits (an actor's read scope, a board's filters; default all).

    The counts are one grouped query on the stage's (stage, deleted_at, created_at, id)
    index alone; with a money field they come from the grouped query that sums it (that
    one must read the rows). The overdue counts, one query per stage with `max_days`,
    read that index and the move index (see `history.overdue`). `only_counts`: the
    counts alone ({"count"} per stage, for home); with `cap`, each stage's count stops
    there ({"count", "capped"}: see `capped_counts`)."""
    table = tables[workflow.entity]
    stage = table.c[workflow.field]
    if only_counts and cap is not None:
        return capped_counts(conn, table, workflow, where, cap)
    money = None if only_counts else money_field_of(entity, money_field, unseen)
    total = [sa.func.sum(table.c[money])] if money else []
    grouped = _grouped(conn, table, stage, where, sa.func.count(), *total)
    if only_counts:
        return _per_stage(workflow, {k: {"count": n} for k, (n,) in grouped.items()},
                          {"count": 0})
    lates: dict[str, tuple] = {}
    for timed in (s.key for s in workflow.stages if s.max_days is not None):
        late = sa.and_(stage == timed, overdue(workflow, tables, now, timed))
        lates |= _grouped(conn, table, stage, late if where is None else sa.and_(where, late),
                          sa.func.count())
    found = {key: {"count": row[0], "sum": _exact(row[1]) if money else None,
                   "overdue": int(lates.get(key, (0,))[0])}
             for key, row in grouped.items()}
    return _per_stage(workflow, found,
                      {"count": 0, "sum": _exact(0) if money else None, "overdue": 0})


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
