"""The dry run's preview: the first records as the import would store them (read back
inside the dry run's transaction, formulas, defaults and fetched values included), each
value as text a person reads — titles for links, labels for options, emails for users.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Field
from karte.store import field_rights
from karte.store.actor import Actor

SKIPPED = frozenset({"file"})


def _titles(services: Any, conn: sa.Connection, entity_name: str,
            ids: Iterable[int]) -> dict[int, str]:
    entity = services.store.entity(entity_name)
    table = services.store.table(entity)
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = sa.select(table.c.id, table.c[entity.title_field]).where(table.c.id.in_(wanted))
    return {id: "" if title is None else str(title) for id, title in conn.execute(query)}


def _emails(services: Any, conn: sa.Connection, ids: Iterable[int]) -> dict[int, str]:
    users = services.store.users
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = sa.select(users.c.id, users.c.email).where(users.c.id.in_(wanted))
    return {id: str(email) for id, email in conn.execute(query)}


def _option(services: Any, field: Field, key: Any) -> str:
    option = field.option(str(key))
    if option is None or option.label is None:
        return str(key)
    return str(option.label.get(services.pack.locale or "en"))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _shown(services: Any, field: Field, value: Any, names: dict[tuple[str, int], str]) -> str:
    kind = field.type
    if value is None or value == []:
        return ""
    if kind in ("link", "links"):
        ids = value if isinstance(value, list) else [value]
        return "; ".join(names.get((field.to_entity, i), f"#{i}") for i in ids)
    if kind == "user":
        return names.get(("\0user", value), f"#{value}")
    if kind in ("enum", "multi_enum") or field.workflow:
        keys = value if isinstance(value, list) else [value]
        return "; ".join(_option(services, field, k) for k in keys)
    if kind == "lines":
        return f"{len(value)} line{'s' if len(value) != 1 else ''}"
    return _plain(value)


def _names(services: Any, conn: sa.Connection, fields: list[Field],
           records: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = {}
    for field in fields:
        if field.type not in ("link", "links", "user"):
            continue
        target = "\0user" if field.type == "user" else field.to_entity
        for record in records:
            value = record.get(field.name)
            wanted.setdefault(target, set()).update(
                value if isinstance(value, list) else [] if value is None else [value])
    names: dict[tuple[str, int], str] = {}
    for target, ids in wanted.items():
        found = (_emails(services, conn, ids) if target == "\0user"
                 else _titles(services, conn, target, ids))
        names.update(((target, id), text) for id, text in found.items())
    return names


def preview(services: Any, conn: sa.Connection, entity: Entity, ids: list[int],
            actor: Actor | None) -> list[dict[str, Any]]:
    """{field: shown value} of each record of `ids` (in order) as stored in `conn`'s
    transaction, the fields the actor may see, "id" first."""
    records = services.records.get_many(entity.name, ids, actor=actor, conn=conn)
    visible = field_rights.visible_fields(services.store, entity, actor)
    fields = [entity.fields[n] for n in visible
              if n in entity.fields and entity.fields[n].type not in SKIPPED]
    names = _names(services, conn, fields, records)
    return [{"id": str(record["id"]),
             **{f.name: _shown(services, f, record.get(f.name), names) for f in fields}}
            for record in records]
