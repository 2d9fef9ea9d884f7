"""Derived values in words, and how they line up (SPEC §3.6).

A formula or fetched field says where its value comes from — "Computed: Quantity × Unit
price", "Copied from Product → Price" — as a tooltip on cards and forms, in the field labels
of the user's language. A formula lines up as its `result` type: numbers to the right,
dates and yes/no like any date or boolean.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from karte.fields import TYPES
from karte.meta.model import Entity, Field

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
    if field.fetch:
        link_name, _dot, name = field.fetch.partition(".")
        link = entity.fields.get(link_name)
        target = entities.get(link.to or "") if link else None
        source = target.fields.get(name) if target else None
        if link is not None and source is not None:
            return _("Copied from %(link)s → %(field)s", link=_label(link),
                     field=_label(source))
    return ""
