"""The engine's tables of import batches (SPEC §14): declared with its other `karte_*`
tables (store/tables.py calls `declare`), so the migration creates them in existing
databases like any new table.

`karte_import` is one batch: who imported what file into which entity with which plan,
its state and counts (kept current while it runs: the progress a page polls), every
problem, and when it started, finished and was reverted. `karte_import_item` is one row
of the file: the record it created or updated and that record's version afterwards (a
revert refuses records edited since), the values before for an update (what a revert
restores), and for a failed row its cells as read and its problems (the failed-rows
file).
"""

from __future__ import annotations

import sqlalchemy as sa

from karte.fields import BIGINT, JSON, UTCDateTime


def declare(metadata: sa.MetaData) -> None:
    sa.Table(
        "karte_import", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("columns", JSON, nullable=False),     # the file's header, as read
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("done", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("unchanged", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("failed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("duplicates", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),   # its last progress
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("reverted_at", UTCDateTime(), nullable=True),
        sa.Index("ix_karte_import_entity", "entity", "state", "id"),
    )
    sa.Table(
        "karte_import_item", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.BigInteger(),
                  sa.ForeignKey("karte_import.id", ondelete="CASCADE"), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),  # created/updated/unchanged/failed
        sa.Column("version", sa.Integer(), nullable=True),   # the record's, after the import
        sa.Column("before", JSON, nullable=True),            # an update's values before
        sa.Column("cells", JSON, nullable=True),             # a failed row as read
        sa.Column("problems", JSON, nullable=True),          # a failed row's problems
        sa.Index("ix_karte_import_item_batch", "batch_id", "action", "line"),
    )
