"""Type-ahead on record titles by index: the case-folded title of every link target is
indexed, so a picker or a link filter reads the titles starting with the typed text in
index order and stops after a page, however big the table.

The key is the title folded like every text match (`where.ascii_lower`), compared by code
point (`COLLATE "C"` on PostgreSQL; on SQLite the title `COLLATE NOCASE`, the same), so "starts with
q" is the range `q <= key < q'` (q' is q with its last character incremented), a range
both databases walk in the index. Each index holds the live records only (a partial
index `WHERE deleted_at IS NULL`: every picker query asks for live records). The indexes
(`kx_<entity>_<title>_fold`) are not part of the pack's metadata: `ensure` creates them
after every migration (`IF NOT EXISTS`), and the migration's comparison leaves names
starting with `kx_` alone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from karte.meta.model import Pack
from karte.store.tables import index_name
from karte.store.where import ascii_lower

PREFIX = "kx"


class title_key(FunctionElement[str]):
    """The folded title, ordered by code point: what the title indexes hold."""

    type = sa.Text()
    name = "title_key"
    inherit_cache = True


@compiles(title_key)
def _title_key(element: title_key, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(ascii_lower(*element.clauses), **kw)


@compiles(title_key, "sqlite")
def _title_key_sqlite(element: title_key, compiler: SQLCompiler, **kw: Any) -> str:
    """NOCASE folds A-Z only and then compares bytes: `lower(title)` ordered by code point,
    and an index on `title COLLATE NOCASE` is a column index SQLite reads back."""
    return f"{compiler.process(element.clauses, **kw)} COLLATE NOCASE"


@compiles(title_key, "postgresql")
def _title_key_pg(element: title_key, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(ascii_lower(*element.clauses), **kw)} COLLATE "C")'


def after(prefix: str) -> str | None:
    """The first string past every string starting with `prefix` (None: no such bound)."""
    if not prefix:
        return None
    last = ord(prefix[-1])
    return prefix[:-1] + chr(last + 1) if last < 0x10FFFF else None


def starts_with(column: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
    """key >= prefix (and < the bound after it): an index range, no LIKE."""
    key = title_key(column)
    bound = after(prefix)
    return key >= prefix if bound is None else sa.and_(key >= prefix, key < bound)


def targets(pack: Pack) -> dict[str, str]:
    """{entity: title field} of every entity some link points to whose title is text."""
    names = {f.to_entity for e in pack.entities.values() for f in e.fields.values()
             if f.type in ("link", "links") and f.to}
    found = {}
    for name in sorted(names):
        entity = pack.entities.get(name)
        title = entity.fields.get(entity.title_field) if entity is not None else None
        if title is not None and title.type in ("string", "email", "phone", "url"):
            found[name] = title.name
    return found


def indexes(pack: Pack, dialect: str) -> list[sa.Index]:
    """The title index of every link target, on tables of their own metadata (so the
    pack's metadata, which migrations compare, never holds them): the key of the live
    rows (a partial index, `WHERE deleted_at IS NULL` as every picker query has)."""
    made = []
    for name, title in targets(pack).items():
        alone = sa.Table(pack.entities[name].table_name, sa.MetaData(), sa.Column(title, sa.Text()),
                         sa.Column("deleted_at", sa.Text()))
        key = title_key(alone.c[title])
        named = index_name(PREFIX, name, f"{title}_fold")
        live = alone.c.deleted_at.is_(None)
        made.append(sa.Index(named, key, sqlite_where=live, postgresql_where=live))
    return made


def ensure(conn: sa.Connection, pack: Pack) -> None:
    """Create the title indexes that are missing (a no-op when they exist)."""
    for index in indexes(pack, conn.dialect.name):
        conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def ours(name: str | None) -> bool:
    """Whether an index in the database is one of these (the comparison skips it)."""
    return bool(name) and str(name).startswith(f"{PREFIX}_")
