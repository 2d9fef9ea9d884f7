"""Serving while risky migration steps wait (SPEC §6.3).

A type change refused because three rows would not convert must not lock everybody out:
those rows can only be corrected in the app. So the app starts on the database as it is —
a field whose type change waits is served with the definition its column still has (the
last applied one, from `karte_schema_history`) — and admins see each waiting step with a
link to the rows that block it. Steps the app cannot serve around (a column that does not
exist yet) still refuse the start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from karte.meta.model import Entity, Field, Option, Pack, Text, frozen_map, humanise
from karte.store.migrate.steps import Plan, Step

SERVABLE = frozenset({"change_type", "add_index", "add_foreign_key", "retire_value"})
@dataclass(frozen=True)
class Waiting:
    """A step that waits, for the admins' banner: what, on which entity, which rows."""

    step: Step
    entity: str | None
    ids: tuple[int, ...]

    @property
    def description(self) -> str:
        return self.step.description


def unservable(plan: Plan) -> list[Step]:
    """Waiting steps the app cannot run beside (it would read a column that is not
    there, or write values the column cannot hold)."""
    return [s for s in plan.waiting if s.kind not in SERVABLE]


def _stored_field(field: Field, entry: dict[str, Any]) -> Field:
    """The field as its column still is: the last applied type and storage options; rules
    that belong to the new type (bounds, pattern, formula) wait with it."""
    options = tuple(field.option(k) or Option(k, Text.of(humanise(k), key=k))
                    for k in entry.get("options", ()))
    return replace(field, type=entry["type"], options=options, formula=None, pattern=None,
                   min=None, max=None,
                   read_only=field.read_only or entry["type"] in ("formula", "rollup"),
                   max_length=entry.get("max_length"), precision=entry.get("precision"),
                   scale=entry.get("scale"), currency=entry.get("currency"), to=entry.get("to"))


def serving_pack(pack: Pack, plan: Plan, last: dict[str, Any] | None) -> Pack:
    """The Registry the app serves: fields with a waiting type change keep the definition
    their column has. ValueError when that definition is not known."""
    changed: dict[str, dict[str, Field]] = {}
    for step in plan.waiting:
        if step.kind != "change_type" or step.table not in pack.entities:
            continue
        entity = pack.entity(step.table)
        entry = ((last or {}).get("entities", {}).get(entity.name, {}).get("fields", {})
                 .get(step.column))
        if entry is None or step.column_name not in entity.fields:
            raise ValueError(step.target)
        changed.setdefault(entity.name, {})[step.column_name] = _stored_field(
            entity.fields[step.column_name], entry)
    if not changed:
        return pack
    entities = {name: _with_fields(e, changed.get(name)) for name, e in pack.entities.items()}
    return replace(pack, entities=frozen_map(entities))


def _with_fields(entity: Entity, fields: dict[str, Field] | None) -> Entity:
    if not fields:
        return entity
    return replace(entity, fields=frozen_map({**entity.fields, **fields}))


def banner(plan: Plan, pack: Pack) -> tuple[Waiting, ...]:
    """Each waiting step with its entity (when it is one) and the ids of blocking rows."""
    return tuple(Waiting(s, s.table if s.table in pack.entities else None,
                         tuple(s.detail.get("ids") or s.detail.get("examples") or ()))
                 for s in plan.waiting)
