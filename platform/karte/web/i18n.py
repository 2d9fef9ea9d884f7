"""The UI language's catalogue, number and date formats, looked up once per request.

Flask-Babel finds the locale, timezone and catalogue again on every `gettext`,
`format_date` or `format_decimal` call (several context-local lookups each); a list page
makes a few hundred of them. `here()` keeps the three on `g` for the request, and the
template `_()` / `ngettext()` read the catalogue from it. Same strings, same formats:
the formatting itself is Babel's (through Flask-Babel's locale and timezone selectors).

Formatted dates and moments are memoised per (value, locale[, timezone]): a page shows the
same few dates many times, and Babel re-reads its locale data on every call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import NullTranslations
from flask import Flask, g
from flask_babel import get_locale, get_timezone, get_translations


@dataclass(frozen=True)
class Here:
    locale: Locale
    zone: dt.tzinfo
    translations: NullTranslations


def here() -> Here:
    """This request's locale, timezone and catalogue (worked out on first use)."""
    found = g.get("karte_here")
    if found is None:
        found = g.karte_here = Here(get_locale(), get_timezone(), get_translations())
    return found


def gettext(string: str, **variables: Any) -> str:
    """flask_babel.gettext, with the catalogue looked up once per request."""
    found = here().translations.ugettext(string)
    return found % variables if variables else found


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return here().translations.ungettext(singular, plural, num) % variables


def _template_gettext(string: str) -> str:
    return here().translations.ugettext(string)


def _template_ngettext(singular: str, plural: str, num: int) -> str:
    return here().translations.ungettext(singular, plural, num)


@lru_cache(maxsize=8192)
def _date(value: dt.date, locale: Locale) -> str:
    return babel_dates.format_date(value, "medium", locale=locale)


@lru_cache(maxsize=8192)
def _moment(value: dt.datetime, locale: Locale, zone: dt.tzinfo) -> str:
    """Medium date and short time in the zone, as the locale writes them ("Nov 25, 2026,
    4:29 PM", "2026/11/25 16:29"); seconds are noise on a card, a list or a timeline."""
    pattern = str(babel_dates.get_datetime_format("medium", locale=locale)).replace("'", "")
    time = babel_dates.format_time(value, "short", tzinfo=zone, locale=locale)
    date = babel_dates.format_date(value.astimezone(zone), "medium", locale=locale)
    return pattern.replace("{0}", time).replace("{1}", date)


def format_date(value: dt.date) -> str:
    """flask_babel.format_date(value, "medium") for a date."""
    if isinstance(value, dt.datetime):
        return _date(value.astimezone(here().zone).date(), here().locale)
    return _date(value, here().locale)


def format_moment(value: dt.datetime) -> str:
    """An aware moment in the user's timezone, to the minute."""
    found = here()
    return _moment(value, found.locale, found.zone)


def format_decimal(value: Any) -> str:
    return babel_numbers.format_decimal(value, locale=here().locale)


def format_currency(value: Any, currency: str) -> str:
    return babel_numbers.format_currency(value, currency, locale=here().locale)


def init_app(app: Flask) -> None:
    """Templates' `_()` and `ngettext()` read the request's catalogue (after Babel(app))."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True)
