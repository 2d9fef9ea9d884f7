"""Reverting an import batch: the records it created are soft-deleted and the records it
changed get their values before back, through the records service (audit, rights,
rollups).

A record edited since the import (its version is not the one the import left) is not
touched: the revert is refused before anything is written and names those records, so
nobody's later work is silently undone. Records deleted since count as reverted already.

A big batch is reverted in chunks of CHUNK records, one transaction each (SQLite's one
writer is never held for long: a sign-in during a revert waits a moment, not a minute),
and above the background threshold by a thread while the batch says "reverting". Each
reverted item is marked ("created" → "deleted", "updated" → "restored"), so a revert
stopped by a refusal the first check could not see (a record created since that links to
an imported one with a restrict link) leaves the batch as it was with the reason, and
reverting it again goes on with what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from karte.store import imports as stored
from karte.store.actor import Actor
from karte.store.errors import RecordError
from karte.store.records.store import chunks
from karte.transfer.import_background import in_thread, threshold
from karte.transfer.import_background import wait as wait  # a revert is waited for alike
from karte.transfer.import_batches import batch_row, report
from karte.transfer.import_write import nested
from karte.transfer.imports import ImportRefused, Report

SHOWN = 20
CHUNK = 250
UNDONE = ("created", "updated")
MARKS = {"created": "deleted", "updated": "restored"}
log = logging.getLogger(__name__)
Now = dict[int, tuple[int, Any, str]]


def _current(services: Any, conn: sa.Connection, entity: str, ids: list[int]) -> Now:
    """{id: (version, deleted_at, title)} of the records as stored now."""
    ent = services.store.entity(entity)
    table = services.store.table(ent)
    title = table.c[ent.title_field]
    found: Now = {}
    for part in chunks(ids):
        query = sa.select(table.c.id, table.c.version, table.c.deleted_at, title).where(
            table.c.id.in_(part))
        found.update((id, (version, deleted, "" if shown is None else str(shown)))
                     for id, version, deleted, shown in conn.execute(query))
    return found


def _edited(items: list[dict[str, Any]], now: Now) -> list[str]:
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


def _refusal(reasons: list[str], head: str) -> ImportRefused:
    more = [f"... and {len(reasons) - SHOWN} more."] if len(reasons) > SHOWN else []
    return ImportRefused([head, *reasons[:SHOWN], *more])


def _checked(services: Any, batch: int) -> tuple[dict[str, Any], list[dict[str, Any]], Now]:
    """The batch, its items still to undo and their records now; ImportRefused when it
    cannot be reverted (nothing written)."""
    report(services, batch)     # a batch its stopped server left running is failed now
    row = batch_row(services, batch)
    if row["state"] == "reverted":
        raise ImportRefused(["This import was reverted already."])
    if row["state"] in ("running", "planned", "reverting"):
        raise ImportRefused([f"This import is {row['state']}: revert it when it is done."])
    with services.records.engine.connect() as conn:
        items = list(stored.read_items(conn, int(batch), list(UNDONE)))
        now = _current(services, conn, row["entity"], [i["record_id"] for i in items])
    reasons = _edited(items, now)
    if reasons:
        count = len(reasons)
        raise _refusal(reasons, f"Nothing was reverted: {count} record"
                                f"{' was' if count == 1 else 's were'} changed since the "
                                "import.")
    return row, items, now


def revert(services: Any, batch: int, actor: Actor | None, *,
           background: bool = False) -> Report:
    """Undo the batch, or raise ImportRefused naming why. `background`: a batch of more
    items than the background threshold is undone by a thread (the report says
    "reverting" until it is "reverted", or back to its state with the reason)."""
    row, items, now = _checked(services, batch)
    if background and len(items) > threshold():
        _set(services, batch, state="reverting", reason="")
        in_thread(f"karte-revert-{batch}", batch, _work, services, batch, actor, row, items,
                  now)
        return report(services, batch)
    _undo(services, batch, actor, row, items, now)
    return report(services, batch)


def _set(services: Any, batch: int, **values: Any) -> None:
    with services.records.transaction() as conn:
        stored.update_batch(conn, int(batch), **values)


def _work(services: Any, batch: int, actor: Actor | None, row: dict[str, Any],
          items: list[dict[str, Any]], now: Now) -> None:
    try:
        _undo(services, batch, actor, row, items, now)
    except ImportRefused as refused:
        log.info("revert of import %s refused: %s", batch, refused)
    except Exception as error:      # the batch says why; the thread ends quietly
        log.exception("revert of import %s failed", batch)
        _set(services, batch, state=row["state"], reason=f"The revert stopped: {error}")


def _undo(services: Any, batch: int, actor: Actor | None, row: dict[str, Any],
          items: list[dict[str, Any]], now: Now) -> None:
    """Updated records first, then created ones newest first, CHUNK per transaction;
    a refusal puts the batch back in its state with the reasons and raises."""
    entity, records = row["entity"], services.records
    ordered = [i for i in items if i["action"] == "updated"]
    ordered += [i for i in reversed(items) if i["action"] == "created"
                and now[i["record_id"]][1] is None]
    done = 0
    for part in chunks(ordered, CHUNK):
        refusals: list[str] = []
        try:
            with records.transaction() as conn:
                for item in part:
                    _attempt(conn, refusals, item, now,
                             _action(records, conn, entity, item, actor))
                if refusals:
                    raise _Undo       # this chunk is rolled back whole
                _mark(conn, part)
                stored.update_batch(conn, int(batch), updated_at=services.store.clock())
        except _Undo:
            pass
        if refusals:
            head = (f"The revert stopped: {len(refusals)} record"
                    f"{'' if len(refusals) == 1 else 's'} could not be reverted"
                    f"{f' ({done} were, and stay so: revert again when fixed)' if done else ''}.")
            _set(services, batch, state=row["state"], reason=" ".join([head, *refusals[:3]]))
            raise _refusal(refusals, head)
        done += len(part)
    _set(services, batch, state="reverted", reason="", reverted_at=services.store.clock())


class _Undo(Exception):
    """Rolls back a chunk that had a refusal."""


def _action(records: Any, conn: sa.Connection, entity: str, item: dict[str, Any],
            actor: Actor | None) -> Callable[[], Any]:
    if item["action"] == "updated":
        return lambda: records.update(entity, item["record_id"], item["before"] or {},
                                      item["version"], actor, moving=True, conn=conn)
    return lambda: records.delete(entity, item["record_id"], actor, item["version"],
                                  conn=conn)


def _mark(conn: sa.Connection, items: list[dict[str, Any]]) -> None:
    table = stored.items()
    for action, mark in MARKS.items():
        ids = [i["id"] for i in items if i["action"] == action]
        for part in chunks(ids):
            conn.execute(table.update().where(table.c.id.in_(part)).values(action=mark))


def _attempt(conn: sa.Connection, refusals: list[str], item: dict[str, Any], now: Now,
             action: Callable[[], Any]) -> None:
    try:
        with nested(conn):
            action()
    except RecordError as error:
        title = now.get(item["record_id"], (0, None, ""))[2]
        said = "; ".join(p.message for p in error.problems) or str(error)
        refusals.append(f"#{item['record_id']} {title} (line {item['line']}): {said}")
