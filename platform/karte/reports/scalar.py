"""Number and ratio widgets: one SELECT of conditional aggregates.

A number is one aggregate; with `compare: previous_period` the statement reads the rows
of both periods at once (its WHERE spans from the previous period's start to the current
one's end) and aggregates each period's rows apart (`CASE WHEN`). A ratio is two
aggregates (numerator, denominator), each with its own `where`. A median is a scalar
one-row subquery of the same FROM and WHERE (see `aggregates.median_row`).

The conditions each aggregate counts by are those a drill-down applies (`counted`): the
statement is built from the same condition objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import AllOf, Compare, Condition, Ref
from karte.meta.dashboards import Measure, Widget
from karte.reports import aggregates
from karte.reports.conditions import every, measured_where, within
from karte.reports.frame import Frame, places
from karte.reports.periods import Period, period, previous


@dataclass(frozen=True)
class Cell:
    """One aggregate of the statement: `measure` over the rows meeting `condition`."""

    measure: Measure
    condition: Condition | None


def periods(widget: Widget, today: dt.date) -> tuple[Period | None, Period | None]:
    """The widget's current period and, when it compares, the previous one."""
    if widget.range is None:
        return None, None
    before = previous(widget.range, today) if widget.compare else None
    return period(widget.range, today), before


def in_period(frame: Frame, widget: Widget, date: str | None,
              span: Period | None) -> Condition | None:
    if span is None:
        return None
    return within(frame.entity, date or widget.date or "created_at", span,
                  frame.store.pack.timezone)


def counted(frame: Frame, widget: Widget, measure: Measure, span: Period | None,
            date: str | None = None) -> Condition | None:
    """Every condition a record meets to count in `measure` over `span`: the widget's
    `where`, the period, the measure's own `where`."""
    return every(widget.where, in_period(frame, widget, date, span),
                 measured_where(frame.entity, measure))


def parts(widget: Widget) -> list[Measure]:
    if widget.kind == "ratio":
        return [m for m in (widget.numerator, widget.denominator) if m is not None]
    return [widget.measure] if widget.measure is not None else []


def statement(frame: Frame, widget: Widget, today: dt.date) -> tuple[sa.Select[Any], list[Cell]]:
    """The SELECT and its cells: each part over the current period, then (compare) each
    part over the previous one."""
    current, before = periods(widget, today)
    measures = parts(widget)
    if before is None:
        common = every(widget.where, in_period(frame, widget, None, current))
        cells = [Cell(m, measured_where(frame.entity, m)) for m in measures]
    else:
        assert current is not None
        envelope = Period(before.start, current.end)
        common = every(widget.where, in_period(frame, widget, None, envelope))
        cells = [Cell(m, every(in_period(frame, widget, None, span),
                               measured_where(frame.entity, m)))
                 for span in (current, before) for m in measures]
    source, values = frame.measured([c.measure for c in cells])
    rows = frame.rows(common)
    shared = _shared_options(cells)
    if shared is not None:
        rows.append(frame.clause(shared))
    plain: list[Any] = []
    medians: list[sa.Subquery] = []
    for index, cell in enumerate(cells):
        value = values.get(index)
        condition = frame.sql(cell.condition)
        if cell.measure.agg == "median":
            assert value is not None
            chosen = sa.select(value).select_from(source).where(*rows)
            if condition is not None:
                chosen = chosen.where(condition)
            medians.append(aggregates.median_row(value, chosen).subquery())
        else:
            plain.extend(aggregates.pair(cell.measure.agg, value, places(cell.measure),
                                         condition))
    return _joined(plain, medians, cells, source, rows), cells


def _joined(plain: list[Any], medians: list[sa.Subquery], cells: list[Cell], source: Any,
            rows: list[Any]) -> sa.Select[Any]:
    """One row: the plain aggregates' (one SELECT) beside each median's (lo, hi), in the
    cells' order. Every part is a one-row subquery, so joining them is a cross join."""
    parts: list[Any] = list(medians)
    flat = None
    if plain:
        flat = sa.select(*(c.label(f"p{i}") for i, c in enumerate(plain))) \
            .select_from(source).where(*rows).subquery()
        parts.insert(0, flat)
    columns: list[Any] = []
    next_plain, next_median = 0, iter(medians)
    for cell in cells:
        if cell.measure.agg == "median":
            found = next(next_median)
            columns.extend((found.c.lo, found.c.hi))
        else:
            assert flat is not None
            columns.extend((flat.c[f"p{next_plain}"], flat.c[f"p{next_plain + 1}"]))
            next_plain += 2
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.join(part, sa.true())
    return sa.select(*(c.label(f"c{i}") for i, c in enumerate(columns))).select_from(joined)


def _options(condition: Condition | None) -> tuple[Ref, set[Any]] | None:
    """The option field a condition keeps to some values of (`stage = won`, `stage in
    [won, lost]`, at its top level), and those values."""
    items = condition.items if isinstance(condition, AllOf) else (condition,)
    for item in items:
        if (isinstance(item, Compare) and item.op in ("=", "in") and item.ref.link is None
                and item.ref.field.type == "enum"):
            return item.ref, set(item.value if item.op == "in" else (item.value,))
    return None


def _shared_options(cells: list[Cell]) -> Condition | None:
    """`field in (every value any cell keeps to)` when every cell keeps one option field
    to some values: implied by the cells, it lets the database read a (stage, date) index
    for a ratio of won / (won or lost) this quarter."""
    found = [_options(cell.condition) for cell in cells]
    if len(cells) < 2 or any(f is None for f in found):
        return None
    refs = {f[0].path for f in found if f is not None}
    if len(refs) != 1:
        return None
    values = sorted(set().union(*(f[1] for f in found if f is not None)), key=str)
    first = found[0]
    assert first is not None
    return Compare(first[0], "in", tuple(values))


def values(row: Any, cells: list[Cell]) -> list[Any]:
    return [aggregates.finish(cell.measure.agg, row[2 * i], row[2 * i + 1],
                              places(cell.measure))
            for i, cell in enumerate(cells)]
