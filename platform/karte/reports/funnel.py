"""Funnel widgets: how many records ever entered each stage of a workflow.

One statement over the records the actor may read that meet the widget's `where` and
range: per step, how many of them list the stage among those they ever entered (the
`_<field>_reached` column beside the stage, store/stage_reached.py: the creation counts
for the first stage; a record that skipped a stage did not reach it). That is one scan
of the range's records by their date index — the stage history is not read: grouping
its rows cost 80–420 ms at a million records. The steps are the workflow's stages in
order, lost ones left out. A step's drill-down is the same `where` and range and
`Reached(stage)`, which compiles to the very test each step's sum counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import Condition
from karte.meta.dashboards import Widget
from karte.meta.model import Workflow
from karte.reports.conditions import every, reached, within
from karte.reports.frame import Frame
from karte.reports.periods import period
from karte.reports.results import Point, SeriesResult


def steps(workflow: Workflow) -> tuple[str, ...]:
    return tuple(s.key for s in workflow.stages if s.final != "lost")


def counted(frame: Frame, widget: Widget, today: dt.date) -> Condition | None:
    """The records the funnel looks at: `where`, and the date in range."""
    ranged = None if widget.range is None else within(
        frame.entity, widget.date or "created_at", period(widget.range, today),
        frame.store.pack.timezone)
    return every(widget.where, ranged)


def at_step(frame: Frame, widget: Widget, workflow: Workflow, stage: str,
            today: dt.date) -> Condition | None:
    return every(counted(frame, widget, today),
                 reached(frame.store.pack, workflow, (stage,)))


def statement(frame: Frame, widget: Widget, workflow: Workflow,
              today: dt.date) -> sa.Select[Any]:
    """One row: per step, the records counted that reached it (`Reached`'s own SQL, a
    substring test of the record's reached column, summed)."""
    pack = frame.store.pack
    return (sa.select(*(
        sa.func.sum(sa.case((frame.clause(reached(pack, workflow, (key,))), 1), else_=0))
        .label(f"step_{index}") for index, key in enumerate(steps(workflow))))
        .select_from(frame.table)
        .where(*frame.rows(counted(frame, widget, today))))


def result(workflow: Workflow, rows: list[Any]) -> SeriesResult:
    """The statement's one row as the funnel's points (no records counted: zeros)."""
    found = rows[0] if rows else ()
    counts = [int(n or 0) for n in found] or [0] * len(steps(workflow))
    return SeriesResult(workflow.label, tuple(
        Point(key, workflow.stage(key).label, n)
        for key, n in zip(steps(workflow), counts, strict=True)))
