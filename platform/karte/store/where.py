"""Conditions compiled to SQL (`to_sql`, for lists, filters and boards): a WHERE clause that
is true exactly when `karte.meta.conditions.evaluate` is, by the rules in
`karte.meta.conditions.parse`. Every piece is two-valued (never NULL), so `not` agrees too."""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from karte.fields import EMPTY_OPS, UTCDateTime
from karte.meta.conditions.model import (
    JSON_TYPES,
    TEXT_TYPES,
    TRUE_WHEN_EMPTY,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Context,
    Not,
    Overdue,
    Reached,
    Ref,
    fold,
    resolve,
)
from karte.meta.model import Field

Tables = Mapping[str, sa.Table]
Clause = sa.ColumnElement[bool]
SqlOp = Callable[[sa.ColumnElement[Any], Any, Field], Clause]


class ascii_lower(FunctionElement[str]):
    """lower() for A-Z only (see `fold`): translate() in general, lower() on SQLite."""

    type = sa.Text()
    name = "ascii_lower"
    inherit_cache = True


@compiles(ascii_lower)
def _ascii_lower(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"translate({arg}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


@compiles(ascii_lower, "sqlite")
def _ascii_lower_sqlite(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


class includes(FunctionElement[bool]):
    """includes(haystack, needle): a case-sensitive substring test without LIKE's
    wildcards (SQLite's LIKE ignores ASCII case)."""

    type = sa.Boolean()
    name = "includes"
    inherit_cache = True


@compiles(includes)
def _includes(element: includes, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(position({needle} in {haystack}) > 0)"


@compiles(includes, "sqlite")
def _includes_sqlite(element: includes, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


def to_sql(cond: Condition, tables: Tables, ctx: Context) -> Clause:
    """A WHERE clause on the record's table that is true exactly when `evaluate` is;
    `tables` maps table names (entities, `<entity>__<field>` junctions) to Tables."""
    return _COMPILERS[type(cond)](cond, tables, ctx)


def _compare_sql(cond: Compare, tables: Tables, ctx: Context) -> Clause:
    field = cond.ref.field
    if field.type == "links":
        return _links_sql(cond, tables)
    if field.type == "lines":
        return _lines_sql(cond, tables)
    column = _column(cond.ref, tables)
    if cond.op in EMPTY_OPS:
        empty = _empty_sql(column, field)
        return empty if cond.op == "empty" else sa.not_(empty)
    expected = resolve(cond.value, field, ctx)
    if expected is None or expected == ():
        return sa.true() if cond.op in TRUE_WHEN_EMPTY else sa.false()
    return _SQL_OPS[cond.op](column, expected, field)


def _overdue_sql(cond: Overdue, tables: Tables, ctx: Context) -> Clause:
    """Live, in a timed stage and entered it before that stage's cutoff: per stage a range
    of the (stage, entered at, id) board index, or of (mine, stage, entered at, id) for
    home's "mine and late". Each branch says `deleted_at IS NULL` itself: SQLite reads an
    OR branch by a partial index only when the branch implies the index's WHERE."""
    table = tables[cond.entity]
    stage, entered = table.c[cond.field], table.c[cond.entered]
    return sa.or_(sa.false(), *(
        sa.and_(table.c.deleted_at.is_(None), stage == key, entered.is_not(None),
                entered < sa.literal(ctx.now - dt.timedelta(days=days), UTCDateTime()))
        for key, days in cond.limits))


def _reached_sql(cond: Reached, tables: Tables, ctx: Context) -> Clause:
    """The record lists one of the stages among those it ever entered (its
    `_<field>_reached` column, store/stage_reached.py: a substring test, no history read);
    a table without that column is asked of the stage history (its (workflow, to_stage)
    index finds the records)."""
    table = tables[cond.entity]
    if cond.reached is not None and cond.reached in table.c:
        return sa.or_(sa.false(), *(includes(table.c[cond.reached], f"|{key}|")
                                    for key in cond.stages))
    moves = tables["karte_stage_move"]
    entered = sa.select(moves.c.record_id).where(
        moves.c.workflow == cond.workflow, moves.c.to_stage.in_(cond.stages),
        moves.c.entity == cond.entity)
    return table.c.id.in_(entered)


_COMPILERS: dict[type, Callable[..., Clause]] = {
    Compare: _compare_sql,
    Overdue: _overdue_sql,
    Reached: _reached_sql,
    AllOf: lambda cond, *args: sa.and_(sa.true(), *(to_sql(i, *args) for i in cond.items)),
    AnyOf: lambda cond, *args: sa.or_(sa.false(), *(to_sql(i, *args) for i in cond.items)),
    Not: lambda cond, *args: sa.not_(to_sql(cond.item, *args)),
}


def _column(ref: Ref, tables: Tables) -> sa.ColumnElement[Any]:
    source = tables[ref.entity]
    if ref.link is None or ref.target is None:   # the two are set together
        return source.c[ref.field.name]
    target = tables[ref.target].alias()   # aliased: a link may point at its own entity
    return (sa.select(target.c[ref.field.name])
            .where(target.c.id == source.c[ref.link]).scalar_subquery())


def _links_sql(cond: Compare, tables: Tables) -> Clause:
    ref, source = cond.ref, tables[cond.ref.entity]
    owner = source.c.id if ref.link is None else source.c[ref.link]
    junction = tables[f"{ref.target or ref.entity}__{ref.field.name}"]
    if cond.op == "contains":
        # The records naming the value, from the junction's target index (a correlated
        # EXISTS tested every record of the table: a card's related list read them all).
        named = owner.in_(sa.select(junction.c.source_id)
                          .where(junction.c.target_id == cond.value))
        return named if ref.link is None else sa.and_(owner.is_not(None), named)
    rows = sa.select(1).select_from(junction).where(junction.c.source_id == owner)
    return ~sa.exists(rows) if cond.op == "empty" else sa.exists(rows)


def _lines_sql(cond: Compare, tables: Tables) -> Clause:
    """`empty` / `not_empty` of a `lines` field: whether the record has a live line."""
    ref, source = cond.ref, tables[cond.ref.entity]
    owner = source.c.id if ref.link is None else source.c[ref.link]
    part = tables[ref.field.of or ""]
    parent = ref.target or ref.entity
    rows = sa.select(1).select_from(part).where(part.c[parent] == owner,
                                                part.c.deleted_at.is_(None))
    return ~sa.exists(rows) if cond.op == "empty" else sa.exists(rows)


def _empty_sql(column: sa.ColumnElement[Any], field: Field) -> Clause:
    if field.type in TEXT_TYPES:
        return sa.or_(column.is_(None), column == "")
    if field.type in JSON_TYPES:
        return sa.or_(column.is_(None), sa.cast(column, sa.Text).in_(["[]", "null"]))
    return column.is_(None)


def _sql_contains(column: sa.ColumnElement[Any], expected: Any, field: Field) -> Clause:
    if field.type in JSON_TYPES:
        text = sa.cast(column, sa.Text)
        # SQLite's JSON keeps non-ASCII keys \u-escaped, PostgreSQL's does not.
        forms = dict.fromkeys((f'"{expected}"', json.dumps(expected)))
        return sa.and_(column.is_not(None), sa.or_(*(includes(text, f) for f in forms)))
    return sa.and_(column.is_not(None),
                   ascii_lower(column).contains(fold(expected), autoescape=True))


def _sql_starts_with(column: sa.ColumnElement[Any], expected: Any, field: Field) -> Clause:
    return sa.and_(column.is_not(None),
                   ascii_lower(column).startswith(fold(expected), autoescape=True))


def _present(compare: Callable[[sa.ColumnElement[Any], Any], Any]) -> SqlOp:
    """A comparison that is false, never NULL, on an empty field."""
    return lambda column, expected, field: sa.and_(
        sa.not_(_empty_sql(column, field)), compare(column, expected))


def _absent_or(compare: Callable[[sa.ColumnElement[Any], Any], Any]) -> SqlOp:
    """A comparison that is true, never NULL, on an empty field."""
    return lambda column, expected, field: sa.or_(_empty_sql(column, field),
                                                  compare(column, expected))


_SQL_OPS: dict[str, Callable[[sa.ColumnElement[Any], Any, Field], Clause]] = {
    "=": _present(lambda c, e: c == e),
    "!=": _absent_or(lambda c, e: c != e),
    ">": _present(lambda c, e: c > e),
    ">=": _present(lambda c, e: c >= e),
    "<": _present(lambda c, e: c < e),
    "<=": _present(lambda c, e: c <= e),
    "in": _present(lambda c, e: c.in_(e)),
    "not_in": _absent_or(lambda c, e: c.not_in(e)),
    "contains": _sql_contains,
    "starts_with": _sql_starts_with,
}
