"""Database engines: one place that knows the dialect quirks.

Every engine checks a pooled connection before lending it (`pool_pre_ping`), so after a
database restart or a network cut the app recovers by itself on the next request instead of
failing on connections that died meanwhile. PostgreSQL connections give up after
CONNECT_TIMEOUT seconds (unless the URL says otherwise), so a database that does not answer
makes a 503 page instead of a request that hangs. And no statement hands the database text
holding a NUL character: PostgreSQL refuses it and SQLite would store it, so both refuse it
here, the same way, as invalid input.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from karte.fields import NUL, has_nul
from karte.problems import Problem
from karte.store import duplicate_keys
from karte.store.errors import ValidationFailed

CONNECT_TIMEOUT = 10
NESTED = (list, tuple, dict)
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
    sa.exc.TimeoutError)
"""What the database (or the way to it) raises when it cannot answer now: down, cut off,
locked, out of pooled connections. Not a bug in a statement: worth trying again."""
SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open",
                      "disk i/o error", "readonly database", "database or disk is full")
"""SQLite raises OperationalError for a broken statement too ("no such column"): only
these messages mean the file cannot be used now."""


def unavailable(error: Exception) -> bool:
    """Whether the error means the database cannot answer now (a 503), rather than a bug
    (a 500): psycopg's OperationalError is always the connection; SQLite's only when its
    message says the file is locked, missing or unwritable."""
    if not isinstance(error, UNAVAILABLE):
        return False
    if isinstance(error, sa.exc.OperationalError) and isinstance(
            getattr(error, "orig", None), sqlite3.Error):
        return any(text in str(error.orig).lower() for text in SQLITE_UNAVAILABLE)
    return True


def make_engine(url: str) -> sa.Engine:
    """An engine; SQLite gets foreign keys on and WAL for concurrent readers."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, pool_pre_ping=True)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection,
                            _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            duplicate_keys.register(dbapi_connection)  # what the duplicate indexes read
    else:
        timeout = ({"connect_timeout": CONNECT_TIMEOUT}
                   if parsed.get_backend_name() == "postgresql"
                   and "connect_timeout" not in parsed.query else {})
        engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=timeout)
    sa.event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose reads all see one moment of the database (a page made of several
    queries — a board's counts and its cards — never mixes before and after a write).
    PostgreSQL: a REPEATABLE READ transaction. SQLite: an explicit read transaction (the
    driver starts none for SELECTs), which in WAL mode keeps the snapshot of its first
    read. Rolled back at the end: it only reads."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def _refuse_nul(conn: sa.Connection, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
    """Text with a NUL character is invalid input (422) on every database. Forms and
    filters say so first, next to the field or parameter; this catches any other way in
    (a note, a user's name)."""
    if _holds_nul(parameters):
        refuse_nul()


def refuse_nul() -> None:
    """The error for text holding NUL on its way to the database (also store/bulk_insert)."""
    raise ValidationFailed([Problem("", "Text with a NUL character (\\0) cannot be "
                                        "saved; remove it and try again.", "nul")])


def _holds_nul(parameters: Any) -> bool:
    """`has_nul` of a statement's parameters — one row, many rows, or the flat values of
    a multi-row INSERT — in flat loops: values reach the driver already processed (JSON
    as text), so deeper nesting is rare and a bulk insert of thousands of rows costs about
    one type check per value."""
    for item in parameters.values() if isinstance(parameters, dict) else parameters:
        if type(item) is str:
            if NUL in item:
                return True
        elif type(item) is tuple or type(item) is dict:
            for value in item.values() if type(item) is dict else item:
                if type(value) is str:
                    if NUL in value:
                        return True
                elif isinstance(value, NESTED) and has_nul(value):
                    return True
        elif isinstance(item, NESTED) and has_nul(item):
            return True
    return False


def answers(engine: sa.Engine) -> bool:
    """Whether the database answers a `SELECT 1` now (the health check)."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except UNAVAILABLE:
        return False
    return True


def refresh_statistics(engine: sa.Engine, full: bool = False,
                       tables: Sequence[str] = ()) -> None:
    """Give the query planner table statistics. Without them SQLite drives a page's joins
    from the wrong side (35 ms instead of 0.6 ms for a list's links on 15k deals). SQLite:
    ANALYZE when it has never run (or `full`), else the cheap `PRAGMA optimize`, which
    re-analyses only tables that changed a lot. PostgreSQL's autovacuum keeps its own
    statistics; `full` (after a bulk load) runs ANALYZE at once — of `tables` when given,
    else of the tables of Karte's schema (a plain ANALYZE reads every table of every schema
    of the database the role may, and locks them)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            analysed = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
            conn.exec_driver_sql("ANALYZE" if full or not analysed else "PRAGMA optimize")
        elif full:
            if tables:
                preparer = engine.dialect.identifier_preparer
                conn.exec_driver_sql("ANALYZE " + ", ".join(preparer.quote(t) for t in tables))
            else:
                analyse_schema(conn)


def analyse_schema(conn: sa.Connection) -> None:
    """PostgreSQL: ANALYZE the tables of the current schema only (a database-wide ANALYZE
    would also lock other schemas' tables, and other tenants' or tests' drops race it)."""
    names = conn.exec_driver_sql(
        "SELECT quote_ident(tablename) FROM pg_tables "
        "WHERE schemaname = current_schema()").scalars().all()
    if names:
        conn.exec_driver_sql("ANALYZE " + ", ".join(names))
