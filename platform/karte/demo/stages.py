"""Where a demo record sits in each pipeline, and what getting there left on it.

Records are spread over the stages of each workflow: most of them closed (`CLOSED`: the
history a dashboard counts, deals won and lost over the year, tickets resolved — a desk
closes most of what it opens), the others open, fewer further on, so boards look like a
working week. A record placed in a stage is treated as having walked
there from the initial stage: through every open stage in between for an open stage or
for the first final stage (a won deal went through the whole pipeline), through a random
part of the pipeline for a later final stage (a deal is lost at any point). So:

- the fields the stages on its path `require` are filled, and fields that only stages it
  has not reached require stay empty (a new ticket has no resolution);
- the `on_enter` actions of every stage it entered by a move take effect: `set` values are
  written on the record and `create` actions make their records once it has an id. Both
  are resolved by the workflow engine's own action functions, as a move would.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from karte.fields import normalise
from karte.meta.conditions import Context
from karte.meta.model import Entity, Pack, Stage, Workflow
from karte.workflow import actions

CLOSED = 0.8    # the share of records of a workflow placed in a final stage


@dataclass(frozen=True)
class Placement:
    """A record's stage in one workflow and the stages it walked through to get there
    (the initial one first: creating a record is not a move, so its actions do not run)."""

    workflow: Workflow
    path: tuple[Stage, ...]

    @property
    def stage(self) -> Stage:
        return self.path[-1]

    @property
    def entered(self) -> tuple[Stage, ...]:
        """The stages entered by a move, in order."""
        return self.path[1:]


def place(workflow: Workflow, rng: random.Random, at_start: bool = False) -> Placement:
    """A stage for a new demo record: a final one (each alike) `CLOSED` of the time, else an
    open one weighted towards the start of the pipeline; the initial stage when
    `at_start`."""
    stages = workflow.stages
    initial = workflow.stage(workflow.initial)
    if at_start:
        return Placement(workflow, (initial,))
    opens = [s for s in stages if not s.final]
    finals = len(stages) - len(opens)
    closing = sum(range(len(opens) + 1)) * CLOSED / (1 - CLOSED) / max(finals, 1)
    weights = [len(opens) - opens.index(s) if not s.final else closing for s in stages]
    target = rng.choices(stages, weights=weights)[0]
    return Placement(workflow, _path(workflow, initial, target, rng))


def _path(workflow: Workflow, initial: Stage, target: Stage,
          rng: random.Random) -> tuple[Stage, ...]:
    if target is initial:
        return (initial,)
    stages = workflow.stages
    start, end = stages.index(initial), stages.index(target)
    between = [s for s in stages[start + 1:end] if not s.final]
    first_final = next((s for s in stages if s.final), None)
    if target.final and target is not first_final:
        between = between[:rng.randint(0, len(between))]
    return (initial, *between, target)


def needed(placements: Sequence[Placement]) -> set[str]:
    """Fields the stages on the records' paths require."""
    return {name for p in placements for stage in p.path for name in stage.requires}


def held_back(placements: Sequence[Placement]) -> set[str]:
    """Fields only stages the record has not reached require: left empty."""
    later = {name for p in placements for stage in p.workflow.stages
             for name in stage.requires}
    return later - needed(placements)


def has_actions(placements: Sequence[Placement]) -> bool:
    """Whether a stage the record entered has `on_enter` actions."""
    return any(stage.key in p.workflow.on_enter for p in placements for stage in p.entered)


def set_values(pack: Pack, entity: Entity, placements: Sequence[Placement],
               record: Mapping[str, Any], ctx: Context,
               times: Sequence[Sequence[dt.datetime]] | None = None) -> dict[str, Any]:
    """What the `set` actions of the stages entered write, in order, later ones winning
    (in their stored form, so conditions can be judged on them). `times`: when each
    placement entered each of its stages (`history.Timeline.entered`): `$today` and `$now`
    are then that moment."""
    written: dict[str, Any] = {}
    for i, placement in enumerate(placements):
        for j, stage in enumerate(placement.entered):
            seen = {**record, **written, placement.workflow.field: stage.key}
            at = ctx if times is None else Context.current(ctx.user_id, pack.timezone,
                                                           times[i][j])
            scope = actions.Scope(at, entity, seen)
            written.update(actions.set_values(placement.workflow, stage.key, scope))
    return {name: _stored(entity, name, value, pack.country)
            for name, value in written.items()}


def _stored(entity: Entity, name: str, value: Any, country: str | None) -> Any:
    field = entity.fields.get(name)
    try:
        return normalise(field, value, country) if field is not None else value
    except (ValueError, ArithmeticError):
        return value     # the records service names the problem when it is saved


def creations(pack: Pack, entity: Entity, placements: Sequence[Placement],
              record: Mapping[str, Any], ctx: Context) -> list[actions.Creation]:
    """The records the `create` actions of the stages entered make, `record` having its
    id by now."""
    made = []
    for placement in placements:
        for stage in placement.entered:
            scope = actions.Scope(ctx, entity, {**record, placement.workflow.field: stage.key})
            made += actions.creations(pack, placement.workflow, stage.key, scope)
    return made
