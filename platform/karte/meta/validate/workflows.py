"""Meaning checks of workflow files (SPEC §4, §6.1).

The reachability check walks `karte.meta.moves.next_stages`, the move policy the workflow
engine also uses to allow or refuse a move, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from karte.meta.model import SYSTEM_FIELDS, Entity, Workflow
from karte.meta.moves import next_stages
from karte.meta.raw import Doc
from karte.meta.validate.context import Ctx, misnamed, repeats, reserved
from karte.meta.validate.surface import check_board
from karte.meta.validate.tokens import WORKFLOW_CODES, Writer, check_create, check_set
from karte.problems import Problem, at, did_you_mean, pointer


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

def _writer(flow: Flow) -> Writer:
    return Writer(flow.ctx, flow.doc.file, flow.workflow.entity, flow.entity, WORKFLOW_CODES)


def _wf_on_enter(flow: Flow) -> Iterator[Problem]:
    for stage, actions in flow.workflow.on_enter.items():
        if stage not in flow.keys:
            yield flow.at("WF031", flow.no_stage(stage), "on_enter", stage)
        for index, action in enumerate(actions):
            where = ("on_enter", stage, index)
            if action.kind == "set":
                yield from check_set(_writer(flow), action.values, where)
            else:
                yield from check_create(_writer(flow), action.entity, action.values, where)


WORKFLOW_CHECKS: tuple[Callable[[Flow], Iterator[Problem]], ...] = (
    _wf_name, _wf_entity, _wf_field, _wf_stages, _wf_retired, _wf_transitions, _wf_requires,
    _wf_reachable, _wf_on_enter)


def check_workflow(ctx: Ctx, workflow: Workflow, doc: Doc) -> list[Problem]:
    """Every problem of one workflow file, checked against the pack it belongs to."""
    flow = Flow(ctx, workflow, doc, ctx.pack.entities.get(workflow.entity))
    return [*(problem for check in WORKFLOW_CHECKS for problem in check(flow)),
            *check_board(ctx, workflow, doc)]
