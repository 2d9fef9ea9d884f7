"""Database engines: one place that knows the dialect quirks."""

from __future__ import annotations

import sqlalchemy as sa


def make_engine(url: str) -> sa.Engine:
    """An engine; SQLite gets foreign keys on and WAL for concurrent readers."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)
