"""Meaning checks of workflow files (SPEC §4, §6.1).

The reachability check walks `karte.meta.moves.next_stages`, the move policy the workflow
engine also uses to allow or refuse a move, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from karte.meta.model import SYSTEM_FIELDS, Entity, Field, Workflow
from karte.meta.moves import next_stages
from karte.meta.raw import Doc
from karte.meta.validate.context import Ctx, Tokens, misnamed, repeats, reserved, unfit
from karte.problems import Problem, a_an, at, did_you_mean, pointer


@dataclass(frozen=True)
class Flow:
    """One workflow being checked, with its entity when that was built."""

    ctx: Ctx
    workflow: Workflow
    doc: Doc
    entity: Entity | None

    def at(self, code: str, message: str, *parts: Any) -> Problem:
        return at(self.doc.file, pointer(*parts), message, code)

    @property
    def keys(self) -> list[str]:
        return list(self.workflow.stage_keys)

    def no_stage(self, key: str) -> str:
        return f'no stage "{key}"{did_you_mean(key, self.keys)}'


def _wf_name(flow: Flow) -> Iterator[Problem]:
    if reason := misnamed(flow.doc.data.get("name"), flow.workflow.name):
        yield flow.at("WF020", reason, "name")


def _wf_entity(flow: Flow) -> Iterator[Problem]:
    if flow.workflow.entity not in flow.ctx.entity_names:
        yield flow.at("WF021", flow.ctx.unknown_entity(flow.workflow.entity), "entity")


def _wf_field(flow: Flow) -> Iterator[Problem]:
    name = flow.workflow.field
    if name in SYSTEM_FIELDS or reserved(name):
        yield flow.at("WF037", f'"{name}" is reserved for the engine; name the stage field '
                      'e.g. "stage" or "status"', "field")
        return
    entity = flow.entity
    declared = entity.fields.get(name) if entity else None
    if entity and declared is not None and declared.declared and declared.type != "enum":
        yield flow.at("WF022", f'{flow.workflow.entity}.{name} is declared as a '
                      f"{declared.type} field in {entity.source}; a stage field is an "
                      "enum (or leave it undeclared: the engine declares it)", "field")
    elif declared is not None and declared.declared and declared.options:
        options, keys = set(declared.option_keys), set(flow.keys)
        if options != keys:
            yield flow.at("WF038", f"{flow.workflow.entity}.{name} declares options "
                          f"{', '.join(sorted(options))} but the stages are "
                          f"{', '.join(flow.keys)}; drop its options or make them the "
                          "stage keys", "field")


def _wf_stages(flow: Flow) -> Iterator[Problem]:
    indexed = [(i, s.key) for i, s in enumerate(flow.workflow.stages)]
    for index in repeats(indexed):
        yield flow.at("WF024", f'stage "{indexed[index][1]}" is listed twice', "stages",
                      index, "key")
    if "initial" in flow.doc.data and flow.workflow.initial not in flow.keys:
        yield flow.at("WF025", flow.no_stage(flow.workflow.initial), "initial")
    if not any(stage.final for stage in flow.workflow.stages):
        yield flow.at("WF030", 'no stage is final; mark the outcomes, e.g. "final": "won"',
                      "stages")


def _wf_retired(flow: Flow) -> Iterator[Problem]:
    """`retired` maps removed stages to current ones; `renamed_from` names a gone key."""
    for old, new in flow.workflow.retired.items():
        if old in flow.keys:
            yield flow.at("WF040", f'stage "{old}" is still listed in "stages"; retire a '
                          "stage by removing it there", "retired", old)
        elif new not in flow.keys:
            yield flow.at("WF040", f'"{old}" is retired into {flow.no_stage(new)}',
                          "retired", old)
    seen: set[str] = set()
    for index, stage in enumerate(flow.workflow.stages):
        if stage.renamed_from is None:
            continue
        old = stage.renamed_from
        if old in flow.keys or old in flow.workflow.retired or old in seen:
            yield flow.at("WF041", f'renamed_from "{old}" is a current stage, a retired one '
                          "or renamed twice; a rename needs the old key gone", "stages",
                          index, "renamed_from")
        seen.add(old)


def _wf_transitions(flow: Flow) -> Iterator[Problem]:
    roles = flow.ctx.roles
    for index, move in enumerate(flow.workflow.transitions):
        for key, stage in (("from", move.source), ("to", move.target)):
            if stage != "*" and stage not in flow.keys:
                yield flow.at("WF026", flow.no_stage(stage), "transitions", index, key)
        for at_role, role in enumerate(move.roles):
            if roles is not None and role not in roles:
                yield flow.at("WF027", flow.ctx.unknown_role(role, roles), "transitions",
                              index, "roles", at_role)


def _wf_requires(flow: Flow) -> Iterator[Problem]:
    if flow.entity is None:
        return
    for index, stage in enumerate(flow.workflow.stages):
        for at_name, name in enumerate(stage.requires):
            if name not in flow.ctx.field_names(flow.entity.name):
                yield flow.at("WF028", flow.ctx.unknown_field(flow.entity, name), "stages",
                              index, "requires", at_name)


def _wf_reachable(flow: Flow) -> Iterator[Problem]:
    workflow = flow.workflow
    if workflow.initial not in flow.keys:
        return
    reached, todo = set(), [flow.keys.index(workflow.initial)]
    while todo:
        index = todo.pop()
        if index not in reached:
            reached.add(index)
            todo.extend(next_stages(workflow, index))
    policy = f"skip {json.dumps(workflow.skip)}, back {json.dumps(workflow.back)}, " \
             f"reopen {json.dumps(workflow.reopen)}"
    for index, stage in enumerate(workflow.stages):
        if index not in reached and stage.key not in flow.keys[:index]:
            yield flow.at("WF029", f'stage "{stage.key}" can never be reached from '
                          f'"{workflow.initial}" (moves: {policy}); add a transition to it '
                          "or allow more moves", "stages", index)


# -- on_enter actions ----------------------------------------------------------------------

def _action_tokens(entity: str) -> Tokens:
    return {"$today": lambda f: f.type in ("date", "datetime"),
            "$now": lambda f: f.type == "datetime",
            "$me": lambda f: f.type == "user", "$owner": lambda f: f.type == "user",
            "$record": lambda f: f.type == "link" and f.to == entity}


RECORD_FIELD = "$record."
NUMBERS = frozenset({"integer", "decimal", "money", "formula"})
WIDER: Mapping[str, frozenset[str]] = {
    "decimal": NUMBERS, "money": NUMBERS, "percent": frozenset({"integer"}),
    "string": frozenset({"email", "phone", "url"}),
    "text": frozenset({"string", "email", "phone", "url"})}
"""Target type -> the other source types a `$record.<field>` copy fits (besides its own):
each one the target's normaliser accepts without losing what the source holds."""


def _copy_unfit(source: Field, target: Field) -> str | None:
    """Why the value of `source` cannot be copied into `target`; None when it can."""
    if source.type == "file" or target.type == "file":
        return "a file field is not copied"
    if source.type != target.type and source.type not in WIDER.get(target.type, ()):
        return f"{a_an(source.type)} value does not fit {a_an(target.type)} field"
    if source.to != target.to:
        return f"it points to {source.to}, this field to {target.to}"
    lost = [key for key in source.option_keys if key not in target.option_keys]
    if target.option_keys and lost:
        return f"this field has no option {', '.join(lost)}"
    return None


def _record_field(flow: Flow, field: Field, name: str,
                  where: tuple[str | int, ...]) -> Iterator[Problem]:
    """`$record.<name>`: a field of the moved record whose values fit `field`."""
    entity = flow.entity
    if entity is None or (name not in entity.fields and name in flow.ctx.field_names(entity.name)):
        return                    # a stage field whose workflow file has problems of its own
    source = entity.lookup(name)
    if source is None:
        hop = "; tokens read the moved record only (one hop)" if "." in name else ""
        yield flow.at("WF050", f'"$record.{name}": '
                      f"{flow.ctx.unknown_field(entity, name, SYSTEM_FIELDS)}{hop}", *where)
    elif reason := _copy_unfit(source, field):
        yield flow.at("WF051", f'"$record.{name}" is {entity.name}.{name}, '
                      f"{a_an(source.type)} field{' to ' + source.to if source.to else ''}"
                      f": {reason}", *where)


def _value(flow: Flow, field: Field, value: Any, where: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, str) and value.startswith(RECORD_FIELD):
        yield from _record_field(flow, field, value.removeprefix(RECORD_FIELD), where)
        return
    reason = unfit(field, value, _action_tokens(flow.workflow.entity),
                   flow.ctx.pack.country, days=True)
    if reason and value == "$record":
        yield flow.at("WF036", f'"$record" is the moved {flow.workflow.entity}: it fits a '
                      f"link field to {flow.workflow.entity}, and this is {a_an(field.type)} "
                      f"field{' to ' + field.to if field.to else ''}", *where)
    elif reason:
        yield flow.at("WF033", reason, *where)


def _settable(field: Field) -> str | None:
    if field.workflow:
        return f'"{field.name}" is the stage field of workflow "{field.workflow}": it ' \
               "changes only through moves"
    if field.type == "formula":
        return f'"{field.name}" is a formula: it is computed on save'
    return None


def _values(flow: Flow, target: Entity, values: Mapping[str, Any], code: str,
            where: tuple[str | int, ...]) -> Iterator[Problem]:
    """Each value of a `set` or `create` action names a field it may write, and fits it."""
    for name, value in values.items():
        field = target.fields.get(name)
        reason = (_settable(field) if field is not None
                  else None if name in flow.ctx.field_names(target.name)
                  else flow.ctx.unknown_field(target, name))
        if reason:
            yield flow.at(code, reason, *where, name)
        elif field is not None:
            yield from _value(flow, field, value, (*where, name))


def _set(flow: Flow, values: Mapping[str, Any], where: tuple[str | int, ...]) -> Iterator[Problem]:
    if flow.entity is not None:
        yield from _values(flow, flow.entity, values, "WF032", (*where, "set"))


def _create(flow: Flow, entity: str | None, values: Mapping[str, Any],
            where: tuple[str | int, ...]) -> Iterator[Problem]:
    if entity not in flow.ctx.entity_names:
        yield flow.at("WF034", flow.ctx.unknown_entity(entity), *where, "create")
    target = flow.ctx.pack.entities.get(entity or "")
    if target is None or target.part_of is not None:    # a part: DEF067 says it
        return
    yield from _values(flow, target, values, "WF035", (*where, "values"))
    missing = [n for n, f in target.fields.items() if f.required and f.default is None
               and not f.workflow and f.type != "formula" and n not in values]
    if missing:
        yield flow.at("WF035", f"creating a {target.name} needs "
                      f"{', '.join(missing)} (required, without a default)", *where, "values")


def _wf_on_enter(flow: Flow) -> Iterator[Problem]:
    for stage, actions in flow.workflow.on_enter.items():
        if stage not in flow.keys:
            yield flow.at("WF031", flow.no_stage(stage), "on_enter", stage)
        for index, action in enumerate(actions):
            where = ("on_enter", stage, index)
            if action.kind == "set":
                yield from _set(flow, action.values, where)
            else:
                yield from _create(flow, action.entity, action.values, where)


WORKFLOW_CHECKS: tuple[Callable[[Flow], Iterator[Problem]], ...] = (
    _wf_name, _wf_entity, _wf_field, _wf_stages, _wf_retired, _wf_transitions, _wf_requires,
    _wf_reachable, _wf_on_enter)


def check_workflow(ctx: Ctx, workflow: Workflow, doc: Doc) -> list[Problem]:
    """Every problem of one workflow file, checked against the pack it belongs to."""
    flow = Flow(ctx, workflow, doc, ctx.pack.entities.get(workflow.entity))
    return [problem for check in WORKFLOW_CHECKS for problem in check(flow)]
