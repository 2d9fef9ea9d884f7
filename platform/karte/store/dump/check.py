"""What `karte load` checks before it touches a database: the manifest, every file's
checksum and row count, and whether the dump's definitions are this pack's — with, when
they are not, the plan of what will not load (docs/dump.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from karte.meta.model import Pack
from karte.store.dump.format import (
    DERIVED,
    FORMAT,
    FORMAT_VERSION,
    HISTORY,
    MANIFEST,
    SKIPPED,
    DumpError,
    pack_fingerprint,
)
from karte.store.tables import metadata_for


@dataclass
class LoadPlan:
    """What a load does with a dump: same pack, or what differs from this pack's tables."""

    same_pack: bool
    dump_pack: str
    unknown_tables: list[str] = field(default_factory=list)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_tables: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        if self.same_pack:
            return []
        lines = [f"The dump was made with pack {self.dump_pack!r} and other definitions:"]
        lines += [f"  table {name}: not in this pack, will not load"
                  for name in self.unknown_tables]
        lines += [f"  {table}.{column}: not in this pack, will not load"
                  for table, columns in self.dropped_columns.items() for column in columns]
        lines += [f"  {table}.{column}: not in the dump, stays empty"
                  for table, columns in self.missing_columns.items() for column in columns]
        lines += [f"  table {name}: not in the dump, stays empty"
                  for name in self.missing_tables]
        lines.append(f"  {HISTORY}: this database's own history is kept (the dump's "
                     "describes other definitions)")
        return lines


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise DumpError(f"{path}: no manifest; is {folder} a folder `karte dump` wrote?")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DumpError(f"{path}: not valid JSON ({error})") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise DumpError(f"{path}: not a {FORMAT} version {FORMAT_VERSION} manifest "
                        f"(format {manifest.get('format')!r}, "
                        f"version {manifest.get('format_version')!r})")
    return manifest


def verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file of the manifest is there with its checksum and row count."""
    for entry in manifest["tables"]:
        path = folder / entry["file"]
        if Path(entry["file"]).name != entry["file"]:
            raise DumpError(f"{MANIFEST}: file name {entry['file']!r} is not a plain name")
        if not path.is_file():
            raise DumpError(f"{path}: missing (the manifest lists it); the dump is "
                            "incomplete")
        digest, lines = hashlib.sha256(), 0
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                digest.update(chunk)
                lines += chunk.count(b"\n")
        if digest.hexdigest() != entry["sha256"] or lines != entry["rows"]:
            raise DumpError(f"{path}: altered since the dump (its checksum or row count "
                            "differs from the manifest); use an intact copy")


def plan(manifest: dict[str, Any], pack: Pack) -> LoadPlan:
    """What of the dump this pack's tables take."""
    metadata = metadata_for(pack)
    dumped = manifest["pack"]
    found = LoadPlan(same_pack=dumped["fingerprint"] == pack_fingerprint(pack),
                     dump_pack=dumped["name"])
    names = set()
    for entry in manifest["tables"]:
        names.add(entry["name"])
        table = metadata.tables.get(entry["name"])
        if table is None:
            found.unknown_tables.append(entry["name"])
            continue
        dropped = [c for c in entry["columns"] if c not in table.c]
        missing = [c.name for c in table.columns if c.name not in entry["columns"]]
        if dropped:
            found.dropped_columns[table.name] = dropped
        if missing:
            found.missing_columns[table.name] = missing
    found.missing_tables = [t.name for t in metadata.sorted_tables
                            if t.name not in names and t.name not in SKIPPED
                            and t.name not in DERIVED]
    return found


def check(folder: Path, pack: Pack, *, force: bool) -> tuple[dict[str, Any], LoadPlan]:
    """The manifest and the plan, after every check that needs no database."""
    manifest = read_manifest(folder)
    verify(folder, manifest)
    found = plan(manifest, pack)
    if not found.same_pack and not force:
        raise DumpError(
            f"the dump was made with pack {found.dump_pack!r} whose definitions differ from "
            f"this pack {pack.name!r} (fingerprint {manifest['pack']['fingerprint'][:12]} ≠ "
            f"{pack_fingerprint(pack)[:12]}): load with the pack it was made with, or pass "
            "--force to see what will not load and load anyway")
    return manifest, found
