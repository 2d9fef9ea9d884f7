"""Stage history: writing a move's row, reading a record's moves, and "since when" in SQL.

`entered_at` and `overdue` are SQL expressions on the entity's table, so lists filter by
them and boards badge whole columns in one query (no per-record Python): the record
entered its current stage at the time stored beside its stage (store/stage_times.py,
equal to its latest `karte_stage_move` row into that stage), and is overdue when the
stage has `max_days` and more time has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from karte.fields import UTCDateTime
from karte.meta.model import Workflow
from karte.store import stage_times
from karte.store.records import moves as records_moves

Tables = Mapping[str, sa.Table]
Record = Mapping[str, Any]


def _moves(tables: Tables) -> sa.Table:
    return tables["karte_stage_move"]


def entered_at(workflow: Workflow, tables: Tables) -> sa.ColumnElement[dt.datetime]:
    """When each record of the workflow's entity entered its current stage (label it to
    select it: `entered_at(w, tables).label("entered_at")`): the stage time stored on the
    record (store/stage_times.py)."""
    table = tables[workflow.entity]
    return sa.func.coalesce(table.c[stage_times.column_name(workflow.field)],
                            table.c.created_at, type_=UTCDateTime())


def overdue(workflow: Workflow, tables: Tables, now: dt.datetime,
            only: str | None = None) -> sa.ColumnElement[bool]:
    """True when the record has been in a stage with `max_days` longer than that; never
    NULL, so `not_(overdue(...))` is the exact complement. Per timed stage: the record is
    in the stage and entered it before the cutoff, a range of the (stage, stage time, id)
    board index. `only`: that stage's records alone."""
    table = tables[workflow.entity]
    column = table.c[workflow.field]
    entered = table.c[stage_times.column_name(workflow.field)]
    parts = []
    for stage in workflow.stages:
        if stage.max_days is None or only not in (None, stage.key):
            continue
        cutoff = sa.literal(now - dt.timedelta(days=stage.max_days), UTCDateTime())
        parts.append(sa.and_(column.is_not(None), column == stage.key,
                             entered.is_not(None), entered < cutoff))
    return sa.or_(sa.false(), *parts)


def write_move(conn: sa.Connection, tables: Tables, workflow: Workflow, before: Record,
               to: str, user_id: int | None, at: dt.datetime) -> None:
    """The history row of one move, with the whole seconds spent in the stage it left."""
    since = stage_times.entered(before, workflow.field)   # before the move: its old stage
    seconds = max(0, int((at - since).total_seconds()))
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
