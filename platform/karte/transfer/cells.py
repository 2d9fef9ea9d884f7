"""The text rules under `karte.transfer.values`: numbers, yes/no words, dates and options as
people write them. Each function answers the value, or None when the text is not one."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from karte.meta.model import Field

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
"""Day 0 of Excel's 1900 date system (its serial 60 is the 29 February 1900 that never was:
counting from the 30th makes serials from 61 on — 1 March 1900 — right)."""
SERIAL_MAX = 2_958_465                   # 9999-12-31
SHOWN = 60                               # characters of a cell quoted in a message
CURRENCY = re.compile(r"^(?:[A-Z]{3}|US\$|[$¥€£₩元円\\])+|(?:[A-Z]{3}|[$¥€£₩元円])+$")
"""Currency marks and codes around an amount; a backslash is the yen sign of a Shift_JIS file
(its byte 0x5C, which Japanese fonts draw as ¥)."""
GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d{1,3}(?:[ \u00a0\u202f']\d{3})+"
                     r"(?:\.\d+)?$")
PLAIN = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
MINUS = ("-", "\u2212", "\u2012", "\u2013", "▲", "△")   # Japanese accounts mark losses ▲ △
YES = frozenset({"true", "yes", "y", "t", "1", "on", "はい", "○", "〇", "◯", "✓", "✔", "有",
                 "あり", "有り", "済", "済み", "真", "有効", "オン"})
NO = frozenset({"false", "no", "n", "f", "0", "off", "いいえ", "×", "✕", "✗", "無", "なし",
                "無し", "未", "偽", "無効", "オフ"})
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


def nfkc(text: str) -> str:
    """Full-width letters, digits and signs as ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def as_text(raw: Any) -> str:
    """A cell as text: numbers without a spurious ".0", dates in ISO, booleans TRUE/FALSE."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() and abs(raw) < 2**53 else repr(raw)
    if isinstance(raw, dt.datetime):
        return raw.isoformat(sep=" ") if raw.time() != dt.time() else raw.date().isoformat()
    if isinstance(raw, dt.date | dt.time):
        return raw.isoformat()
    return str(raw)


def shown(raw: Any) -> str:
    """The cell as a message quotes it (shortened)."""
    text = as_text(raw).strip()
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


def folded(text: str) -> str:
    """Text compared loosely: NFKC, case-folded, spaces, underscores and punctuation out."""
    return "".join(c for c in nfkc(text).casefold()
                   if not (c.isspace() or unicodedata.category(c)[0] in "PZ" or c == "_"))


# ------------------------------------------------------------------ numbers

def number(raw: Any, *, percent: bool = False, money: bool = False) -> Decimal | None:
    """A Decimal from a number cell or from text: full-width digits, thousands commas (in
    groups of three) or spaces, a leading + or -, −, ▲/△ or (parentheses) for negatives, a
    currency mark or code before or after (money), a trailing % (percent)."""
    if isinstance(raw, bool) or isinstance(raw, dt.date | dt.time):
        return None
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
    text = str(raw).strip()
    if PLAIN.match(text):                      # the common case: plain ASCII digits
        return Decimal(text)
    text = nfkc(text).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    if percent and text.endswith("%"):
        text = text[:-1].strip()
    if money or not percent:
        text = CURRENCY.sub("", text).strip()
    if text.startswith("+"):
        text = text[1:].strip()
    elif text.startswith(MINUS):
        negative, text = not negative, text[1:].strip()
    if money:
        text = CURRENCY.sub("", text).strip()
    if GROUPED.match(text):
        text = re.sub(r"[, \u00a0\u202f']", "", text)
    if not PLAIN.match(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return -value if negative else value


# ------------------------------------------------------------------ yes / no

def boolean(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float | Decimal) and raw in (0, 1):
        return bool(raw)
    word = nfkc(str(raw)).strip().casefold()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


# ------------------------------------------------------------------ dates

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
    if not 1 <= raw <= SERIAL_MAX:
        return None
    moment = EXCEL_EPOCH + dt.timedelta(days=float(raw))
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


# ------------------------------------------------------------------ options

def option(field: Field, raw: Any) -> str | None:
    """The option key a cell names: the key itself, a retired or renamed key, or the label
    in any locale — compared loosely (NFKC, case, spaces and punctuation)."""
    text = as_text(raw).strip()
    names = _options(field)
    found = names.get(text)
    return found if found is not None else names.get(folded(text) or "\0")


_OPTION_TABLES: dict[int, tuple[Field, dict[str, str]]] = {}


def _options(field: Field) -> dict[str, str]:
    """Every way of naming the field's options → its key, exact texts and folded ones (made
    once per field: an import asks it of every cell)."""
    cached = _OPTION_TABLES.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    names: dict[str, str] = {}
    moved = {**field.retired, **field.renamed_values}
    for text, key in ((*((o.key, o.key) for o in field.options), *moved.items())):
        names.setdefault(text, key)
    for key in field.option_keys:
        names.setdefault(folded(key), key)
    for candidate in field.options:
        for label in candidate.label.values.values():
            names.setdefault(folded(label), candidate.key)
    for old, new in moved.items():
        names.setdefault(folded(old), new)
    if len(_OPTION_TABLES) > 1000:
        _OPTION_TABLES.clear()
    _OPTION_TABLES[id(field)] = (field, names)
    return names


def allowed(field: Field) -> str:
    """The options as a message lists them: key (label, label), ..."""
    shown_options = []
    for candidate in field.options:
        labels = [label for label in dict.fromkeys(candidate.label.values.values())
                  if label != candidate.key]
        shown_options.append(f"{candidate.key} ({', '.join(labels)})" if labels
                             else candidate.key)
    return ", ".join(shown_options)


def parts(text: str) -> Iterator[str]:
    """The values of a multi-value cell: separated by ";" (full-width too) or new lines."""
    for part in re.split(r"[;；\n]", text):
        if part.strip():
            yield part.strip()


def split(field: Field, raw: Any) -> list[str]:
    """A multi_enum cell's parts: by ";" — or, when that leaves unknown options and every
    part then names one, by "," or "、"."""
    text = as_text(raw)
    found = list(parts(text))
    if len(found) == 1 and any(option(field, p) is None for p in found):
        other = [p.strip() for p in re.split(r"[,、，]", text) if p.strip()]
        if len(other) > 1 and all(option(field, p) is not None for p in other):
            return other
    return found


# ------------------------------------------------------------------ email and url

def no_mailto(text: str) -> str:
    return text[7:].strip() if text.lower().startswith("mailto:") else text


def with_scheme(text: str) -> str:
    """A web address written without http(s):// ("www.example.com") gets https://."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return text
    if re.match(r"^[^\s/:@]+\.[a-z]{2,}(?:[/:?#]|$)", text, re.IGNORECASE):
        return "https://" + text
    return text
