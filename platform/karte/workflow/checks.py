"""Judging one move before anything is written: every reason to refuse it, at once.

A `Plan` is what the move would write (carried values, `set` values, records to create)
and every problem with it: the move itself not allowed (policy, roles, `when`), fields the
target stage `requires` (or `required`/`required_if`) left empty, rules that fail, carried
values that do not validate, and actions whose values do not validate. Requires and rules
are judged on the record as it would enter the stage — carried values and `set` actions
applied, formulas recomputed; a transition's `when` on the record with the carried values
but still in its current stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty
from karte.meta import conditions, moves
from karte.meta.model import Entity, Stage, Workflow
from karte.problems import Problem
from karte.store import Records, field_rights
from karte.store.actor import Actor
from karte.store.errors import Forbidden
from karte.store.records.fetch import Linked
from karte.store.records.write import compute_formulas, judge_with, prepare_create
from karte.store.validation import Judge, check_protected, check_required, check_stages
from karte.workflow import actions
from karte.workflow.ahead import AHEAD, ahead_problems
from karte.workflow.messages import Voice

Record = Mapping[str, Any]


@dataclass
class Plan:
    """One move, judged: what it writes and why it may not."""

    workflow: Workflow
    record: Record                         # as stored now
    target: Stage
    carried: dict[str, Any]                # the values sent with the move (as sent)
    sets: dict[str, Any]                   # what `set` actions write (resolved)
    creations: list[actions.Creation]
    problems: list[Problem] = field(default_factory=list)

    @property
    def missing(self) -> tuple[str, ...]:
        """Fields whose only fault is being empty, in the order they were found."""
        faulty = {p.where for p in self.problems if p.code not in ("required", "rule")}
        named = (p.where for p in self.problems if p.code == "required")
        return tuple(n for n in dict.fromkeys(named) if n not in faulty)

    @property
    def only_missing(self) -> bool:
        """Every reason is about a missing field (rules reading one missing field too)."""
        missing = set(self.missing)
        return bool(missing) and all(
            p.code == "required" or (p.code == "rule" and p.where in missing)
            for p in self.problems)


@dataclass(frozen=True)
class Judging:
    """Everything the checks of one move read."""

    records: Records
    workflow: Workflow
    entity: Entity
    record: Record
    source: int
    target: int
    actor: Actor | None
    voice: Voice
    ctx: conditions.Context
    judge: Judge
    linked: Linked | None = None     # values formulas read through links
    ahead: frozenset[str] = frozenset()   # asked fields: later stages' rules judge them too

    def hops(self, record: Record) -> Mapping[str, Any] | None:
        return self.linked.hop_values(record) if self.linked is not None else None

    @property
    def stage(self) -> Stage:
        return self.workflow.stages[self.target]

    def say(self, name: str, /, **values: str) -> str:
        return self.voice.say(name, entity=self.voice.entity(self.entity),
                              from_=self.voice.stage(self.workflow.stages[self.source]),
                              to=self.voice.stage(self.stage), **values)


def _policy(j: Judging, before: Record) -> list[Problem]:
    """The move itself: skip / back / reopen, or the transitions' roles and `when`."""
    role = j.actor.role if j.actor is not None else None
    reason = moves.refusal(j.workflow, j.source, j.target, role,
                           lambda cond: j.judge(cond, before))
    if reason is None:
        return []
    roles = moves.roles_allowed(j.workflow, j.source, j.target)
    step = j.workflow.stages[min(j.source + 1, len(j.workflow.stages) - 1)]
    message = j.say(reason, roles=j.voice.join(roles), next=j.voice.stage(step))
    return [Problem(j.workflow.field, message, "not_allowed")]


def _label(j: Judging, name: str) -> str:
    field = j.entity.fields.get(name)
    return j.voice.field(field) if field is not None else name


def _action_problem(j: Judging, problem: Problem, does: str, where: str) -> Problem:
    message = j.say("action", does=does, message=problem.message)
    return Problem(where, message, "action")


def _set_problems(j: Judging, sets: Mapping[str, Any]) -> tuple[dict, list[Problem]]:
    loaded, found = j.records.store.schemas.load(j.entity, sets)
    problems = [_action_problem(j, p, j.say("action_set", field=_label(j, p.where)),
                                p.where)
                for p in found]
    return loaded, problems


def _creation_problems(j: Judging, creation: actions.Creation) -> list[Problem]:
    target = j.records.pack.entities[creation.entity]
    _, found = prepare_create(j.records.store, target, creation.values, j.ctx, j.judge, True)
    does = j.say("action_create", target=j.voice.entity(target))
    return [_action_problem(j, p, does, f"{target.name}.{p.where}") for p in found]


def _missing(j: Judging, entering: Record, changed: set[str]) -> list[Problem]:
    """Empty fields the stage `requires`, then `required` / `required_if` ones."""
    names = [n for n in j.stage.requires if is_empty(entering.get(n))]
    names += [p.where for p in check_required(j.entity, entering, changed, j.judge)]
    return [Problem(name, j.say("missing", field=j.voice.field(j.entity.fields[name])),
                    "required")
            for name in dict.fromkeys(names) if name in j.entity.fields]


def _forbidden(j: Judging, values: Mapping[str, Any]) -> list[Problem]:
    """Values sent with the move that the actor's role may not write (SPEC §3.4)."""
    try:
        field_rights.check_input(j.records.store, j.entity, j.actor, values, j.record)
    except Forbidden as error:
        return error.problems
    return []


def _unwritable(j: Judging, missing: list[Problem]) -> list[Problem]:
    """A missing field the actor's role may not fill is no question for them: the refusal
    says so (code "read_only", so that the move form does not ask for it)."""
    fixed = field_rights.read_only(j.records.store, j.entity, j.actor)
    if j.actor is None or not fixed:
        return missing
    return [Problem(p.where, f"{p.message} "
                             f"{field_rights.refused_field(j.entity, j.actor, p.where).message}",
                    "read_only") if p.where in fixed else p
            for p in missing]


def _rules(j: Judging, entering: Record) -> list[Problem]:
    return [Problem(moves.rule_where(rule, j.workflow.field),
                    j.voice.text(rule.message) or j.say("rule_default"), "rule")
            for rule in j.stage.rules
            if rule.when is not None and not j.judge(rule.when, entering)]


def _ahead(j: Judging, entering: Record) -> list[Problem]:
    """The later stages' rules on the fields the move asked for (workflow/ahead.py)."""
    if not j.ahead:
        return []
    return ahead_problems(
        j.workflow, j.stage.key, [n for n in j.entity.fields if n in j.ahead], entering,
        j.judge, lambda stage, rule: j.voice.say(
            "ahead", stage=j.voice.stage(stage),
            message=j.voice.text(rule.message) or j.say("rule_default")))


def _other_stages(j: Judging, entering: Record, changed: set[str]) -> list[Problem]:
    """What the record's stages in its other workflows keep (carried values may not
    empty a field another stage requires)."""
    others = tuple(w for w in j.records.pack.workflows_of(j.entity.name) if w is not j.workflow)
    return check_stages(j.entity, others, entering, changed, j.judge, j.voice.locale)


def _judge(j: Judging, values: Mapping[str, Any]) -> Plan:
    store = j.records.store
    carried, problems = store.schemas.load(j.entity, values)
    problems += check_protected(j.entity, carried, j.record, j.judge, False)
    before = {**j.record, **carried}
    compute_formulas(j.entity, before, j.hops(before))
    scope = actions.Scope(j.ctx, j.entity, {**before, j.workflow.field: j.stage.key})
    sets = actions.set_values(j.workflow, j.stage.key, scope)
    loaded_sets, set_problems = _set_problems(j, sets)
    entering = {**before, **loaded_sets, j.workflow.field: j.stage.key}
    compute_formulas(j.entity, entering, j.hops(entering))
    changed = {*carried, *loaded_sets, j.workflow.field}
    creations = actions.creations(j.records.pack, j.workflow, j.stage.key,
                                  actions.Scope(j.ctx, j.entity, entering))
    found = (_policy(j, before) + _forbidden(j, values)
             + _unwritable(j, _missing(j, entering, changed)) + _rules(j, entering)
             + _ahead(j, entering) + _other_stages(j, entering, changed) + problems
             + set_problems
             + [p for c in creations for p in _creation_problems(j, c)])
    return Plan(j.workflow, j.record, j.stage, dict(values), sets, creations,
                _once(found))


def _once(problems: list[Problem]) -> list[Problem]:
    """Each problem once; a field already reported as invalid is not also "missing", nor
    judged by a rule (its value was not taken)."""
    invalid = {p.where for p in problems
               if p.code not in ("required", "rule", "not_allowed", AHEAD)}
    kept = [p for p in problems if not (p.code in ("required", "rule") and p.where in invalid)]
    return list(dict.fromkeys(kept))


def plan_move(records: Records, conn: sa.Connection, workflow: Workflow, entity: Entity,
              record: Record, to: str, actor: Actor | None, voice: Voice,
              values: Mapping[str, Any], ahead: frozenset[str] = frozenset()) -> Plan:
    """The move of `record` to stage `to`, judged (nothing is written); `ahead`: fields
    asked for, whose values the later stages' rules judge too."""
    target = moves.stage_index(workflow, to)
    if target is None:            # the workflow was chosen as the one with this stage
        raise ValueError(f'workflow "{workflow.name}" has no stage "{to}"')
    ctx = records.store.context(actor)
    judging = Judging(records, workflow, entity, record, source_index(workflow, record),
                      target, actor, voice, ctx,
                      judge_with(ctx, records.store.fetcher(conn)),
                      Linked(records.store, conn, entity, None), frozenset(ahead))
    return _judge(judging, values)


def source_index(workflow: Workflow, record: Record) -> int:
    """The record's stage; a record without one (stored before the workflow existed, or
    in a stage since removed) is treated as being in `initial`."""
    found = moves.stage_index(workflow, record.get(workflow.field))
    return found if found is not None else moves.stage_index(workflow, workflow.initial) or 0
