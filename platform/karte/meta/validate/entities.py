"""Meaning checks of an entity file beyond its fields (SPEC §2, §3.3, §3.4).

The name, title field, list, card, duplicate rules, timeline and permissions must name
fields, entities and roles that exist. ENTITY_CHECKS runs them all, fields included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from karte.fields import TYPES
from karte.meta.model import Entity, Field
from karte.meta.raw import Doc
from karte.meta.validate.actions import check_actions
from karte.meta.validate.context import Ctx, entries, misnamed, repeats, reserved
from karte.meta.validate.fields import check_fields
from karte.meta.validate.surface import check_done, check_subtitle, check_views
from karte.problems import Problem, a_an, at, did_you_mean, pointer

ENGINE_NAMES = ("api", "board", "dashboard", "schema", "login", "logout",  # SPEC §11 URLs
                "static", "admin", "search", "healthz")  # and the engine's other pages
SEARCHABLE = ("string", "text", "email", "phone", "url")
COLUMN_SYSTEM = ("id", "created_at", "updated_at", "created_by", "updated_by")
SORT_SYSTEM = ("id", "created_at", "updated_at")
FILTER_SYSTEM = ("created_at", "updated_at", "created_by", "updated_by")


def _entity_name(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    if reason := misnamed(doc.data.get("name"), entity.name):
        yield at(doc.file, "/name", reason, "DEF022")
    if reason := reserved(entity.name):
        yield at(doc.file, "/name", reason, "DEF021")
    elif entity.name in ENGINE_NAMES:
        yield at(doc.file, "/name", f'"{entity.name}" is reserved: /{entity.name} is one of '
                 "the engine's own pages", "DEF021")


def _title(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    title = doc.data.get("title_field")
    field = entity.fields.get(title) if isinstance(title, str) else None
    if title is not None and title not in ctx.field_names(entity.name):
        yield at(doc.file, "/title_field", ctx.unknown_field(entity, title), "DEF030")
    elif field is not None and field.type in ("file", "lines", "links"):
        yield at(doc.file, "/title_field", f'"{title}" is {a_an(field.type)} field; a record '
                 "is named by one short value, e.g. a string field", "DEF032")


def _list_part(ctx: Ctx, entity: Entity, doc: Doc, key: str, system: tuple[str, ...],
               fits: Callable[[Field], bool], why: str) -> Iterator[Problem]:
    items = entries(doc.data, "list", key)
    named: Sequence[tuple[int | None, Any]] = items
    if key == "sort" and isinstance(doc.data.get("list", {}).get("sort"), str):
        named = [(None, doc.data["list"]["sort"].lstrip("-"))]
    for index, name in named:
        where = pointer("list", key, *([] if index is None else [index]))
        field = entity.fields.get(name)
        if name in system:
            continue
        if name not in ctx.field_names(entity.name):
            yield at(doc.file, where, ctx.unknown_field(entity, name, system), "DEF031")
        elif field is not None and not fits(field):
            yield at(doc.file, where, f'"{name}" is {a_an(field.type)} field; {why}', "DEF032")
    for index in repeats(items) if key != "sort" else ():
        yield at(doc.file, pointer("list", key, index), f'"{items[index][1]}" is listed twice',
                 "DEF034")


def _list(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    no_lines = "a list shows no lines; place the lines field on the card"
    parts = (("columns", COLUMN_SYSTEM, lambda f: f.type != "lines", no_lines),
             ("sort", SORT_SYSTEM, lambda f: TYPES[f.type].orderable,
              "lists cannot be sorted by it"),
             ("filters", FILTER_SYSTEM, lambda f: f.type != "lines", no_lines),
             ("search", (), lambda f: f.type in SEARCHABLE,
              f"the search box searches {', '.join(SEARCHABLE)} fields"))
    for key, system, fits, why in parts:
        yield from _list_part(ctx, entity, doc, key, system, fits, why)


def _card(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    placed: set[str] = set()
    for section, raw in entries(doc.data, "card", "sections"):
        for index, name in entries(raw, "fields"):
            where = pointer("card", "sections", section, "fields", index)
            if name not in ctx.field_names(entity.name):
                yield at(doc.file, where, ctx.unknown_field(entity, name), "DEF033")
            elif name in placed:
                yield at(doc.file, where, f'"{name}" is already placed on the card', "DEF034")
            placed.add(name)
    for index, ref in entries(doc.data, "card", "related"):
        if reason := _related_problem(ctx, entity, ref):
            yield at(doc.file, pointer("card", "related", index), reason, "DEF035")


def _related_problem(ctx: Ctx, entity: Entity, ref: str) -> str | None:
    source, _, name = ref.partition(".")
    if source not in ctx.entity_names:
        return ctx.unknown_entity(source)
    other = ctx.pack.entities.get(source)
    if other is None:
        return None
    field = other.fields.get(name)
    links_here = [f"{source}.{f.name}" for f in other.links() if f.to == entity.name]
    if field is None:
        return (f'{source} has no field "{name}"'
                f"{did_you_mean(ref, links_here) or did_you_mean(name, other.fields)}")
    if field.type != "link" or field.to != entity.name:
        target = f" to {field.to}" if field.to else ""
        return (f'"{ref}" is {a_an(field.type)} field{target}; a related list needs a link field '
                f"to {entity.name}" + (f" ({', '.join(links_here)})" if links_here else ""))
    return None


def _single_values(ctx: Ctx, entity: Entity, doc: Doc, names: list[tuple[int, Any]],
                   parts: tuple[Any, ...], codes: tuple[str, str, str],
                   why: str) -> Iterator[Problem]:
    """A list of field names that must each be a field holding one value, listed once:
    `codes` are for an unknown field, a field of a list type, and a repeat."""
    unknown, unfit, twice = codes
    for index, name in names:
        field = entity.fields.get(name)
        if name not in ctx.field_names(entity.name):
            yield at(doc.file, pointer(*parts, index), ctx.unknown_field(entity, name), unknown)
        elif field is not None and not TYPES[field.type].scalar:
            yield at(doc.file, pointer(*parts, index),
                     f'"{name}" is {a_an(field.type)} field; {why}', unfit)
    for index in repeats(names):
        yield at(doc.file, pointer(*parts, index), f'"{names[index][1]}" is listed twice',
                 twice)


def _duplicates(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    for rule, raw in entries(doc.data, "duplicates"):
        yield from _single_values(ctx, entity, doc, entries(raw, "fields"),
                                  ("duplicates", rule, "fields"), ("DEF036", "DEF032", "DEF034"),
                                  "duplicate rules compare single values")


def _unique(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    """Each combination: two or more distinct fields that a unique index can hold."""
    for rule, raw in entries(doc.data, "unique"):
        names = list(enumerate(raw)) if isinstance(raw, list) else []
        if len(names) < 2:
            yield at(doc.file, pointer("unique", rule), "a unique combination needs at least "
                     "two fields (a single field takes \"unique\": true)", "DEF053")
        yield from _single_values(ctx, entity, doc, names, ("unique", rule),
                                  ("DEF052", "DEF053", "DEF053"),
                                  "a unique combination holds single values")


def _timeline(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    item = doc.data.get("timeline_item")
    if not isinstance(item, dict):
        return
    for key in ("at", "summary"):
        name = item.get(key)
        field = entity.lookup(name) if isinstance(name, str) else None
        if field is None and name not in ctx.field_names(entity.name):
            yield at(doc.file, pointer("timeline_item", key),
                     ctx.unknown_field(entity, name), "DEF037")
        elif key == "at" and field is not None and field.type not in ("date", "datetime"):
            yield at(doc.file, "/timeline_item/at", f'"{name}" is {a_an(field.type)} field; '
                     "timeline_item.at is a date or datetime field", "DEF032")
        elif key == "summary" and field is not None and field.type in ("file", "lines"):
            yield at(doc.file, "/timeline_item/summary", f'"{name}" is {a_an(field.type)} '
                     "field; timeline_item.summary is one line of text", "DEF032")


def _permissions(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    if ctx.roles is None:
        return
    for role in doc.data.get("permissions", {}):
        if role not in ctx.roles:
            yield at(doc.file, pointer("permissions", role),
                     ctx.unknown_role(role, ctx.roles), "DEF038")


ENTITY_CHECKS: tuple[Callable[[Ctx, Entity, Doc], Iterator[Problem]], ...] = (
    _entity_name, check_fields, _title, _list, _card, _duplicates, _unique, _timeline,
    _permissions, check_actions, check_subtitle, check_done, check_views)
