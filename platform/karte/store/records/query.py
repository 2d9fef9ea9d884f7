"""Reading many records: filter (conditions), search, sort, page, count, duplicates.

Column names come only from the Registry: a sort or search field that the entity does not
declare is refused, never interpolated. Text matching folds ASCII case only and treats `%`
and `_` literally, the same rule the condition language keeps on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from karte.fields import TYPES, normalise
from karte.meta import conditions
from karte.meta.conditions import fold
from karte.meta.model import Entity, Field
from karte.problems import Detailed, Problem, did_you_mean
from karte.store.actor import Actor
from karte.store.duplicate_keys import key_of, value_key
from karte.store.errors import InvalidQuery
from karte.store.field_rights import check_condition, hidden
from karte.store.permissions import scope, scope_key
from karte.store.records.store import Store
from karte.store.search_index import candidates, search_fold, searched
from karte.store.where import to_sql

MAX_LIMIT = 1000
DUPLICATES_PER_RULE = 10


def condition_of(store: Store, entity: Entity, where: Any) -> Any:
    """A parsed condition as is; a raw one (dict) parsed against the Registry."""
    if where is None or not isinstance(where, dict):
        return where
    parsed, problems = conditions.parse(where, entity, store.pack.entities, "where", "")
    if problems:
        raise InvalidQuery([replace(p, where="where") for p in problems])  # details kept
    return parsed


def _text_match(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """The column folds to a text containing `text` folded (the expression PostgreSQL's
    trigram indexes are built on: `search_index.search_fold`)."""
    return sa.and_(column.is_not(None),
                   search_fold(column).contains(fold(text), autoescape=True))


def _search(store: Store, entity: Entity, table: sa.Table, text: str,
            actor: Actor | None = None, ordered: bool = True) -> sa.ColumnElement[bool]:
    """Any of the list's search fields the actor may see contains the text: the exact
    predicate, on the candidates the search index finds when one serves
    (`karte.store.search_index`), so the index never changes what matches."""
    unseen = hidden(store, entity, actor)
    names = [name for name in searched(entity) if name in table.c and name not in unseen]
    exact = sa.or_(sa.false(), *[_text_match(table.c[name], text) for name in names])
    found = candidates(store, entity, table, fold(text), names, ordered)
    return exact if found is None else sa.and_(found, exact)


def base(store: Store, entity: Entity, include_deleted: bool, actor: Actor | None,
          columns: tuple[str, ...] | None = None) -> sa.Select[Any]:
    """SELECT of the entity's table (or of `columns`) within the actor's read scope, live
    rows only unless `include_deleted`: built once per read scope."""
    def make() -> sa.Select[Any]:
        table = store.table(entity)
        chosen = (table,) if columns is None else tuple(table.c[name] for name in columns)
        query = sa.select(*chosen).where(scope(store, entity, actor, "read"))
        if not include_deleted:
            query = query.where(table.c.deleted_at.is_(None))
        return query
    return store.remember(("base", entity.name, include_deleted, columns,
                           *scope_key(store, entity, actor, "read")), make)


def narrowing(store: Store, entity: Entity, where: Any = None, search: str | None = None,
              actor: Actor | None = None, *, ordered: bool = True
              ) -> list[sa.ColumnElement[bool]]:
    """The clauses of a filter (`where`) and a search; InvalidQuery for a filter that is
    wrong or reads a field hidden from the actor."""
    clauses = []
    condition = condition_of(store, entity, where)
    check_condition(store, entity, actor, condition)
    if condition is not None:
        clauses.append(to_sql(condition, store.tables, store.context(actor)))
    if search is not None and search.strip():
        clauses.append(_search(store, entity, store.table(entity), search.strip(), actor,
                               ordered))
    return clauses


def filtered(store: Store, entity: Entity, where: Any = None, search: str | None = None,
             include_deleted: bool = False, actor: Actor | None = None, *,
             ordered: bool = True) -> sa.Select[Any]:
    """SELECT of the entity's table with every filter applied (no order, no paging),
    limited to the records the actor may read. `ordered=False`: the rows will not be read
    in the list's order (a count), which lets a search always start from its index."""
    clauses = narrowing(store, entity, where, search, actor, ordered=ordered)
    query = base(store, entity, include_deleted, actor)
    return query.where(*clauses) if clauses else query


def _option_order(store: Store, field: Field,
                  column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Enum (and stage) fields sort in the order their options are declared (a key no
    longer declared sorts as empty)."""
    order = {key: index for index, key in enumerate(field.option_keys)}
    return sa.case(order, value=column) if order else column


def _title_order(store: Store, field: Field,
                 column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A link sorts by its target's title, as the list shows it."""
    target_entity = store.entity(field.to_entity)
    target = store.table(target_entity).alias()
    title = target_entity.title_field
    if title not in target.c:
        return column
    return sa.select(target.c[title]).where(target.c.id == column).scalar_subquery()


def _plain_order(store: Store, field: Field, column: sa.ColumnElement[Any]
                 ) -> sa.ColumnElement[Any]:
    return column


SORT_KEYS: dict[str, Callable[[Store, Field, sa.ColumnElement[Any]], sa.ColumnElement[Any]]] = {
    "enum": _option_order,
    "link": _title_order,
}


def _sortable(entity: Entity, table: sa.Table,
              unseen: frozenset[str] = frozenset()) -> list[str]:
    return [name for name in table.c.keys()
            if (f := entity.lookup(name)) is not None and TYPES[f.type].orderable
            and name not in unseen]


def order_by(store: Store, entity: Entity, sort: str | None,
             actor: Actor | None = None, reverse: bool = False,
             columns: Any = None) -> list[sa.ColumnElement[Any]]:
    """ORDER BY for "field" / "-field": empty values last, then id as a stable tiebreak.
    Written so the sort indexes (store/tables.py `sort_fields`) serve it on both databases:
    NOT NULL columns carry no NULLS clause (PostgreSQL would not match it to an index).
    A field hidden from the actor cannot be sorted by (nor is the list's default sort
    on one kept: newest changes first instead). `reverse` is the exact opposite order
    (empty values first), the same index read backwards: a list's last pages read from
    their end instead of skipping every row before them. `columns`: the same order of a
    subquery's columns (default the entity's table)."""
    key, descending = sort_key(store, entity, sort, actor, columns)
    descending ^= reverse
    id = (store.table(entity).c if columns is None else columns).id
    tiebreak = id.desc() if descending else id.asc()
    if key is id:
        return [tiebreak]
    first = key.desc() if descending else key.asc()
    if not nullable(key):
        return [first, tiebreak]     # no NULLS clause: the plain (column, id) index serves
    return [first.nulls_first() if reverse else first.nulls_last(), tiebreak]


def nullable(key: sa.ColumnElement[Any]) -> bool:
    """Whether a sort key may be empty (a computed one always may)."""
    return not isinstance(key, sa.Column) or bool(key.nullable)


def sort_key(store: Store, entity: Entity, sort: str | None,
             actor: Actor | None = None, columns: Any = None
             ) -> tuple[sa.ColumnElement[Any], bool]:
    """The expression a list sorts by and whether descending (see `order_by`)."""
    table = store.table(entity)
    unseen = hidden(store, entity, actor)
    if not sort and entity.list.sort_field in unseen:
        sort = "-updated_at"
    sort = sort or entity.list.sort
    name, descending = sort.lstrip("-"), sort.startswith("-")
    field = entity.lookup(name)
    if field is None or name not in _sortable(entity, table, unseen):
        sortable = _sortable(entity, table, unseen)
        raise InvalidQuery([Detailed("sort", f'{entity.name} cannot be sorted by "{name}"'
                                             f"{did_you_mean(name, sortable)}", "sort",
                                     {"name": name, "choices": tuple(sortable)})])
    source = table.c if columns is None else columns
    return SORT_KEYS.get(field.type, _plain_order)(store, field, source[name]), descending


def check_paging(limit: Any, offset: Any) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise InvalidQuery([Problem("limit", "limit and offset are whole numbers.",
                                    "paging")]) from None
    if not 0 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidQuery([Problem("limit", f"limit is 0 to {MAX_LIMIT} and offset at "
                                             "least 0.", "paging")])
    return limit, offset


# ---------------------------------------------------------------- duplicates

def _rule_clause(store: Store, entity: Entity, table: sa.Table, rule: tuple[str, ...],
                 values: Mapping[str, Any]) -> sa.ColumnElement[bool] | None:
    """Every field of the rule equal to the (valid, non-empty) value, compared by the
    keys the duplicates page groups by (`store.duplicate_keys`, served by the rule's
    index); None when the values cannot fill the rule."""
    parts = []
    for name in rule:
        field = entity.fields.get(name)
        if field is None or name not in table.c or name not in values:
            return None
        try:
            value = normalise(field, values[name], store.pack.country)
        except (ValueError, ArithmeticError):
            return None
        if value is None:
            return None
        key = value_key(field.type)(value)
        if key is None:
            return None
        parts.append(key_of(field.type)(table.c[name]) == key)
    return sa.and_(*parts) if parts else None


def duplicate_queries(store: Store, entity: Entity, values: Mapping[str, Any],
                      exclude_id: int | None, actor: Actor | None = None
                      ) -> list[tuple[tuple[str, ...], sa.Select[Any]]]:
    """Per duplicate rule the values can fill: a query of the live records matching it
    that the actor may read (a warning must not reveal records hidden from them)."""
    table = store.table(entity)
    readable = scope(store, entity, actor, "read")
    found = []
    for rule in entity.duplicates:
        clause = _rule_clause(store, entity, table, rule, values)
        if clause is None:
            continue
        query = sa.select(table.c.id).where(clause, table.c.deleted_at.is_(None), readable)
        if exclude_id is not None:
            query = query.where(table.c.id != exclude_id)
        found.append((rule, query.order_by(table.c.id).limit(DUPLICATES_PER_RULE)))
    return found
