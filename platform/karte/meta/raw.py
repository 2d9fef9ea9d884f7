"""Definitions as read, before they are checked: a file's data with its provenance.

`load` makes these, `validate` checks them and `build` turns them into the Registry; all
three import them from here, so the import graph inside `meta` has no circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Doc:
    """One definition as read: its data and the pack-relative file it came from."""

    data: Any
    file: str
    kind: str = ""                      # "pack" | "entity" | "workflow" | "dashboard"
    origins: dict[str, str] = field(default_factory=dict)   # pointer → file, when merged

    def source_of(self, where: str) -> str:
        """The file the data at JSON pointer `where` came from."""
        parts = where.split("/")
        for end in range(len(parts), 1, -1):
            found = self.origins.get("/".join(parts[:end]))
            if found is not None:
                return found
        return self.file


@dataclass
class RawPack:
    root: Path
    pack: Doc
    entities: dict[str, Doc] = field(default_factory=dict)
    workflows: dict[str, Doc] = field(default_factory=dict)
    template_dirs: list[Path] = field(default_factory=list)
    files: list[Doc] = field(default_factory=list)    # every file read, base packs too
    dashboards: dict[str, Doc] = field(default_factory=dict)   # overlays applied, removals gone

    def documents(self) -> list[Doc]:
        """The documents the Registry is built from (merged where overlaid)."""
        return [self.pack, *self.entities.values(), *self.workflows.values(),
                *self.dashboards.values()]
