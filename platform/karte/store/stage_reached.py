"""Which stages each record ever entered, stored on the record itself.

Every stage field `<field>` of an entity has, beside `_<field>_at` (store/stage_times.py),
a companion column `_<field>_reached`: the keys of the stages the record has ever entered,
each once, in order of first entry, between `|` — "|new|contacted|won|". It is written in
the same statement as the stage — by a creation (the first stage), a move (the new key
appended unless the column already holds it) and a migration that maps retired stages
(the mapped key, as the history row the mapping writes says) — so it is exactly the set of
`to_stage` of the record's `karte_stage_move` rows for that workflow (a test checks this
after random creates, moves, back-moves, deletes and restores). A renamed stage is renamed
in it as in the history.

Why: a funnel ("how many of this quarter's deals ever reached each stage") is then one
scan of the range's records, `includes(column, '|<key>|')` counted per step, instead of
grouping the hundreds of thousands of history rows of those records; and a funnel step's
drill-down (`Reached`, store/where.py) is the same test, so the two always agree.

Tests use `includes` (instr / position), never LIKE: `_` is a LIKE wildcard and stage keys
hold `_`. A migration that adds the column fills it from the move history, one statement
per column listing the stages in the workflow's order (so a backfilled column lists its
keys in the workflow's order rather than first-entry order), in the migration's
transaction; so does `karte load` of a dump made before the column existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Pack
from karte.store import stage_times
from karte.store.stage_times import stage_fields
from karte.store.where import includes

SEPARATOR = "|"


def column_name(field: str) -> str:
    """The column holding the stages a record of `field`'s workflow ever entered."""
    return f"_{field}_reached"


def token(key: str) -> str:
    """How a stage key appears in the column: between separators, so that no key is
    found inside another ("won" is not in "|not_won|")."""
    return f"{SEPARATOR}{key}{SEPARATOR}"


def keys(value: str | None) -> list[str]:
    """The stage keys a stored value lists, in its order."""
    return [k for k in (value or "").split(SEPARATOR) if k]


def joined(stages: Iterable[str]) -> str | None:
    """The stored value for stages entered in this order (repeats kept once)."""
    unique = list(dict.fromkeys(stages))
    return SEPARATOR + SEPARATOR.join(unique) + SEPARATOR if unique else None


def on_create(entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
    """The reached stages of a new record: the stage it starts in, for each stage field."""
    return {column_name(name): joined([record[name]]) if record.get(name) is not None
            else None for name in stage_fields(entity)}


def reaching(column: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[Any]:
    """SQL for the column once the record enters `key`: unchanged when it already lists
    the key, else the key appended (a NULL column starts afresh)."""
    return sa.case((includes(column, token(key)), column),
                   else_=sa.func.coalesce(column, SEPARATOR) + f"{key}{SEPARATOR}")


def on_update(entity: Entity, table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The reached-stage expressions an update writes: for each stage field it sets to a
    stage, that stage appended unless already there."""
    return {column_name(name): reaching(table.c[column_name(name)], values[name])
            for name in stage_fields(entity)
            if name in values and values[name] is not None}


def renamed(column: sa.ColumnElement[Any], old: str, new: str) -> sa.ColumnElement[Any]:
    """The column with a renamed stage's key renamed (the history is renamed alike)."""
    return sa.func.replace(column, token(old), token(new))


def added_columns(pack: Pack, steps: Sequence[Any]) -> dict[str, list[str]]:
    """Per entity table, the stage fields whose reached column `steps` (a migration's
    applied steps) just added."""
    return stage_times.added_columns(pack, steps, column_name)


def missing(pack: Pack, columns: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Per entity table, the stage fields whose reached column is among `columns` (per
    table, the columns a dump being loaded lacks): those to fill from the history."""
    found: dict[str, list[str]] = {}
    for entity in pack.entities.values():
        names = [name for name in stage_fields(entity)
                 if column_name(name) in columns.get(entity.table_name, ())]
        if names:
            found[entity.table_name] = names
    return found


def backfill(conn: sa.Connection, pack: Pack, tables: Mapping[str, sa.Table],
             added: Mapping[str, list[str]]) -> None:
    """Fill just-added reached columns from the move history, one UPDATE per column that
    writes each record once (on PostgreSQL an UPDATE writes a new version of the row in
    every index: one per stage would write seven): per stage of the workflow, in its
    order, the key when a history row enters it."""
    moves = tables["karte_stage_move"]
    for entity, table, name in stage_times.added_fields(pack, tables, added):
        workflow = pack.workflows[entity.fields[name].workflow or ""]
        own = (moves.c.entity == entity.name, moves.c.workflow == workflow.name)
        listed: sa.ColumnElement[Any] = sa.literal(SEPARATOR, sa.Text())
        for stage in workflow.stages:
            entered = sa.exists().where(*own, moves.c.record_id == table.c.id,
                                        moves.c.to_stage == stage.key)
            listed = listed + sa.case((entered, f"{stage.key}{SEPARATOR}"), else_="")
        conn.execute(table.update()
                     .where(table.c.id.in_(sa.select(moves.c.record_id).where(*own)))
                     .values({column_name(name): sa.func.nullif(listed, SEPARATOR)}))
