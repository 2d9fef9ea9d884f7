"""Files uploaded to the import wizard, kept between its steps (SPEC §14).

An upload is saved under the instance folder (`instance/imports/`) with a random name — the
user's filename is kept only as data, in a small JSON note beside it, never as a path — so
the mapping and dry-run steps can read the file again without a second upload. The note
says whose upload it is and for which entity: another user (or another entity's wizard)
asking for the same name gets a 404, as for any page they cannot see. Once its import has
run the file is removed and the note keeps the batch, so a second click on "Import" (or the
back button) leads to that import's report instead of importing twice. A file imported in
the background, or never imported, goes when it is a day old and the next upload arrives.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import abort, current_app

from karte.transfer.read import ENCODINGS as READABLE

FOLDER = "imports"
KEEP_SECONDS = 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
ENCODINGS = tuple(codec for codec, _name in READABLE)
"""The encodings a user may choose instead of detection (Shift_JIS is read as CP932,
Microsoft's superset that Excel writes)."""


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    filename: str           # as the user's browser named it: shown, and a hint of the format
    entity: str
    user: int | None
    encoding: str | None    # None: detect
    size: int
    batch: int | None = None    # the import it became, once run: the file is gone


def _folder() -> Path:
    folder = Path(current_app.instance_path) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(stream: IO[bytes], filename: str, entity: str, user: int | None,
         encoding: str | None) -> Upload:
    """Keep an uploaded file under a random name; returns what the next steps need."""
    folder = _folder()
    _prune(folder)
    token = secrets.token_urlsafe(18)
    path = folder / f"{token}.upload"
    with path.open("wb") as out:
        while chunk := stream.read(1 << 16):
            out.write(chunk)
    upload = Upload(token, path, _plain(filename), entity, user,
                    encoding if encoding in ENCODINGS else None, path.stat().st_size)
    note = {"filename": upload.filename, "entity": entity, "user": user,
            "encoding": upload.encoding, "size": upload.size}
    (folder / f"{token}.json").write_text(json.dumps(note), encoding="utf-8")
    return upload


def find(token: str, entity: str, user: int | None) -> Upload:
    """The upload named `token`, if it is this user's for this entity; 404 otherwise."""
    if not TOKEN.fullmatch(token):
        abort(404)
    folder = _folder()
    path, note_path = folder / f"{token}.upload", folder / f"{token}.json"
    try:
        note = json.loads(note_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        abort(404)
    batch = note.get("batch") if isinstance(note.get("batch"), int) else None
    if note.get("entity") != entity or note.get("user") != user or not (
            batch or path.exists()):
        abort(404)
    return Upload(token, path, str(note.get("filename") or ""), entity, user,
                  note.get("encoding") if note.get("encoding") in ENCODINGS else None,
                  int(note.get("size") or 0), batch)


def discard(upload: Upload) -> None:
    """Forget an upload that cannot be read."""
    for path in (upload.path, upload.path.with_suffix(".json")):
        path.unlink(missing_ok=True)


def used(upload: Upload, batch: int) -> None:
    """The upload's import is over: its rows now live in the batch, so the file goes and
    the note remembers the batch (a second "Import" finds that report, not a 404)."""
    note = upload.path.with_suffix(".json")
    data = json.loads(note.read_text(encoding="utf-8"))
    note.write_text(json.dumps({**data, "batch": batch}), encoding="utf-8")
    upload.path.unlink(missing_ok=True)


def _plain(filename: str) -> str:
    """The file's own name without any folders a browser may send, cut to a sane length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-200:]


def _prune(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:
            continue
