"""Dashboards in the Registry (SPEC §12): frozen descriptions of `dashboards/<name>.json`.

A dashboard is a list of widgets; each widget is one aggregate over one entity's records
(`karte.reports` turns it into one SQL statement under the viewer's read scope). Everything
here is checked when the pack loads: fields exist and fit their use, conditions are parsed
(`karte.meta.conditions`), ranges and buckets are known names, roles are declared. Nothing
downstream re-reads the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from karte.meta.conditions.model import Ref
from karte.meta.model import Field, Text

KINDS = ("number", "ratio", "chart", "funnel", "list")
AGGS = ("count", "sum", "avg", "min", "max", "median")
CHARTS = ("bar", "line", "pie")
BUCKETS = ("day", "week", "month", "quarter", "year")
RANGES = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month",
          "this_quarter", "last_quarter", "this_year", "last_year", "last_7_days",
          "last_30_days", "last_90_days", "last_12_months")
FORMATS = ("number", "money", "percent", "duration")
GROUPABLE = ("enum", "boolean", "user", "link")   # and stage fields, and dates with a bucket


@dataclass(frozen=True)
class Range:
    """A period in the pack's timezone: a named one (`this_month`), or `from`/`to` dates
    (both inclusive; `to` None: up to today)."""

    name: str | None = None
    start: Any = None          # datetime.date, for from/to
    end: Any = None            # datetime.date or None


@dataclass(frozen=True)
class GroupBy:
    """What a chart's bars, points or slices are: a field's values (enum options, stages,
    users, linked records, yes/no), a one-hop path's values (`customer.segment`), or a date
    field cut into `bucket`s in the pack's timezone."""

    path: str                  # as written, without the bucket: "stage", "customer.segment"
    ref: Ref                   # the field read (one link away for a path)
    bucket: str | None = None  # one of BUCKETS for a date or datetime field


@dataclass(frozen=True)
class Span:
    """The time a record took from entering stage `start` (None: its creation) to first
    entering stage `end` of `workflow`, read from the stage history (seconds)."""

    workflow: str
    field: str                 # the workflow's stage field on the entity
    end: str
    start: str | None = None


@dataclass(frozen=True)
class Measure:
    """One aggregate: `agg` of `field` (None for count, or for a span) over the records
    that also meet `where`."""

    agg: str
    field: Field | None = None
    where: Any = None          # a parsed condition (karte.meta.conditions), or None
    span: Span | None = None   # median/avg/min/max of a stage-history duration


@dataclass(frozen=True)
class Series:
    """One line or set of bars of a chart with several: its own measure and, optionally,
    its own date field (the range and a date `group_by` bucket read it)."""

    label: Text
    measure: Measure
    date: str | None = None    # None: the widget's


@dataclass(frozen=True)
class Widget:
    """One tile of a dashboard. Which keys are set depends on `kind`:

    - number: `measure` (+ `compare`, `target`)
    - ratio: `numerator`, `denominator` (format percent unless said)
    - chart: `chart`, `group_by`, `measure` or two or more `series` (+ `target`)
    - funnel: `workflow` (steps: its stages in order, lost ones left out)
    - list: `sort`, `limit`, `columns`
    """

    name: str                       # unique in its dashboard: given, else "w<position>"
    kind: str
    label: Text
    entity: str
    where: Any = None               # parsed condition every record counted meets
    date: str | None = None         # the field `range` reads (default: see build_dashboards)
    range: Range | None = None
    measure: Measure | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    chart: str | None = None
    group_by: GroupBy | None = None
    series: tuple[Series, ...] = ()
    compare: str | None = None      # "previous_period"
    target: Decimal | None = None
    format: str = "number"          # resolved: the field's type picks money; ratios percent
    workflow: str | None = None     # funnel
    sort: str | None = None         # list: "field" or "-field" (default: the entity's)
    limit: int = 10                 # list rows, chart bars (largest first for non-dates)
    columns: tuple[str, ...] = ()   # list: as given, else the entity's list columns
    roles: tuple[str, ...] = ()     # empty: whoever may see the dashboard
    wide: bool = False              # spans two grid columns
    pointer: str = ""               # "/widgets/<i>": where problems and errors point

    def shown_to(self, role: str) -> bool:
        return role == "admin" or not self.roles or role in self.roles


@dataclass(frozen=True)
class Dashboard:
    name: str
    label: Text
    widgets: tuple[Widget, ...]
    roles: tuple[str, ...] = ()     # empty: every role; admin always
    description: Text | None = None
    source: str = ""                # pack-relative file

    def shown_to(self, role: str) -> bool:
        return role == "admin" or not self.roles or role in self.roles

    def widget(self, name: str) -> Widget | None:
        return next((w for w in self.widgets if w.name == name), None)
