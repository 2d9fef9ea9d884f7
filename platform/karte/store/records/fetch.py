"""Values a write copies or reads through a link (SPEC §3.6): `fetch` and formula hops.

`"fetch": "product.price"` copies the product's price when the link is set or changed in
this write and the input gives no value for the field (a snapshot: a later change of the
product's price does not reach old records). A `read_only` field with `fetch` follows its
link at every save. A formula operand `customer.discount_pct` is read at every save, so a
formula with a hop is current as of the record's last save (`karte recompute` refreshes).

`Linked` loads what a write needs of the linked records: one query per link field for a
whole batch (`prime`), not one per row. A fetched value is copied only from a live record
the actor may read; hops are the pack's own arithmetic and read the record whatever the
actor's rights, so a stored value never depends on who saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty, normalise, record_id
from karte.meta.formulas import Formula
from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.permissions import scope
from karte.store.records.store import Store, chunks
from karte.store.validation import differs, label

READABLE = "_karte_readable"
Row = Mapping[str, Any]


def fetched_fields(entity: Entity) -> dict[str, list[Field]]:
    """Per link field, the fields of this entity fetched through it."""
    found: dict[str, list[Field]] = {}
    for field in entity.fields.values():
        if field.fetch:
            found.setdefault(field.fetch.split(".", 1)[0], []).append(field)
    return found


def hops(entity: Entity) -> set[tuple[str, str]]:
    """Every (link field, field) the entity's formulas read through a link."""
    return {hop for f in entity.fields.values() if isinstance(f.formula, Formula)
            for hop in f.formula.hops}


def needed(entity: Entity) -> dict[str, set[str]]:
    """Per link field, the fields of the linked entity a write reads."""
    wanted: dict[str, set[str]] = {}
    for link, fields in fetched_fields(entity).items():
        wanted.setdefault(link, set()).update(f.fetch.split(".", 1)[1]
                                              for f in fields if f.fetch)
    for link, name in hops(entity):
        wanted.setdefault(link, set()).add(name)
    return {link: names for link, names in wanted.items()
            if entity.fields.get(link) is not None and entity.fields[link].type == "link"}


class Linked:
    """The linked records one write (or batch) reads, loaded once per link field."""

    def __init__(self, store: Store, conn: sa.Connection, entity: Entity,
                 actor: Actor | None):
        self.store, self.conn, self.entity, self.actor = store, conn, entity, actor
        self.wanted = needed(entity)
        self.rows: dict[str, dict[int, Row | None]] = {link: {} for link in self.wanted}

    def prime(self, inputs: Iterable[Mapping[str, Any]]) -> None:
        """Load, in one query per link field, the records these inputs link to."""
        inputs = list(inputs)
        for link in self.wanted:
            ids = {record_id(values.get(link)) for values in inputs}
            self._load(link, {i for i in ids if i is not None})

    def _load(self, link: str, ids: set[int]) -> None:
        missing = sorted(ids - set(self.rows[link]))
        if not missing:
            return
        target = self.store.entity(self.entity.fields[link].to_entity)
        table = self.store.table(target)
        columns = [table.c[name] for name in sorted(self.wanted[link]) if name in table.c]
        readable = sa.and_(table.c.deleted_at.is_(None),
                           scope(self.store, target, self.actor, "read"))
        self.rows[link].update(dict.fromkeys(missing))
        for batch in chunks(missing):
            query = sa.select(table.c.id, *columns,
                              sa.case((readable, True), else_=False).label(READABLE))
            for row in self.conn.execute(query.where(table.c.id.in_(batch))).mappings():
                self.rows[link][row["id"]] = dict(row)

    def row(self, link: str, id: Any) -> Row | None:
        """The linked record's wanted values (None: no such record)."""
        number = record_id(id)
        if link not in self.rows or number is None:
            return None
        self._load(link, {number})
        return self.rows[link][number]

    def hop_values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """`{"customer.discount_pct": value}` for every hop of the entity's formulas."""
        values: dict[str, Any] = {}
        for link, name in hops(self.entity):
            row = self.row(link, record.get(link))
            values[f"{link}.{name}"] = None if row is None else row.get(name)
        return values

    def fill(self, record: dict[str, Any], given: Mapping[str, Any],
             old: Mapping[str, Any] | None, trusted: bool) -> list[Problem]:
        """Copy each fetched field whose link is set or changed in this write and that the
        input leaves empty; a read_only fetched field follows its link at every save."""
        problems: list[Problem] = []
        for link, fields in fetched_fields(self.entity).items():
            if link not in self.wanted:
                continue
            changed = (not is_empty(record.get(link)) if old is None
                       else link in given and differs(old.get(link), record.get(link)))
            for field in fields:
                typed = field.name in given and not is_empty(given[field.name])
                follows = field.read_only and not (trusted and typed)
                if follows or (changed and not typed):
                    problems += self.copy_into(record, field, link)
        return problems

    def copy_into(self, record: dict[str, Any], field: Field, link: str) -> list[Problem]:
        """The linked record's value into `record[field]` (a problem if it does not fit)."""
        row = self.row(link, record.get(link))
        if is_empty(record.get(link)):
            if field.read_only:
                record[field.name] = None
            return []
        if row is None or not row[READABLE]:
            return []                     # the link itself is refused (reference_problems)
        value = row.get((field.fetch or ".").split(".", 1)[1])
        try:
            record[field.name] = normalise(field, value, self.store.pack.country)
        except (ValueError, ArithmeticError) as error:
            return [Problem(field.name, f"{label(field)} could not be copied from the linked "
                                        f"record: {error}", "invalid")]
        return []


def fetched_values(store: Store, entity: Entity | str, link: str, target_id: Any,
                   actor: Actor | None, conn: sa.Connection | None = None) -> dict[str, Any]:
    """What picking `target_id` in the link field `link` copies: {field: value} for each
    field fetched through it, from a live record the actor may read (else {}). A form or a
    lines grid row calls it when a link is picked; nothing is written."""
    if conn is None:
        with store.engine.connect() as own:
            return fetched_values(store, entity, link, target_id, actor, own)
    ent = store.entity(entity) if isinstance(entity, str) else entity
    fields = fetched_fields(ent).get(link, [])
    linked = Linked(store, conn, ent, actor)
    row = linked.row(link, target_id)
    if not fields or row is None or not row[READABLE]:
        return {}
    record: dict[str, Any] = {link: record_id(target_id)}
    for field in fields:
        linked.copy_into(record, field, link)
    return {f.name: record[f.name] for f in fields if f.name in record}
