"""`on_enter` actions (SPEC §4): the values they write, with their tokens resolved.

Tokens: `$record` is the moved record's id, `$owner` its owner (the `owner` user field, or
whoever created it when it has none or it is empty), `$me` the mover, `$today`, `$now` and
`{"days_from_today": n}` as in conditions (today in the pack's time zone; on a datetime
field, midnight UTC of that day), and `$record.<field>` one field of the moved record (one
hop: a link gives the linked id; `links` and `multi_enum` a copy of the list; empty gives
empty). Resolution happens when the move runs, on the record as it enters the stage
(carried values and earlier `set` actions included; `create` sees every `set`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from karte.meta.conditions import Context, Token
from karte.meta.conditions.model import resolve
from karte.meta.model import Action, Entity, Field, Pack, Workflow

Record = Mapping[str, Any]
RECORD_FIELD = "$record."


def owner_of(entity: Entity, record: Record) -> int | None:
    """Who owns a record: its `owner` user field, else its creator."""
    owner = record.get(entity.owner_field) if entity.owner_field else None
    return owner if owner is not None else record.get("created_by")


@dataclass(frozen=True)
class Scope:
    """What tokens mean for one move."""

    ctx: Context
    entity: Entity
    record: Record


TOKENS: dict[str, Callable[[Scope, Field], Any]] = {
    "$record": lambda scope, field: scope.record.get("id"),
    "$owner": lambda scope, field: owner_of(scope.entity, scope.record),
    "$me": lambda scope, field: scope.ctx.user_id,
    "$today": lambda scope, field: resolve(Token("today"), field, scope.ctx),
    "$now": lambda scope, field: resolve(Token("now"), field, scope.ctx),
}


def resolve_value(value: Any, field: Field | None, scope: Scope) -> Any:
    """A literal as is; a token as of this move. Unknown fields keep the value: the
    records service names them."""
    if field is None:
        return value
    if isinstance(value, Mapping) and set(value) == {"days_from_today"}:
        return resolve(Token("today", value["days_from_today"]), field, scope.ctx)
    if isinstance(value, str) and value in TOKENS:
        return TOKENS[value](scope, field)
    if isinstance(value, str) and value.startswith(RECORD_FIELD):
        return _field_of(scope.record, value.removeprefix(RECORD_FIELD))
    return value


def _field_of(record: Record, name: str) -> Any:
    """`$record.<name>`: the moved record's value, a list copied so the two never share."""
    value = record.get(name)
    return list(value) if isinstance(value, list | tuple) else value


def resolved(target: Entity, values: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    return {name: resolve_value(value, target.fields.get(name), scope)
            for name, value in values.items()}


@dataclass(frozen=True)
class Creation:
    """A record an action will create: its entity and resolved values."""

    entity: str
    values: Mapping[str, Any]


def actions_of(workflow: Workflow, stage: str) -> tuple[Action, ...]:
    return workflow.on_enter.get(stage, ())


def set_values(workflow: Workflow, stage: str, scope: Scope) -> dict[str, Any]:
    """What the `set` actions write on the moved record, later actions winning; each
    action's tokens see what the earlier ones wrote."""
    values: dict[str, Any] = {}
    for action in actions_of(workflow, stage):
        if action.kind == "set":
            seen = replace(scope, record={**scope.record, **values})
            values.update(resolved(scope.entity, action.values, seen))
    return values


def creations(pack: Pack, workflow: Workflow, stage: str, scope: Scope) -> list[Creation]:
    """The records the `create` actions make, in order."""
    return [Creation(action.entity, resolved(pack.entities[action.entity], action.values,
                                             scope))
            for action in actions_of(workflow, stage)
            if action.kind == "create" and action.entity is not None
            and action.entity in pack.entities]
