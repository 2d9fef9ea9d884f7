"""The text rules under `karte.transfer.values`: numbers, yes/no words and options as people
write them (dates: `karte.transfer.cell_dates`). Each function answers the value, or None
when the text is not one."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from karte.meta.model import Field

SHOWN = 60                               # characters of a cell quoted in a message
CODES = ("JPY|USD|EUR|GBP|CNY|RMB|KRW|TWD|HKD|SGD|AUD|NZD|CAD|CHF|SEK|NOK|DKK|INR|THB|"
         "MYR|IDR|PHP|VND|BRL|MXN|ZAR")
CURRENCY = re.compile(rf"^(?:{CODES}|US\$|[$¥€£₩元円\\])+|(?:{CODES}|[$¥€£₩元円])+$",
                      re.IGNORECASE)
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
    """The cell as a message quotes it: on one line, shortened."""
    text = " ".join(as_text(raw).split())
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


LISTED = 20
"""Options a message lists; more are counted."""


def allowed(field: Field) -> str:
    """The options as a message lists them: key (label, label), ... (20 at most)."""
    shown_options = []
    for candidate in field.options[:LISTED]:
        labels = [label for label in dict.fromkeys(candidate.label.values.values())
                  if label != candidate.key]
        shown_options.append(f"{candidate.key} ({', '.join(labels)})" if labels
                             else candidate.key)
    more = len(field.options) - LISTED
    return ", ".join(shown_options) + (f" and {more} more" if more > 0 else "")


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
