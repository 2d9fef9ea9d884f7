"""How a dashboard says its numbers: money in the pack's currency, percents, durations in
days or hours, changes as ▲/▼ with a percent, short axis labels ("¥12M", "1234万"), and the
date buckets of a chart ("Mar 2026", "2026年3月", "Q1 2026").

Pure functions of a value and a Babel locale (no Flask), so the unit tests say exactly what
a manager reads. Babel does the locale's work: digits, grouping, currency symbols, compact
forms and the calendar's month names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel import units as babel_units

Number = Decimal | float | int
DAY = 86_400
HOUR = 3_600


@dataclass(frozen=True)
class Change:
    """The change against the previous period: which way, and by how much in percent."""

    direction: str       # "up", "down" or "flat"
    arrow: str           # "▲", "▼" or "＝"
    percent: str         # "12%" (absolute: the arrow says the sign)


def number(value: Number | None, fmt: str, locale: Locale, currency: str,
           fraction: bool = False) -> str:
    """`value` in the widget's `format`; `fraction` says a percent is a share (0.25 is
    25 %, as ratios are) rather than percent points (a percent field's 25)."""
    if value is None:
        return "—"
    if fmt == "money":
        return money(Decimal(str(value)), locale, currency)
    if fmt == "percent":
        return percent(Decimal(str(value)) * (100 if fraction else 1), locale)
    if fmt == "duration":
        return duration(float(value), locale)
    return babel_numbers.format_decimal(_rounded(value), locale=locale)


def money(value: Decimal, locale: Locale, currency: str) -> str:
    """An amount in the currency: whole amounts without the cents ("$423,200", read at a
    glance on a dashboard), others with the currency's digits ("$1,234.50")."""
    if value != value.to_integral():
        return babel_numbers.format_currency(value, currency, locale=locale)
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    whole = pattern.replace(".00", "").replace(".0", "")
    return babel_numbers.format_currency(value, currency, format=whole, locale=locale,
                                         currency_digits=False)


def percent(points: Number, locale: Locale) -> str:
    """25.3 → "25.3%" (one decimal at most, the locale's sign and digits)."""
    return babel_numbers.format_percent(Decimal(str(points)) / 100, "#,##0.#%",
                                        locale=locale)


def duration(seconds: float, locale: Locale) -> str:
    """Days (one decimal) from a day up, hours below, minutes below an hour — in words
    of the locale ("3.5 days", "3.5日")."""
    if abs(seconds) >= DAY:
        amount, unit = seconds / DAY, "duration-day"
    elif abs(seconds) >= HOUR:
        amount, unit = seconds / HOUR, "duration-hour"
    else:
        amount, unit = seconds / 60, "duration-minute"
    return babel_units.format_unit(round(amount, 1), unit, length="long", locale=locale,
                                   format="#,##0.#")


def compact(value: Number, fmt: str, locale: Locale, currency: str,
            fraction: bool = False) -> str:
    """A short form for axis labels: "¥12M", "1.2K", "50%", "3 days"."""
    if fmt == "money":
        return babel_numbers.format_compact_currency(value, currency, locale=locale,
                                                     fraction_digits=1)
    if fmt in ("percent", "duration"):
        return number(value, fmt, locale, currency, fraction)
    return babel_numbers.format_compact_decimal(value, locale=locale, fraction_digits=1)


def change(ratio: float | None, locale: Locale) -> Change | None:
    """(value - previous) / previous as an arrow and a percent; None when there is no
    previous value to compare with."""
    if ratio is None:
        return None
    if ratio > 0:
        return Change("up", "▲", percent(abs(ratio) * 100, locale))
    if ratio < 0:
        return Change("down", "▼", percent(abs(ratio) * 100, locale))
    return Change("flat", "＝", percent(0, locale))


BUCKET_SKELETONS = {"day": "MMMd", "week": "MMMd", "month": "yMMM", "quarter": "yQQQ",
                    "year": "y"}
SHORT_SKELETONS = {"day": "Md", "week": "Md", "month": "MMM", "quarter": "QQQ", "year": "y"}


def bucket(start: dt.date, size: str, locale: Locale, short: bool = False) -> str:
    """A date bucket by its start: "Mar 2026" (month), "Q1 2026", "Mar 2" (the week
    starting then), "2026"; `short` leaves out the year for an axis ("Mar", "3月")."""
    skeleton = (SHORT_SKELETONS if short else BUCKET_SKELETONS)[size]
    return babel_dates.format_skeleton(skeleton, start, locale=locale)


def share(part: Number | None, whole: Number | None) -> float | None:
    """part / whole as a float, None when the whole is nothing."""
    if part is None or not whole:
        return None
    return float(part) / float(whole)


def _rounded(value: Any) -> Any:
    """Averages come back with many decimals: two are enough to read."""
    if isinstance(value, float) or (isinstance(value, Decimal) and value != value.to_integral()):
        return round(Decimal(str(value)), 2)
    return value
