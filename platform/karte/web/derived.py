"""Derived values in words, and how they line up (SPEC §3.6).

A formula, rollup or fetched field says where its value comes from — "Computed: Quantity ×
Unit price", "Sum of Amount of Deals where Stage = Won", "Copied from Product → Price" — as
a tooltip on cards and forms, in the field labels of the user's language. A formula or
rollup lines up as its `result` type: numbers to the right, dates and yes/no like any date
or boolean.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from karte.fields import TYPES
from karte.meta.conditions import AllOf, AnyOf, Compare, Condition, Not, Overdue, Reached
from karte.meta.model import Entity, Field
from karte.meta.rollups import Rollup

_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?\b(?!\s*\()")
_SIGNS = str.maketrans({"*": "×", "/": "÷"})


def value_type(field: Field) -> str:
    """The type a field's values are shown as: a formula or rollup's `result`."""
    if field.type in ("formula", "rollup"):
        return field.result or "decimal"
    return field.type


def numeric(field: Field) -> bool:
    """Whether the field's values are numbers (right-aligned in tables)."""
    kind = TYPES.get(value_type(field))
    return kind is not None and kind.numeric


def _label(field: Field) -> str:
    from karte.web import text

    return text(field.label)


def in_words(entity: Entity, formula: str, entities: dict[str, Entity]) -> str:
    """The formula with field labels for names and × ÷ for * /."""
    def name(match: re.Match[str]) -> str:
        field = entity.fields.get(match.group(1))
        if field is None:
            return match.group(0)
        if match.group(2) is None:
            return _label(field)
        target = entities.get(field.to or "")
        hop = target.fields.get(match.group(2)) if target else None
        return f"{_label(field)} → {_label(hop) if hop else match.group(2)}"
    return _NAME.sub(name, formula).translate(_SIGNS)


def how(entity: Entity, field: Field) -> str:
    """Where a derived value comes from, in words; "" for a value people type."""
    from karte.web import registry

    entities = dict(registry().entities)
    formula = getattr(field.formula, "text", None)
    if field.type == "formula" and isinstance(formula, str):
        return _("Computed: %(formula)s", formula=in_words(entity, formula, entities))
    if field.type == "rollup":
        return describe(field)
    if field.fetch:
        link_name, _dot, name = field.fetch.partition(".")
        link = entity.fields.get(link_name)
        target = entities.get(link.to or "") if link else None
        source = target.fields.get(name) if target else None
        if link is not None and source is not None:
            return _("Copied from %(link)s → %(field)s", link=_label(link),
                     field=_label(source))
    return ""


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
    if isinstance(cond, Overdue):
        return _("longer in the stage than it allows")
    if isinstance(cond, Reached):
        return _("ever in %(stages)s", stages=", ".join(cond.stages))
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
