"""A dashboard widget's result (`karte.reports` Result) made into what its tile shows: the
words and numbers in the UI language (karte.web.figures), the chart's geometry
(karte.web.charts), and the drill-down URL of every number, bar, slice, point and step —
the list page filtered to exactly the records it counts (`?drill=<dashboard>.<widget>`).

One small function per widget kind (`KINDS`); the templates only place what is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from karte.meta.dashboards import Dashboard, Measure, Widget
from karte.meta.model import Entity
from karte.reports.results import Point, Result, SeriesResult
from karte.web import charts, figures, registry, text
from karte.web.display import references
from karte.web.field_access import seen
from karte.web.i18n import format_date, format_decimal, here

MAX_LABEL = 28       # characters of a category label on a chart (the table has them all)


@dataclass(frozen=True)
class Category:
    """One bar, point, slice or funnel step (one per series): its labels, values as
    said, and the list of its records."""

    key: str
    label: str
    short: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]
    hrefs: tuple[str, ...]


@dataclass
class Tile:
    dashboard: Dashboard
    widget: Widget
    label: str
    url: str                        # the widget alone (refresh, bookmark)
    href: str                       # its records: the list page drilled to them
    empty: bool = False
    parts: dict[str, Any] = field(default_factory=dict)   # what the kind's template shows

    @property
    def wide(self) -> bool:
        """Declared `wide`, or a list of more than three columns besides its title (it
        would be cramped in half the page)."""
        return self.widget.wide or len(self.parts.get("columns", ())) > 3

    @property
    def empty_text(self) -> str:
        return empty_text(self.widget)

    @property
    def period(self) -> str:
        return period(self.widget)

    @property
    def kind(self) -> str:
        return self.widget.kind

    @property
    def id(self) -> str:
        return f"w-{self.widget.name}"


def drill_url(dashboard: Dashboard, widget: Widget, at: str | None = None, series: int = 0,
              part: str | None = None) -> str:
    """The list of the records a widget (a point of it, a series, a part) counts."""
    entity = widget.entity or registry().workflows[widget.workflow or ""].entity
    args: dict[str, Any] = {"drill": f"{dashboard.name}.{widget.name}"}
    if at is not None:
        args["at"] = at
    if series:
        args["series"] = series
    if part:
        args["part"] = part
    return url_for("lists.index", entity=entity, **args)


def tile(result: Result) -> Tile:
    """The tile of one widget's result."""
    dashboard, widget = result.dashboard, result.widget
    made = Tile(dashboard, widget, text(widget.label),
                url_for("dashboards.widget", name=dashboard.name, widget=widget.name),
                drill_url(dashboard, widget))
    KINDS[widget.kind](made, result)
    return made


def empty_text(widget: Widget) -> str:
    return _("No records in this period") if widget.range is not None else _("No records")


def period(widget: Widget) -> str:
    """The widget's range in words: "This month", "Mar 1, 2026 – Mar 31, 2026"."""
    found = widget.range
    if found is None:
        return ""
    if found.name:
        return PERIODS[found.name]() if found.name in PERIODS else found.name
    start = format_date(found.start) if found.start else ""
    return f"{start} – {format_date(found.end)}" if found.end else _("Since %(day)s", day=start)


PERIODS: dict[str, Callable[[], str]] = {
    "today": lambda: _("Today"), "yesterday": lambda: _("Yesterday"),
    "this_week": lambda: _("This week"), "last_week": lambda: _("Last week"),
    "this_month": lambda: _("This month"), "last_month": lambda: _("Last month"),
    "this_quarter": lambda: _("This quarter"), "last_quarter": lambda: _("Last quarter"),
    "this_year": lambda: _("This year"), "last_year": lambda: _("Last year"),
    "last_7_days": lambda: _("Last 7 days"), "last_30_days": lambda: _("Last 30 days"),
    "last_90_days": lambda: _("Last 90 days"), "last_12_months": lambda: _("Last 12 months")}


def say(widget: Widget, value: Any, fmt: str | None = None) -> str:
    """A value in the widget's format (or `fmt`); a ratio's own values — it and its
    target — are shares (0.25 is 25 %)."""
    fraction = fmt is None and widget.kind == "ratio"
    return figures.number(value, fmt or widget.format, here().locale, registry().currency,
                          fraction)


def _number(made: Tile, result: Result) -> None:
    widget = made.widget
    made.empty = result.value is None
    made.parts = {"value": say(widget, result.value), "change": None, "target": None}
    if widget.compare:
        made.parts["change"] = figures.change(result.change, here().locale)
        made.parts["previous"] = say(widget, result.previous)
        made.parts["previous_href"] = drill_url(made.dashboard, widget, part="previous")
    if widget.target is not None:
        made.parts["target"] = _target(widget, result.value)


def _target(widget: Widget, value: Any) -> dict[str, Any]:
    """How far the value has come to the target: the bar's length and the words."""
    reached = figures.share(value or 0, widget.target) or 0.0
    return {"text": say(widget, widget.target), "width": min(max(reached, 0.0), 1.0) * 100,
            "reached": figures.percent(reached * 100, here().locale)}


def _part_format(widget: Widget, measure: Measure | None) -> str:
    """A ratio's parts are said as their own field is: money sums as money, counts as
    numbers."""
    kind = measure.field.as_value().type if measure and measure.field is not None else ""
    return "money" if kind == "money" and measure and measure.agg != "count" else "number"


def _ratio(made: Tile, result: Result) -> None:
    widget = made.widget
    made.empty = not result.denominator
    made.parts = {
        "value": say(widget, result.value), "target": None,
        "numerator": say(widget, result.numerator, _part_format(widget, widget.numerator)),
        "denominator": say(widget, result.denominator,
                           _part_format(widget, widget.denominator)),
        "numerator_href": drill_url(made.dashboard, widget, part="numerator"),
        "denominator_href": drill_url(made.dashboard, widget, part="denominator")}
    if widget.target is not None:
        made.parts["target"] = _target(widget, result.value)
    link = Markup('<a href="{}">{}</a>').format
    made.parts["said"] = Markup(escape(_("%(part)s of %(whole)s"))) % {
        "part": link(made.parts["numerator_href"], made.parts["numerator"]),
        "whole": link(made.parts["denominator_href"], made.parts["denominator"])}


def point_label(widget: Widget, point: Point, short: bool = False) -> str:
    """A point's words: its option, stage, record or user; a date bucket by its start;
    "No value" for the records without one."""
    if point.label is not None:
        return text(point.label)
    bucket = widget.group_by.bucket if widget.group_by is not None else None
    if point.start is not None and bucket:
        return figures.bucket(point.start, bucket, here().locale, short)
    if point.key in ("true", "false"):
        return _("Yes") if point.key == "true" else _("No")
    return _("No value")


def categories(made: Tile, series: tuple[SeriesResult, ...]) -> list[Category]:
    """The chart's categories across its series (by key, in the first series' order,
    keys only later series have after them)."""
    widget = made.widget
    order: dict[str, Point] = {}
    for one in series:
        for point in one.points:
            order.setdefault(point.key, point)
    by_key = [{p.key: p.value for p in one.points} for one in series]
    found = []
    for key, point in order.items():
        values = [each.get(key) for each in by_key]
        label = point_label(widget, point)
        found.append(Category(
            key, label, _clip(point_label(widget, point, short=True)),
            tuple(None if v is None else float(v) for v in values),
            tuple(say(widget, v if v is not None else 0) for v in values),
            tuple(drill_url(made.dashboard, widget, at=key, series=i)
                  for i in range(len(series)))))
    return found


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"


def _chart(made: Tile, result: Result) -> None:
    widget = made.widget
    cats = categories(made, result.series)
    values = [[c.values[i] for c in cats] for i in range(len(result.series))]
    made.empty = not any(v for vs in values for v in vs)
    target = float(widget.target) if widget.target is not None else None
    top = charts.scale(values, target, whole=_whole(widget, result.series))
    dated = widget.group_by is not None and widget.group_by.bucket is not None
    shape = "pie" if widget.chart == "pie" else (
        "line" if widget.chart == "line" else ("columns" if dated else "rows"))
    made.parts = {"shape": shape, "categories": cats, "top": top,
                  "series": [text(s.label) if s.label is not None else made.label
                             for s in result.series],
                  "truncated": result.truncated, "target": _chart_target(widget, top),
                  "group_label": group_label(widget), "description": describe(cats),
                  "tick_texts": [figures.compact(tick.value, widget.format, here().locale,
                                                 registry().currency)
                                 for tick in charts.ticks(top)]}
    made.parts.update(SHAPES[shape](values, top))
    if shape == "pie":
        made.parts["share_texts"] = [figures.percent(s.share * 100, here().locale) if s
                                     else "" for s in made.parts["slices"]]


def _whole(widget: Widget, series: tuple[SeriesResult, ...]) -> bool:
    """Counts (and only whole numbers) get an axis of whole numbers: no "0.5 deals"."""
    return all(isinstance(p.value, int) or (isinstance(p.value, Decimal)
                                            and p.value == p.value.to_integral())
               for one in series for p in one.points if p.value is not None) \
        and widget.format == "number"


def group_label(widget: Widget) -> str:
    """The heading of a chart table's first column: the field grouped by."""
    group = widget.group_by
    if group is None:
        return _("Stage")
    entity: Entity | None = registry().entities[widget.entity]
    said: list[str] = []
    for name in group.path.split("."):
        found = entity.lookup(name) if entity is not None else None
        if found is None:
            return group.path
        said.append(text(found.label))
        entity = registry().entities.get(found.to or "")
    return " › ".join(said)


def describe(cats: list[Category]) -> str:
    """What a screen reader says of a chart: its values, the first dozen (the table has
    them all)."""
    said = "; ".join(f"{c.label}: {' / '.join(c.texts)}" for c in cats[:12])
    return said + ("; …" if len(cats) > 12 else "")


def _chart_target(widget: Widget, top: float) -> dict[str, Any] | None:
    if widget.target is None:
        return None
    return {"text": _("Target %(value)s", value=say(widget, widget.target)),
            "y": charts.y_of(float(widget.target), top),
            "x": charts.width_of(float(widget.target), top)}


def _rows(values: list[list[float | None]], top: float) -> dict[str, Any]:
    return {"boxes": charts.rows(values, top), "height": charts.rows_height(values)}


def _columns(values: list[list[float | None]], top: float) -> dict[str, Any]:
    return {"boxes": charts.columns(values, top), **_axis(values, top)}


def _line(values: list[list[float | None]], top: float) -> dict[str, Any]:
    return {"points": [charts.points(v, top) for v in values],
            "segments": [charts.segments(v, top) for v in values], **_axis(values, top)}


def _axis(values: list[list[float | None]], top: float) -> dict[str, Any]:
    count = len(values[0]) if values else 0
    labelled = charts.labelled(count)
    return {"ticks": charts.ticks(top), "labelled": labelled,
            "labelled_order": {i: n for n, i in enumerate(sorted(labelled))},
            "centres": [charts.slot(i, count)[0] + charts.slot(i, count)[1] / 2
                        for i in range(count)],
            "left": charts.LEFT, "base": charts.TOP + charts.PLOT,
            "height": charts.TOP + charts.PLOT + charts.AXIS}


def _pie(values: list[list[float | None]], top: float) -> dict[str, Any]:
    return {"slices": charts.pie(values[0] if values else [])}


SHAPES: dict[str, Callable[[list[list[float | None]], float], dict[str, Any]]] = {
    "rows": _rows, "columns": _columns, "line": _line, "pie": _pie}


def _funnel(made: Tile, result: Result) -> None:
    cats = categories(made, result.series[:1])
    values = [c.values[0] for c in cats]
    first = values[0] if values else None
    made.empty = not any(values)
    made.parts = {"categories": cats, "boxes": charts.funnel(values),
                  "series": [made.label], "group_label": _("Stage"),
                  "description": describe(cats),
                  "height": charts.funnel_height(len(values)),
                  "shares": [figures.percent((figures.share(v, first) or 0) * 100,
                                             here().locale) for v in values]}


def _list(made: Tile, result: Result) -> None:
    widget = made.widget
    entity = registry().entities[widget.entity]
    wanted = widget.columns or entity.list.columns
    columns = [n for n in seen(entity, wanted) if n != entity.title_field
               and entity.lookup(n) is not None]
    made.empty = not result.rows
    rows = list(result.rows)
    made.parts = {"entity": entity, "rows": rows, "columns": columns,
                  "total": format_decimal(result.total or 0) + ("+" if result.capped else ""),
                  "refs": references(entity, rows, columns)}


KINDS: dict[str, Callable[[Tile, Result], None]] = {
    "number": _number, "ratio": _ratio, "chart": _chart, "funnel": _funnel, "list": _list}
