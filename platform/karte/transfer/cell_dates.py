"""Dates and times as people write them (under `karte.transfer.values`): ISO, slashes and
dots in the locale's order, 2026年11月30日, Japanese eras, Excel serials and date cells.
Each function answers the value, or None when the text is not one."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from karte.transfer.cells import nfkc

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
"""Day 0 of Excel's 1900 date system from serial 61 (1 March 1900) on: Excel counts a 29
February 1900 that never was (serial 60), so serials 1 to 59 are one day later."""
SERIAL_MAX = 2_958_465                   # 9999-12-31
ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "大正": 1911, "明治": 1867,
        "R": 2018, "H": 1988, "S": 1925}
"""A Japanese era's year 1 is the Gregorian year given + 1 (令和元年 = 2019)."""
WEEKDAY = re.compile(r"[(（][^)）]{1,3}[)）]")
JAPANESE = re.compile(r"^(?P<era>令和|平成|昭和|大正|明治|[RHS])?\s*(?P<y>\d{1,4}|元)\s*[年.]"
                      r"\s*(?P<m>\d{1,2})\s*[月.]\s*(?P<d>\d{1,2})\s*日?$")
NUMERIC = re.compile(r"^(?P<a>\d{1,4})\s*(?P<s>[-/.])\s*(?P<b>\d{1,2})\s*(?P=s)\s*"
                     r"(?P<c>\d{1,4})\.?$")
COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
CLOCK = re.compile(r"^(?P<ampm>午前|午後|AM|PM)?\s*(?P<h>\d{1,2})\s*[:時]\s*(?P<m>\d{1,2})"
                   r"(?:\s*[:分]\s*(?P<s>\d{1,2}(?:\.\d+)?)\s*秒?)?\s*分?\s*"
                   r"(?P<ampm2>AM|PM|午前|午後)?$", re.IGNORECASE)

def date(raw: Any, day_first: bool) -> dt.date | None:
    """A date from a date cell, an Excel serial or text (a datetime at midnight counts)."""
    if isinstance(raw, dt.datetime):
        return raw.date() if raw.time() == dt.time() else None
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        serial = _serial(raw)
        return serial.date() if serial is not None and serial.time() == dt.time() else None
    text = str(raw).strip()
    if len(text) == 10 and text[4] == "-":     # the common case: ISO
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    text = _clean_date_text(text)
    day, rest = _date_part(text, day_first)
    if day is None:
        return None
    if rest:
        clock = _clock(rest)
        if clock != dt.time():
            return None
    return day


def moment(raw: Any, day_first: bool) -> dt.datetime | None:
    """A datetime (naive unless an offset is written) from a cell, a serial or text."""
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        return _serial(raw)
    text = _clean_date_text(str(raw))
    try:
        iso = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text
                                        else text)
        if 1 <= iso.year:
            return iso
    except ValueError:
        pass
    day, rest = _date_part(text, day_first)
    if day is None:
        return None
    clock = _clock(rest) if rest else dt.time()
    return None if clock is None else dt.datetime.combine(day, clock)


def _serial(raw: float | int | Decimal) -> dt.datetime | None:
    if not 1 <= raw <= SERIAL_MAX or 60 <= raw < 61:
        return None
    days = float(raw) + (1 if raw < 60 else 0)
    moment = EXCEL_EPOCH + dt.timedelta(days=days)
    return moment.replace(microsecond=0) if moment.microsecond < 500_000 else (
        moment + dt.timedelta(seconds=1)).replace(microsecond=0)


def _clean_date_text(text: str) -> str:
    text = nfkc(text).strip()
    return re.sub(r"\s+", " ", WEEKDAY.sub(" ", text)).strip()


def _date_part(text: str, day_first: bool) -> tuple[dt.date | None, str]:
    """The date at the start of `text` and what follows it (a time, or "")."""
    head, _, rest = text.partition(" ")
    if "年" in text:
        head, sep, rest = text.partition("日")
        head += sep
        if not sep:
            head, rest = text, ""
    if head.endswith("T") or "T" in head:
        head, _, rest = head.partition("T")
    return _day(head.strip(), day_first), rest.strip()


def _day(text: str, day_first: bool) -> dt.date | None:
    year, month, day = None, None, None
    found = JAPANESE.match(text)
    if found:
        y = 1 if found["y"] == "元" else int(found["y"])
        era = found["era"]
        if era:
            y += ERAS[era]
        year, month, day = y, int(found["m"]), int(found["d"])
    elif (found := COMPACT.match(text)):
        year, month, day = int(found["y"]), int(found["m"]), int(found["d"])
    elif (found := NUMERIC.match(text)):
        a, b, c = found["a"], int(found["b"]), found["c"]
        if len(a) == 4:
            year, month, day = int(a), b, int(c)
        elif len(c) == 4:
            year = int(c)
            month, day = (b, int(a)) if day_first else (int(a), b)
    if year is None or month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _clock(text: str) -> dt.time | None:
    found = CLOCK.match(text.strip())
    if not found:
        return None
    hour, minute = int(found["h"]), int(found["m"])
    second = float(found["s"]) if found["s"] else 0.0
    marker = (found["ampm"] or found["ampm2"] or "").upper()
    if marker:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if marker in ("PM", "午後") else 0)
    if hour > 23 or minute > 59 or second >= 60:
        return None
    return dt.time(hour, minute, int(second))


def locale_day_first(locale: str | None, country: str | None) -> bool:
    """Whether the locale (with its country) writes the day before the month (CLDR's short
    date pattern: en_US M/d/yy → no, en_GB dd/MM/y → yes, ja y/MM/dd → no)."""
    from babel import Locale, UnknownLocaleError

    name = (locale or "en").replace("-", "_")
    if country and "_" not in name:
        name = f"{name}_{country}"
    try:
        pattern = Locale.parse(name).date_formats["short"].pattern
    except (UnknownLocaleError, ValueError):
        try:
            pattern = Locale.parse(name.split("_")[0]).date_formats["short"].pattern
        except (UnknownLocaleError, ValueError):
            return False
    d, m, y = pattern.find("d"), pattern.find("M"), pattern.find("y")
    return 0 <= d < m and not 0 <= y < d
