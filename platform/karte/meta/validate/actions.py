"""Meaning checks of an entity's record `actions` (SPEC §3.7; docs/actions.md).

Names are unique, roles declared, `open: created` has something to open; each `set` and
`create` value is type-checked against its target field by the same checker as workflow
`on_enter` values (`karte.meta.validate.tokens`), `$line.<field>` against the line copied;
`lines.from`/`to` are lines fields; a `move` names a stage of one of the entity's
workflows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from karte.meta.model import Entity, Field
from karte.meta.raw import Doc
from karte.meta.record_actions import OPEN_CREATED, LinesCopy, RecordAction, Step
from karte.meta.validate.context import Ctx, repeats
from karte.meta.validate.tokens import Writer, check_create, check_set, check_values
from karte.problems import Problem, a_an, at, did_you_mean, pointer

ACTION_CODES: Mapping[str, str] = {
    "set": "DEF102", "value": "DEF103", "entity": "DEF104", "values": "DEF105",
    "record": "DEF106", "no_field": "DEF107", "unfit": "DEF108", "line": "DEF109"}

Where = tuple[str | int, ...]


def _part_of(field: Field | None) -> str | None:
    """The part entity of a `lines` field (None for any other field)."""
    return getattr(field, "of", None) if field is not None and field.type == "lines" else None


def _lines_field(ctx: Ctx, entity: Entity, name: str, code: str, side: str,
                 where: Where, doc: Doc) -> Iterator[Problem]:
    field = entity.fields.get(name)
    if field is None:
        yield at(doc.file, pointer(*where), f"lines.{side}: {ctx.unknown_field(entity, name)}",
                 code)
    elif _part_of(field) is None:
        yield at(doc.file, pointer(*where), f'lines.{side}: "{name}" is {a_an(field.type)} '
                 f"field of {entity.name}; lines are copied between lines fields", code)


def _lines(ctx: Ctx, entity: Entity, doc: Doc, step: Step, copy: LinesCopy,
           where: Where) -> Iterator[Problem]:
    """`lines`: from a lines field here, to a lines field of the created record, each
    value fitting the new line's field, `$line.<field>` read from the copied line."""
    target = ctx.pack.entities.get(step.entity or "")
    yield from _lines_field(ctx, entity, copy.source, "DEF110", "from",
                            (*where, "lines", "from"), doc)
    if target is not None:
        yield from _lines_field(ctx, target, copy.target, "DEF111", "to",
                                (*where, "lines", "to"), doc)
    source_part = ctx.pack.entities.get(_part_of(entity.fields.get(copy.source)) or "")
    made = _part_of(target.fields.get(copy.target)) if target is not None else None
    new_part = ctx.pack.entities.get(made or "")
    if source_part is None or new_part is None:
        return
    writer = _writer(ctx, entity, doc, source_part)
    yield from check_values(writer, new_part, copy.values, "values", (*where, "lines", "values"))
    missing = [n for n, f in new_part.fields.items() if f.declared and f.required
               and f.default is None and f.series is None and not f.workflow
               and not f.derived and not getattr(f, "fetch", None)
               and n not in copy.values]
    if missing:
        yield at(doc.file, pointer(*where, "lines", "values"), f"each new {new_part.name} "
                 f"needs {', '.join(missing)} (required, without a default)", "DEF105")


def _move(ctx: Ctx, entity: Entity, doc: Doc, step: Step, where: Where) -> Iterator[Problem]:
    owned = ctx.pack.workflows_of(entity.name)
    if step.workflow is not None:
        chosen = [w for w in owned if w.name == step.workflow]
        if not chosen:
            yield at(doc.file, pointer(*where, "workflow"), f'no workflow "{step.workflow}" '
                     f"moves {entity.name}{did_you_mean(step.workflow, [w.name for w in owned])}",
                     "DEF112")
            return
        owned = tuple(chosen)
    having = [w for w in owned if step.stage in w.stage_keys]
    keys = [key for w in owned for key in w.stage_keys]
    if not owned:
        yield at(doc.file, pointer(*where, "move"), f"{entity.name} has no workflow: it has "
                 "no stages to move to", "DEF112")
    elif not having:
        yield at(doc.file, pointer(*where, "move"), f'no stage "{step.stage}" in '
                 f"{' or '.join(w.name for w in owned)}{did_you_mean(step.stage or '', keys)}",
                 "DEF112")
    elif len(having) > 1:
        yield at(doc.file, pointer(*where, "move"), f'stage "{step.stage}" is in workflows '
                 f"{', '.join(w.name for w in having)}; say which one with \"workflow\"",
                 "DEF112")


def _writer(ctx: Ctx, entity: Entity, doc: Doc, line: Entity | None = None) -> Writer:
    return Writer(ctx, doc.file, entity.name, entity, ACTION_CODES, record_word="this",
                  line=line, lines_known=True)


def _step(ctx: Ctx, entity: Entity, doc: Doc, step: Step, where: Where) -> Iterator[Problem]:
    if step.kind == "set":
        yield from check_set(_writer(ctx, entity, doc), step.values, where)
    elif step.kind == "move":
        yield from _move(ctx, entity, doc, step, where)
    else:
        given = (step.lines.target,) if step.lines is not None else ()
        yield from check_create(_writer(ctx, entity, doc), step.entity, step.values, where,
                                given)
        if step.lines is not None:
            yield from _lines(ctx, entity, doc, step, step.lines, where)


def _action(ctx: Ctx, entity: Entity, doc: Doc, action: RecordAction,
            index: int) -> Iterator[Problem]:
    for at_role, role in enumerate(action.roles or ()):
        if ctx.roles is not None and role not in ctx.roles:
            yield at(doc.file, pointer("actions", index, "roles", at_role),
                     ctx.unknown_role(role, ctx.roles), "DEF101")
    if action.open == OPEN_CREATED and not action.creates:
        yield at(doc.file, pointer("actions", index, "open"), '"open": "created" needs a '
                 '"create" step to open; drop it to stay on the record', "DEF113")
    for at_step, step in enumerate(action.steps):
        yield from _step(ctx, entity, doc, step, ("actions", index, "do", at_step))


def check_actions(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    """Every problem of the entity's `actions`."""
    names: list[tuple[int, Any]] = [(i, a.name) for i, a in enumerate(entity.actions)]
    for index in repeats(names):
        yield at(doc.file, pointer("actions", index, "name"), f'action "{names[index][1]}" '
                 "is declared twice; give each action its own name", "DEF100")
    for index, action in enumerate(entity.actions):
        yield from _action(ctx, entity, doc, action, index)
