"""Many rows into one table: COPY on PostgreSQL, executemany elsewhere (issue 11).

psycopg 3's `cursor.copy` streams the rows in one command, which costs a fraction of an
executemany's statement per row. COPY is no statement SQLAlchemy sees, so what its
execution would do is done here: each value goes through its column type's bind
processing (UTC datetimes, JSON), and text holding a NUL is refused before anything is
sent, with the very error the statement hook (store/db.py) gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.fields import has_nul
from karte.store.db import refuse_nul

COPY_FROM = 50          # fewer rows go by executemany: not worth a COPY


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
                ) -> None:
    """Insert `rows` (every row with the same keys, as an executemany needs) into
    `table`, in the connection's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(table.insert(), list(rows))
        return
    names = list(rows[0])
    if any(has_nul(value) for row in rows for value in row.values()):
        refuse_nul()
    processors = [_processor(table.c[name], conn.dialect) for name in names]
    quote = conn.dialect.identifier_preparer
    columns = ", ".join(quote.format_column(table.c[name]) for name in names)
    command = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(command) as copy:
            for row in rows:
                copy.write_row([value if process is None else process(value)
                                for process, value in zip(processors, map(row.__getitem__,
                                                                          names), strict=True)])
    finally:
        cursor.close()


def _processor(column: sa.Column[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    return column.type._cached_bind_processor(dialect)  # noqa: SLF001 — what execute uses
