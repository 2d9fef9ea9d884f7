"""Documents known to pass their JSON Schema, remembered between starts.

Checking a document against its JSON Schema takes milliseconds (a 30-field entity about
6 ms), so a 200-entity pack spent most of its start there, every start, on the same
files. Whether a document passes depends only on the document, its kind, the schema files
and the jsonschema library; so a start (`create_app`) keeps, in a file of the instance
folder, the sha256 of every document that passed, under a name made from a hash of the
schema files and the library's version. A document found there is not checked again; any
change to it, to a schema file or to the library misses, and it is checked in full.
A document with problems is never remembered, so its problems are always reported in full.
`karte check` does not use the file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

from karte.meta.raw import Doc

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
LIBRARIES = ("jsonschema", "referencing", "jsonschema-specifications")


@functools.cache
def _schemas_key() -> str:
    digest = hashlib.sha256()
    for path in sorted(SCHEMAS.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for library in LIBRARIES:
        with contextlib.suppress(Exception):
            digest.update(f"{library} {version(library)}\0".encode())
    return digest.hexdigest()[:20]


def doc_key(doc: Doc) -> str:
    text = json.dumps([doc.kind, doc.data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class KnownValid:
    """The remembered hashes in `folder` (none when `folder` is None)."""

    def __init__(self, folder: Path | None):
        self.path = folder / f"schema-valid-{_schemas_key()}.json" if folder else None
        self.known: set[str] = set()
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError, TypeError):
                self.known = set(json.loads(self.path.read_text(encoding="utf-8")))

    def __contains__(self, key: str) -> bool:
        return key in self.known

    def keep(self, keys: Iterable[str]) -> None:
        """Remember exactly `keys` (the documents of this pack that pass), when they
        differ from what the file holds; written whole, then renamed into place."""
        wanted = set(keys)
        if self.path is None or wanted == self.known:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            draft = self.path.with_name(f"{self.path.name}.{os.getpid()}")
            draft.write_text(json.dumps(sorted(wanted)), encoding="utf-8")
            os.replace(draft, self.path)
            self.known = wanted
