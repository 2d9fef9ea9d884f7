"""Rows of `karte_stage_move`, the stage history every funnel and time-in-stage report reads.

A record's first row is written when it is created (from NULL into the stage it starts in,
`seconds_in_previous` NULL), so the funnel counts every record in its first stage and the
time spent there is known from the start. Later rows are written by the workflow engine,
one per move, in the move's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Pack
from karte.store.bulk_insert import insert_rows


def move_row(entity: str, record_id: int, workflow: str, from_stage: str | None,
             to_stage: str, user_id: int | None, at: dt.datetime,
             seconds: int | None) -> dict[str, Any]:
    """Parameters of one history row (many of them go to one executemany)."""
    return {"entity": entity, "record_id": record_id, "workflow": workflow,
            "from_stage": from_stage, "to_stage": to_stage, "user_id": user_id, "at": at,
            "seconds_in_previous": seconds}


def initial_rows(pack: Pack, entity: Entity, ids: Sequence[int],
                 records: Sequence[Mapping[str, Any]], user_id: int | None,
                 at: dt.datetime) -> list[dict[str, Any]]:
    """One row per new record and workflow of its entity: into the stage it starts in."""
    return [move_row(entity.name, id, workflow.name, None, record[workflow.field], user_id,
                     at, None)
            for workflow in pack.workflows_of(entity.name)
            for id, record in zip(ids, records, strict=True)
            if record.get(workflow.field) is not None]


def write(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, table, rows)
