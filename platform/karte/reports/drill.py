"""Drill-down: the condition that selects exactly the records a widget's number, point or
funnel step counts. It is made of the same condition objects the widget's statement is
built from (`scalar.counted`, `charts.at_point`, `funnel.at_step`, `lists.counted`), so
`records.count(drill.entity, drill.condition)` equals the number shown, under the same
read scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from karte.meta.conditions import AllOf, Condition
from karte.meta.dashboards import Dashboard, Measure, Widget
from karte.problems import Problem
from karte.reports import charts, funnel, lists, scalar
from karte.reports.conditions import every, reached
from karte.reports.frame import Frame
from karte.reports.results import Point
from karte.store.errors import InvalidQuery

PARTS = ("numerator", "denominator", "previous")


@dataclass(frozen=True)
class Drill:
    dashboard: Dashboard
    widget: Widget
    entity: str
    condition: Condition     # ANDed into the list's own filters
    point: Point | None      # the bar, slice or step clicked (for the chip's wording)


def invalid(message: str) -> InvalidQuery:
    return InvalidQuery([Problem("drill", message, "invalid_drill")])


def drill_condition(frame: Frame, widget: Widget, at: str | None, series: int,
                    part: str | None) -> Condition:
    """The widget's drill condition (AllOf(()) when it counts every readable record)."""
    if part is not None and part not in PARTS:
        raise invalid(f'"{part}" is not a part of a widget; use one of {", ".join(PARTS)}.')
    if series != 0 and widget.kind != "chart":
        raise invalid(f'The widget "{widget.name}" has no series {series}.')
    if at is not None and widget.kind not in ("chart", "funnel"):
        raise invalid(f'The widget "{widget.name}" has no points to choose with "at".')
    if part is not None and widget.kind not in ("number", "ratio"):
        raise invalid(f'The widget "{widget.name}" has no part "{part}".')
    found = _KINDS[widget.kind](frame, widget, at, series, part)
    return found if found is not None else AllOf(())


def _measure(frame: Frame, widget: Widget, measure: Measure, previous: bool) -> Condition | None:
    current, before = scalar.periods(widget, frame.context.today)
    span = before if previous else current
    found = scalar.counted(frame, widget, measure, span)
    if measure.span is None:
        return found
    flow = frame.store.pack.workflows[measure.span.workflow]
    ends = [measure.span.end, *([measure.span.start] if measure.span.start else [])]
    return every(found, *(reached(frame.store.pack, flow, (stage,)) for stage in ends))


def _number(frame: Frame, widget: Widget, at: str | None, series: int,
            part: str | None) -> Condition | None:
    assert widget.measure is not None
    if part in ("numerator", "denominator"):
        raise invalid(f'The widget "{widget.name}" is a number; it has no {part}.')
    if part == "previous" and widget.compare is None:
        raise invalid(f'The widget "{widget.name}" compares with no previous period.')
    return _measure(frame, widget, widget.measure, part == "previous")


def _ratio(frame: Frame, widget: Widget, at: str | None, series: int,
           part: str | None) -> Condition | None:
    if part == "previous":
        raise invalid(f'The widget "{widget.name}" is a ratio; drill into its numerator '
                      "or denominator.")
    chosen = widget.numerator if part == "numerator" else widget.denominator
    assert chosen is not None
    return _measure(frame, widget, chosen, False)


def _chart(frame: Frame, widget: Widget, at: str | None, series: int,
           part: str | None) -> Condition | None:
    found = charts.lines(widget)
    if not 0 <= series < len(found):
        raise invalid(f'The widget "{widget.name}" has no series {series}; it has '
                      f"{len(found)}.")
    line, today = found[series], frame.context.today
    if at is None:
        return charts.counted(frame, widget, line, today)
    try:
        return charts.at_point(frame, widget, line, at, today)
    except ValueError:
        raise invalid(f'"{at}" is not a point of the widget "{widget.name}".') from None


def _funnel(frame: Frame, widget: Widget, at: str | None, series: int,
            part: str | None) -> Condition | None:
    workflow = frame.store.pack.workflows[widget.workflow or ""]
    today = frame.context.today
    if at is None:
        return funnel.counted(frame, widget, today)
    if at not in funnel.steps(workflow):
        raise invalid(f'"{at}" is not a step of the funnel "{widget.name}"; steps: '
                      f'{", ".join(funnel.steps(workflow))}.')
    return funnel.at_step(frame, widget, workflow, at, today)


def _list(frame: Frame, widget: Widget, at: str | None, series: int,
          part: str | None) -> Condition | None:
    return lists.counted(frame, widget, frame.context.today)


_KINDS: dict[str, Callable[[Frame, Widget, str | None, int, str | None], Condition | None]] = {
    "number": _number, "ratio": _ratio, "chart": _chart, "funnel": _funnel, "list": _list}
