"""The normalised keys duplicate rules compare (SPEC §3.3), computed by the database and
indexed, so that `/<entity>/duplicates` finds the groups of a million-row table with one
GROUP BY read in index order.

A text key is the value in Unicode NFKC (full-width letters and digits become ASCII, the
ideographic space a space, half-width katakana full-width), A-Z folded to a-z (the case
rule every text match keeps: `meta.conditions.fold`) and every space removed: "ＡＣＭＥ　Ltd",
"acme ltd" and "AcmeLtd" share the key "acmeltd". A phone key is the digits of the NFKC
value. Other fields (links, enums, numbers) compare as stored.

PostgreSQL computes the keys with its own immutable functions (`normalize`, `translate`,
`regexp_replace`); SQLite has no NFKC, so every SQLite connection of the engine gets two
deterministic functions, `karte_dup_text` and `karte_dup_digits`, written here in Python
(`register`, called by `store.db.make_engine`) — the same rules as `text_key` and
`phone_key`, which tests and the import use. The indexes (`dx_<entity>_<fields>`, live rows
only) live outside the pack's metadata like the title indexes: `ensure` creates them after
every migration and the comparison leaves names starting with `dx_` alone. On SQLite an
index on a function needs that function to write the table: a program other than Karte
(the `sqlite3` shell) can read the database but not insert into an entity with duplicate
rules (docs/merge.md).
"""

from __future__ import annotations

import re
import string
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from karte.meta.model import Entity, Pack
from karte.store.tables import index_name

PREFIX = "dx"
TEXT_TYPES = frozenset({"string", "text", "email", "url"})
_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase, " ")
_NOT_DIGIT = re.compile(r"[^0-9]")


def text_key(value: Any) -> str | None:
    """NFKC, A-Z folded, spaces removed; None for an empty key."""
    if value is None:
        return None
    return unicodedata.normalize("NFKC", str(value)).translate(_FOLD) or None


def phone_key(value: Any) -> str | None:
    """The digits (0-9 after NFKC); None when there are none."""
    if value is None:
        return None
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", str(value))) or None


def register(dbapi_connection: Any) -> None:
    """The key functions on a new SQLite connection (deterministic: indexable)."""
    dbapi_connection.create_function("karte_dup_text", 1, text_key, deterministic=True)
    dbapi_connection.create_function("karte_dup_digits", 1, phone_key, deterministic=True)


class dup_text(FunctionElement[str]):
    """The text key of a column (`text_key`, in SQL)."""

    type = sa.Text()
    name = "dup_text"
    inherit_cache = True


class dup_digits(FunctionElement[str]):
    """The phone key of a column (`phone_key`, in SQL)."""

    type = sa.Text()
    name = "dup_digits"
    inherit_cache = True


@compiles(dup_text)
def _dup_text(element: dup_text, compiler: SQLCompiler, **kw: Any) -> str:
    """Constants written inline: an index on an expression serves only the same text."""
    arg = compiler.process(element.clauses, **kw)
    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    return f"nullif(translate(normalize({arg}, NFKC), '{upper} ', '{lower}'), '')"


@compiles(dup_text, "sqlite")
def _dup_text_sqlite(element: dup_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"karte_dup_text({compiler.process(element.clauses, **kw)})"


@compiles(dup_digits)
def _dup_digits(element: dup_digits, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"nullif(regexp_replace(normalize({arg}, NFKC), '[^0-9]', '', 'g'), '')"


@compiles(dup_digits, "sqlite")
def _dup_digits_sqlite(element: dup_digits, compiler: SQLCompiler, **kw: Any) -> str:
    return f"karte_dup_digits({compiler.process(element.clauses, **kw)})"


KeyOf = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]]


def key_of(field_type: str) -> KeyOf:
    """The SQL key of a field type's column."""
    if field_type in TEXT_TYPES:
        return dup_text
    if field_type == "phone":
        return dup_digits
    return lambda column: column


def value_key(field_type: str) -> Callable[[Any], Any]:
    """The same key computed in Python, for a value (a group's key read back, a test)."""
    if field_type in TEXT_TYPES:
        return text_key
    if field_type == "phone":
        return phone_key
    return lambda value: value


def rule_keys(entity: Entity, table: sa.Table,
              rule: tuple[str, ...]) -> list[sa.ColumnElement[Any]]:
    """The key expressions of a rule's fields on `table`, in the rule's order."""
    return [key_of(entity.fields[name].type)(table.c[name]) for name in rule]


def usable(entity: Entity, rule: tuple[str, ...]) -> bool:
    """A rule whose fields are all stored columns (the rest cannot be grouped)."""
    return all(name in entity.fields and not entity.fields[name].derived
               and entity.fields[name].type not in ("links", "lines", "multi_enum")
               for name in rule)


def rule_index_name(entity: Entity, rule: tuple[str, ...]) -> str:
    return index_name(PREFIX, entity.name, "__".join(rule))


def indexes(pack: Pack, dialect: str) -> list[sa.Index]:
    """One index per duplicate rule on its keys, live rows only (a partial index, as every
    duplicates query asks for live rows), on a table of its own metadata. PostgreSQL
    reads a GROUP BY of the keys from the index alone only when the index also holds
    the columns the expressions read (INCLUDE): else it visits every row."""
    made = []
    for entity in pack.entities.values():
        for rule in entity.duplicates:
            if not usable(entity, rule):
                continue
            alone = sa.Table(entity.table_name, sa.MetaData(),
                             *(sa.Column(name, sa.Text()) for name in rule),
                             sa.Column("deleted_at", sa.Text()))
            live = alone.c.deleted_at.is_(None)
            made.append(sa.Index(rule_index_name(entity, rule),
                                 *rule_keys(entity, alone, rule),
                                 sqlite_where=live, postgresql_where=live,
                                 postgresql_include=list(rule)))
    return made


def ensure(conn: sa.Connection, pack: Pack) -> None:
    """Create the duplicate indexes that are missing (a no-op when they exist)."""
    for index in indexes(pack, conn.dialect.name):
        conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def ours(name: str | None) -> bool:
    """Whether an index in the database is one of these (the comparison skips it)."""
    return bool(name) and str(name).startswith(f"{PREFIX}_")


@contextmanager
def quiet() -> Iterator[None]:
    """SQLAlchemy cannot reflect an index on an expression from SQLite and warns that it
    skips it: these are ours, and skipping them is what the comparison wants."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of "
                                                  f"expression-based index {PREFIX}_")
        yield


def drop_on(conn: sa.Connection, table: str) -> None:
    """Drop the duplicate indexes of `table` (before a column of it is swapped for one of
    another type: SQLite refuses to drop a column an index reads); `ensure` makes them
    again after the migration."""
    if conn.dialect.name == "sqlite":
        found = sa.text("SELECT name FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = :table AND name LIKE :prefix ESCAPE '\\'")
    else:
        found = sa.text("SELECT indexname FROM pg_indexes WHERE tablename = :table AND "
                        "schemaname = current_schema() AND indexname LIKE :prefix ESCAPE '\\'")
    for name in conn.scalars(found, {"table": table, "prefix": f"{PREFIX}\\_%"}).all():
        if ours(name):
            conn.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
