"""Stage history: writing a move's row, reading a record's moves, and "since when" in SQL.

`entered_at` and `overdue` are SQL expressions on the entity's table, so lists filter by
them and boards badge whole columns in one query (no per-record Python): the record
entered its current stage at the latest `karte_stage_move` row into that stage (the
creation row included; records stored before the workflow existed fall back to
`created_at`), and is overdue when the stage has `max_days` and more time has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from karte.fields import UTCDateTime
from karte.meta.model import Workflow
from karte.store.records import moves as records_moves

Tables = Mapping[str, sa.Table]
Record = Mapping[str, Any]


def _moves(tables: Tables) -> sa.Table:
    return tables["karte_stage_move"]


def entered_at(workflow: Workflow, tables: Tables) -> sa.ColumnElement[dt.datetime]:
    """When each record of the workflow's entity entered its current stage (label it to
    select it: `entered_at(w, tables).label("entered_at")`)."""
    table, moves = tables[workflow.entity], _moves(tables).alias("entered")
    latest = (sa.select(sa.func.max(moves.c.at))
              .where(moves.c.entity == workflow.entity, moves.c.record_id == table.c.id,
                     moves.c.workflow == workflow.name,
                     moves.c.to_stage == table.c[workflow.field])
              .scalar_subquery())
    return sa.func.coalesce(latest, table.c.created_at, type_=UTCDateTime())


def overdue(workflow: Workflow, tables: Tables, now: dt.datetime,
            only: str | None = None, few: bool = False) -> sa.ColumnElement[bool]:
    """True when the record has been in a stage with `max_days` longer than that; never
    NULL, so `not_(overdue(...))` is the exact complement.

    Exactly `entered_at < cutoff`, written so that no record needs its latest move: the
    record is in the stage, no move into it is newer than the cutoff (a small set, read
    from the move index on (entity, workflow, to_stage, at)), and either it was created
    before the cutoff or some move into the stage exists (only asked of records created
    after the cutoff, which are few). `only`: that stage's records alone. `few`: asked
    of a few known records (a board's shown cards), so "no move into it newer than the
    cutoff" is asked per record from the (entity, record_id, at) index instead of
    reading every recent move into the stage."""
    table, moves = tables[workflow.entity], _moves(tables)
    column = table.c[workflow.field]
    parts = []
    for stage in workflow.stages:
        if stage.max_days is None or only not in (None, stage.key):
            continue
        cutoff = sa.literal(now - dt.timedelta(days=stage.max_days), UTCDateTime())
        into = sa.and_(moves.c.entity == workflow.entity, moves.c.workflow == workflow.name,
                       moves.c.to_stage == stage.key)
        recent = sa.select(moves.c.record_id).where(into, moves.c.at >= cutoff)
        ever: sa.ColumnElement[bool] = sa.exists().where(into,
                                                         moves.c.record_id == table.c.id)
        fresh = table.c.id.not_in(recent)
        if few:    # scalar subqueries: PostgreSQL cannot hash them over every move
            mine = sa.and_(into, moves.c.record_id == table.c.id)
            ever = sa.select(moves.c.id).where(mine).limit(1).scalar_subquery().is_not(None)
            fresh = sa.select(moves.c.id).where(mine, moves.c.at >= cutoff).limit(1) \
                .scalar_subquery().is_(None)
        parts.append(sa.and_(column.is_not(None), column == stage.key, fresh,
                             sa.or_(table.c.created_at < cutoff, ever)))
    return sa.or_(sa.false(), *parts)


def entered(conn: sa.Connection, tables: Tables, workflow: Workflow,
            record: Record) -> dt.datetime:
    """When `record` entered its current stage (see `entered_at`)."""
    moves = _moves(tables)
    found = conn.scalar(sa.select(sa.func.max(moves.c.at)).where(
        moves.c.entity == workflow.entity, moves.c.record_id == record["id"],
        moves.c.workflow == workflow.name, moves.c.to_stage == record.get(workflow.field)))
    return found or record["created_at"]


def write_move(conn: sa.Connection, tables: Tables, workflow: Workflow, before: Record,
               to: str, user_id: int | None, at: dt.datetime) -> None:
    """The history row of one move, with the whole seconds spent in the stage it left."""
    seconds = max(0, int((at - entered(conn, tables, workflow, before)).total_seconds()))
    records_moves.write(conn, _moves(tables), [records_moves.move_row(
        workflow.entity, before["id"], workflow.name, before.get(workflow.field), to,
        user_id, at, seconds)])


def moves(conn: sa.Connection, tables: Tables, entity: str, record_id: int,
          workflow: str | None = None) -> list[dict[str, Any]]:
    """A record's stage history, newest first, with who moved it (for the timeline)."""
    history, users = _moves(tables), tables["karte_user"]
    who = sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email).label("user")
    query = (sa.select(history, who)
             .select_from(history.outerjoin(users, users.c.id == history.c.user_id))
             .where(history.c.entity == entity, history.c.record_id == record_id)
             .order_by(history.c.at.desc(), history.c.id.desc()))
    if workflow is not None:
        query = query.where(history.c.workflow == workflow)
    return [dict(row) for row in conn.execute(query).mappings()]
