"""The statements of a list page and a count, built once and used again (issue 11).

A list page costs the database about a millisecond; building its SELECT, and SQLAlchemy
working out the statement's cache key to find its compiled form, cost as much again in
Python. So what a page reads is kept per `Store` (`Store.remember`):

- `page_plan`: the SELECT of the columns the actor may see, within their read scope, in
  the list's order, its LIMIT and OFFSET bound as `karte_limit` / `karte_offset` — one per
  entity, read scope (the role; the actor too when the role reads only its own records),
  sort, direction and `include_deleted`;
- `page_statement`: that SELECT with a filter's WHERE, kept per filter as written (the raw
  condition) when its SQL depends on nothing else: `$today` and `$me` are part of the key
  (the day, the actor), a filter with `$now` and every search are built each time (a
  search asks the index how many rows it finds). The very same statement object serves
  the page again, so SQLAlchemy reuses its cache key as well as its compiled SQL;
- `counting`: the capped count of a list without filter or search.

The keys hold everything a statement depends on; a definition change makes a new Store.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import Token
from karte.meta.conditions.model import compares
from karte.meta.model import Entity, Field
from karte.store.actor import Actor
from karte.store.field_rights import check_condition, hidden
from karte.store.permissions import scope_key
from karte.store.records.query import base, condition_of, narrowing, order_by
from karte.store.records.store import Store, links_fields
from karte.store.where import to_sql

LIMIT, OFFSET = "karte_limit", "karte_offset"


@dataclass(frozen=True)
class PagePlan:
    """A list page but its filter and search: `select` (the rows; bind LIMIT and OFFSET),
    `statement` (what runs without filter: `select` with the targets of its `links`
    fields, see `_with_links`), the `links` fields the actor may see, and whether
    `statement` reads their targets (`folded`: else one more query each)."""

    select: sa.Select[Any]
    statement: sa.Select[Any]
    links: tuple[Field, ...]
    folded: bool
    key: tuple[Hashable, ...]


def page_plan(store: Store, entity: Entity, sort: str | None, actor: Actor | None,
              reverse: bool = False, include_deleted: bool = False,
              wanted: Collection[str] | None = None) -> PagePlan:
    """The page's plan (InvalidQuery for a sort the actor may not use: nothing kept).
    `wanted`: the `links` fields to read (None: every one the actor sees)."""
    wanted = None if wanted is None else tuple(sorted(set(wanted)))
    key = ("page", entity.name, sort, reverse, include_deleted, wanted,
           *scope_key(store, entity, actor, "read"))

    def make() -> PagePlan:
        unseen = hidden(store, entity, actor)
        columns = tuple(name for name in store.table(entity).c.keys() if name not in unseen)
        select = (base(store, entity, include_deleted, actor, columns)
                  .order_by(*order_by(store, entity, sort, actor, reverse))
                  .limit(sa.bindparam(LIMIT, type_=sa.Integer))
                  .offset(sa.bindparam(OFFSET, type_=sa.BigInteger)))
        links = tuple(f for f in links_fields(entity) if f.name not in unseen
                      and (wanted is None or f.name in wanted))
        folded = bool(links) and store.engine.dialect.name in FOLDED
        plan = PagePlan(select, select, links, folded, key)
        return replace(plan, statement=_with_links(store, entity, plan, select, sort, actor,
                                                   reverse))
    return store.remember(key, make)


def page_statement(store: Store, entity: Entity, where: Any, search: str | None,
                   sort: str | None, actor: Actor | None, reverse: bool = False,
                   include_deleted: bool = False, wanted: Collection[str] | None = None
                   ) -> tuple[sa.Select[Any], PagePlan]:
    """A page's statement (bind LIMIT and OFFSET; `read_page` reads it) and its plan.
    InvalidQuery for a filter that is wrong or reads a hidden field (first), or a sort
    the actor may not use. `wanted` as for `page_plan`."""
    frozen = _frozen(where) if isinstance(where, dict) and not (search and search.strip()) \
        else None
    if frozen is None:
        clauses = narrowing(store, entity, where, search, actor)
        plan = page_plan(store, entity, sort, actor, reverse, include_deleted, wanted)
        if not clauses:
            return plan.statement, plan
        return _with_links(store, entity, plan, plan.select.where(*clauses), sort, actor,
                           reverse), plan
    condition = store.remember(("condition", entity.name, frozen),
                               lambda: condition_of(store, entity, where))
    check_condition(store, entity, actor, condition)
    plan = page_plan(store, entity, sort, actor, reverse, include_deleted, wanted)
    tokens = {value.name for compare in compares(condition)
              for value in (compare.value if isinstance(compare.value, tuple)
                            else (compare.value,)) if isinstance(value, Token)}
    ctx = store.context(actor)

    def narrowed() -> sa.Select[Any]:
        select = plan.select.where(to_sql(condition, store.tables, ctx))
        return _with_links(store, entity, plan, select, sort, actor, reverse)
    if "now" in tokens:
        return narrowed(), plan
    key = ("narrowed", *plan.key, frozen, ctx.today if "today" in tokens else None,
           ctx.user_id if "me" in tokens else None)
    return store.remember(key, narrowed), plan


def read_page(store: Store, conn: sa.Connection, entity: Entity, statement: sa.Select[Any],
              plan: PagePlan, limit: int, offset: int) -> list[dict[str, Any]]:
    """The page's records: one dict per row, `links` fields as sorted ids."""
    result = conn.execute(statement, {LIMIT: limit, OFFSET: offset})
    keys = list(result.keys())
    records = [dict(zip(keys, row, strict=True)) for row in result.all()]
    if plan.folded:
        sqlite = store.engine.dialect.name == "sqlite"
        for name in [field.name for field in plan.links]:
            for record in records:
                found = record[name]
                record[name] = (sorted(map(int, found.split(","))) if sqlite else sorted(found)
                                ) if found else []
    elif plan.links:
        store.attach_links(conn, entity, records, plan.links)
    return records


FOLDED = ("sqlite", "postgresql")


def _with_links(store: Store, entity: Entity, plan: PagePlan, select: sa.Select[Any],
                sort: str | None, actor: Actor | None, reverse: bool) -> sa.Select[Any]:
    """The page with its `links` fields' live targets read in the same statement, one
    round trip (on a busy database server each costs as much as the page's SQL):

        SELECT page.*, (SELECT group_concat | array_agg(target_id) ...) AS <field>
        FROM (<the page: order, LIMIT, OFFSET>) AS page ORDER BY <the same order>

    The page is read first (its plan unchanged: the sort index, the rows it skips), so
    the targets are read for its rows only, never for rows an OFFSET skips or a sort
    weighs; the outer ORDER BY sorts those few rows again."""
    if not plan.folded:
        return select
    page = select.subquery("page")
    targets = [_targets(store, entity, field, page.c.id).label(field.name)
               for field in plan.links]
    return (sa.select(*page.c, *targets)
            .order_by(*order_by(store, entity, sort, actor, reverse, page.c)))


def _targets(store: Store, entity: Entity, field: Field,
             source_id: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """The ids of the field's live targets of the record `source_id`: a text "3,17" on
    SQLite, an array on PostgreSQL (NULL for none); `read_page` sorts them."""
    junction, target = store.junction(entity, field), store.table(field.to_entity)
    ids = junction.c.target_id
    aggregate = (sa.func.group_concat(ids) if store.engine.dialect.name == "sqlite"
                 else sa.func.array_agg(ids))
    return (sa.select(aggregate)
            .select_from(junction.join(target, target.c.id == ids))
            .where(junction.c.source_id == source_id, target.c.deleted_at.is_(None))
            .scalar_subquery())


def counting(store: Store, entity: Entity, where: Any = None, search: str | None = None,
             include_deleted: bool = False, actor: Actor | None = None,
             cap: int | None = None) -> sa.Select[Any]:
    """SELECT count(*) of the ids `query.filtered` finds, the first `cap` of them with a
    cap (the same statement object each time for a list without filter or search)."""
    clauses = narrowing(store, entity, where, search, actor, ordered=False)

    def make() -> sa.Select[Any]:
        matching = base(store, entity, include_deleted, actor, ("id",)).where(*clauses)
        if cap is not None:
            matching = matching.limit(cap)
        return sa.select(sa.func.count()).select_from(matching.subquery())
    if clauses:
        return make()
    return store.remember(("count", entity.name, include_deleted, cap,
                           *scope_key(store, entity, actor, "read")), make)


def _frozen(value: Any) -> Hashable | None:
    """A raw condition as a key: equal only for the same structure, types and values
    (1, 1.0 and True differ); None when it holds something else."""
    if isinstance(value, dict):
        pairs = [(key, _frozen(item)) for key, item in value.items()]
        if any(item is None and value[key] is not None for key, item in pairs):
            return None
        return ("dict", tuple(sorted(pairs, key=lambda pair: repr(pair[0]))))
    if isinstance(value, list | tuple):
        items = [_frozen(item) for item in value]
        if any(item is None and raw is not None for item, raw in zip(items, value,
                                                                      strict=True)):
            return None
        return (type(value).__name__, tuple(items))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    return None
