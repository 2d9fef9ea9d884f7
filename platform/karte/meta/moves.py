"""The move policy of SPEC §4, in one place: which stage may follow which, and why not.

The load-time reachability check (`validate/workflows.py`) and the workflow engine
(`karte.workflow`) both read this module, so a pipeline the validator calls reachable is
exactly the pipeline the engine lets people walk. It is pure: it knows stages, roles and a
`holds(condition)` callback, never a database.

The rules:

- Without a transition naming the pair, the `moves` policy decides: a non-final stage (any
  stage when `reopen`) moves forward to any later stage (only to the next one when `skip`
  is false) and back to any earlier one when `back`.
- When one or more transitions match a pair (`from` equal to the stage, or `"*"`), the pair
  is allowed iff at least one of them passes its `roles` (the actor's role is listed;
  `admin` and the system always pass) and its `when`. Transitions thus both add moves the
  policy forbids and narrow moves it would allow (`invoiced → won` only for sales).
- `"*"` matches every stage except final ones, unless `reopen` is true: a won deal does
  not become lost while reopening is off.
- Moving to the same stage is a no-op, not a move; these functions are asked about
  distinct stages only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from karte.meta.conditions.model import fields_used
from karte.meta.model import Rule, Stage, Transition, Workflow

Holds = Callable[[Any], bool]
"""holds(condition) -> whether a transition's `when` is true for the record being moved."""

SYSTEM_ROLES = frozenset({"admin"})


def stage_index(workflow: Workflow, key: Any) -> int | None:
    """The position of stage `key`, or None when the workflow has no such stage."""
    keys = workflow.stage_keys
    return keys.index(key) if key in keys else None


def policy_refusal(workflow: Workflow, source: int, target: int) -> str | None:
    """Why the skip/back/reopen policy refuses `source → target` ("final", "skip",
    "back"), or None when it allows the move."""
    if workflow.stages[source].final and not workflow.reopen:
        return "final"
    if target > source:
        return None if workflow.skip or target == source + 1 else "skip"
    return None if workflow.back else "back"


def _matches(workflow: Workflow, transition: Transition, source: Stage, target: str) -> bool:
    if transition.target != target:
        return False
    if transition.source == source.key:
        return True
    return transition.source == "*" and (not source.final or workflow.reopen)


def transitions_for(workflow: Workflow, source: int, target: int) -> tuple[Transition, ...]:
    """The transitions that speak about `source → target`."""
    stage, key = workflow.stages[source], workflow.stages[target].key
    return tuple(t for t in workflow.transitions if _matches(workflow, t, stage, key))


def role_fits(transition: Transition, role: str | None) -> bool:
    """Whether `role` may use the transition; None is the system itself."""
    return (not transition.roles or role is None or role in SYSTEM_ROLES
            or role in transition.roles)


def refusal(workflow: Workflow, source: int, target: int, role: str | None,
            holds: Holds) -> str | None:
    """Why `source → target` is refused for `role` ("final", "skip", "back", "roles",
    "when"), or None when it is allowed."""
    listed = transitions_for(workflow, source, target)
    if not listed:
        return policy_refusal(workflow, source, target)
    permitted = [t for t in listed if role_fits(t, role)]
    if not permitted:
        return "roles"
    return None if any(t.when is None or holds(t.when) for t in permitted) else "when"


def roles_allowed(workflow: Workflow, source: int, target: int) -> tuple[str, ...]:
    """The roles named by the transitions of a pair (to say who may move it)."""
    named = (role for t in transitions_for(workflow, source, target) for role in t.roles)
    return tuple(dict.fromkeys(named))


def next_stages(workflow: Workflow, index: int) -> set[int]:
    """The stages (by index) a record in stage `index` could move to, by someone and
    under some condition: the policy's targets plus every transition's. Roles and `when`
    are not considered: they narrow a move for a user and a record, which only the engine
    knows. `index` itself is included only when a transition names it."""
    stages = workflow.stages
    targets = {j for j in range(len(stages))
               if j != index and policy_refusal(workflow, index, j) is None}
    for move in workflow.transitions:
        target = stage_index(workflow, move.target)
        if target is not None and _matches(workflow, move, stages[index], move.target):
            targets.add(target)
    return targets


def rule_where(rule: Rule, fallback: str) -> str:
    """The field a refused rule is shown next to: the one field it reads, else
    `fallback` (the stage field)."""
    used = fields_used(rule.when) if rule.when is not None else frozenset()
    return next(iter(used)) if len(used) == 1 else fallback
