"""File changes in words: what an audit row of a file field says, per file.

The audit row of an upload or a removal keeps the field's whole list of file references
before and after (`[old, new]`, as for any field); that is what keeps a removed file's
bytes from being pruned. A timeline or history says it per file instead: "Uploaded
契約書.pdf", "Removed photo.jpg" — `changed` finds which, by the references' ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from karte.fields import SHA256

Refs = list[dict[str, Any]]


def shas(value: Any) -> Iterator[str]:
    """The sha256 of every file reference anywhere in a JSON value (a file field's list,
    an audit row's changes): what a prune keeps and a dump carries."""
    if isinstance(value, dict):
        sha = value.get("sha256")
        if isinstance(sha, str) and SHA256.fullmatch(sha):
            yield sha
        for item in value.values():
            if isinstance(item, dict | list):
                yield from shas(item)
    elif isinstance(value, list):
        for item in value:
            yield from shas(item)


def _refs(value: Any) -> Refs:
    """The file references in an audit value (anything else is no file)."""
    if not isinstance(value, list):
        return []
    return [ref for ref in value if isinstance(ref, dict) and "id" in ref]


def changed(old: Any, new: Any) -> dict[str, Refs]:
    """{"added": [...], "removed": [...]}: the references `new` has that `old` had not,
    and the other way round, each in its list's order."""
    before, after = _refs(old), _refs(new)
    had, has = {ref["id"] for ref in before}, {ref["id"] for ref in after}
    return {"added": [ref for ref in after if ref["id"] not in had],
            "removed": [ref for ref in before if ref["id"] not in has]}
