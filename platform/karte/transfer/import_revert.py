"""Reverting an import batch (SPEC §14): the records it created are soft-deleted and the
records it changed get their values before back, through the records service (audit,
rights, rollups) in one transaction — all or nothing.

A record edited since the import (its version is not the one the import left) is not
touched: the revert is refused and names those records, so nobody's later work is
silently undone. Records deleted since count as reverted already.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from karte.store import imports as stored
from karte.store.actor import Actor
from karte.store.errors import RecordError
from karte.store.records.store import chunks
from karte.transfer.import_batches import batch_row, report
from karte.transfer.import_write import nested
from karte.transfer.imports import ImportRefused, Report

SHOWN = 20
UNDONE = ("created", "updated")


def _current(services: Any, conn: sa.Connection, entity: str,
             ids: list[int]) -> dict[int, tuple[int, Any, str]]:
    """{id: (version, deleted_at, title)} of the records as stored now."""
    ent = services.store.entity(entity)
    table = services.store.table(ent)
    title = table.c[ent.title_field]
    found: dict[int, tuple[int, Any, str]] = {}
    for part in chunks(ids):
        query = sa.select(table.c.id, table.c.version, table.c.deleted_at, title).where(
            table.c.id.in_(part))
        found.update((id, (version, deleted, "" if shown is None else str(shown)))
                     for id, version, deleted, shown in conn.execute(query))
    return found


def _edited(items: list[dict[str, Any]], now: dict[int, tuple[int, Any, str]]) -> list[str]:
    reasons = []
    for item in items:
        version, deleted, title = now.get(item["record_id"], (None, True, ""))
        if item["action"] == "created" and deleted is not None:
            continue
        if deleted is not None:
            reasons.append(f"#{item['record_id']} {title} (line {item['line']}) was deleted "
                           "since the import.")
        elif version != item["version"]:
            reasons.append(f"#{item['record_id']} {title} (line {item['line']}) was edited "
                           f"since the import (version {version} now, "
                           f"{item['version']} after the import).")
    return reasons


def _refuse(reasons: list[str]) -> ImportRefused:
    head = (f"Nothing was reverted: {len(reasons)} record"
            f"{' was' if len(reasons) == 1 else 's were'} changed since the import.")
    more = [f"... and {len(reasons) - SHOWN} more."] if len(reasons) > SHOWN else []
    return ImportRefused([head, *reasons[:SHOWN], *more])


def revert(services: Any, batch: int, actor: Actor | None) -> Report:
    """Undo the batch or raise ImportRefused (nothing written)."""
    row = batch_row(services, batch)
    if row["state"] == "reverted":
        raise ImportRefused(["This import was reverted already."])
    if row["state"] not in ("done", "failed"):
        raise ImportRefused(["This import is still running: revert it when it is done."])
    entity, records = row["entity"], services.records
    with records.transaction() as conn:
        items = list(stored.read_items(conn, int(batch), list(UNDONE)))
        now = _current(services, conn, entity, [i["record_id"] for i in items])
        reasons = _edited(items, now)
        if reasons:
            raise _refuse(reasons)
        refusals: list[str] = []
        for item in items:
            if item["action"] == "updated":
                _attempt(conn, refusals, item, now, lambda i=item: records.update(
                    entity, i["record_id"], i["before"] or {}, i["version"], actor,
                    moving=True, conn=conn))
        for item in reversed(items):
            if item["action"] == "created" and now[item["record_id"]][1] is None:
                _attempt(conn, refusals, item, now, lambda i=item: records.delete(
                    entity, i["record_id"], actor, i["version"], conn=conn))
        if refusals:
            raise ImportRefused([f"Nothing was reverted: {len(refusals)} record"
                                 f"{'' if len(refusals) == 1 else 's'} could not be.",
                                 *refusals[:SHOWN]])
        stored.update_batch(conn, int(batch), state="reverted",
                            reverted_at=services.store.clock())
    return report(services, batch)


def _attempt(conn: sa.Connection, refusals: list[str], item: dict[str, Any],
             now: dict[int, tuple[int, Any, str]], action: Any) -> None:
    try:
        with nested(conn):
            action()
    except RecordError as error:
        title = now.get(item["record_id"], (0, None, ""))[2]
        said = "; ".join(p.message for p in error.problems) or str(error)
        refusals.append(f"#{item['record_id']} {title} (line {item['line']}): {said}")
