"""Stored values of stages and enum options that the definitions no longer list.

A stage or option removed from the files while rows still hold it would vanish from
boards, filters and the stage bar. The plan finds such values (SPEC §4, §6) and:
- renames them where a stage says `renamed_from` (safe: applied at once, the stage
  history is renamed too);
- moves them where `retired` maps them to a current key (waits for `--apply`; stage
  changes are written as moves by the system, every change is audited);
- refuses the plan, with the count per value, where nothing maps them.

Looking costs a scan of the column, so it is done only for fields whose options lost a
key since the last applied definitions (`karte_schema_history`), or when those are unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from karte.fields import JSON
from karte.meta.model import Entity, Field, Pack
from karte.problems import counted
from karte.store import audit, stage_reached, stage_times
from karte.store.migrate.checks import empty
from karte.store.migrate.schema_history import recorded_options
from karte.store.migrate.steps import Step
from karte.store.migrate.types import BATCH, LISTED, batches
from karte.store.records.moves import move_row
from karte.store.where import includes

ENUMS = ("enum", "multi_enum")


def _stored(conn: sa.Connection, table: str, column: str,
            field: Field) -> dict[str, tuple[int, list[int]]]:
    """Per stored value that is not a current option: how many rows hold it, and the
    first ids (to list them). A list value (multi_enum) counts once per row holding it."""
    known = set(field.option_keys)
    if field.type == "multi_enum":
        found: dict[str, tuple[int, list[int]]] = {}
        for rows in batches(conn, table, column, JSON):
            for row in rows:
                for value in {v for v in row.value or () if v not in known}:
                    count, ids = found.get(value, (0, []))
                    found[value] = (count + 1, ids + [row.id] if len(ids) < LISTED else ids)
        return found
    source = sa.table(table, sa.column("id"), sa.column(column))
    value = source.c[column]
    query = (sa.select(value, sa.func.count()).where(value.is_not(None), value.not_in(known))
             .group_by(value))
    return {key: (count, list(conn.execute(
                sa.select(source.c.id).where(value == key).order_by(source.c.id)
                .limit(LISTED)).scalars()))
            for key, count in conn.execute(query).all()}


def _noun(pack: Pack, entity: Entity, field: Field) -> tuple[str, str]:
    """"stage" or "option", and the file where a person maps it."""
    if field.workflow:
        return "stage", pack.workflows[field.workflow].source
    return "option", entity.source


def _step(pack: Pack, entity: Entity, field: Field, value: str,
          found: tuple[int, list[int]], unready: dict[str, Any] | None = None) -> Step:
    noun, where = _noun(pack, entity, field)
    rows, ids = found
    records = counted(rows, f"{entity.name} record")
    one = rows == 1
    detail: dict[str, Any] = {"from": value, "rows": rows, "workflow": field.workflow,
                              "ids": ids}
    if unready:
        detail["unready"] = unready
    if value in field.renamed_values:
        detail["to"] = field.renamed_values[value]
        return Step("rename_value", entity.table_name, field.name,
                    f'rename {noun} "{value}" to "{detail["to"]}" in {records}', True, detail)
    if value in field.retired:
        detail["to"] = field.retired[value]
        how = "recorded as moves by the system" if field.workflow else "audited"
        return Step("retire_value", entity.table_name, field.name,
                    f'{records} in retired {noun} "{value}" {"goes" if one else "go"} to '
                    f'"{detail["to"]}" ({how}){_unready_note(detail)}',
                    False, detail)
    key = '"retired"' + ("" if field.workflow else f" on the field {field.name}")
    detail["refused"] = (f'{records} {"holds" if one else "hold"} {noun} "{value}", which is '
                         f'no longer defined: map it with {key} in {where}, e.g. "retired": '
                         f'{{"{value}": '
                         f'"{field.option_keys[0]}"}}, then run `karte migrate --apply`')
    return Step("retire_value", entity.table_name, field.name, detail["refused"], False,
                detail)


def _fields(entity: Entity, existing: dict[str, Any],
            last: dict[str, Any] | None) -> Iterator[Field]:
    """Enum fields with a column whose options may have lost a key since last time."""
    for field in entity.fields.values():
        if field.type not in ENUMS or field.name not in existing.get(entity.table_name, ()):
            continue
        before = recorded_options(last, entity.name, field.name)
        if before is None or before - set(field.option_keys):
            yield field


def _unready_note(detail: dict[str, Any]) -> str:
    """What a system move skips: the fields the new stage requires that rows lack."""
    missing = detail.get("unready")
    if not missing:
        return ""
    return (f"; {missing['rows']} of them lack what that stage requires "
            f"({', '.join(missing['fields'])}): fill them in after the move")


def _unready(conn: sa.Connection, pack: Pack, entity: Entity, field: Field,
             value: str) -> dict[str, Any] | None:
    """Rows a retired stage maps into a stage whose `requires` they do not meet: a move
    by the system is not refused for that, but the plan says so."""
    target = field.retired.get(value)
    if not field.workflow or target is None:
        return None
    stage = pack.workflows[field.workflow].stage(target)
    wanted = [entity.fields[n] for n in stage.requires
              if n in entity.fields and entity.fields[n].type != "links"]
    if not wanted:
        return None
    source = sa.table(entity.table_name, sa.column(field.name),
                      *(sa.column(f.name) for f in wanted))
    lacking = sa.or_(*(empty(source.c[f.name], f) for f in wanted))
    rows = conn.execute(sa.select(sa.func.count()).select_from(source)
                        .where(source.c[field.name] == value, lacking)).scalar_one()
    return {"rows": rows, "fields": [f.name for f in wanted]} if rows else None


def value_steps(conn: sa.Connection, pack: Pack, existing: dict[str, Any],
                last: dict[str, Any] | None) -> list[Step]:
    """A step per stored value that is no longer a stage or option, with its row count."""
    return [_step(pack, entity, field, value, found, _unready(conn, pack, entity, field, value))
            for entity in pack.entities.values() for field in _fields(entity, existing, last)
            for value, found in sorted(_stored(conn, entity.table_name, field.name,
                                               field).items())]


# -- applying ------------------------------------------------------------------------------

def _holding(table: sa.Table, field: Field, step: Step,
             conn: sa.Connection) -> Iterator[Sequence[sa.Row[Any, Any, Any]]]:
    """(id, version, value) of the rows holding the step's value, a batch at a time."""
    column = table.c[field.name]
    match = (column == step.detail["from"]) if field.type == "enum" else column.is_not(None)
    last = 0
    while rows := conn.execute(
            sa.select(table.c.id, table.c.version, column.label("value"))
            .where(match, table.c.id > last).order_by(table.c.id).limit(BATCH)).all():
        last = rows[-1].id
        if field.type == "multi_enum":
            rows = [r for r in rows if step.detail["from"] in (r.value or ())]
        yield rows


def _replaced(field: Field, value: Any, old: str, new: str) -> Any:
    if field.type == "enum":
        return new
    return list(dict.fromkeys(new if v == old else v for v in value))


def rename_value(conn: sa.Connection, entity: Entity, step: Step) -> None:
    """A stage renamed: its rows and its stage history take the new key; not a change of
    the records themselves, so no version step."""
    field, old, new = entity.field(step.column_name), step.detail["from"], step.detail["to"]
    source = sa.table(entity.table_name, sa.column("id"), sa.column(field.name))
    conn.execute(sa.update(source).where(source.c[field.name] == old).values({field.name: new}))
    if field.workflow:
        reached = sa.table(entity.table_name,
                           sa.column(stage_reached.column_name(field.name), sa.Text()))
        listed = reached.c[stage_reached.column_name(field.name)]
        conn.execute(sa.update(reached).where(includes(listed, stage_reached.token(old)))
                     .values({listed.name: stage_reached.renamed(listed, old, new)}))
    moves = sa.table("karte_stage_move", sa.column("workflow"), sa.column("from_stage"),
                     sa.column("to_stage"))
    for column in ("from_stage", "to_stage"):
        conn.execute(sa.update(moves).where(moves.c.workflow == field.workflow,
                                            moves.c[column] == old).values({column: new}))


def _entered(conn: sa.Connection, moves: sa.Table, entity: Entity, workflow: str,
             ids: list[int]) -> dict[int, dt.datetime]:
    query = (sa.select(moves.c.record_id, sa.func.max(moves.c.at))
             .where(moves.c.entity == entity.name, moves.c.workflow == workflow,
                    moves.c.record_id.in_(ids)).group_by(moves.c.record_id))
    return dict(conn.execute(query).all())


def retire_value(conn: sa.Connection, tables: dict[str, sa.Table], entity: Entity,
                 step: Step) -> None:
    """Rows holding a retired value take the mapped one: a version step and an audit row
    each, and for a stage a move by the system (no user) in the stage history."""
    field, old, new = entity.field(step.column_name), step.detail["from"], step.detail["to"]
    table, now = tables[entity.table_name], dt.datetime.now(dt.UTC)
    for rows in _holding(table, field, step, conn):
        if not rows:
            continue
        updates = [{"row_id": r.id, "new": _replaced(field, r.value, old, new),
                    "next": r.version + 1} for r in rows]
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                     .values({field.name: sa.bindparam("new"), "version": sa.bindparam("next"),
                              "updated_at": now,
                              **stage_times.on_update(entity, [field.name], now),
                              **stage_reached.on_update(entity, table, {field.name: new})}),
                     updates)
        action = "move" if field.workflow else "update"
        audit.write(conn, tables["karte_audit"], [
            audit.row(entity.name, r.id, action, None, now,
                      {field.name: [audit.jsonable(r.value), u["new"]],
                       audit.VERSION: [r.version, u["next"]]})
            for r, u in zip(rows, updates, strict=True)])
        if field.workflow:
            entered = _entered(conn, tables["karte_stage_move"], entity, field.workflow,
                               [r.id for r in rows])
            conn.execute(tables["karte_stage_move"].insert(), [
                move_row(entity.name, r.id, field.workflow, old, new, None, now,
                         int((now - entered[r.id]).total_seconds()) if r.id in entered
                         else None) for r in rows])
