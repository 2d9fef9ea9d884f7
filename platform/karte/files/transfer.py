"""Files in `karte dump` and `karte load` (docs/dump.md): the stored content the dumped
rows reference travels in the dump's `files/` folder, one file per sha256, listed in the
manifest with its size.

The store writes and reads the tables and knows which sha256s its rows reference; it
never learns where content is kept (the store sits below this package). These are the
two steps it is handed: `copier` copies the referenced content out of the storage while
the dump is still being written (so a failed copy leaves no dump behind), and `putter`
puts it back into the storage of the loading instance after every check and before any
table is written. Content is verified against its sha256 both ways: a damaged store or an
altered dump is refused by name, never carried on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from karte.files.storage import Storage, is_sha256
from karte.problems import counted
from karte.store.dump import DumpError

FOLDER = "files"
Echo = Callable[[str], Any]


def copier(storage: Storage, echo: Echo = lambda _: None
           ) -> Callable[[Path, set[str]], list[dict[str, Any]]]:
    """The dump's step: copy each referenced file into `<folder>/files/<sha256>`; the
    manifest's entries ({"sha256", "size"}). A file the storage does not hold is a
    warning (the rows still name it) and not listed."""
    def copy(folder: Path, referenced: set[str]) -> list[dict[str, Any]]:
        target = folder / FOLDER
        target.mkdir()
        entries = []
        for sha in sorted(referenced):
            size = _copy_out(storage, sha, target / sha)
            if size is None:
                echo(f"warning: file {sha} is referenced but not in the storage: not dumped")
            else:
                entries.append({"sha256": sha, "size": size})
        echo(f"files: {_summary(entries)}")
        return entries
    return copy


def _copy_out(storage: Storage, sha: str, path: Path) -> int | None:
    try:
        chunks = storage.read(sha)
    except KeyError:
        return None
    digest, size = hashlib.sha256(), 0
    with path.open("wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if digest.hexdigest() != sha:
        raise DumpError(f"the stored file {sha} does not hold the content of that sha256 "
                        f"(it reads as {digest.hexdigest()}): the storage is damaged; "
                        "restore that file from a backup and dump again")
    return size


def putter(storage: Storage, echo: Echo = lambda _: None
           ) -> Callable[[Path, dict[str, Any]], None]:
    """The load's step: every file the manifest lists, checked to be in the dump at its
    size, then put into the storage and checked against its sha256."""
    def put(folder: Path, manifest: dict[str, Any]) -> None:
        entries = list(_entries(folder, manifest.get("files") or []))
        for entry, path in entries:
            with path.open("rb") as source:
                stored = storage.put(source)
            if (stored.sha256, stored.size) != (entry["sha256"], entry["size"]):
                raise DumpError(f"{path}: altered since the dump (its sha256 or size differs "
                                "from the manifest); use an intact copy")
        echo(f"files: {_summary(entry for entry, _path in entries)}")
    return put


def _entries(folder: Path, listed: Any) -> Iterable[tuple[dict[str, Any], Path]]:
    """The manifest's file entries with their paths, all checked before any is put."""
    if not isinstance(listed, list):
        raise DumpError(f"{folder / 'manifest.json'}: \"files\" is not a list")
    found = []
    for entry in listed:
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(sha, str) or not is_sha256(sha) or type(entry.get("size")) is not int:
            raise DumpError(f"{folder / 'manifest.json'}: the file entry {entry!r} is not "
                            "a sha256 with a size")
        path = folder / FOLDER / sha
        if not path.is_file() or path.stat().st_size != entry["size"]:
            raise DumpError(f"{path}: missing or of another size than the manifest says; "
                            "the dump is incomplete")
        found.append((entry, path))
    return found


def _summary(entries: Iterable[dict[str, Any]]) -> str:
    listed = list(entries)
    return f"{counted(len(listed), 'file')}, {counted(sum(e['size'] for e in listed), 'byte')}"
