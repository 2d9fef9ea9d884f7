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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
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
    """flask_babel.format_decimal(value): the locale's standard decimal pattern."""
    return number_format(here().locale, None)(value)


def format_currency(value: Any, currency: str) -> str:
    """flask_babel.format_currency(value, currency): the currency's digits and symbol."""
    return number_format(here().locale, currency)(value)


@lru_cache(maxsize=256)
def number_format(locale: Locale, currency: str | None) -> Callable[[Any], str]:
    """Babel's `format_decimal` (currency None) or `format_currency` for one locale, with
    the pattern, symbols and digits looked up once instead of on every call (Babel reads
    its locale data a dozen times per number: a list of amounts spent most of its time
    there). The steps are Babel's own `NumberPattern.apply` for a plain pattern; a pattern
    with anything else (scientific, significant digits, scaling, quoted text, the
    currency's name, other grouping) is left to Babel."""
    pattern = babel_numbers.parse_pattern(
        locale.currency_formats["standard"] if currency else locale.decimal_formats[None])

    def slow(value: Any) -> str:
        if currency is None:
            return babel_numbers.format_decimal(value, locale=locale)
        return babel_numbers.format_currency(value, currency, locale=locale)

    affixes = [*pattern.prefix, *pattern.suffix]
    if (pattern.scale or pattern.exp_prec or "@" in pattern.pattern
            or pattern.grouping != (3, 3) or pattern.int_prec[0] != 1
            or any("'" in a or "¤¤" in a for a in affixes)):
        return slow
    if currency is not None:
        symbol = babel_numbers.get_currency_symbol(currency, locale)
        affixes = [a.replace("¤", symbol) for a in affixes]
    prefix, suffix = affixes[:2], affixes[2:]
    least, most = (babel_numbers.get_currency_precision(currency),) * 2 if currency \
        else pattern.frac_prec
    quantum = babel_numbers.get_decimal_quantum(most)
    group = babel_numbers.get_group_symbol(locale)
    point = babel_numbers.get_decimal_symbol(locale)

    def fast(value: Any) -> str:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if not number.is_finite():
            return slow(value)
        negative = int(number.is_signed())
        whole, _, fraction = f"{abs(number).normalize().quantize(quantum):f}".partition(".")
        if len(whole) > 3:
            whole = f"{int(whole):,}".replace(",", group)
        fraction = (fraction or "0").ljust(least, "0")
        if most == 0 or (least == 0 and int(fraction) == 0):
            fraction = ""
        else:
            fraction = point + (fraction.rstrip("0").ljust(least, "0"))
        return prefix[negative] + whole + fraction + suffix[negative]
    return fast


def init_app(app: Flask) -> None:
    """Templates' `_()` and `ngettext()` read the request's catalogue (after Babel(app))."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True)
