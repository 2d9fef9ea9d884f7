"""Totals of a list's money columns over every record its filter finds (SPEC §12).

One statement sums every asked money field at once, under the actor's read scope and
with the same filter and search clauses the list's page and count use. A field hidden
from the actor's role is never summed (it is left out of the answer, as if it were not
asked for): a total would tell what the role may not see. Sums are exact on both
databases: each value is summed in cents as an integer (SQLite would add NUMERICs as
floats).

Summing reads every matching row, so the list asks for totals only where that is cheap:
when the list's capped count stopped at its cap (`quick=True`), totals come only from the
board counters (`karte.store.stage_totals`) — which hold every live record's money sums per
stage — when nothing narrows the list (no filter, no search, a read scope of "all") and
every asked field is a counted money field; the records with no stage (normally none) are
added from the stage's index. Otherwise the answer is None: "too many to total".
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store import stage_totals
from karte.store.actor import Actor
from karte.store.field_rights import hidden
from karte.store.permissions import scope
from karte.store.records.query import narrowing
from karte.store.records.store import Store

CENT = Decimal("0.01")


def summable(store: Store, entity: Entity, names: Iterable[str],
             actor: Actor | None) -> list[str]:
    """The money fields among `names` (formulas and rollups by their result) the actor
    may see, once each, in order."""
    gone = hidden(store, entity, actor)
    found = []
    for name in dict.fromkeys(names):
        field = entity.fields.get(name)
        if field is not None and name not in gone and field.as_value().type == "money":
            found.append(name)
    return found


def _cents(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.cast(sa.func.round(column * 100), sa.BigInteger)), 0)


def statement(store: Store, entity: Entity, names: list[str], where: Any, search: str | None,
              actor: Actor | None) -> sa.Select[Any]:
    """SELECT the sum in cents of each of `names` (already `summable`) over the live
    records the filter and search find within the actor's read scope."""
    table = store.table(entity)
    clauses = narrowing(store, entity, where, search, actor, ordered=False)
    return (sa.select(*(_cents(table.c[name]).label(name) for name in names))
            .select_from(table)
            .where(scope(store, entity, actor, "read"), table.c.deleted_at.is_(None),
                   *clauses))


def read(conn: sa.Connection, query: sa.Select[Any], names: list[str]) -> dict[str, Decimal]:
    row = conn.execute(query).one()
    return {name: (Decimal(int(row[i])) * CENT) for i, name in enumerate(names)}


def counted(conn: sa.Connection, store: Store, entity: Entity, names: list[str],
            actor: Actor | None) -> dict[str, Decimal] | None:
    """The totals of every live record from the board counters; None when they cannot
    tell (a read scope narrower than "all", or a field they do not count)."""
    plan = stage_totals.tracked(store.pack, entity.name)
    where = scope(store, entity, actor, "read")
    if not plan or not isinstance(where, sa.sql.elements.True_):
        return None
    stage, money = plan[0]
    if any(name not in money for name in names):
        return None
    t = stage_totals.table()
    rows = dict(conn.execute(sa.select(t.c.measure, sa.func.sum(t.c.cents)).where(
        t.c.entity == entity.name, t.c.field == stage, t.c.measure.in_(names))
        .group_by(t.c.measure)).all())
    table = store.table(entity)
    loose = conn.execute(sa.select(*(_cents(table.c[name]) for name in names)).where(
        table.c[stage].is_(None), table.c.deleted_at.is_(None))).one()
    return {name: Decimal(int(rows.get(name) or 0) + int(loose[i])) * CENT
            for i, name in enumerate(names)}
