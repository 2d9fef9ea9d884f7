"""Totals of a list's money columns over every record its filter finds (SPEC §12).

One statement sums every asked money field at once, under the actor's read scope and
with the same filter and search clauses the list's page and count use. A field hidden
from the actor's role is never summed (it is left out of the answer, as if it were not
asked for): a total would tell what the role may not see. Sums are exact on both
databases: each value is summed in cents as an integer (SQLite would add NUMERICs as
floats).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
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
