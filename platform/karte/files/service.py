"""The files service: files received, attached to records, found, read and pruned.

Bytes go to the `Storage` (content-addressed by sha256); a record keeps only file
references (`karte.fields.FILE_KEYS`). Every change of a record's files is a
`Records.update(..., files=True)`: the version check, the actor's update and field
rights, the audit row and the transaction are the records service's, as for any other
field. Only this service passes `files=True`, after it stored and checked the bytes, so
no form, import or API body can point a record at a blob it did not upload.

Reading a file takes the record's read scope and the field's visibility: a file of a
record or field the actor cannot see is NotFound, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO

import sqlalchemy as sa

from karte.files.checks import (
    RASTER,
    FileRefused,
    _,
    accepts,
    check_image,
    safe_name,
    sniff_stream,
)
from karte.files.pending import MAX_AGE, Pending
from karte.files.references import referenced
from karte.files.storage import Storage
from karte.files.thumbs import cache_key, thumbnail
from karte.meta.model import Field
from karte.problems import Problem
from karte.store import Records
from karte.store.actor import Actor, actor_id
from karte.store.errors import Forbidden, NotFound, ValidationFailed
from karte.store.field_rights import hidden, refused_field, writable
from karte.store.permissions import forbidden, rights
from karte.store.records.write import ONE_FILE

MB = 1024 * 1024
KEEP = dt.timedelta(seconds=MAX_AGE) + dt.timedelta(hours=1)
"""How young an unreferenced file is kept by `prune`: as long as a pending upload lives,
and an hour more (a token is signed just after its file is stored)."""
ONE = ONE_FILE

Record = dict[str, Any]


@contextmanager
def _seekable(stream: BinaryIO, limit: int) -> Iterator[BinaryIO]:
    """The stream itself when it can be read twice (the web server spools uploads), else
    its first `limit` + 1 bytes copied to a spooled temporary file: the type is judged
    from the head and an image's size from the whole file before anything is stored."""
    if stream.seekable():
        yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=MB) as spool:
        left = limit + 1           # one byte past the limit: `Storage.put` refuses the size
        while left > 0 and (chunk := stream.read(min(MB, left))):
            spool.write(chunk)
            left -= len(chunk)
        spool.seek(0)
        yield spool  # type: ignore[misc]


class Files:
    """Files of the records of one pack, kept in one storage."""

    def __init__(self, records: Records, storage: Storage, max_upload_mb: int, secret: str):
        self.records, self.storage = records, storage
        self.max_upload_mb = max_upload_mb
        self._pending = Pending(secret)

    # ------------------------------------------------------------ fields

    def field(self, entity: str, field: str) -> Field:
        """The file field `field` of `entity`; NotFound when there is none — nor on a
        part of lines: files attach to records, never to a line."""
        ent = self.records.store.entity(entity)
        found = ent.fields.get(field)
        if found is None or found.type != "file" or ent.part_of is not None:
            raise NotFound(entity, None, f' with a file field "{field}"')
        return found

    def limit(self, entity: str, field: str) -> int:
        """Bytes one file of the field may have: its `max_mb`, never above the instance's
        KARTE_MAX_UPLOAD_MB."""
        own = self.field(entity, field).max_mb
        megabytes = self.max_upload_mb if own is None else min(own, self.max_upload_mb)
        return int(megabytes * MB)

    # ------------------------------------------------------------ upload

    def receive(self, entity: str, field: str, stream: BinaryIO, filename: str,
                actor: Actor | None) -> Record:
        """Check and store one uploaded file; its reference, not attached yet. Raises
        FileRefused (empty, too large, a type the field does not accept, an image too
        large to decode, ...), Forbidden when the actor may not write the field."""
        f = self.field(entity, field)
        self._check_writable(entity, field, actor)
        name, limit = safe_name(filename), self.limit(entity, field)
        with _seekable(stream, limit) as source:
            mime = self._judge(f, name, source)
            stored = self.storage.put(source, limit)
        return {"id": "f_" + secrets.token_urlsafe(16), "name": name, "size": stored.size,
                "type": mime, "sha256": stored.sha256, "uploaded_by": actor_id(actor),
                "uploaded_at": self.records.store.context(actor).now.replace(
                    microsecond=0).isoformat()}

    def _judge(self, f: Field, name: str, source: BinaryIO) -> str:
        """The sniffed type of an upload the field takes (FileRefused otherwise); the
        source is put back where it was."""
        start = source.tell()
        empty = not source.read(1)
        source.seek(start)
        if empty:
            raise FileRefused("empty", _("%(name)s is empty. Choose a file with content."),
                              name=name)
        mime = sniff_stream(source)     # a container (.xls, .doc) is judged whole
        if not accepts(f.accept, mime):
            raise FileRefused("accept", _("%(name)s is of type %(type)s, which this field "
                                          "does not take. Choose a file of the type asked "
                                          "for."), name=name, type=mime)
        if mime in RASTER:
            check_image(source)
        return mime

    def _check_writable(self, entity: str, field: str, actor: Actor | None) -> None:
        """An upload is only taken from someone who could attach it: a role that may
        create or update the entity's records, and change the field."""
        store = self.records.store
        ent = store.entity(entity)
        if field in hidden(store, ent, actor):
            raise NotFound(entity, None, f' with a file field "{field}"')
        if actor is None:
            return
        allowed = rights(store, ent, actor)
        if not allowed.create and not allowed.update:
            raise forbidden(ent, actor, "update")
        if field not in writable(store, ent, actor):
            raise Forbidden([refused_field(ent, actor, field)])

    # ------------------------------------------------------------ attach / remove

    def attach(self, entity: str, id: Any, field: str, refs: Sequence[Record], version: Any,
               actor: Actor | None, *, conn: sa.Connection | None = None) -> Record:
        """Add `refs` to a `multiple` field, or put the one ref in place of a single
        field's file; the record as saved."""
        f = self.field(entity, field)
        many = f.multiple
        if not many and len(refs) > 1:
            raise ValidationFailed([Problem(field, ONE, "invalid")])
        self._check_stored(field, refs)
        current = self.records.get(entity, id, actor=actor, conn=conn)
        kept = list(current.get(field) or []) if many else []
        known = {ref.get("id") for ref in kept}
        files = kept + [dict(ref) for ref in refs if ref.get("id") not in known]
        return self.records.update(entity, id, {field: files}, version, actor, conn=conn,
                                   files=True)

    def _check_stored(self, field: str, refs: Sequence[Record]) -> None:
        """Each reference names a blob the storage holds, of its size."""
        for ref in refs:
            sha = ref.get("sha256") if isinstance(ref, dict) else None
            if not isinstance(sha, str) or self.storage.size(sha) != ref.get("size"):
                raise ValidationFailed([Problem(field, "Attach files through the upload form "
                                                       "or the files endpoint.", "invalid")])

    def remove(self, entity: str, id: Any, field: str, file_id: str, version: Any,
               actor: Actor | None, *, conn: sa.Connection | None = None) -> Record:
        """Take one file off the record (its bytes stay until `prune`)."""
        self.field(entity, field)
        current = self.records.get(entity, id, actor=actor, conn=conn)
        files = list(current.get(field) or [])
        left = [ref for ref in files if ref.get("id") != file_id]
        if len(left) == len(files):
            raise NotFound(entity, id)
        return self.records.update(entity, id, {field: left}, version, actor, conn=conn,
                                   files=True)

    # ------------------------------------------------------------ read

    def find(self, entity: str, id: Any, field: str, file_id: str,
             actor: Actor | None) -> Record:
        """The file's reference, if the actor may read the record and the field; else
        NotFound, as for a file that does not exist."""
        self.field(entity, field)
        record = self.records.get(entity, id, actor=actor)
        if field in hidden(self.records.store, self.records.store.entity(entity), actor):
            raise NotFound(entity, id)
        for ref in record.get(field) or []:
            if ref.get("id") == file_id:
                return dict(ref)
        raise NotFound(entity, id)

    def open(self, ref: Record, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The file's bytes [start, stop), in chunks."""
        return self.storage.read(ref["sha256"], start, stop)

    def thumbnail(self, ref: Record) -> bytes | None:
        """A small WebP of an image file (made once, then cached); None for others."""
        return thumbnail(self.storage, ref["sha256"], ref["type"])

    # ------------------------------------------------------------ pending uploads

    def pending(self, ref: Record, actor: Actor | None, entity: str, field: str) -> str:
        """A signed token for an upload a form keeps while it is corrected."""
        return self._pending.sign(ref, actor, entity, field)

    def unpending(self, token: str, actor: Actor | None, entity: str,
                  field: str) -> Record | None:
        """The reference of this actor's pending upload for this field, while its file
        is stored; else None."""
        ref = self._pending.read(token, actor, entity, field)
        if ref is None or self.storage.size(ref["sha256"]) != ref["size"]:
            return None
        return ref

    # ------------------------------------------------------------ prune

    def referenced(self) -> set[str]:
        """The sha256 of every file any record (deleted ones too) or audit row names."""
        return referenced(self.records)

    def unreferenced(self) -> list[tuple[str, int]]:
        """(sha256, size) of every stored file no record and no audit row names and that
        was stored more than a day ago (younger ones may be uploads pending in a form),
        in sha256 order."""
        kept = self.referenced()
        before = self.records.store.clock() - KEEP
        found = []
        for sha in sorted(set(self.storage.names()) - kept):
            stored, size = self.storage.modified(sha), self.storage.size(sha)
            if stored is not None and size is not None and stored < before:
                found.append((sha, size))
        return found

    def prune(self, apply: bool = False) -> list[str]:
        """The sha256 of the stored files `unreferenced` finds; with `apply`, deleted,
        their thumbnails with them."""
        found = [sha for sha, _size in self.unreferenced()]
        if apply:
            for sha in found:
                self.storage.delete(sha)
                self.storage.delete_extra(cache_key(sha))
        return found
