"""Funnel widgets: how many records ever entered each stage of a workflow.

One grouped statement over the stage history (`karte_stage_move`) of the records the
actor may read that meet the widget's `where` and range: distinct records per stage
entered (the creation row counts for the first stage; a record that skipped a stage did
not reach it). The steps are the workflow's stages in order, lost ones left out. A step's
drill-down is the same `where` and range and `Reached(stage)`.
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
    """Distinct records per stage entered, among the history rows of the records counted
    (`record_id IN (...)`: the records are found first, by their date index when the
    range is narrow, then their rows by the history's (entity, record_id) index)."""
    moves, table = frame.store.tables["karte_stage_move"], frame.table
    records = sa.select(table.c.id).where(*frame.rows(counted(frame, widget, today)))
    return (sa.select(moves.c.to_stage, sa.func.count(sa.distinct(moves.c.record_id)))
            .where(moves.c.entity == frame.entity.name, moves.c.workflow == workflow.name,
                   moves.c.to_stage.in_(steps(workflow)), moves.c.record_id.in_(records))
            .group_by(moves.c.to_stage))


def result(workflow: Workflow, rows: list[Any]) -> SeriesResult:
    found = {stage: int(n) for stage, n in rows}
    return SeriesResult(workflow.label, tuple(
        Point(key, workflow.stage(key).label, found.get(key, 0)) for key in steps(workflow)))
