"""Meaning checks of each declared field of an entity file (SPEC §2, §3.1, §3.2).

Each check is a small function of one `FieldSite`; `check_fields` runs every check over
every field an entity file declares, so one run reports every problem of every field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from karte.fields import TYPES
from karte.meta import series
from karte.meta.model import SYSTEM_FIELDS, Entity, Field
from karte.meta.raw import Doc
from karte.meta.validate.context import DEFAULT_TOKENS, Ctx, entries, repeats, reserved, unfit
from karte.meta.validate.fetch import check_fetch
from karte.meta.validate.file_fields import check_accept, check_max_mb
from karte.problems import Problem, a_an, at, did_you_mean, pointer

NUMBERS = ("integer", "decimal", "money", "percent")
SCALAR = tuple(name for name, kind in TYPES.items() if kind.scalar)
APPLIES: dict[str, tuple[str, ...]] = {
    "unique": SCALAR, "index": SCALAR,
    "default": tuple(t for t in SCALAR if t not in ("formula", "rollup")),
    "max_length": ("string", "text"), "min_length": ("string",), "pattern": ("string",),
    "min": (*NUMBERS, "date", "lines"), "max": (*NUMBERS, "date", "lines"),
    "precision": ("decimal",), "scale": ("decimal",), "currency": ("money", "formula", "rollup"),
    "options": ("enum", "multi_enum"), "to": ("link", "links"), "on_delete": ("link",),
    "formula": ("formula",), "result": ("formula", "rollup"), "retired": ("enum", "multi_enum"),
    "series": ("string",), "of": ("rollup", "lines"), "agg": ("rollup",), "field": ("rollup",),
    "where": ("rollup",), "multiple": ("file",), "accept": ("file",), "max_mb": ("file",),
}
STRING_LENGTH = 255  # a string field's max_length when it sets none


@dataclass(frozen=True)
class FieldSite:
    """One declared field being checked, and where its problems are reported."""

    ctx: Ctx
    entity: Entity
    name: str
    raw: dict[str, Any]
    field: Field
    file: str

    def at(self, code: str, message: str, *parts: Any) -> Problem:
        return at(self.file, pointer("fields", self.name, *parts), message, code)


def _field_name(site: FieldSite) -> Iterator[Problem]:
    if site.name in SYSTEM_FIELDS:
        yield site.at("DEF020", f'"{site.name}" is a system column the engine adds to every '
                      f"entity ({', '.join(SYSTEM_FIELDS)}); choose another name")
    elif reason := reserved(site.name):
        yield site.at("DEF021", reason)


def _link_target(site: FieldSite) -> Iterator[Problem]:
    if site.field.type not in ("link", "links"):
        return
    if "to" not in site.raw:
        yield site.at("DEF023", f'{a_an(site.field.type)} field needs "to": the entity it points '
                      "at")
    elif site.raw["to"] not in site.ctx.entity_names:
        yield site.at("DEF024", f'"to" names no entity: "{site.raw["to"]}"'
                      f"{did_you_mean(site.raw['to'], site.ctx.entity_names)}", "to")


def _keys_apply(site: FieldSite) -> Iterator[Problem]:
    for key in site.raw:
        types = APPLIES.get(key)
        if types is None or site.field.type in types:
            continue
        hint = (" (people are linked with the user type, which needs no \"to\")"
                if key == "to" and site.field.type == "user"
                else f"; it applies to {', '.join(types)}")
        yield site.at("DEF025", f'"{key}" does not apply to {a_an(site.field.type)} field{hint}',
                      key)


def _options(site: FieldSite) -> Iterator[Problem]:
    if site.field.type not in ("enum", "multi_enum"):
        return
    if not site.raw.get("options") and not site.field.workflow:
        yield site.at("DEF026", f'an {site.field.type} field needs "options", e.g. '
                      '["a", "b"]')
    keys = [(i, o if isinstance(o, str) else o.get("key"))
            for i, o in entries(site.raw, "options")]
    for index in repeats(keys):
        yield site.at("DEF027", f'option "{keys[index][1]}" is listed twice', "options", index)


def _default(site: FieldSite) -> Iterator[Problem]:
    if "default" not in site.raw or site.field.type not in APPLIES["default"]:
        return
    reason = unfit(site.field, site.raw["default"], DEFAULT_TOKENS, site.ctx.pack.country)
    if reason:
        yield site.at("DEF028", f"default: {reason}", "default")


def _formula(site: FieldSite) -> Iterator[Problem]:
    if site.field.type == "formula" and "formula" not in site.raw:
        yield site.at("DEF029", 'a formula field needs "formula", e.g. "price * quantity"')


def _bound(site: FieldSite, key: str) -> Any:
    """The bound in the field's own terms; raises ValueError when it does not fit."""
    value = site.raw[key]
    if site.field.type == "lines":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} of a lines field is a whole number of lines, 0 or more")
        return value
    if site.field.type in NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} of {a_an(site.field.type)} field is a number")
        return value
    if not isinstance(value, str):
        raise ValueError(f'{key} of a date field is written as text, e.g. "2024-01-31"')
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f'{key} "{value}" is not an ISO date, e.g. "2024-01-31"') from None


def _limits(site: FieldSite) -> Iterator[Problem]:
    bounds: dict[str, Any] = {}
    for key in ("min", "max"):
        if key in site.raw and site.field.type in APPLIES[key]:
            try:
                bounds[key] = _bound(site, key)
            except ValueError as error:
                yield site.at("DEF041", str(error), key)
    pairs = (("min", "max", bounds), ("min_length", "max_length", site.raw),
             ("scale", "precision", site.raw))
    for low, high, values in pairs:
        try:
            wrong = low in values and high in values and values[low] > values[high]
        except TypeError:
            wrong = False
        if wrong:
            yield site.at("DEF041", f"{low} ({site.raw[low]}) is above {high} "
                          f"({site.raw[high]})", low)


def _pattern(site: FieldSite) -> Iterator[Problem]:
    if isinstance(site.raw.get("pattern"), str):
        try:
            re.compile(site.raw["pattern"])
        except (re.error, RecursionError, OverflowError) as error:
            yield site.at("DEF042", f"not a valid regular expression: {error}", "pattern")


def _series(site: FieldSite) -> Iterator[Problem]:
    """A series pattern (SPEC §3.6) must parse, and its numbers must fit the field."""
    text = site.raw.get("series")
    if not isinstance(text, str) or site.field.type not in APPLIES["series"]:
        return
    try:
        parsed = series.parse(text)
    except ValueError as error:
        yield site.at("DEF051", f"series: {error}", "series")
        return
    room = site.raw.get("max_length", STRING_LENGTH)
    if isinstance(room, int) and parsed.shortest > room:
        yield site.at("DEF050", f"series: its numbers have at least {parsed.shortest} "
                      f"characters, more than max_length ({room})", "series")
    if "default" in site.raw:
        yield site.at("DEF050", "a series field takes no default: the engine numbers each "
                      "new record", "default")


def _renamed(site: FieldSite) -> Iterator[Problem]:
    old = site.raw.get("renamed_from")
    if old is None:
        return
    if old in site.entity.fields:
        yield site.at("DEF039", f'renamed_from "{old}" is a current field; a rename needs '
                      "the old name gone", "renamed_from")
    names = list(site.entity.fields)
    earlier = [n for n in names[:names.index(site.name)]
               if site.entity.fields[n].renamed_from == old]
    if earlier:
        yield site.at("DEF039", f'"{earlier[0]}" is renamed from "{old}" too', "renamed_from")


def _retired(site: FieldSite) -> Iterator[Problem]:
    """`retired` maps removed options to current ones (SPEC §4/§6)."""
    retired = site.raw.get("retired")
    if not isinstance(retired, dict) or site.field.type not in APPLIES["retired"]:
        return
    keys = list(site.field.option_keys)
    for old, new in retired.items():
        if old in keys:
            yield site.at("DEF046", f'option "{old}" is still listed in "options"; retire an '
                          "option by removing it there", "retired", old)
        elif new not in keys:
            yield site.at("DEF046", f'"{old}" is retired into "{new}", which is not a current '
                          f"option{did_you_mean(new, keys)}", "retired", old)


FIELD_CHECKS: tuple[Callable[[FieldSite], Iterator[Problem]], ...] = (
    _field_name, _link_target, _keys_apply, _options, _default, _formula, _limits,
    _pattern, _series, _renamed, _retired, check_fetch, check_accept, check_max_mb)


def check_fields(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    """Every problem of every field the entity file declares (and that was built)."""
    for name, raw in doc.data.get("fields", {}).items():
        if name in entity.fields:
            site = FieldSite(ctx, entity, name, raw, entity.fields[name], doc.file)
            for check in FIELD_CHECKS:
                yield from check(site)
