"""Fewer garbage collections while a bulk write runs (issue 11).

A bulk write allocates a few containers per value (records, parameters, audit changes)
and keeps them until its batch is written: none of it is cyclic garbage, yet every 700
allocations Python's cycle collector runs, and its older generations walk everything the
process holds (an import's parsed rows, the batch). That was a quarter of `create_many`'s
time. While any bulk write runs the first generation's threshold is raised; cyclic garbage
is still collected, later. The threshold is process-wide, so overlapping writes (threads)
share one raise, restored when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 100_000      # allocations between collections while bulk writes run

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], BULK_THRESHOLD), _saved[1], _saved[2])
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_saved)
