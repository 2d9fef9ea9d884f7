"""Ranges and date buckets of dashboards, as local dates of the pack's timezone.

A period is `[start, end)` in local dates (`end` exclusive). A `date` field compares with
those dates; a datetime field (`created_at`, `updated_at`, a `datetime` field) with the
UTC instants of the local midnights (`instant`), so a record created at 00:30 in Tokyo on
April 1st is April's on every database. All arithmetic is here, in Python, so SQLite and
PostgreSQL are asked the same question with the same boundaries.

Named ranges are whole calendar periods (`this_month` is the whole month, including days
still to come); `last_<n>_days` end with today; `last_12_months` is this month and the 11
before. A from/to range includes both days (`to` None: up to today). The previous period
is the same kind of period before, in full: last month for `this_month`, the 30 days
before for `last_30_days`, as many days before for a from/to range. Weeks start on
Monday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from karte.meta.dashboards import Range

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date      # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def month_start(day: dt.date, months: int = 0) -> dt.date:
    """The first day of `day`'s month, moved by `months`."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def quarter_start(day: dt.date, quarters: int = 0) -> dt.date:
    return month_start(dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3 * quarters)


def week_start(day: dt.date, weeks: int = 0) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) + dt.timedelta(weeks=weeks)


def year_start(day: dt.date, years: int = 0) -> dt.date:
    return dt.date(day.year + years, 1, 1)


def _days_back(count: int) -> Callable[[dt.date], Period]:
    return lambda today: Period(today - (count - 1) * DAY, today + DAY)


def _calendar(floor: Callable[[dt.date, int], dt.date], back: int = 0,
              span: int = 1) -> Callable[[dt.date], Period]:
    """The calendar period `back` periods before today's, `span` periods long."""
    return lambda today: Period(floor(today, -back - span + 1), floor(today, -back + 1))


_NAMED: dict[str, Callable[[dt.date], Period]] = {
    "today": _days_back(1),
    "yesterday": lambda today: Period(today - DAY, today),
    "this_week": _calendar(week_start),
    "last_week": _calendar(week_start, 1),
    "this_month": _calendar(month_start),
    "last_month": _calendar(month_start, 1),
    "this_quarter": _calendar(quarter_start),
    "last_quarter": _calendar(quarter_start, 1),
    "this_year": _calendar(year_start),
    "last_year": _calendar(year_start, 1),
    "last_7_days": _days_back(7),
    "last_30_days": _days_back(30),
    "last_90_days": _days_back(90),
    "last_12_months": _calendar(month_start, 0, 12),
}

MONTHLY = frozenset({"this_month", "last_month", "last_12_months", "this_quarter",
                     "last_quarter", "this_year", "last_year"})   # previous: by months


def period(range_: Range, today: dt.date) -> Period:
    """The local dates a range covers when today is `today`."""
    if range_.name is not None:
        return _NAMED[range_.name](today)
    end = range_.end if range_.end is not None else today
    return Period(range_.start, end + DAY)


def previous(range_: Range, today: dt.date) -> Period:
    """The same kind of period just before, in full."""
    current = period(range_, today)
    if range_.name in MONTHLY:
        months = ((current.end.year - current.start.year) * 12
                  + current.end.month - current.start.month)
        return Period(month_start(current.start, -months), current.start)
    return Period(current.start - current.days * DAY, current.start)   # days, weeks


def day_start(day: dt.date, days: int = 0) -> dt.date:
    return day + days * DAY


BUCKET_FLOORS: dict[str, Callable[[dt.date, int], dt.date]] = {
    "day": day_start,
    "week": week_start,
    "month": month_start,
    "quarter": quarter_start,
    "year": year_start,
}


def buckets(within: Period, bucket: str) -> list[Period]:
    """The buckets covering `within`, each clipped to it (the first and last may be
    partial); a bucket's own start is `bucket_start(period.start, bucket)`."""
    floor = BUCKET_FLOORS[bucket]
    found, start = [], within.start
    while start < within.end:
        following = floor(start, 1)
        found.append(Period(start, min(following, within.end)))
        start = following
    return found


def bucket_start(day: dt.date, bucket: str) -> dt.date:
    """The first day of the bucket holding `day` (a Monday for weeks)."""
    return BUCKET_FLOORS[bucket](day, 0)


def instant(day: dt.date, timezone: str) -> dt.datetime:
    """The UTC instant of local midnight starting `day` in `timezone`."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).astimezone(dt.UTC)


def today_in(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """The local date in `timezone` at `now` (aware; default: now)."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(ZoneInfo(timezone)).date()
