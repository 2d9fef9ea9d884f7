"""What the card page adds to its timeline (issue 12): the "upcoming" entries — items
dated later than now, or today by a date field (a task due, a meeting booked) — apart
from the history, newest first below them; and a refused note's messages in the UI
language (the timeline service speaks English).

A timeline page lists entries newest first, so the future-dated items are its first
entries: splitting them off reads nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _

from karte.store.errors import ValidationFailed
from karte.store.timeline import MAX_NOTE, Entry, Page


def _is_upcoming(entry: Entry, now: dt.datetime) -> bool:
    """An item dated later than now, or dated today by a date field (stored at midnight):
    a task due today is still ahead, a call logged this morning is history."""
    if entry.kind != "item":
        return False
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)
    if at > now:
        return True
    return at.time() == dt.time(0) and at.date() == now.date()


def split(page: Page, now: dt.datetime | None = None) -> dict[str, Any]:
    """{"upcoming": Page of the items still ahead, soonest first;
    "history": Page of the rest, with the page's cursor to older entries}."""
    now = now or dt.datetime.now(dt.UTC)
    upcoming = [e for e in page.entries if _is_upcoming(e, now)]
    history = [e for e in page.entries if not _is_upcoming(e, now)]
    return {"upcoming": Page(sorted(upcoming, key=lambda e: e.at), None),
            "history": Page(history, page.older)}


def note_errors(error: ValidationFailed, body: str) -> list[str]:
    """Why a note was refused, in the UI language."""
    said = []
    for problem in error.problems:
        if problem.code == "required":
            said.append(_("Write the note before saving it."))
        elif problem.code == "max_length":
            said.append(_("Use at most %(limit)d characters (this has %(count)d).",
                          limit=MAX_NOTE, count=len(body.replace("\r\n", "\n").strip())))
        else:
            said.append(_(problem.message))
    return said
