"""Duplicates in an import (SPEC §3.3, §14): rows that look like an earlier row of the
file or like a stored record by one of the entity's duplicate rules — fields compared
normalised by the keys of `store.duplicate_keys` (NFKC, case-folded, spaces removed;
phone digits only), as the duplicates page and the form's warning compare them.
Reported, never merged and never refused.

The stored records are looked up per rule for a whole chunk (one query), not per row;
records this import created are left out (they are rows of the file, reported as such).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from karte.fields import normalise
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.duplicate_keys import key_of, value_key
from karte.store.permissions import scope
from karte.store.records.store import Store, chunks
from karte.transfer.import_cells import Row
from karte.transfer.imports import Duplicate

SHOWN = 5           # stored records named per duplicate
KEPT = 10_000       # duplicates a report keeps


class Duplicates:
    """The duplicate rules of one entity applied across the chunks of one import."""

    def __init__(self, store: Store, entity: Entity, actor: Actor | None):
        self.store, self.entity, self.actor = store, entity, actor
        self.first: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = {
            rule: {} for rule in entity.duplicates}
        self.created: set[int] = set()
        self.found: list[Duplicate] = []

    def _key(self, rule: tuple[str, ...], row: Row) -> tuple[Any, ...] | None:
        parts = []
        for name in rule:
            field = self.entity.fields.get(name)
            value = row.values.get(name)
            if field is None or value is None or value == []:
                return None
            try:
                value = normalise(field, value, self.store.pack.country)
            except (ValueError, ArithmeticError, TypeError):
                return None
            if value is None or value == []:
                return None
            value = value_key(field.type)(value)
            if value is None:
                return None
            parts.append(tuple(value) if isinstance(value, list) else value)
        return tuple(parts)

    def check(self, conn: sa.Connection, rows: list[Row]) -> None:
        """Note the rows of this chunk that look like earlier rows or stored records."""
        for rule in self.entity.duplicates:
            keyed = {id(row): key for row in rows if not row.failed
                     and (key := self._key(rule, row)) is not None}
            stored = self._stored(conn, rule, set(keyed.values()))
            first = self.first[rule]
            for row in rows:
                key = keyed.get(id(row))
                if key is None:
                    continue
                own = row.record["id"] if row.record else None
                records = [r for r in stored.get(key, []) if r["id"] != own][:SHOWN]
                earlier = first.setdefault(key, row.line)
                lines = [earlier] if earlier != row.line else []
                if (records or lines) and len(self.found) < KEPT:
                    self.found.append(Duplicate(row.line, list(rule), lines, records))

    def _stored(self, conn: sa.Connection, rule: tuple[str, ...],
                keys: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """{key: [{"id", "title"}]} of the live readable records holding each key, not
        created by this import."""
        if not keys or any(name not in self.store.table(self.entity).c for name in rule):
            return {}
        table = self.store.table(self.entity)
        columns = [key_of(self.entity.fields[n].type)(table.c[n]) for n in rule]
        held = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        title = table.c[self.entity.title_field]
        found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for part in chunks(sorted(keys, key=str), 500):
            values = [k[0] for k in part] if len(columns) == 1 else part
            query = (sa.select(table.c.id, title, *columns)
                     .where(held.in_(values), table.c.deleted_at.is_(None),
                            scope(self.store, self.entity, self.actor, "read"))
                     .order_by(table.c.id))
            for id, shown, *key in conn.execute(query):
                if id not in self.created:
                    found.setdefault(tuple(key), []).append(
                        {"id": id, "title": "" if shown is None else str(shown)})
        return found
