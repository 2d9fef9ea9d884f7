"""When each record entered its current stage, stored on the record itself.

Every stage field `<field>` of an entity has a companion column `_<field>_at` (names
starting with `_` are reserved, so no declared field can clash): the time the record
entered the stage it is in. It is written in the same statement as the stage — by a
creation (the creation time), a move (the move's time) and a migration that maps retired
stages (the migration's time) — and it is exactly the `at` of the record's latest
`karte_stage_move` row into its current stage, the creation row included (a test checks
this after random moves).

Why: "overdue" (longer in a stage than its `max_days`) and "days in stage" are then a
column comparison that the `(stage, _stage_at, id)` board index answers by a range read
of the overdue records alone, instead of asking the move history per record.

A migration that adds the column fills it from the move history (records stored before
any move row fall back to `created_at`), in the migration's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Pack


def column_name(field: str) -> str:
    """The column holding when a record entered its current stage of `field`."""
    return f"_{field}_at"


def stage_fields(entity: Entity) -> list[str]:
    """The entity's stage fields (one per workflow that moves it)."""
    return [f.name for f in entity.fields.values() if f.workflow is not None]


def entered(record: Mapping[str, Any], field: str) -> Any:
    """When a record read from its table entered its current stage of `field` (its
    creation time if it holds no stage time, as `history.entered_at` says in SQL)."""
    return record.get(column_name(field)) or record.get("created_at")


def on_create(entity: Entity, record: Mapping[str, Any], at: Any) -> dict[str, Any]:
    """The stage times of a new record: its creation time for each stage it starts in."""
    return {column_name(name): at if record.get(name) is not None else None
            for name in stage_fields(entity)}


def on_update(entity: Entity, changed: Iterable[str], at: Any) -> dict[str, Any]:
    """The stage times an update writes: the update's time for each stage it changes."""
    moved = set(changed)
    return {column_name(name): at for name in stage_fields(entity) if name in moved}


def added_columns(pack: Pack, steps: Sequence[Any],
                  column: Callable[[str], str] = column_name) -> dict[str, list[str]]:
    """Per entity table, the stage fields whose time column (or the companion column
    `column` names: store/stage_reached.py) `steps` (a migration's applied steps) just
    added."""
    found: dict[str, list[str]] = {}
    for entity in pack.entities.values():
        names = [name for name in stage_fields(entity)
                 if any(s.kind == "add_column" and s.table == entity.table_name
                        and s.column == column(name) for s in steps)]
        if names:
            found[entity.table_name] = names
    return found


def added_fields(pack: Pack, tables: Mapping[str, sa.Table], added: Mapping[str, list[str]]
                 ) -> Iterator[tuple[Entity, sa.Table, str]]:
    """(entity, its table, stage field) of every column `added` names (per table, the
    stage fields of `added_columns`): what a backfill fills."""
    for entity in pack.entities.values():
        table = tables.get(entity.table_name)
        if table is not None:
            for name in added.get(entity.table_name, ()):
                yield entity, table, name


def backfill(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table],
             added: Mapping[str, list[str]]) -> None:
    """Fill just-added stage time columns from the move history: the latest move into
    the record's current stage, else its creation time."""
    moves = tables["karte_stage_move"]
    for entity, table, name in added_fields(pack, tables, added):
        workflow = entity.fields[name].workflow
        latest = (sa.select(sa.func.max(moves.c.at))
                  .where(moves.c.entity == entity.name, moves.c.record_id == table.c.id,
                         moves.c.workflow == workflow,
                         moves.c.to_stage == table.c[name])
                  .scalar_subquery())
        conn.execute(table.update().where(table.c[name].is_not(None))
                     .values({column_name(name): sa.func.coalesce(latest,
                                                                  table.c.created_at)}))
