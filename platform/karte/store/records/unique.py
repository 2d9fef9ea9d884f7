"""Unique keys (SPEC §3.3, §3.7): a value another live record holds is a `Clash` on that
field, a combination of values a `Clash` on each of its fields; found before writing for a
whole batch, or explained after the database refused it (a race the pre-check could not
see)."""

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
from karte.store.tables import unique_index_name
from karte.store.validation import label, noun


@dataclass(frozen=True)
class Clash(Problem):
    """A unique value — or combination of values — another live record holds (SPEC §3.3,
    §3.7): `fields` is the whole key (a combination clashes on each of its fields),
    `record` is that record's id and `title` its title when the actor may read it, else
    None and ""."""

    entity: str = ""
    record: int | None = None
    title: str = ""
    fields: tuple[str, ...] = ()


def listed(words: Sequence[str]) -> str:
    """"email", "product and warehouse", "code, region and year"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def unique_message(entity: Entity, fields: Sequence[Field], record: int | None = None,
                   title: str = "") -> str:
    said = (f"Another {noun(entity)} already has this "
            f"{listed([label(f).lower() for f in fields])}")
    if record is None:
        return said + "."
    return f'{said}: "{title}" (#{record}).' if title else f"{said}: #{record}."


def clashes(entity: Entity, key: tuple[str, ...], record: int | None = None,
            title: str = "") -> list[Clash]:
    """The clash of a unique key, on each of its fields."""
    message = unique_message(entity, [entity.fields[n] for n in key], record, title)
    return [Clash(name, message, "unique", entity.name, record, title, key) for name in key]


def _taken(conn: sa.Connection, table: sa.Table, key: tuple[str, ...], values: set[Any],
           exclude: set[int]) -> dict[Any, int]:
    """{value: id of a live record holding it} for the values of `key` already used (a
    value of a combination is the tuple of its fields' values)."""
    columns = [table.c[name] for name in key]
    held = columns[0] if len(key) == 1 else sa.tuple_(*columns)
    found: dict[Any, int] = {}
    for batch in chunks(values):
        query = sa.select(table.c.id, *columns).where(held.in_(batch),
                                                      table.c.deleted_at.is_(None))
        if exclude:
            query = query.where(table.c.id.not_in(exclude))
        for id, *value in conn.execute(query.order_by(table.c.id)):
            found.setdefault(value[0] if len(key) == 1 else tuple(value), id)
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


def _wanted(records: Sequence[Mapping[str, Any]], names: Sequence[Sequence[str]],
            key: tuple[str, ...]) -> dict[int, Any]:
    """{position: value of `key`} of the records that set a field of the key and leave
    none of its fields empty (an empty field never clashes, as NULL in the index)."""
    wanted: dict[int, Any] = {}
    for i, record in enumerate(records):
        values = tuple(record.get(name) for name in key)
        if any(name in names[i] for name in key) and not any(map(is_empty, values)):
            wanted[i] = values[0] if len(key) == 1 else values
    return wanted


def unique_problems(store: Store, conn: sa.Connection, entity: Entity,
                    records: Sequence[Mapping[str, Any]], names: Sequence[Sequence[str]],
                    exclude: set[int], seen: dict[str, set[Any]],
                    actor: Actor | None = None) -> Tagged:
    """Unique values already used by a live record (named when the actor may read it),
    or earlier in the same batch (`seen` carries them across the batches of one call)."""
    problems: Tagged = []
    for key in entity.unique_keys:
        wanted = _wanted(records, names, key)
        taken = _taken(conn, store.table(entity), key, set(wanted.values()), exclude)
        titles = _readable_titles(store, conn, entity, set(taken.values()), actor)
        used = seen.setdefault("__".join(key), set())
        for i, value in wanted.items():
            holder = taken.get(value)
            if holder is not None:
                readable = holder in titles
                found = clashes(entity, key, holder if readable else None,
                                titles.get(holder, ""))
                problems += [(i, p) for p in found]
            elif value in used:
                problems += [(i, p) for p in clashes(entity, key)]
            used.add(value)
    return problems


def unique_clashes(store: Store, conn: sa.Connection, entity: Entity,
                   values: Mapping[str, Any], exclude_id: int | None,
                   actor: Actor | None) -> list[Problem]:
    """The unique values among `values` (as typed; those that do not convert are left to
    validation) that another live record holds; a combination is checked when `values`
    give all its fields."""
    keyed = {name for key in entity.unique_keys for name in key}
    record: dict[str, Any] = {}
    for name in keyed & set(values):
        try:
            record[name] = normalise(entity.fields[name], values[name], store.pack.country)
        except (ValueError, ArithmeticError):
            continue
    exclude = set() if exclude_id is None else {int(exclude_id)}
    return [p for _, p in unique_problems(store, conn, entity, [record], [list(record)],
                                          exclude, {}, actor)]


def integrity_problems(entity: Entity, error: sa.exc.IntegrityError) -> list[Problem]:
    """Explain a constraint the database refused (a race the pre-checks could not see):
    PostgreSQL names the index, SQLite the columns ("stock.product, stock.warehouse")."""
    text = str(error.orig)
    for key in sorted(entity.unique_keys, key=len, reverse=True):
        columns = ", ".join(f"{entity.table_name}.{name}" for name in key)
        if unique_index_name(entity, key) in text or f"failed: {columns}" in text:
            return list(clashes(entity, key))
    return [Problem("", "This record could not be saved because it conflicts with a change "
                        "made at the same moment; please try again.", "conflict")]
