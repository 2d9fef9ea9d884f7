"""Unique values (SPEC §3.3): a value another live record holds is a `Clash` on that field,
found before writing for a whole batch, or explained after the database refused it (a race
the pre-check could not see)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty, normalise
from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.permissions import scope
from karte.store.records.store import Store, chunks
from karte.store.records.write import Tagged
from karte.store.tables import index_name
from karte.store.validation import label, noun


@dataclass(frozen=True)
class Clash(Problem):
    """A unique value another live record holds (SPEC §3.3): `record` is that record's id
    and `title` its title when the actor may read it, else None and ""."""

    entity: str = ""
    record: int | None = None
    title: str = ""


def unique_message(entity: Entity, field: Field, record: int | None = None,
                   title: str = "") -> str:
    said = f"Another {noun(entity)} already has this {label(field).lower()}"
    if record is None:
        return said + "."
    return f'{said}: "{title}" (#{record}).' if title else f"{said}: #{record}."


def clash(entity: Entity, field: Field, record: int | None = None, title: str = "") -> Clash:
    return Clash(field.name, unique_message(entity, field, record, title), "unique",
                 entity.name, record, title)


def _taken(conn: sa.Connection, table: sa.Table, column: str, values: set[Any],
           exclude: set[int]) -> dict[Any, int]:
    """{value: id of a live record holding it} for the values already used."""
    found: dict[Any, int] = {}
    for batch in chunks(values):
        query = sa.select(table.c[column], table.c.id).where(table.c[column].in_(batch),
                                                             table.c.deleted_at.is_(None))
        if exclude:
            query = query.where(table.c.id.not_in(exclude))
        for value, id in conn.execute(query.order_by(table.c.id)):
            found.setdefault(value, id)
    return found


def _readable_titles(store: Store, conn: sa.Connection, entity: Entity, ids: set[int],
                     actor: Actor | None) -> dict[int, str]:
    """{id: title} of the records among `ids` the actor may read."""
    if not ids:
        return {}
    table = store.table(entity)
    query = sa.select(table.c.id, table.c[entity.title_field]).where(
        table.c.id.in_(sorted(ids)), scope(store, entity, actor, "read"))
    return {id: "" if title is None else str(title) for id, title in conn.execute(query)}


def unique_problems(store: Store, conn: sa.Connection, entity: Entity,
                    records: Sequence[Mapping[str, Any]], names: Sequence[Sequence[str]],
                    exclude: set[int], seen: dict[str, set[Any]],
                    actor: Actor | None = None) -> Tagged:
    """Unique values already used by a live record (named when the actor may read it),
    or earlier in the same batch (`seen` carries them across the batches of one call)."""
    problems: Tagged = []
    for field in (f for f in entity.fields.values() if f.unique):
        wanted = {i: r[field.name] for i, r in enumerate(records)
                  if field.name in names[i] and not is_empty(r.get(field.name))}
        taken = _taken(conn, store.table(entity), field.name, set(wanted.values()), exclude)
        titles = _readable_titles(store, conn, entity, set(taken.values()), actor)
        used = seen.setdefault(field.name, set())
        for i, value in wanted.items():
            holder = taken.get(value)
            if holder is not None:
                readable = holder in titles
                problems.append((i, clash(entity, field, holder if readable else None,
                                          titles.get(holder, ""))))
            elif value in used:
                problems.append((i, clash(entity, field)))
            used.add(value)
    return problems


def unique_clashes(store: Store, conn: sa.Connection, entity: Entity,
                   values: Mapping[str, Any], exclude_id: int | None,
                   actor: Actor | None) -> list[Problem]:
    """The unique values among `values` (as typed; those that do not convert are left to
    validation) that another live record holds."""
    record: dict[str, Any] = {}
    for name, field in entity.fields.items():
        if field.unique and name in values:
            try:
                record[name] = normalise(field, values[name], store.pack.country)
            except (ValueError, ArithmeticError):
                continue
    exclude = set() if exclude_id is None else {int(exclude_id)}
    return [p for _, p in unique_problems(store, conn, entity, [record], [list(record)],
                                          exclude, {}, actor)]


def integrity_problems(entity: Entity, error: sa.exc.IntegrityError) -> list[Problem]:
    """Explain a constraint the database refused (a race the pre-checks could not see)."""
    text = str(error.orig)
    for field in (f for f in entity.fields.values() if f.unique):
        if index_name("uq", entity.name, field.name) in text or \
                f"{entity.table_name}.{field.name}" in text:
            return [clash(entity, field)]
    return [Problem("", "This record could not be saved because it conflicts with a change "
                        "made at the same moment; please try again.", "conflict")]
