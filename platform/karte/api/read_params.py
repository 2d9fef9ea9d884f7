"""Query parameters of the API's reads (SPEC §11.1), checked before anything is read.

The list endpoint takes `q`, `sort` and `f.<field>[.<op>]` exactly as list pages do — they
go through the list page's own parser (`karte.web.list_params.parse`), so a query string
selects the same records on both — plus `limit` (1–500, default 50), `cursor` (the `next`
of the previous page), `fields` (a sparse record: the names to return) and `expand` (link
fields to return as `{id, title}`). Any other parameter is a 400 naming it: a misspelt
filter must not silently return everything.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.api import read_cursor
from karte.api.problems import ApiProblem, entry
from karte.api.serialize import EXPANDABLE, readable_names
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.errors import InvalidQuery
from karte.store.records.keyset import Position
from karte.store.records.store import Store
from karte.web.list_params import PREFIX, ListQuery, parse
from karte.web.messages import query_problems

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
LIST_PARAMS = ("q", "sort", "limit", "cursor", "fields", "expand")
"""The list endpoint's parameters besides the `f.` filters (the OpenAPI document reads
this)."""
RECORD_PARAMS = ("fields", "expand")
LANGUAGE = "lang"
"""`?lang=ja`: the answer's language (messages, labels); taken by every request."""
HISTORY_PARAMS = ("limit", "cursor")


@dataclass(frozen=True)
class Listing:
    """A list request, checked: the list query, the page size, where to start, the
    sparse fields (None: all) and the links to expand."""

    query: ListQuery
    limit: int
    after: Position | None
    fields: frozenset[str] | None
    expand: frozenset[str]
    digest: str


@dataclass(frozen=True)
class Shaping:
    fields: frozenset[str] | None
    expand: frozenset[str]


def check_known(args: MultiDict, known: Collection[str], filters: bool = False) -> None:
    """400 naming every parameter that is not one of `known` (or an `f.` filter)."""
    unknown = [key for key in dict.fromkeys(args.keys()) if key not in known
               and key != LANGUAGE and not (filters and key.startswith(PREFIX))]
    if unknown:
        allowed = ", ".join([*known, *([f"{PREFIX}<field>[.<op>]"] if filters else [])])
        raise ApiProblem(400, [entry(key, "unknown_parameter", _(
            "“%(name)s” is not a parameter of this request; parameters: %(allowed)s.",
            name=key, allowed=allowed)) for key in unknown])


def limit(args: MultiDict) -> int:
    text = args.get("limit", "").strip()
    if not text:
        return DEFAULT_LIMIT
    if text.isascii() and text.isdecimal() and 1 <= int(text) <= MAX_LIMIT:
        return int(text)
    raise ApiProblem(400, [entry("limit", "limit", _(
        "limit: “%(value)s” is not a page size; use a whole number from 1 to %(max)d.",
        value=text[:20], max=MAX_LIMIT))])


def _names(args: MultiDict, param: str) -> list[str]:
    return [name.strip() for value in args.getlist(param) for name in value.split(",")
            if name.strip()]


def _refuse_names(param: str, bad: Iterable[str], allowed: Iterable[str]) -> None:
    wrong = list(bad)
    if wrong:
        raise ApiProblem(400, [entry(param, "unknown_field", _(
            "%(param)s: “%(name)s” is not one of the fields you can ask for: %(allowed)s.",
            param=param, name=name, allowed=", ".join(allowed))) for name in wrong])


def shaping(store: Store, entity: Entity, actor: Actor | None, args: MultiDict) -> Shaping:
    """`fields=` and `expand=`: names of fields the caller sees (a hidden field is
    refused as if it did not exist); `expand` names link or links fields."""
    visible = readable_names(store, entity, actor)
    chosen = _names(args, "fields")
    _refuse_names("fields", (n for n in chosen if n not in visible), visible)
    links = [n for n in visible if n in entity.fields and entity.fields[n].type in EXPANDABLE]
    expand = _names(args, "expand")
    _refuse_names("expand", (n for n in expand if n not in links), links)
    return Shaping(frozenset(chosen) if chosen else None, frozenset(expand))


def _list_query(entity: Entity, args: MultiDict) -> ListQuery:
    """`q`, `sort` and the filters through the list page's parser."""
    own = MultiDict([(key, value) for key, value in args.items(multi=True)
                     if key in ("q", "sort") or key.startswith(PREFIX)])
    try:
        return parse(entity, own)
    except InvalidQuery as error:
        raise InvalidQuery(query_problems(entity, error.problems)) from None


def listing(store: Store, entity: Entity, actor: Actor | None, args: MultiDict) -> Listing:
    """The checked list request; 400 for any parameter that is unknown or unusable."""
    check_known(args, LIST_PARAMS, filters=True)
    query = _list_query(entity, args)
    size = limit(args)
    shaped = shaping(store, entity, actor, args)
    fingerprint = read_cursor.digest([entity.name, query.q, query.sort,
                                      sorted((f.param, f.value) for f in query.filters)])
    text = args.get("cursor", "").strip()
    after = read_cursor.decode(text, fingerprint) if text else None
    return Listing(query, size, after, shaped.fields, shaped.expand, fingerprint)
