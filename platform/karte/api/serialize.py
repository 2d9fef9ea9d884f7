"""Records as the API's JSON (SPEC §11.1 shapes), field by field through `karte.api.types`.

A record is `{"id", "version", "created_at", "updated_at", "created_by", "updated_by",
<field>: value, ...}` in declaration order, its lines nested under their `lines` field as
objects of the part's fields (with the line's `id`, without the link back to the parent).
Only fields the caller sees are written: the shape is made from the role's visible fields
(`field_rights.visible_fields`), not from whatever the row holds. `expand` turns a link (or
each id of a links field) into `{"id", "title"}`: the titles come from one query per
linked entity for the whole page, a null title for a record the caller may not read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response, has_request_context, request

from karte.api.types import api_type, converter
from karte.meta.model import SYSTEM_FIELD_DEFS, Entity, Field
from karte.meta.parts import POSITION
from karte.store.actor import Actor
from karte.store.field_rights import visible_fields
from karte.store.lookup import titles
from karte.store.records.store import Store

SYSTEM = ("id", "version", "created_at", "updated_at", "created_by", "updated_by")
"""The system fields every record carries, first and in this order."""
ALWAYS = ("id", "version")
"""Written even when `fields=` does not name them: what a client needs to write back."""
EXPANDABLE = frozenset({"link", "links"})

Record = dict[str, Any]
Column = tuple[str, Callable[[Any], Any] | None, bool]
"""A column of a shape: its name, how a value becomes JSON (None: as it is), and whether
an empty one is [] (an array type) rather than null."""
Titles = Mapping[str, Mapping[int, str]]


@dataclass(frozen=True)
class Shape:
    """How one entity's records become JSON for one caller: every column in order, then
    the `lines` fields (with their part's shape) and the links to expand written again
    in their column's place."""

    columns: tuple[Column, ...]
    nested: tuple[tuple[str, Shape], ...] = ()
    expand: tuple[Field, ...] = ()
    files: tuple[str, ...] = ()
    entity: str = ""

    def json(self, record: Mapping[str, Any], found: Titles) -> Record:
        get = record.get
        out: Record = {}
        for name, convert, many in self.columns:
            value = get(name)
            if value is None:
                out[name] = [] if many else None
            else:
                out[name] = value if convert is None else convert(value)
        for name, part in self.nested:
            out[name] = [part.json(line, found) for line in record.get(name) or ()]
        for field in self.expand:
            out[field.name] = _expanded(field, record.get(field.name), found)
        for name in self.files:
            for item in out.get(name) or ():
                item["url"] = file_url(self.entity, record.get("id"), name, item["id"])
        return out


def file_url(entity: str, id: Any, field: str, file_id: Any) -> str:
    """Where the API serves a file of a record (karte.api.files): a record's JSON gives it
    as each file's `url`, an upload as its `Location`."""
    root = request.script_root if has_request_context() else ""
    return f"{root}/api/v1/{entity}/{id}/files/{field}/{file_id}"


def readable_names(store: Store, entity: Entity, actor: Actor | None) -> tuple[str, ...]:
    """Every name a record of `entity` shows the caller: system fields, then the fields
    the role sees, in declaration order."""
    return (*SYSTEM, *visible_fields(store, entity, actor))


def shape(store: Store, entity: Entity, actor: Actor | None,
          fields: Collection[str] | None = None, expand: Collection[str] = ()) -> Shape:
    """The shape of `entity`'s records for the actor: every field they see, or those of
    `fields` (plus `ALWAYS`); `expand` names link fields among them (checked by the
    caller: `karte.api.read_params`). Made once per role and question (the store's
    bounded memo): field rights depend on the role only."""
    key = ("api-shape", entity.name, actor.role if actor is not None else None,
           None if fields is None else frozenset(fields), frozenset(expand))
    return store.remember(key, lambda: _shape(store, entity, actor, fields, expand))


def _shape(store: Store, entity: Entity, actor: Actor | None,
           fields: Collection[str] | None, expand: Collection[str]) -> Shape:
    chosen = [name for name in readable_names(store, entity, actor)
              if fields is None or name in fields or name in ALWAYS]
    columns, nested, expanded, files = [], [], [], []
    for name in chosen:
        field = entity.fields.get(name) or SYSTEM_FIELD_DEFS[name]
        part = store.pack.entities.get(field.of or "") if field.type == "lines" else None
        if field.type == "lines" and part is None:
            continue
        columns.append(_column(field))          # lines and expanded links: their place
        if part is not None:
            nested.append((name, _line_shape(store, part, actor)))
        elif name in expand and field.type in EXPANDABLE:
            expanded.append(field)
        elif field.type == "file":
            files.append(name)
    return Shape(tuple(columns), tuple(nested), tuple(expanded), tuple(files), entity.name)


def _line_shape(store: Store, part: Entity, actor: Actor | None) -> Shape:
    """A line: its id and the part's fields the caller sees, without the parent link and
    `position` (the line's place in the array says it)."""
    names = [name for name in visible_fields(store, part, actor)
             if name not in (part.part_of, POSITION)]
    fields = [SYSTEM_FIELD_DEFS["id"], *(part.fields[name] for name in names)]
    return Shape(tuple(_column(f) for f in fields))


def _column(field: Field) -> Column:
    return field.name, converter(field), api_type(field.as_value()).many


def _expanded(field: Field, value: Any, found: Titles) -> Any:
    known = found.get(field.to_entity, {})
    if field.type == "links":
        return [{"id": id, "title": known.get(id)} for id in value or ()]
    return None if value is None else {"id": value, "title": known.get(value)}


def link_titles(store: Store, fields: Iterable[Field], rows: Sequence[Mapping[str, Any]],
                actor: Actor | None) -> dict[str, dict[int, str]]:
    """{entity: {id: title}} for the ids the rows hold in `fields`: one query per linked
    entity (two fields pointing at one entity share it), never one per row."""
    wanted: dict[str, set[int]] = {}
    for field in fields:
        ids = wanted.setdefault(field.to_entity, set())
        for row in rows:
            value = row.get(field.name)
            if isinstance(value, list):
                ids.update(value)
            elif value is not None:
                ids.add(value)
    return {entity: titles(store, entity, ids, actor) for entity, ids in wanted.items() if ids}


def to_json(store: Store, entity: Entity, actor: Actor | None, rows: Sequence[Mapping[str, Any]],
            fields: Collection[str] | None = None, expand: Collection[str] = ()) -> list[Record]:
    """The records as JSON objects for the actor (see the module's docstring)."""
    made = shape(store, entity, actor, fields, expand)
    found = link_titles(store, made.expand, rows, actor)
    return [made.json(row, found) for row in rows]


def json_response(body: Any, status: int = 200) -> Response:
    """`body` as application/json, its keys in the order made here (a record's fields in
    declaration order: Flask's own `jsonify` sorts them)."""
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status,
                    mimetype="application/json")
