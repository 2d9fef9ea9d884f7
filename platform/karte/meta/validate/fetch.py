"""Meaning checks of `fetch` (SPEC §3.6): `"fetch": "product.price"` copies the linked
record's value, so the link must be a `link` field of this entity and the copied field must
hold values this field can store as they are: the rule of a workflow's `$record.<field>`
copy (a number widens to decimal or money, an email fits a string, an enum needs every
option of the source).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from karte.meta.model import Entity, Field
from karte.meta.validate.tokens import copy_unfit
from karte.problems import Problem, a_an, did_you_mean

if TYPE_CHECKING:
    from karte.meta.validate.fields import FieldSite

CANNOT = frozenset({"links", "lines", "formula", "rollup", "file"})


def value_of(field: Field) -> Field:
    """A field as the values it holds: a formula or rollup as its `result` type."""
    if field.type == "rollup":
        return replace(field, type=field.result or "decimal")
    return field.as_value()


def _target(site: FieldSite, link: Field) -> Entity | None:
    return site.ctx.pack.entities.get(link.to or "")


def check_fetch(site: FieldSite) -> Iterator[Problem]:
    text = site.raw.get("fetch")
    if not isinstance(text, str) or "." not in text:
        return
    field = site.field
    if field.type in CANNOT or field.series is not None:
        what = "a series field" if field.series is not None else f"{a_an(field.type)} field"
        yield site.at("DEF080", f"fetch does not apply to {what}: the engine computes its "
                      "value; remove fetch", "fetch")
        return
    name, target_name = text.split(".", 1)
    link = site.entity.fields.get(name)
    links = [n for n, f in site.entity.fields.items() if f.type == "link"]
    if link is None:
        yield site.at("DEF081", f'fetch: {site.entity.name} has no field "{name}"'
                      f"{did_you_mean(name, links)}; fetch starts with a link field",
                      "fetch")
        return
    if link.type != "link":
        yield site.at("DEF082", f'fetch: "{name}" is {a_an(link.type)} field; fetch copies '
                      f"through a link field ({', '.join(links) or 'none here'})", "fetch")
        return
    if link.fetch is not None or name == site.name:
        yield site.at("DEF085", f'fetch: the link "{name}" is itself fetched or is this '
                      "field; fetch through a link the user or the API sets", "fetch")
        return
    yield from _copied(site, link, target_name)


def _copied(site: FieldSite, link: Field, name: str) -> Iterator[Problem]:
    target = _target(site, link)
    if target is None:                    # "to" names no entity: DEF024 says so
        return
    source = target.fields.get(name)
    if source is None:
        yield site.at("DEF083", f'fetch: {target.name} has no field "{name}"'
                      f"{did_you_mean(name, list(target.fields))}", "fetch")
    elif reason := copy_unfit(value_of(source), site.field):
        yield site.at("DEF084", f"fetch: {target.name}.{name} cannot be copied here: "
                      f"{reason}; fetch a field of the same type", "fetch")


