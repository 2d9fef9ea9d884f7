"""Aggregates that give the same answer on SQLite and PostgreSQL.

Each aggregate is two SQL columns (`Pair`) that `finish` turns into the value in Python:

- count: the count;
- sum: the sum in the field's smallest unit as an integer (cents for money: SQLite adds
  NUMERIC as floats), scaled back to an exact Decimal;
- avg: that exact sum and the count of values, divided in Python;
- min / max: the value;
- median: the lowest and highest of the middle values (one for an odd count, two for an
  even one), averaged in Python. The middle is found with window functions (SQLite has no
  percentile_cont): row_number() and count() over the values, ordered.

`value` of a cell may be a column or any expression (a duration in seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from karte.meta.model import Field

Expr = sa.ColumnElement[Any]
Pair = tuple[Expr, Expr]
NULL: Expr = sa.null()


class seconds_between(FunctionElement[float]):
    """seconds_between(later, earlier): the seconds from one timestamp to another."""

    type = sa.Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def scale(field: Field | None) -> int:
    """Decimal places the field stores (integer 0, money 2, a formula's decimal 4)."""
    if field is None:
        return 0
    plain = field.as_value()
    if plain.type == "integer":
        return 0
    if plain.type == "decimal":
        return 2 if plain.scale is None else plain.scale
    return 2 if plain.type in ("money", "percent") else 0


def _exact_sum(value: Expr, places: int) -> Expr:
    if places == 0:
        return sa.func.sum(value)
    return sa.func.sum(sa.cast(sa.func.round(value * 10 ** places), sa.BigInteger))


def when(condition: sa.ColumnElement[bool] | None, value: Expr) -> Expr:
    """The value where the condition holds, else NULL (a conditional aggregate's input)."""
    return value if condition is None else sa.case((condition, value), else_=NULL)


def pair(agg: str, value: Expr | None, places: int,
         condition: sa.ColumnElement[bool] | None) -> Pair:
    """The two columns of a plain (non-median) aggregate over the rows meeting
    `condition` (None: every row of the statement)."""
    if agg == "count":
        counted = sa.literal(1) if value is None else value
        return sa.func.count(when(condition, counted)), NULL
    assert value is not None
    if agg == "sum":
        return _exact_sum(when(condition, value), places), NULL
    if agg == "avg":
        return (_exact_sum(when(condition, value), places),
                sa.func.count(when(condition, value)))
    return getattr(sa.func, agg)(when(condition, value)), NULL


def middle(ranked: sa.Subquery) -> sa.ColumnElement[bool]:
    """The middle rows of a ranked subquery (columns n, total)."""
    return sa.between(ranked.c.n, (ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2)


def ranked(value: Expr, source: sa.Select[Any], partition: Sequence[Expr] = ()) -> sa.Subquery:
    """`source` (a SELECT whose WHERE picks the rows) reduced to the non-empty values,
    numbered in order within each `partition` (columns v, n, total and p0, p1, ...). The
    value is worked out once per row, in an inner SELECT (a duration is a subquery per
    record: filtering and ordering by the expression itself would run it three times)."""
    inner = source.with_only_columns(
        *(column.label(f"p{i}") for i, column in enumerate(partition)),
        value.label("v")).subquery()
    parts = [inner.c[f"p{i}"] for i in range(len(partition))]
    within = parts or None
    return (sa.select(*parts, inner.c.v,
                      sa.func.row_number().over(partition_by=within, order_by=inner.c.v)
                      .label("n"),
                      sa.func.count().over(partition_by=within).label("total"))
            .where(inner.c.v.is_not(None)).subquery())


def median_row(value: Expr, source: sa.Select[Any]) -> sa.Select[Any]:
    """One row (lo, hi): the lowest and highest middle value of `source`'s values."""
    rows = ranked(value, source)
    return sa.select(sa.func.min(rows.c.v).label("lo"),
                     sa.func.max(rows.c.v).label("hi")).where(middle(rows))


def finish(agg: str, first: Any, second: Any, places: int) -> Any:
    """The aggregate's value from its two columns (see the module's docstring)."""
    if agg == "count":
        return int(first or 0)
    if agg == "sum":
        return _scaled(first or 0, places)
    if agg == "avg":
        if not second:
            return None
        return _scaled(first, places) / Decimal(int(second))
    if agg == "median":
        if first is None:
            return None
        return (_number(first) + _number(second)) / 2
    return _number(first) if isinstance(first, int | float | Decimal) else first


def _scaled(units: Any, places: int) -> Decimal | int:
    if places == 0:
        return int(units) if float(units).is_integer() else Decimal(str(units))
    return Decimal(int(units)).scaleb(-places)


def _number(value: Any) -> Decimal | int:
    """A database number as an exact Decimal (SQLite gives NUMERIC as floats)."""
    if isinstance(value, int):
        return value
    return Decimal(str(value))
