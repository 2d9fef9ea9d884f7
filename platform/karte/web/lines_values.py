"""What a `lines` field's part shows (SPEC §3.5): its columns as the signed-in user may see
them, each column's value type, a row's values as saving would compute them, and totals.
Shared by the grid on the form (`lines_form`) and the table on the card (`lines_pages`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g
from markupsafe import Markup

from karte.meta.model import Entity, Field
from karte.web import actor, records, registry
from karte.web.display import show
from karte.web.field_access import fixed, unseen
from karte.web.form_values import QUERY

TOTALLED = frozenset({"money", "decimal", "integer"})
"""Column types a table of lines adds up (a formula or rollup by its `result` type)."""
NUMERIC = TOTALLED | {"percent"}


def kind(f: Field) -> str:
    """The type a value of `f` is shown as (a formula or rollup: its `result`)."""
    return (f.result or "decimal") if f.type in ("formula", "rollup") else f.type


def _sum(f: Field, lines: Sequence[Mapping[str, Any]]) -> Any:
    values = [v for line in lines if (v := line.get(f.name)) is not None]
    if not values:
        return None
    try:
        total = sum((Decimal(str(v)) for v in values), Decimal(0))
    except InvalidOperation:
        return None
    return int(total) if kind(f) == "integer" else total


def summed(f: Field) -> bool:
    """A column the totals row adds up: a formula (or rollup) giving money, a decimal or
    an integer, such as a line's amount. Typed columns are not: a total of unit prices or
    of quantities of different products means nothing."""
    return f.type in ("formula", "rollup") and kind(f) in TOTALLED


def totals(part: Entity, lines: Sequence[Mapping[str, Any]]) -> dict[str, Markup]:
    """Each summed column added up, shown as its type is."""
    return {f.name: show(f, _sum(f, lines)) for f in columns(part) if summed(f)}


def part_of(f: Field) -> Entity:
    return registry().entities[f.of or ""]


def rights(part: Entity) -> tuple[frozenset[str], frozenset[str]]:
    """The part's fields hidden from the signed-in user, and those their role may not
    write (SPEC §3.4 field-level permissions)."""
    return unseen(part), fixed(part)


def columns(part: Entity) -> list[Field]:
    """The part's declared fields (not the parent link or `position` the engine adds)
    that the signed-in user may see."""
    hidden, _fixed = rights(part)
    return [f for f in part.fields.values() if f.declared and f.name not in hidden]


def prefix(name: str, index: int) -> str:
    return f"{name}-{index}-"


def computed(part: Entity, cells: Mapping[str, Any],
             stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A row's values as saving would compute them (invalid text: empty): the cells as
    typed over the stored line (`stored`: fields the grid does not post, such as a read-only
    unit cost, keep their stored values), fetched values copied from a picked link where
    saving would copy them (SPEC §3.6), then formulas."""
    from karte.store.records.write import compute_formulas
    from karte.web.form_values import stored_form

    values = {**{n: None for n in part.fields}, **(stored or {}),
              **stored_form(part, _texts(cells), registry().country)}
    for link in {f.fetch.split(".")[0] for f in part.fields.values() if f.fetch}:
        picked = values.get(link)
        moved = stored is None or stored.get(link) != picked
        if picked is None or not moved and not any(
                f.read_only for f in part.fields.values()
                if f.fetch and f.fetch.startswith(link + ".")):
            continue
        for name, value in _fetched(part, link, picked).items():
            if part.fields[name].read_only or values.get(name) is None:
                values[name] = value
    compute_formulas(part, values)
    return values


def _fetched(part: Entity, link: str, picked: Any) -> dict[str, Any]:
    """What picking `picked` in a line's `link` copies, read once per request and target
    (a grid of 200 lines of 10 products asks 10 times, not 200)."""
    from karte.store.records.fetch import fetched_values

    cache = g.setdefault("karte_line_fetch", {})
    key = (part.name, link, picked)
    if key not in cache:
        cache[key] = fetched_values(records().store, part, link, picked, actor())
    return cache[key]


def stored_lines(lines: Any) -> dict[str, Mapping[str, Any]]:
    """A record's stored lines by id as the grid posts it (text)."""
    return {str(line["id"]): line for line in lines or () if isinstance(line, Mapping)}


def _texts(cells: Mapping[str, Any]) -> dict[str, Any]:
    return {n: (None if isinstance(v, str) and not v.strip() else v)
            for n, v in cells.items() if not n.startswith(QUERY)}
