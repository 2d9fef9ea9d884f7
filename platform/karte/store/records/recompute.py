"""`karte recompute ENTITY.FIELD` and the migration's backfill: a rollup or formula
computed afresh for every record, in batches, reporting what differed (SPEC §3.6, §10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Pack
from karte.meta.rollups import Rollup
from karte.problems import did_you_mean
from karte.store.records.rollups import fresh, next_parents, propagate, write
from karte.store.records.store import Store

BATCH = 1000
EXAMPLES = 5


@dataclass
class Outcome:
    """How many records were compared, how many held another value, and a few of them
    as (id, stored, fresh)."""

    records: int = 0
    differed: int = 0
    examples: list[tuple[int, Any, Any]] = field(default_factory=list)


def recompute(store: Store, conn: sa.Connection, entity: Entity, name: str,
              batch_size: int = BATCH, shown: int = EXAMPLES) -> Outcome:
    """Recompute the derived field `name` of every record (deleted ones included), write
    the ones that differ (the formulas they feed and the rollups over them follow), and
    say what differed."""
    rollup = entity.fields[name].rollup
    table, outcome, last = store.table(entity), Outcome(), 0
    while ids := list(conn.scalars(sa.select(table.c.id).where(table.c.id > last)
                                   .order_by(table.c.id).limit(batch_size))):
        last = ids[-1]
        outcome.records += len(ids)
        values = (fresh(store, conn, rollup, ids) if isinstance(rollup, Rollup) else {})
        written = write(store, conn, entity,
                        {id: {name: values[id]} if id in values else {} for id in ids})
        for id, (before, after, changed) in written.items():
            if name in changed:
                outcome.differed += 1
                if len(outcome.examples) < shown:
                    outcome.examples.append((id, before.get(name), after.get(name)))
        if written:
            propagate(store, conn, entity.name, next_parents(store, entity, written))
    return outcome


def derived_field(pack: Pack, ref: str) -> tuple[Entity, str]:
    """The entity and field named by "ENTITY.FIELD" when it is a rollup or a formula;
    ValueError with a message a person can act on otherwise."""
    entity_name, _, name = ref.partition(".")
    entity = pack.entities.get(entity_name)
    if entity is None or not name:
        raise ValueError(f'"{ref}": name a field as ENTITY.FIELD, e.g. customer.won_amount'
                         + (did_you_mean(entity_name, pack.entities) if name else ""))
    found = entity.fields.get(name)
    if found is None or not found.derived:
        derived = [n for n, f in entity.fields.items() if f.derived]
        listed = ", ".join(derived) or "none"
        raise ValueError(f'"{ref}": {entity_name} has no rollup or formula "{name}"'
                         f"{did_you_mean(name, derived)} (its derived fields: {listed})")
    return entity, name


def recompute_field(engine: sa.Engine, pack: Pack, ref: str,
                    batch_size: int = BATCH) -> Outcome:
    """`karte recompute`: one transaction; raises ValueError for an unknown field."""
    entity, name = derived_field(pack, ref)
    with engine.begin() as conn:
        return recompute(Store(engine, pack), conn, entity, name, batch_size)
