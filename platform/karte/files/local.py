"""Files in a local folder: `<root>/<sha[:2]>/<sha[2:4]>/<sha>`, extras under `<root>/extra/`.

A put streams into a temporary file under `<root>/tmp/` (the same file system, so the
final rename is atomic), hashing as it writes; the file is flushed to disk and renamed to
its content address only when complete. A crash leaves at most a stray temporary file,
never a half-written blob under a real name.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from karte.files.storage import (
    CHUNK,
    Stored,
    checked_key,
    checked_sha,
    copy_hashed,
    is_sha256,
)
from karte.problems import Problem, ProblemsError


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        """Where a blob lives (KeyError for anything but a sha256)."""
        sha = checked_sha(sha256)
        return self.root / sha[:2] / sha[2:4] / sha

    def check(self) -> None:
        """Fail now, with a clear message, when the folder cannot be made or written."""
        probe = self.root / "tmp" / f"check-{os.getpid()}"
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            why = error.strerror or type(error).__name__
            raise ProblemsError([Problem(
                "KARTE_FILES_URL",
                f"The files folder {str(self.root)!r} cannot be written ({why}). Create it "
                "and let the user Karte runs as write there, or point KARTE_FILES_URL at "
                "another folder.")]) from error

    def put(self, source: BinaryIO, limit: int | None = None) -> Stored:
        temporary = self.root / "tmp"
        temporary.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=temporary, prefix="put-")
        try:
            with os.fdopen(handle, "wb") as out:
                sha, size = copy_hashed(source, out, limit)
                out.flush()
                os.fsync(out.fileno())
            target = self.path(sha)
            if _has_size(target, size):
                os.unlink(name)  # the same content is already there: one copy is enough,
                os.utime(target)  # stored again now (a prune keeps what is young)
            else:  # new, or a damaged copy (cut short by a disk or a hand): this one is whole
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(name, target)
                _sync_folder(target.parent)
        except BaseException:
            _remove(Path(name))
            raise
        return Stored(sha, size)

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        try:
            file = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise KeyError(sha256) from None
        return _chunks(file, start, stop)

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except (FileNotFoundError, KeyError):
            return None

    def modified(self, sha256: str) -> dt.datetime | None:
        try:
            stamp = self.path(sha256).stat().st_mtime
        except (FileNotFoundError, KeyError):
            return None
        return dt.datetime.fromtimestamp(stamp, dt.UTC)

    def delete(self, sha256: str) -> None:
        try:
            target = self.path(sha256)
        except KeyError:
            return
        _remove(target)
        for folder in (target.parent, target.parent.parent):
            try:
                folder.rmdir()  # only when empty: keeps the tree small after a prune
            except OSError:
                break

    def names(self) -> Iterator[str]:
        for first in _folders(self.root):
            for second in _folders(first):
                for name in _listed(second):
                    if is_sha256(name) and name[:2] == first.name and name[2:4] == second.name:
                        yield name

    def put_extra(self, key: str, data: bytes) -> None:
        target = self._extra(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, target)
        except BaseException:
            _remove(Path(name))
            raise

    def get_extra(self, key: str) -> bytes | None:
        try:
            return self._extra(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete_extra(self, key: str) -> None:
        _remove(self._extra(key))

    def _extra(self, key: str) -> Path:
        return self.root / "extra" / checked_key(key)


def _chunks(file: BinaryIO, start: int, stop: int | None) -> Iterator[bytes]:
    with file:
        file.seek(start)
        left = None if stop is None else max(0, stop - start)
        while left is None or left > 0:
            chunk = file.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _folders(parent: Path) -> Iterator[Path]:
    """The two-hex-digit folders of the layout (not tmp/ nor extra/)."""
    for name in _listed(parent):
        if len(name) == 2 and all(c in "0123456789abcdef" for c in name):
            yield parent / name


def _listed(folder: Path) -> list[str]:
    """The names in a folder, sorted; none when it is gone (a prune may be emptying it)."""
    try:
        return sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: fsync the folder that holds the new name)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)

