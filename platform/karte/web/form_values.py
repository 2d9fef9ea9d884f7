"""A posted form ⇄ field values, one small function per field type.

The form only ever sends text. `parse` turns it into the values the records service
takes, for the fields the Registry declares and the form lets a person edit — every other
name in the POST is ignored, so a request can never choose what is written. The service
validates and normalises; this module only does what the service cannot know: that an
unchecked checkbox is "no", that a datetime typed in a form is in the user's timezone, and
which record a title typed into a link picker means. The text as typed is kept (`raw`) so
a form shown again with its errors shows exactly what was typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.fields import NUL_MESSAGE, OFF_CALENDAR, has_nul, normalise, record_id
from karte.meta.conditions import fold
from karte.meta.model import Entity, Field

QUERY = "_q."
"""Prefix of the text box of a link picker: `_q.customer`. Field names cannot hold a dot,
and names starting with `_` are the engine's, so it never meets a field."""

NOT_INPUT = frozenset({"formula", "rollup", "file"})
MANY = frozenset({"multi_enum", "links"})
DATETIME_INPUT = "%Y-%m-%dT%H:%M"
_ID = re.compile(r"#?(\d{1,18})")


class Lookup(Protocol):
    """Titles of the records a link may point at, as the signed-in user may see them."""

    def title(self, entity: str, id: int) -> str | None: ...

    def search(self, entity: str, text: str) -> list[tuple[int, str]]: ...

    def noun(self, entity: str, plural: bool = False) -> str: ...


@dataclass
class Parsed:
    """What a POST says: values for the service, the text as typed, and problems found
    before the service is asked (a picker title that names no record, or several)."""

    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def editable(f: Field) -> bool:
    """Whether a form may ever edit the field: formulas and files are not input, `read_only`
    fields are set by the system, and stage fields change only through a move."""
    return f.type not in NOT_INPUT and not f.read_only and f.workflow is None


def uploadable(f: Field) -> bool:
    """A file field a form attaches to and removes from (karte.web.form_files reads its
    part of the POST; a record's lines take no files)."""
    return f.type == "file" and not f.read_only


# ---------------------------------------------------------------- posted text → values

def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _scalar(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    if f.name not in form:
        return
    text = form.get(f.name, "")
    parsed.raw[f.name] = text
    parsed.values[f.name] = None if _blank(text) else text


def _boolean(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    """A hidden "0" (or "" for "not set") precedes the checkbox: the last value wins, so an
    unchecked box still says something, and a field not on the form says nothing."""
    sent = form.getlist(f.name)
    if not sent:
        return
    parsed.raw[f.name] = sent[-1]
    parsed.values[f.name] = None if _blank(sent[-1]) else sent[-1] == "1"


def _datetime(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo,
              look: Lookup) -> None:
    """datetime-local has no zone: the time is the user's wall-clock time, stored as UTC."""
    _scalar(f, form, parsed, zone, look)
    text = parsed.values.get(f.name)
    if text is None:
        return
    try:
        local = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return                       # the service says what is wrong with it
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    try:
        parsed.values[f.name] = local.astimezone(dt.UTC)
    except OverflowError:
        parsed.problems[f.name] = [_(OFF_CALENDAR)]


def _many(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    """Checkbox groups carry a hidden "" first, so "none chosen" is still sent."""
    if f.name not in form and QUERY + f.name not in form:
        return
    chosen = [v for v in form.getlist(f.name) if v.strip()]
    parsed.raw[f.name] = chosen
    parsed.values[f.name] = chosen


def _links(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    _many(f, form, parsed, zone, look)
    typed = form.get(QUERY + f.name)
    if typed is None or _blank(typed):
        return
    parsed.raw[QUERY + f.name] = typed
    found = resolve(f, typed, None, look, parsed)
    if found is not None:
        parsed.values[f.name] = [*parsed.values.get(f.name, []), str(found)]
        parsed.raw[f.name] = parsed.values[f.name]
        parsed.raw[QUERY + f.name] = ""


def _link(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    """A <select> sends the id; a picker sends the id it chose and the title shown. When
    the title was typed over (or no script chose an id), the title decides."""
    if QUERY + f.name not in form:
        _scalar(f, form, parsed, zone, look)
        return
    chosen, typed = form.get(f.name, ""), form.get(QUERY + f.name, "")
    parsed.raw[f.name], parsed.raw[QUERY + f.name] = chosen, typed
    found = resolve(f, typed, chosen, look, parsed) if not _blank(typed) else None
    parsed.values[f.name] = None if found is None else str(found)
    if found is not None:
        parsed.raw[f.name] = str(found)


def _files(f: Field, form: MultiDict, parsed: Parsed, zone: ZoneInfo, look: Lookup) -> None:
    """Files are never text: a text part named like a file field is ignored (the upload
    itself is read by karte.web.form_files, which only attaches what it received)."""


PARSERS: dict[str, Callable[[Field, MultiDict, Parsed, ZoneInfo, Lookup], None]] = {
    "boolean": _boolean, "datetime": _datetime, "multi_enum": _many, "links": _links,
    "link": _link, "file": _files,
}


def parse(fields: Iterable[Field], form: MultiDict, zone: ZoneInfo, look: Lookup) -> Parsed:
    """Values for `fields` (the ones the form may edit) from the posted `form`; a field
    the POST does not mention is left out, so it keeps its stored value."""
    parsed = Parsed()
    for f in fields:
        PARSERS.get(f.type, _scalar)(f, form, parsed, zone, look)
    return parsed


def resolve(f: Field, typed: str, chosen: str | None, look: Lookup,
            parsed: Parsed) -> int | None:
    """The record a picker's text means: the one chosen while its title is unchanged, else
    the one record whose title is the text (or contains it), else `#id`; else a problem."""
    text = typed.strip()
    if has_nul(text):
        parsed.problems.setdefault(f.name, []).append(_(NUL_MESSAGE))
        return None
    id = record_id(chosen or "")
    if id is not None and look.title(f.to_entity, id) == text:
        return id
    matches = look.search(f.to_entity, text)
    exact = [id for id, title in matches if fold(title.strip()) == fold(text)]
    if len(exact) == 1 or len(matches) == 1:
        return exact[0] if exact else matches[0][0]
    number = _ID.fullmatch(text)
    if number is not None and not exact:
        return int(number.group(1))
    if matches:
        message = _('%(count)d %(things)s match "%(text)s": type more of the title, or choose '
                    'one from the suggestions.', count=len(matches),
                    things=look.noun(f.to_entity, plural=True), text=text)
    else:
        message = _('No %(thing)s matches "%(text)s".', thing=look.noun(f.to_entity), text=text)
    parsed.problems.setdefault(f.name, []).append(message)
    return None


# ---------------------------------------------------------------- stored values → text

def _decimal(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _local(value: Any, zone: ZoneInfo) -> str:
    if not isinstance(value, dt.datetime):
        return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).strftime(DATETIME_INPUT)


FORMATTERS: dict[str, Callable[[Any, ZoneInfo], Any]] = {
    "boolean": lambda v, zone: "1" if v else "0",
    "date": lambda v, zone: v.isoformat() if isinstance(v, dt.date) else str(v),
    "datetime": _local,
    "multi_enum": lambda v, zone: [str(k) for k in v],
    "links": lambda v, zone: [str(i) for i in v],
    "integer": lambda v, zone: _decimal(v),
    "decimal": lambda v, zone: _decimal(v),
    "money": lambda v, zone: _decimal(v),
    "percent": lambda v, zone: _decimal(v),
}


def as_text(f: Field, value: Any, zone: ZoneInfo) -> Any:
    """A stored value as a form input shows it (a list of texts for many-valued fields)."""
    if value is None:
        return [] if f.type in MANY else ""
    return FORMATTERS.get(f.as_value().type, lambda v, zone: str(v))(value, zone)


def from_query(fields: Iterable[Field], args: Mapping[str, str]) -> dict[str, Any]:
    """Text to pre-fill a new form from the query string (`?customer=12`), for declared
    editable fields only."""
    raw: dict[str, Any] = {}
    for f in fields:
        if f.name in args and f.type != "file":
            raw[f.name] = (args.getlist(f.name) if f.type in MANY and hasattr(args, "getlist")
                           else args[f.name])
    return raw


def stored_form(entity: Entity, values: Mapping[str, Any], country: str | None) -> dict:
    """The values in their stored form as far as they convert (an invalid one reads as
    empty), so conditions can be judged on a form that has not been saved."""
    found = {}
    for name, value in values.items():
        f = entity.fields.get(name)
        if f is None:
            continue
        try:
            found[name] = normalise(f, value, country)
        except (ValueError, ArithmeticError):
            found[name] = None
        if f.type == "links" and found[name] is None:
            found[name] = []
    return found
