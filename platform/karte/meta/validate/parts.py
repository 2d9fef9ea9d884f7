"""Meaning checks of parts and `lines` fields (SPEC §3.5), codes DEF060–DEF067.

A part (`"part_of": "quote"`) has exactly one parent entity, held in exactly one `lines`
field of that parent; a `lines` field's `of` is a part of its own entity. Parts nest one
level only, have no rights, actions or workflow of their own (they follow their parent),
and leave the names of the fields the engine adds to them (the parent link, `position`)
free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from karte.meta.model import Entity, Field
from karte.meta.parts import POSITION
from karte.meta.validate.context import Ctx
from karte.problems import Problem, at, did_you_mean, pointer

OWN_KEYS = ("permissions", "actions")


def _lines_fields(ctx: Ctx) -> Iterator[tuple[Entity, Field]]:
    for entity in ctx.pack.entities.values():
        for field in entity.lines_fields():
            yield entity, field


def _part_of(ctx: Ctx, part: Entity) -> Iterator[Problem]:
    """`part_of` names another entity, one that is not itself a part."""
    parent = part.part_of
    if parent is None:
        return
    if parent == part.name or parent not in ctx.entity_names:
        hint = did_you_mean(parent, [n for n in ctx.entity_names if n != part.name])
        yield at(part.source, "/part_of", f'"part_of" names no other entity: "{parent}"{hint}',
                 "DEF061")
        return
    above = ctx.pack.entities.get(parent)
    if above is not None and above.part_of is not None:
        yield at(part.source, "/part_of", f'"{parent}" is itself a part of "{above.part_of}"; '
                 "parts nest one level only: make this a part of a record entity, or link "
                 "the lines instead", "DEF066")


def _held(ctx: Ctx, part: Entity) -> Iterator[Problem]:
    """The parent holds the part in exactly one `lines` field."""
    parent = ctx.pack.entities.get(part.part_of or "")
    if parent is None or parent.name == part.name:
        return
    holders = [f for e, f in _lines_fields(ctx) if f.of == part.name and e is parent]
    if not holders:
        yield at(part.source, "/part_of", f'{parent.name} has no lines field of {part.name}; '
                 f'add one to {parent.name}, e.g. "lines": {{"type": "lines", "of": '
                 f'"{part.name}"}}', "DEF060")
    for field in holders[1:]:
        yield at(parent.source, pointer("fields", field.name, "of"),
                 f"{part.name} is already the lines of {parent.name}.{holders[0].name}; a "
                 "part has exactly one lines field: declare another part entity for these "
                 "lines", "DEF063")
    # a lines field of another entity naming this part: DEF062 (not a part of that one)


def _engine_names(ctx: Ctx, part: Entity) -> Iterator[Problem]:
    """The part's own fields leave free the names the engine adds."""
    if part.part_of is None:
        return
    declared = ctx.raw.entities[part.name].data.get("fields", {})
    for name in (part.part_of, POSITION):
        if isinstance(declared, dict) and name in declared:
            yield at(part.source, pointer("fields", name),
                     f'"{name}" is a field the engine adds to every part of {part.part_of} '
                     "(the link to its parent, and the line's position); choose another "
                     "name", "DEF065")


FIELD_KEYS = frozenset({"hidden", "read_only"})


def _fields_only(entry: Any, per_role: bool = False) -> bool:
    """A part's rights entry that only hides fields or makes them read-only (SPEC §3.4:
    field-level rights apply to lines too); `per_role`: an entity file's `permissions`."""
    entries = list(entry.values()) if per_role and isinstance(entry, dict) else [entry]
    return all(isinstance(e, dict) and set(e) <= FIELD_KEYS for e in entries)


def _own_rights(ctx: Ctx, part: Entity) -> Iterator[Problem]:
    """No permissions, actions or workflow of a part's own: it follows its parent."""
    if part.part_of is None:
        return
    data = ctx.raw.entities[part.name].data
    for key in OWN_KEYS:
        if key in data and not (key == "permissions" and _fields_only(data[key], True)):
            yield at(part.source, pointer(key), f'a part has no "{key}" of its own: its '
                     f"lines are read and written with their {part.part_of}; remove "
                     f'"{key}" (set them on {part.part_of}; only "hidden" and "read_only" '
                     "field lists may be given per role)", "DEF064")
    for role, scopes in (ctx.role_scopes or {}).items():
        if (isinstance(scopes, dict) and part.name in scopes
                and not _fields_only(scopes[part.name])):
            yield at(ctx.raw.pack.file, pointer("roles", role, part.name),
                     f"{part.name} is a part of {part.part_of}: its rights are those on "
                     f'{part.part_of}; keep only "hidden" and "read_only" in this entry',
                     "DEF064")
    for workflow in ctx.pack.workflows.values():
        if workflow.entity == part.name:
            yield at(workflow.source, "/entity", f"{part.name} is a part of {part.part_of}; "
                     "a part has no workflow of its own: put the workflow on "
                     f"{part.part_of}", "DEF064")


def _of(ctx: Ctx, entity: Entity, field: Field) -> Iterator[Problem]:
    """A `lines` field's `of` is a part of this entity."""
    where = (entity.source, pointer("fields", field.name))
    if field.of is None:
        yield at(*where, 'a lines field needs "of": the part entity whose records are the '
                 "lines", "DEF062")
        return
    part = ctx.pack.entities.get(field.of)
    if field.of not in ctx.entity_names:
        yield at(entity.source, pointer("fields", field.name, "of"),
                 f'"of" names no entity: "{field.of}"{did_you_mean(field.of, ctx.entity_names)}',
                 "DEF062")
    elif part is not None and part.part_of != entity.name:
        yield at(entity.source, pointer("fields", field.name, "of"),
                 f'{field.of} is not a part of {entity.name}; add "part_of": "{entity.name}" '
                 f"to {field.of}", "DEF062")


def _created(ctx: Ctx) -> Iterator[Problem]:
    """A workflow action does not create a part's records on their own: lines are made
    with their parent (create the parent with its lines)."""
    for workflow in ctx.pack.workflows.values():
        for stage, actions in workflow.on_enter.items():
            for index, action in enumerate(actions):
                part = ctx.pack.entities.get(action.entity or "")
                if action.kind == "create" and part is not None and part.part_of:
                    yield at(workflow.source, pointer("on_enter", stage, index, "create"),
                             f"{part.name} is a part of {part.part_of}: its records are "
                             f"created with their {part.part_of}, never on their own; "
                             f"create the {part.part_of} with its lines instead", "DEF067")
    for entity in ctx.pack.entities.values():
        for number, record_action in enumerate(entity.actions):
            for index, step in enumerate(record_action.steps):
                part = ctx.pack.entities.get(step.entity or "")
                if step.kind == "create" and part is not None and part.part_of:
                    yield at(entity.source, pointer("actions", number, "do", index, "create"),
                             f"{part.name} is a part of {part.part_of}: its records are "
                             f"created with their {part.part_of}, never on their own; "
                             f"create the {part.part_of} with its lines instead", "DEF067")


def check_parts(ctx: Ctx) -> Iterator[Problem]:
    """Every problem of the pack's parts and lines fields."""
    checks: tuple[Callable[[Ctx, Entity], Iterator[Problem]], ...] = (
        _part_of, _held, _engine_names, _own_rights)
    for entity in ctx.pack.entities.values():
        for check in checks:
            yield from check(ctx, entity)
    for entity, field in _lines_fields(ctx):
        yield from _of(ctx, entity, field)
    yield from _created(ctx)

