"""When each demo record was made and when it entered its stages: a past, not one instant.

Records created in one run would all be made "now", every stage entered at the same
second: a dashboard's monthly chart would be one bar, "won this month vs last month" would
compare everything with nothing and the time to resolve would be zero. So each demo record
gets a timeline drawn from the random generator of the run (a seed gives the same one):

- a record that reached a final stage (a won deal, a resolved ticket) was created at any
  time in the last year, then walked its path: each stage took a while — within the
  stage's `max_days` mostly, else a few days (exponentially spread, capped at
  `LONGEST`);
- a record still open walked its path the same way and is part way through its stay in
  its current stage (overdue only as often as a stay runs past `max_days`);
- a record without a workflow was created at any time in the last year.

The `set` actions of the stages it entered resolve `$today` and `$now` at the time it
entered them (a deal won in March has its close date in March), and once saved the
record's created_at / updated_at, when it entered its current stage (`_<field>_at`, what
"overdue" reads), the stages it entered (`_<field>_reached`, what a funnel counts), its
stage history (one row per stage on its path, with the seconds spent
in the previous one) and its "create" audit row are moved to those times.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Stage
from karte.store import stage_reached, stage_times
from karte.store.records.moves import move_row
from karte.store.records.store import Store

from .stages import Placement

YEAR = dt.timedelta(days=365)
DAY = dt.timedelta(days=1)
STEP_DAYS = 4.0                     # mean time in a stage without max_days
LONGEST = dt.timedelta(days=60)     # no stage takes longer than this
SHORTEST = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Timeline:
    """A record's creation time and, per placement, when it entered each stage of
    `placement.entered` (same order)."""

    created: dt.datetime
    entered: tuple[tuple[dt.datetime, ...], ...]

    @property
    def last(self) -> dt.datetime:
        return max((t for times in self.entered for t in times), default=self.created)


def _stay(stage: Stage, rng: random.Random) -> dt.timedelta:
    """How long a record stayed in `stage` before its next move."""
    if stage.max_days:
        days = stage.max_days * rng.uniform(0.05, 1.0 if rng.random() < 0.85 else 2.0)
    else:
        days = rng.expovariate(1 / STEP_DAYS)
    return min(max(dt.timedelta(days=days), SHORTEST), LONGEST)


def draw(placements: Sequence[Placement], now: dt.datetime, rng: random.Random) -> Timeline:
    """A timeline for a record placed in `placements` (see the module's docstring)."""
    offsets = []
    for placement in placements:
        elapsed, steps = dt.timedelta(0), []
        for stage in placement.path[:-1]:
            elapsed += _stay(stage, rng)
            steps.append(elapsed)
        offsets.append(steps)
    walked = max((steps[-1] for steps in offsets if steps), default=dt.timedelta(0))
    if any(p.stage.final for p in placements) or not placements:
        created = now - walked - (YEAR - min(walked, YEAR)) * rng.random()
    else:
        current = max((_stay(p.stage, rng) for p in placements), default=DAY)
        created = now - walked - current * rng.random()
    created = created.replace(microsecond=0)
    return Timeline(created, tuple(tuple(created + step for step in steps)
                                   for steps in offsets))


def moves(entity: Entity, id: int, placements: Sequence[Placement], timeline: Timeline,
          user_id: int | None) -> list[dict]:
    """The record's stage history along its paths."""
    rows = []
    for placement, times in zip(placements, timeline.entered, strict=True):
        name, path = placement.workflow.name, placement.path
        rows.append(move_row(entity.name, id, name, None, path[0].key, user_id,
                             timeline.created, None))
        before = timeline.created
        for previous, stage, at in zip(path[:-1], path[1:], times, strict=True):
            rows.append(move_row(entity.name, id, name, previous.key, stage.key, user_id, at,
                                 int((at - before).total_seconds())))
            before = at
    return rows


def backdate(conn: sa.Connection, store: Store, entity: Entity,
             made: Sequence[tuple[int, Sequence[Placement], Timeline, int | None]]) -> None:
    """Move the saved records `made` (id, placements, timeline, mover) to their timelines:
    created_at / updated_at, when they entered their stages, the "create" audit row, the
    stage history."""
    if not made:
        return
    table, audit = store.table(entity), store.tables["karte_audit"]
    history = store.tables["karte_stage_move"]
    fields = [p.workflow.field for p in made[0][1]]    # every record: the entity's workflows
    entered: dict[str, Any] = {stage_times.column_name(f): sa.bindparam(f"_in{i}")
                               for i, f in enumerate(fields)}
    entered |= {stage_reached.column_name(f): sa.bindparam(f"_reached{i}")
                for i, f in enumerate(fields)}
    conn.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                 .values(created_at=sa.bindparam("_created"), updated_at=sa.bindparam("_last"),
                         **entered),
                 [{"_id": id, "_created": t.created, "_last": t.last,
                   **{f"_in{i}": times[-1] if times else t.created
                      for i, times in enumerate(t.entered)},
                   **{f"_reached{i}": stage_reached.joined(s.key for s in p.path)
                      for i, p in enumerate(placements)}}
                  for id, placements, t, _ in made])
    conn.execute(audit.update().where(audit.c.entity == entity.name,
                                      audit.c.record_id == sa.bindparam("_id"),
                                      audit.c.action == "create")
                 .values(at=sa.bindparam("_created")),
                 [{"_id": id, "_created": t.created} for id, _, t, _ in made])
    ids = [id for id, _, _, _ in made]
    conn.execute(history.delete().where(history.c.entity == entity.name,
                                        history.c.record_id.in_(ids)))
    rows = [row for id, placements, t, user in made
            for row in moves(entity, id, placements, t, user)]
    if rows:
        conn.execute(history.insert(), rows)
