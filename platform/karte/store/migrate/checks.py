"""Dry-run counts that decide whether a change can run and what to report.

Each function answers one question about the rows as they are, with one SQL query, so a
plan can say *how many* rows stand in the way and name a few of them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from karte.fields import TYPES
from karte.meta.model import Entity, Field
from karte.store.tables import junction_name

EXAMPLES = 5


def example_list(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _live(table: str, *columns: str) -> sa.TableClause:
    return sa.table(table, sa.column("id"), sa.column("deleted_at"),
                    *(sa.column(c) for c in columns))


def live_rows(conn: sa.Connection, table: str) -> int:
    source = _live(table)
    query = sa.select(sa.func.count()).select_from(source).where(source.c.deleted_at.is_(None))
    return conn.execute(query).scalar_one()


def duplicates(conn: sa.Connection, table: str, columns: list[str | None]) -> dict[str, Any]:
    """Values a new unique index would reject: equal values among live rows (soft-deleted
    rows are outside the index). A column not in the database yet holds no values."""
    names = [c for c in columns if c is not None]
    if len(names) < len(columns):
        return {"duplicated": 0, "examples": []}
    source = _live(table, *names)
    keys = [source.c[c] for c in names]
    groups = (sa.select(*keys).where(source.c.deleted_at.is_(None),
                                     *(k.is_not(None) for k in keys))
              .group_by(*keys).having(sa.func.count() > 1).subquery())
    count = conn.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one()
    if not count:
        return {"duplicated": 0, "examples": []}
    match = sa.and_(*(source.c[c] == groups.c[c] for c in names))
    ids = conn.execute(sa.select(source.c.id).join(groups, match)
                       .where(source.c.deleted_at.is_(None))
                       .order_by(source.c.id).limit(EXAMPLES)).scalars().all()
    return {"duplicated": count, "examples": list(ids)}


def empty(column: sa.ColumnClause[Any], field: Field) -> sa.ColumnElement[bool]:
    """Empty as `karte.fields.is_empty` sees it: NULL, blank text, an empty list."""
    kind = TYPES[field.type].column
    stored = kind(field) if kind is not None else None
    if isinstance(stored, sa.JSON):
        return sa.or_(column.is_(None), sa.cast(column, sa.Text).in_(("[]", "null")))
    if isinstance(stored, sa.String):
        return sa.or_(column.is_(None), sa.func.trim(column) == "")
    return column.is_(None)


def empty_required(conn: sa.Connection, entity: Entity, field: Field, column: str | None,
                   existing: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Live rows with no value in a required field — their count and the first ids, so
    they can be listed for clean-up (`column`: where its data is now; None when the column
    is not in the database yet, so every live row is empty)."""
    source = _live(entity.table_name, *([column] if column else []))
    where: list[sa.ColumnElement[bool]] = [source.c.deleted_at.is_(None)]
    if field.type == "links":
        name = junction_name(entity.name, field.name)
        if name in existing:
            junction = sa.table(name, sa.column("source_id"))
            where.append(~sa.exists().where(junction.c.source_id == source.c.id))
    elif field.type == "lines":       # required lines: a live line of the part
        if field.of in existing:
            part = sa.table(field.of or "", sa.column(entity.name), sa.column("deleted_at"))
            where.append(~sa.exists().where(part.c[entity.name] == source.c.id,
                                            part.c.deleted_at.is_(None)))
    elif column is not None:
        where.append(empty(source.c[column], field))
    count = conn.execute(sa.select(sa.func.count()).select_from(source).where(*where))
    ids = conn.execute(sa.select(source.c.id).where(*where).order_by(source.c.id)
                       .limit(EXAMPLES)).scalars().all()
    return {"count": count.scalar_one(), "examples": list(ids)}


def orphans(conn: sa.Connection, table: str, column: str, referred: str) -> dict[str, Any]:
    """Rows whose value points at no row of `referred`: a new foreign key would fail."""
    source = sa.table(table, sa.column("id"), sa.column(column))
    target = sa.table(referred, sa.column("id")).alias("referred")
    missing = sa.and_(source.c[column].is_not(None),
                      ~sa.exists().where(target.c.id == source.c[column]))
    count = conn.execute(sa.select(sa.func.count()).select_from(source).where(missing))
    ids = conn.execute(sa.select(source.c.id).where(missing).order_by(source.c.id)
                       .limit(EXAMPLES)).scalars().all()
    return {"orphans": count.scalar_one(), "examples": list(ids)}
