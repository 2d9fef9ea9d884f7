"""Sums of money fields over the records a filter finds (a card's related lists show
them under each list, issue 12): one aggregate statement, within the actor's read scope,
over at most `cap` records (the same bound as the list's count), never rows read into
Python.

Money is stored as NUMERIC; SQLite adds NUMERICs as floats, so each sum is rounded back
to the field's cents (exact for any realistic related list: a float holds 15 digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.store.actor import Actor
from karte.store.field_rights import hidden
from karte.store.records.query import base, narrowing
from karte.store.records.store import Store

CENTS = Decimal("0.01")


def sums(store: Store, engine: sa.Engine, entity: str, names: Sequence[str],
         where: Any = None, *, actor: Actor | None = None,
         cap: int | None = None) -> dict[str, Decimal]:
    """{field: sum} of the money fields `names` over the live records matching `where`
    that the actor may read (fields hidden from the actor are left out); 0 when none."""
    ent = store.entity(entity)
    unseen = hidden(store, ent, actor)
    names = [n for n in names if n in ent.fields and ent.fields[n].type == "money"
             and n not in unseen]
    if not names:
        return {}
    clauses = narrowing(store, ent, where, None, actor, ordered=False)
    matching = base(store, ent, False, actor, ("id", *names)).where(*clauses)
    if cap is not None:
        matching = matching.limit(cap)
    found = matching.subquery()
    query = sa.select(*(sa.func.coalesce(sa.func.sum(found.c[n]), 0) for n in names))
    with engine.connect() as c:
        row = c.execute(query).one()
    return {n: Decimal(str(value)).quantize(CENTS) for n, value in zip(names, row,
                                                                         strict=True)}
