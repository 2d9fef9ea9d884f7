"""The one interface file content is kept behind, and how a URL picks its implementation.

Content is addressed by its sha256: the same bytes are stored once, however many records
attach them, and a reference in a record can never point at other bytes than it was made
for. Every implementation streams (`CHUNK` bytes at a time, never a whole file in memory)
and writes atomically, so a reader sees a complete object or none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from karte.files.checks import too_large
from karte.problems import Problem, ProblemsError

CHUNK = 1 << 20  # bytes read, hashed and written at a time
SHA256 = re.compile(r"[0-9a-f]{64}")
# extra keys are relative paths of plain segments: "thumbs/<sha>-256.webp"
EXTRA_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


@dataclass(frozen=True)
class Stored:
    """What `put` stored: its content address and its length in bytes."""

    sha256: str
    size: int


class Storage(Protocol):
    """Content-addressed blobs plus a few derived objects ("extras", e.g. thumbnails)."""

    def put(self, source: BinaryIO, limit: int | None = None) -> Stored:
        """Stream `source` in; more than `limit` bytes → FileRefused("size"), nothing kept."""
        ...

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The bytes [start, stop) in chunks; KeyError (raised at once) when missing."""
        ...

    def size(self, sha256: str) -> int | None:
        """The stored length, None when missing."""
        ...

    def modified(self, sha256: str) -> dt.datetime | None:
        """When the content was last stored (a put of content already there counts), aware
        UTC; None when missing. A prune keeps young blobs: uploads still pending in a form."""
        ...

    def delete(self, sha256: str) -> None:
        """Forget a blob; a missing one is fine."""
        ...

    def names(self) -> Iterator[str]:
        """Every stored sha256 (for prune); extras are not blobs and not listed."""
        ...

    def put_extra(self, key: str, data: bytes) -> None: ...

    def get_extra(self, key: str) -> bytes | None: ...

    def delete_extra(self, key: str) -> None: ...

    def check(self) -> None:
        """ProblemsError naming KARTE_FILES_URL when the storage cannot be used (a folder
        that cannot be written, a bucket that is missing or unreachable): for a start."""
        ...


def is_sha256(name: str) -> bool:
    return SHA256.fullmatch(name) is not None


def checked_sha(sha256: str) -> str:
    """A content address, or KeyError: an arbitrary string never becomes a path or key."""
    if not is_sha256(sha256):
        raise KeyError(sha256)
    return sha256


def checked_key(key: str) -> str:
    """An extra's key, or ValueError: no "..", no absolute path, no odd characters."""
    if EXTRA_KEY.fullmatch(key) is None:
        raise ValueError(f"Not a storage key: {key!r} (use letters, digits, '.', '_', '-' "
                         "and '/' between parts).")
    return key


def copy_hashed(source: IO[bytes], out: IO[bytes], limit: int | None) -> tuple[str, int]:
    """Copy `source` into `out` a chunk at a time, hashing as it goes: (sha256, size).
    Reading stops one byte past `limit` (FileRefused("size")): a client that sends far
    too much is not read to its end."""
    digest = hashlib.sha256()
    size = 0
    while True:
        want = CHUNK if limit is None else min(CHUNK, limit + 1 - size)
        chunk = source.read(want)
        if not chunk:
            return digest.hexdigest(), size
        size += len(chunk)
        if limit is not None and size > limit:
            raise too_large(limit)
        digest.update(chunk)
        out.write(chunk)


def storage_for(url: str | None, instance: Path) -> Storage:
    """The storage KARTE_FILES_URL names: empty → the instance's `files/` folder, a path →
    that folder, `s3://bucket/prefix` → an S3-compatible bucket (endpoint and keys from the
    standard AWS_* environment variables). `file:///path` is a path too."""
    from karte.files.local import LocalStorage

    if not url:
        return LocalStorage(instance / "files")
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise _bad_url(url, "it names no bucket (write s3://bucket or s3://bucket/prefix)")
        from karte.files.s3 import S3Storage

        return S3Storage(bucket, prefix)
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    elif re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url):
        raise _bad_url(url, "only a folder path or s3://bucket/prefix is supported")
    return LocalStorage(Path(url).expanduser().absolute())


def _bad_url(url: str, why: str) -> ProblemsError:
    return ProblemsError([Problem("KARTE_FILES_URL",
                                  f"{url!r} is not a place to keep files: {why}.")])
