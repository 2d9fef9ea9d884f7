"""Meaning checks of field-level permissions (SPEC §3.4, docs/field-permissions.md).

A role's entry for an entity (pack.json `roles.<role>.<entity>`, or the entity file's
`permissions.<role>`) may list `hidden` and `read_only` fields. Field names belong to one
entity, so a role's `"*"` entry may not list any (DEF090). The checks judge the lists as
they apply — the most specific entry saying `hidden` (or `read_only`) wins — and point at
the entry that said it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from karte.meta.conditions import fields_used
from karte.meta.model import Entity, Field, Pack
from karte.meta.rollups import Rollup
from karte.meta.validate.context import Ctx
from karte.problems import Problem, at, did_you_mean, pointer

KEYS = ("hidden", "read_only")
WARNINGS = frozenset({"DEF098", "DEF099"})   # printed by `karte check`; they do not stop startup


def _said(ctx: Ctx, role: str, entity: Entity, key: str) -> tuple[str, tuple[str, ...]] | None:
    """(file, JSON pointer) of the entry whose `key` applies to role × entity, or None."""
    raw = ctx.raw.entities.get(entity.name)
    data = raw.data if raw is not None and isinstance(raw.data, dict) else {}
    own = (data.get("permissions") or {}).get(role)
    if isinstance(own, dict) and key in own:
        return entity.source, ("permissions", role, key)
    scopes = (ctx.role_scopes or {}).get(role)
    if isinstance(scopes, dict) and isinstance(scopes.get(entity.name), dict) \
            and key in scopes[entity.name]:
        return ctx.raw.pack.file, ("roles", role, entity.name, key)
    return None


def _where(ctx: Ctx, role: str, entity: Entity, key: str, name: str) -> tuple[str, str]:
    file, path = _said(ctx, role, entity, key) or (entity.source, ())
    names = list(getattr(ctx.pack.permission(role, entity.name), key) or ())
    index = names.index(name) if name in names else 0
    return file, pointer(*path, index)


def _lists(ctx: Ctx) -> Iterator[tuple[str, Entity, str, tuple[str, ...]]]:
    """(role, entity, key, names) for every role and entity where the key applies."""
    for role in ctx.roles or ():
        if role == "admin":
            continue
        for entity in ctx.pack.entities.values():
            permission = ctx.pack.permission(role, entity.name)
            for key in KEYS:
                names = getattr(permission, key) or ()
                if names and _said(ctx, role, entity, key) is not None:
                    yield role, entity, key, names


def _star(ctx: Ctx) -> Iterator[Problem]:
    for role, scopes in (ctx.role_scopes or {}).items():
        star = scopes.get("*") if isinstance(scopes, dict) else None
        for key in KEYS:
            if isinstance(star, dict) and key in star:
                yield at(ctx.raw.pack.file, pointer("roles", role, "*", key),
                         f'"{key}" lists fields, which belong to one entity: move it from '
                         f'"*" to the role\'s entry for that entity, e.g. "roles": '
                         f'{{"{role}": {{"<entity>": {{"{key}": [...]}}}}}}', "DEF090")


def _unknown(ctx: Ctx) -> Iterator[Problem]:
    for role, entity, key, names in _lists(ctx):
        known = [n for n in entity.fields]
        for name in names:
            if name not in entity.fields:
                yield at(*_where(ctx, role, entity, key, name),
                         f'{entity.name} has no field "{name}"{did_you_mean(name, known)}; '
                         f"its fields: {', '.join(known)}", "DEF091")


def _meaning(ctx: Ctx) -> Iterator[Problem]:
    for role, entity, key, names in _lists(ctx):
        for name in names:
            field = entity.fields.get(name)
            if field is None:
                continue
            for check in CHECKS[key]:
                message = check(ctx, role, entity, field)
                if message is not None:
                    yield at(*_where(ctx, role, entity, key, name), *message)


def _title(ctx: Ctx, role: str, entity: Entity, field: Field) -> tuple[str, str] | None:
    if field.name != entity.title_field:
        return None
    return (f'"{field.name}" is the title field of {entity.name}: hidden from {role}, its '
            "records could not be named in lists, links and search; hide another field or "
            "choose another title_field", "DEF092")


def _creates_without(ctx: Ctx, role: str, entity: Entity, field: Field) -> tuple[str, str] | None:
    filled = field.default is not None or field.series is not None or not field.declared
    may_create = ctx.pack.permission(role, entity.name).create
    if not field.required or filled or not may_create or field.workflow:
        return None
    return (f'"{field.name}" is required and {role} may create {entity.name} records but '
            "may not set it, so every record they create would be refused; give the field a "
            f'default, make it optional, or set "create": false for {role}', "DEF093")


def _stage_hidden(ctx: Ctx, role: str, entity: Entity, field: Field) -> tuple[str, str] | None:
    if not field.workflow:
        return None
    return (f'"{field.name}" is the stage field of workflow "{field.workflow}": its board, '
            "stage bar and moves show it, so it cannot be hidden; to keep a role off the "
            f'pipeline, set "read": false for {role} on {entity.name}', "DEF094")


def _stage_read_only(ctx: Ctx, role: str, entity: Entity,
                     field: Field) -> tuple[str, str] | None:
    if not field.workflow:
        return None
    return (f'"{field.name}" is the stage field of workflow "{field.workflow}": moves, not '
            "edits, change it; limit who may move with the transitions' \"roles\" (or "
            f'"update": false for {role})', "DEF095")


def _both(ctx: Ctx, role: str, entity: Entity, field: Field) -> tuple[str, str] | None:
    hidden = ctx.pack.permission(role, entity.name).hidden or ()
    if field.name not in hidden:
        return None
    return (f'"{field.name}" is both hidden and read_only for {role}; a hidden field is '
            "never written by the role either: list it under hidden only", "DEF096")


CHECKS: dict[str, tuple[Any, ...]] = {
    "hidden": (_title, _creates_without, _stage_hidden),
    "read_only": (_creates_without, _stage_read_only, _both),
}


def _operand(pack: Pack, entity: Entity, name: str) -> tuple[str, str] | None:
    """(entity, field) a formula operand reads: `price`, or one link away
    `customer.discount_pct`."""
    link, dot, target = name.partition(".")
    if not dot:
        return entity.name, name
    hop = entity.fields.get(link)
    if hop is None or hop.to is None or hop.to not in pack.entities:
        return None
    return hop.to, target


def _inputs(pack: Pack, entity: Entity, field: Field) -> list[tuple[str, str]]:
    """The (entity, field) pairs a derived field is computed from."""
    if field.type == "rollup":
        rollup = getattr(field, "rollup", None)
        return ([(rollup.child, name) for name in sorted(rollup.reads)]
                if isinstance(rollup, Rollup) else [])
    formula = getattr(field, "formula", None)
    operands = sorted(getattr(formula, "fields", ()) or ())
    return [pair for name in operands if (pair := _operand(pack, entity, name)) is not None]


def _hidden(ctx: Ctx, role: str, entity: str) -> tuple[str, ...]:
    if entity not in ctx.pack.entities:
        return ()
    return ctx.pack.permission(role, entity).hidden or ()


def _derived(ctx: Ctx) -> Iterator[Problem]:
    """A visible formula or rollup computed from a hidden field reveals it: a warning
    (DEF099), located at the entry that hides the field."""
    for role in ctx.roles or ():
        if role == "admin":
            continue
        for entity in ctx.pack.entities.values():
            for field in entity.fields.values():
                if field.name in _hidden(ctx, role, entity.name):
                    continue
                for source, name in _inputs(ctx.pack, entity, field):
                    if name not in _hidden(ctx, role, source):
                        continue
                    yield at(*_where(ctx, role, ctx.pack.entities[source], "hidden", name),
                             f"{entity.name}.{field.name} is computed from {source}.{name}, "
                             f"hidden from {role}, and is not hidden itself: it may reveal "
                             f'it; add "{field.name}" to {role}\'s hidden fields of '
                             f"{entity.name}", "DEF099")
                    break


CONDITIONS = ("visible_if", "required_if", "read_only_if")


def _conditions(ctx: Ctx) -> Iterator[Problem]:
    """A condition of a field the role sees that reads a field hidden from it: its forms
    and cards judge it without the hidden value (a warning, DEF098)."""
    for role, entity, key, names in _lists(ctx):
        if key != "hidden":
            continue
        for field in entity.fields.values():
            if field.name in names:
                continue
            for kind in CONDITIONS:
                condition = getattr(field, kind)
                read = sorted(fields_used(condition) & set(names)) if condition else []
                if read:
                    yield at(*_where(ctx, role, entity, key, read[0]),
                             f"{kind} of {entity.name}.{field.name} reads {', '.join(read)}, "
                             f"hidden from {role}: their forms and cards judge it as if "
                             f"empty, and the field's state may hint at the value; hide "
                             f'"{field.name}" too, or base the condition on a field {role} '
                             "sees", "DEF098")


FIELD_RIGHTS_CHECKS = (_star, _unknown, _meaning, _derived, _conditions)
