"""Which stored files are still referenced: by a record (deleted ones too: a restore
brings their files back) or by an audit row (a history may show a removed file, and an
attach can be told apart from a forgery only while its bytes exist).

Records are read a file column at a time, streamed; audit rows only where their
changes mention a file reference at all, and their values are walked for references.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from karte.store import Records
from karte.store.records.files_audit import shas

BATCH = 1000


def _record_columns(records: Records) -> Iterator[sa.Column[Any]]:
    """Every file field's column, of every entity (parts of lines included)."""
    store = records.store
    for entity in records.pack.entities.values():
        table = store.tables.get(entity.table_name)
        if table is None:
            continue
        for field in entity.file_fields():
            if field.name in table.c:
                yield table.c[field.name]


def _scan(conn: sa.Connection, query: sa.Select[Any], found: set[str]) -> None:
    for batch in conn.execution_options(yield_per=BATCH).execute(query).scalars().partitions():
        for value in batch:
            found.update(shas(value))


def referenced(records: Records) -> set[str]:
    """The sha256 of every file in any record's file field or any audit row."""
    found: set[str] = set()
    audit = records.store.audit
    with records.engine.connect() as conn:
        for column in _record_columns(records):
            _scan(conn, sa.select(column).where(column.is_not(None)), found)
        _scan(conn, sa.select(audit.c.changes).where(
            sa.cast(audit.c.changes, sa.Text).like('%"sha256"%')), found)
    return found
