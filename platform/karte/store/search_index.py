"""Search by index: the list search (`q=`) and the quick search read candidates from an
index instead of scanning every row, and match exactly what the plain scan matches.

The search itself (`karte.store.records.query._search`) is always the exact predicate: any
visible search field, folded for ASCII case only, contains the text (`%` and `_` literal).
The index only narrows the rows that predicate is tried on:

- **SQLite**: an FTS5 table per entity with search fields (`kx_<table>__fts`, tokenizer
  `trigram`, contentless: it holds the index only; its rowid is the record's id), kept in step
  by three triggers on the entity's table (insert, update of a search field, delete), so
  every write, a bulk insert or a migration's included, changes it in the same transaction.
  The trigram tokenizer folds case beyond ASCII, so its match is a superset of the exact
  one; the query is `id IN (SELECT rowid FROM fts WHERE fts MATCH '"text"') AND exact`.
  A text shorter than 3 characters has no trigram: it scans, as before.
- **PostgreSQL**: a `pg_trgm` GIN index per search field on the very expression the search
  emits, `lower((column) COLLATE "C")` (with the C collation `lower()` folds A-Z only, as
  SQLite's `lower()` does). The extension is created by the migration where the role may
  (in schema `public`, else the current one); the operator class is schema-qualified, so
  it resolves whatever the `search_path`. Where it may not, a warning says what a
  superuser must run, and search still works, unindexed.

None of this is in the pack's metadata: `ensure` creates, rebuilds and drops the indexes
after every migration (an existing database gets them at its next start, backfilled), and
the migration's comparison leaves names starting with `kx_` alone (`ours`).
"""

from __future__ import annotations

import logging
import math
import string
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from karte.meta.model import Entity, Pack
from karte.store.tables import index_name

log = logging.getLogger(__name__)

PREFIX = "kx"
SEARCHED_TYPES = frozenset({"string", "text", "email", "phone", "url"})
TRIGRAM = 3  # characters: a shorter text has no trigram, and scans
PAGE, DENSE = 50, 1000  # see `_dense`


class search_fold(FunctionElement[str]):
    """A search field folded for ASCII case only (`karte.meta.conditions.fold`), written
    so that PostgreSQL can index it: `lower((x) COLLATE "C")` there, `lower(x)` on SQLite."""

    type = sa.Text()
    name = "search_fold"
    inherit_cache = True


@compiles(search_fold)
def _fold(element: search_fold, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"translate({arg}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


@compiles(search_fold, "sqlite")
def _fold_sqlite(element: search_fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(search_fold, "postgresql")
def _fold_pg(element: search_fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "C")'


def searched(entity: Entity) -> list[str]:
    """The entity's search fields that are text columns (what the search looks in)."""
    return [name for name in entity.list.search
            if (f := entity.fields.get(name)) is not None and f.type in SEARCHED_TYPES]


def fts_name(entity: Entity) -> str:
    return f"{PREFIX}_{entity.table_name}__fts"


def column(field: str) -> str:
    """The FTS column of a search field."""
    return f"f_{field}"


def ours(name: str | None) -> bool:
    """Whether a table or index in the database is one of these (the comparison skips it)."""
    return bool(name) and str(name).startswith(f"{PREFIX}_")


# ---------------------------------------------------------------- queries

_served: WeakKeyDictionary[Any, dict[str, bool]] = WeakKeyDictionary()


def _indexed(store: Any, entity: Entity) -> bool:
    """Whether the entity's FTS table and triggers in the database are the ones its search
    fields want (read once per store; not so in a database not migrated since)."""
    known = _served.setdefault(store, {})
    if entity.name not in known:
        ddl = _sqlite_ddl(entity)
        with store.engine.connect() as conn:
            found = dict(conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE name IN :names")
                .bindparams(sa.bindparam("names", expanding=True)),
                {"names": list(ddl)}).all())
        known[entity.name] = found == ddl
    return known[entity.name]


def match_text(text: str, fields: list[str], all_fields: list[str]) -> str:
    """An FTS5 query for the phrase `text` in `fields` (all of them: no column filter)."""
    phrase = '"' + text.replace('"', '""') + '"'
    if set(fields) == set(all_fields):
        return phrase
    return "{" + " ".join(column(f) for f in fields) + "} : " + phrase


def candidates(store: Any, entity: Entity, table: sa.Table, text: str,
               fields: list[str], ordered: bool = True) -> sa.ColumnElement[bool] | None:
    """A clause keeping the rows the index finds for `text` in `fields` (a superset of
    the exact matches), or None when no index serves (PostgreSQL's GIN indexes serve
    the exact predicate itself; a short text; a database not migrated). `ordered`: the
    rows are read in the list's order and paged (a count is not)."""
    if store.engine.dialect.name != "sqlite" or len(text) < TRIGRAM or not fields:
        return None
    if not _indexed(store, entity):
        return None
    name = fts_name(entity)
    fts = sa.table(name, sa.column("rowid"))
    query = match_text(text, fields, searched(entity))
    found = sa.select(fts.c.rowid).where(
        sa.literal_column(f'"{name}"').op("MATCH")(query))
    if ordered and _dense(store, table, found):
        return None
    return table.c.id.in_(found)


def _dense(store: Any, table: sa.Table, found: sa.Select[Any]) -> bool:
    """Whether the index finds so many candidates that a page is cheaper read in the
    list's order, testing each row, than by fetching and sorting every candidate (SQLite
    drives a query by `id IN (...)` whatever its size, and builds the whole list first):
    more than √(50 × rows), e.g. 2,236 of 100,000 or 7,071 of a million. A page of such a
    word then reads about 50 × rows / matches rows, no more than √(50 × rows), in the sort
    index (when the sort has one), as the search always did."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        limit = max(DENSE, math.isqrt(PAGE * rows))
        probe = sa.select(sa.func.count()).select_from(found.limit(limit + 1).subquery())
        return int(conn.execute(probe).scalar_one()) > limit


# ---------------------------------------------------------------- SQLite: FTS5 + triggers

def _sqlite_ddl(entity: Entity) -> dict[str, str]:
    """{name: CREATE statement} of the FTS table and its three triggers. Contentless: the
    index keeps no copy of the text (the triggers hand it the old values to delete), and
    its columns are `f_<field>` (FTS5 reserves `rank` and `rowid` as column names); every
    name is quoted (a table or field may be called "order")."""
    name, fields = fts_name(entity), searched(entity)
    fts, table = f'"{name}"', f'"{entity.table_name}"'
    listed = ", ".join(f'"{column(f)}"' for f in fields)
    new = ", ".join(f'new."{f}"' for f in fields)
    old = ", ".join(f'old."{f}"' for f in fields)
    add = f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {listed}) VALUES ('delete', old.id, {old});"
    watched = ", ".join(f'"{f}"' for f in fields)
    return {
        name: (f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, content='', "
               "tokenize='trigram')"),
        f"{name}_ai": f'CREATE TRIGGER "{name}_ai" AFTER INSERT ON {table} BEGIN {add} END',
        f"{name}_ad": f'CREATE TRIGGER "{name}_ad" AFTER DELETE ON {table} BEGIN {remove} END',
        f"{name}_au": (f'CREATE TRIGGER "{name}_au" AFTER UPDATE OF {watched} ON {table} '
                       f"BEGIN {remove} {add} END"),
    }


def _fill(conn: sa.Connection, entity: Entity) -> None:
    """Index every row of the entity's table afresh (contentless: emptied, then filled)."""
    name, fields = fts_name(entity), searched(entity)
    listed = ", ".join(f'"{column(f)}"' for f in fields)
    values = ", ".join(f'"{f}"' for f in fields)
    conn.execute(sa.text(f"""INSERT INTO "{name}"("{name}") VALUES ('delete-all')"""))
    conn.execute(sa.text(f'INSERT INTO "{name}"(rowid, {listed}) '
                         f'SELECT id, {values} FROM "{entity.table_name}"'))


def _ensure_sqlite(conn: sa.Connection, pack: Pack) -> None:
    rows = conn.execute(sa.text(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE type IN ('table', 'trigger') AND name LIKE 'kx\\_%\\_\\_fts%' ESCAPE '\\'"))
    found = {name: sql for kind, name, _, sql in rows
             if kind == "trigger" or str(sql).startswith("CREATE VIRTUAL TABLE")}
    wanted: set[str] = set()
    for entity in pack.entities.values():
        if not searched(entity):
            continue
        ddl = _sqlite_ddl(entity)
        wanted.update(ddl)
        if all(found.get(name) == sql for name, sql in ddl.items()):
            continue
        fts = fts_name(entity)
        for name in ddl:  # the triggers first: they write to the FTS table
            if name != fts and name in found:
                conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
        if found.get(fts) != ddl[fts]:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{fts}"'))
        for name, sql in ddl.items():
            if name != fts or found.get(fts) != sql:
                conn.execute(sa.text(sql))
        _fill(conn, entity)
    for name, sql in found.items():  # an entity no longer searched (or gone)
        if name not in wanted and str(sql).startswith("CREATE TRIGGER"):
            conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
    for name, sql in found.items():
        if name not in wanted and str(sql).startswith("CREATE VIRTUAL TABLE"):
            conn.execute(sa.text(f'DROP TABLE "{name}"'))


# ---------------------------------------------------------------- PostgreSQL: pg_trgm

SUPERUSER_HINT = ("pg_trgm is not enabled in this database and this role may not enable "
                  "it: search works, but scans every row. As a superuser, run "
                  "CREATE EXTENSION pg_trgm; (then restart Karte: it creates the indexes).")


def trgm_schema(conn: sa.Connection) -> str | None:
    """The schema pg_trgm is installed in, enabling it if the role may (None: it may not)."""
    query = sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                    "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")
    schema = conn.execute(query).scalar()
    if schema is not None:
        return str(schema)
    for statement in ("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
                      "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
        try:
            with conn.begin_nested():
                conn.execute(sa.text(statement))
        except sa.exc.DBAPIError:
            continue
        schema = conn.execute(query).scalar()
        if schema is not None:
            return str(schema)
    log.warning(SUPERUSER_HINT)
    return None


def pg_indexes(pack: Pack) -> dict[str, tuple[str, str]]:
    """{index name: (table, column)} of every trigram index the pack wants."""
    return {index_name(PREFIX, entity.name, f"{name}_trgm"): (entity.table_name, name)
            for entity in pack.entities.values() for name in searched(entity)}


def _ensure_pg(conn: sa.Connection, pack: Pack) -> bool:
    schema = trgm_schema(conn)
    found = set(conn.execute(sa.text(  # the catalogs, not pg_indexes: its indexdef would
        # be computed for every schema's indexes, some perhaps being dropped meanwhile
        "SELECT c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
        "JOIN pg_index i ON i.indexrelid = c.oid "
        "JOIN pg_opclass o ON o.oid = i.indclass[0] AND o.opcname = 'gin_trgm_ops' "
        "WHERE c.relkind = 'i' AND c.relname LIKE 'kx\\_%'")).scalars())
    # a type change still waiting leaves a column that the pack calls text a number
    # meanwhile: it gets its index once converted
    texts = set(tuple(row) for row in conn.execute(sa.text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() "
        "AND data_type IN ('text', 'character varying')")).all())
    wanted = {name: place for name, place in pg_indexes(pack).items()
              if place in texts} if schema is not None else {}
    for name in sorted(found - set(wanted)):
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    indexed: set[str] = set()
    for name, (table, column) in sorted(wanted.items()):
        if name not in found:
            conn.execute(sa.text(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin '
                f'(lower(("{column}") COLLATE "C") "{schema}".gin_trgm_ops)'))
            indexed.add(table)
    # An expression index has no statistics until its table is analysed: until then the
    # planner takes `LIKE '%son%'` to match 5% of the rows and, for a page of 5, scans the
    # table in order hoping to meet them early (50-120 ms at a million rows when none
    # match, against 0.1 ms through the index once analysed).
    for table in sorted(indexed):
        conn.execute(sa.text(f'ANALYZE "{table}"'))
    return schema is not None or not pg_indexes(pack)


def ensure(conn: sa.Connection, pack: Pack) -> bool:
    """Make the search indexes match the pack: create (and fill) the missing ones, rebuild
    the ones whose fields changed, drop the ones no longer wanted. False when they cannot
    all be made (PostgreSQL without pg_trgm): the start after is then not trusted to skip
    the migration (`karte.store.migrate.fingerprint`), so a superuser enabling the
    extension and a restart are enough."""
    if conn.dialect.name == "sqlite":
        _ensure_sqlite(conn, pack)
    elif conn.dialect.name == "postgresql":
        return _ensure_pg(conn, pack)
    return True


def indexes(pack: Pack, dialect: str) -> list[str]:
    """The DDL `ensure` makes for the pack (for the schema fingerprint: a change of the
    search fields or of how they are indexed changes it)."""
    if dialect == "sqlite":
        return [sql for entity in pack.entities.values() if searched(entity)
                for sql in _sqlite_ddl(entity).values()]
    if dialect == "postgresql":
        return [f'{name} ON "{table}" USING gin (lower(("{column}") COLLATE "C") gin_trgm_ops)'
                for name, (table, column) in sorted(pg_indexes(pack).items())]
    return []
