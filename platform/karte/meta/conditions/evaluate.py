"""Conditions run in Python (`evaluate`, for forms and moves): the same answer as `to_sql`
in `sql.py` for every record, by the rules in `karte.meta.conditions.parse`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from karte.fields import EMPTY_OPS
from karte.meta.conditions.model import (
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

Fetch = Callable[[str, int], Mapping[str, Any] | None]


def evaluate(cond: Condition, record: Mapping[str, Any], ctx: Context, fetch: Fetch) -> bool:
    """Whether `record` meets `cond`. Values are in their stored form (normalised; links as
    id lists, multi_enum as key lists, empty as None); `fetch(entity, id)` reads the linked
    record of a one-hop path."""
    return _EVALUATORS[type(cond)](cond, record, ctx, fetch)


def _evaluate_compare(cond: Compare, record: Mapping[str, Any], ctx: Context,
                      fetch: Fetch) -> bool:
    actual = _read(cond.ref, record, fetch)
    if cond.op in EMPTY_OPS:
        return _empty(actual) == (cond.op == "empty")
    expected = resolve(cond.value, cond.ref.field, ctx)
    if _empty(actual) or expected is None:
        return cond.op in TRUE_WHEN_EMPTY
    return _PY_OPS[cond.op](actual, expected)


def _read(ref: Ref, record: Mapping[str, Any], fetch: Fetch) -> Any:
    if ref.link is None or ref.target is None:   # the two are set together
        return record.get(ref.field.name)
    link_id = record.get(ref.link)
    target = fetch(ref.target, link_id) if link_id is not None else None
    return target.get(ref.field.name) if target is not None else None


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _py_contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return fold(expected) in fold(actual)
    return expected in actual


def _evaluate_overdue(cond: Overdue, record: Mapping[str, Any], ctx: Context,
                      fetch: Fetch) -> bool:
    entered = record.get(cond.entered)
    days = dict(cond.limits).get(record.get(cond.field) or "")
    return (entered is not None and days is not None and record.get("deleted_at") is None
            and entered < ctx.now - dt.timedelta(days=days))


def _evaluate_reached(cond: Reached, record: Mapping[str, Any], ctx: Context,
                      fetch: Fetch) -> bool:
    """The stages the record lists as ever entered, when it was read with that column
    (as the SQL form reads it); else its current stage only: one now in a stage has
    entered it (the SQL form also finds the stages it has left)."""
    listed = record.get(cond.reached) if cond.reached is not None else None
    if listed:
        return any(f"|{key}|" in listed for key in cond.stages)
    return record.get(cond.field) in cond.stages


_EVALUATORS: dict[type, Callable[..., bool]] = {
    Compare: _evaluate_compare,
    Overdue: _evaluate_overdue,
    Reached: _evaluate_reached,
    AllOf: lambda cond, *args: all(evaluate(item, *args) for item in cond.items),
    AnyOf: lambda cond, *args: any(evaluate(item, *args) for item in cond.items),
    Not: lambda cond, *args: not evaluate(cond.item, *args),
}

_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, e: a == e,
    "!=": lambda a, e: a != e,
    ">": lambda a, e: a > e,
    ">=": lambda a, e: a >= e,
    "<": lambda a, e: a < e,
    "<=": lambda a, e: a <= e,
    "in": lambda a, e: a in e,
    "not_in": lambda a, e: a not in e,
    "contains": _py_contains,
    "starts_with": lambda a, e: fold(a).startswith(fold(e)),
}
