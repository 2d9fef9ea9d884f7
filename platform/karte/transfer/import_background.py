"""Imports that run outside the request (issue 13): a file above
KARTE_IMPORT_BACKGROUND_ROWS rows (default 2000) is imported by a thread of its own, with
its own database connections, while the page polls the batch's progress (`report`). The
job queue of SPEC §15 will take this over; until then a thread is enough.

The batch row is the truth: it is opened before the thread starts, updated after every
chunk, and marked failed with the reason when the thread stops on an error, so a reload
(or another app server) sees the same state.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from karte.store import imports as stored
from karte.store.actor import Actor, actor_id
from karte.transfer.import_run import count_rows, execute
from karte.transfer.imports import Plan
from karte.transfer.read import open_sheet

DEFAULT_ROWS = 2000
log = logging.getLogger(__name__)
_threads: dict[int, threading.Thread] = {}


def threshold() -> int:
    """KARTE_IMPORT_BACKGROUND_ROWS: files with more data rows run in the background."""
    raw = os.environ.get("KARTE_IMPORT_BACKGROUND_ROWS", "").strip()
    return int(raw) if raw.isdecimal() else DEFAULT_ROWS


def start(services: Any, path: Path, plan: Plan, actor: Actor | None, *,
          file_name: str = "") -> int:
    """Open a batch for the file and import it (in a thread when it is big); the batch's
    id. A file that cannot be read raises ReadError before any batch is opened."""
    sheet = open_sheet(Path(path), filename=file_name or None, encoding=plan.encoding)
    total = count_rows(sheet)
    with services.records.transaction() as conn:
        batch = stored.open_batch(conn, plan.entity, actor_id(actor), file_name or
                                  Path(path).name, plan.as_json(), list(sheet.columns),
                                  services.store.clock(), state="planned")
        stored.update_batch(conn, batch, total=total)
    if total <= threshold():
        execute(services, sheet, plan, actor, dry=False, batch=batch,
                file_name=file_name or Path(path).name, total=total)
        return batch
    in_thread(f"karte-import-{batch}", batch, _work, services, sheet, plan, actor, batch,
              file_name or Path(path).name, total)
    return batch


def in_thread(name: str, batch: int, work: Any, *args: Any) -> None:
    """Run `work(*args)` in a daemon thread known by its batch until it ends (`wait`):
    a background import, or a background revert (never both at once for one batch)."""
    def run() -> None:
        try:
            work(*args)
        finally:
            _threads.pop(batch, None)
    thread = threading.Thread(target=run, name=name, daemon=True)
    _threads[batch] = thread
    thread.start()


def _work(services: Any, sheet: Any, plan: Plan, actor: Actor | None, batch: int,
          file_name: str, total: int) -> None:
    try:
        execute(services, sheet, plan, actor, dry=False, batch=batch, file_name=file_name,
                total=total)
    except Exception as error:      # the batch says why; the thread ends quietly
        log.exception("background import %s failed", batch)
        with services.records.transaction() as conn:
            stored.update_batch(conn, batch, state="failed",
                                reason=f"The import stopped: {error}",
                                finished_at=services.store.clock())


def wait(batch: int, timeout: float | None = None) -> bool:
    """Wait for a background import or revert of this process to end; False on timeout."""
    thread = _threads.get(batch)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()
