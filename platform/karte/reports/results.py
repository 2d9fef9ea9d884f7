"""What running a widget gives (`Reports.run`): plain frozen values a page renders and a
test compares, with no SQL and no Flask in them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from karte.meta.dashboards import Dashboard, Widget
from karte.meta.model import Text

Number = Decimal | float | int


@dataclass(frozen=True)
class Point:
    """One bar, slice, line point or funnel step. `key` is what a drill-down's `at=`
    names: an option or stage key, a record or user id as text, "true"/"false", a date
    bucket's start ("2026-03-01"), or "" for the records with no value."""

    key: str
    label: str | Text | None     # None: a date bucket (see `start`), a boolean, no value
    value: Number | None
    start: dt.date | None = None  # date buckets only


@dataclass(frozen=True)
class SeriesResult:
    label: Text | None
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Result:
    dashboard: Dashboard
    widget: Widget
    value: Any = None            # number; ratio (a fraction: 0.25 is 25 %)
    previous: Any = None         # compare: the previous period's value
    change: float | None = None  # (value - previous) / previous; None when it cannot be said
    numerator: Any = None
    denominator: Any = None
    series: tuple[SeriesResult, ...] = ()   # chart (one or more), funnel (one)
    rows: tuple[dict[str, Any], ...] = ()   # list: the records, fields the actor may see
    total: int | None = None     # list: how many match ("See all"), at most lists.CAP
    capped: bool = False         # list: more than that match ("1000+")
    truncated: bool = False      # chart: there were more groups than `limit`


def change(value: Number | None, before: Number | None) -> float | None:
    """The relative change from `before` to `value`; None without both or from zero."""
    if value is None or before is None or before == 0:
        return None
    return float((Decimal(str(value)) - Decimal(str(before))) / Decimal(str(before)))
