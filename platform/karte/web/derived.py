"""A rollup in words, for its tooltip and its form note: "Sum of Amount of Deals where
Stage = Won" (SPEC §3.6: derived fields look derived and say what they are)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from karte.meta.conditions import AllOf, AnyOf, Compare, Condition, Not
from karte.meta.model import Field
from karte.meta.rollups import Rollup

AGGREGATES = {
    "sum": _l("Sum of %(field)s of %(records)s"),
    "min": _l("Smallest %(field)s of %(records)s"),
    "max": _l("Largest %(field)s of %(records)s"),
    "avg": _l("Average %(field)s of %(records)s"),
}
OPERATORS = {"in": _l("is one of"), "not_in": _l("is not one of"),
             "contains": _l("contains"), "starts_with": _l("starts with"),
             "empty": _l("is empty"), "not_empty": _l("is not empty")}


def describe(f: Field) -> str:
    """What a rollup field aggregates, in the user's language; "" for other fields."""
    from karte.web import registry, text

    rollup = f.rollup
    if not isinstance(rollup, Rollup):
        return ""
    child = registry().entity(rollup.child)
    records = text(child.plural)
    if rollup.field is None:
        words = _("Number of %(records)s", records=records)
    else:
        words = str(AGGREGATES[rollup.agg]) % {
            "field": text(child.fields[rollup.field].label), "records": records}
    if rollup.where is None:
        return words
    return _("%(words)s where %(condition)s", words=words, condition=condition(rollup.where))


def condition(cond: Condition) -> str:
    """A condition in words: "Stage = Won and Amount > 100"."""
    if isinstance(cond, Compare):
        return _compare(cond)
    if isinstance(cond, Not):
        return _("not (%(condition)s)", condition=condition(cond.item))
    joiner = _(" and ") if isinstance(cond, AllOf) else _(" or ")
    parts = [condition(item) if not isinstance(item, AllOf | AnyOf)
             else f"({condition(item)})" for item in cond.items]
    return joiner.join(parts)


def _compare(cond: Compare) -> str:
    from karte.web import text

    label = text(cond.ref.field.label)
    op = str(OPERATORS.get(cond.op, cond.op))
    if cond.op in ("empty", "not_empty"):
        return f"{label} {op}"
    return f"{label} {op} {_value(cond.ref.field, cond.value)}"


def _value(f: Field, value: Any) -> str:
    from karte.web import text

    if isinstance(value, tuple):
        return ", ".join(_value(f, item) for item in value)
    option = f.option(value) if isinstance(value, str) else None
    if option is not None:
        return text(option.label)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)
