"""Files of a pack folder that Karte would not read (SPEC §1): reported, never ignored.

Karte reads `pack.json` and the definition files directly inside `entity_defs/`,
`workflows/`, `dashboards/` and `automations/`; `templates/` holds Jinja templates. Three
mistakes would otherwise make a definition silently vanish:

- a folder whose name is close to a known one (`dashbords/`, `workflow/`) — DEF007;
- a JSON file nested in a definition folder (`entity_defs/old/deal.json`) — DEF008;
- a definition at the top of the pack or in `templates/` (a stray `deal.json`, a
  `Pack.json`), recognised by its content — DEF008.

Any other folder (code, docs, tests, node_modules…) and any other JSON file (package.json)
is the pack's own business and is left alone: the repository root is itself a pack.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from karte.problems import Problem, at

DEFINITION_FOLDERS = {"entity_defs": "entity", "workflows": "workflow",
                      "dashboards": "dashboard", "automations": "automation"}
KNOWN_FOLDERS = (*DEFINITION_FOLDERS, "templates")
MARKERS = {"fields": "entity_defs", "stages": "workflows", "widgets": "dashboards",
           "do": "automations"}
"""A top-level key only one kind of definition has, and the folder that kind lives in."""
PACK_MARKERS = frozenset({"roles", "locale", "country", "currency", "timezone", "nav"})
"""Keys of pack.json that other tools' files (package.json, tsconfig.json) do not use."""
SCHEMA_HOMES = {f"{kind}.schema.json": folder for folder, kind in DEFINITION_FOLDERS.items()}
CLOSE = 0.8
"""How alike a folder name must be to a known one to be a misspelling (difflib's ratio):
`workflow`, `dashbords` and `entity-defs` are; `examples` and `migrations` are not."""
SNIFF_LIMIT = 1_000_000     # bytes; a larger JSON file is data, not a definition


def stray_files(root: Path) -> list[Problem]:
    """Every misspelt folder and misplaced definition file of the pack at `root`."""
    problems = [*_misspelt_folders(root), *_top_level(root)]
    for folder in DEFINITION_FOLDERS:
        problems += _nested(root, folder)
    problems += _in_templates(root)
    return problems


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


def _close(name: str, known: tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(name.lower(), known, n=1, cutoff=CLOSE)
    return found[0] if found else None


def _misspelt_folders(root: Path) -> Iterator[Problem]:
    for path in sorted(root.iterdir()):
        if not path.is_dir() or not _visible(path) or path.name in KNOWN_FOLDERS:
            continue
        meant = _close(path.name, KNOWN_FOLDERS)
        if meant is not None:
            yield Problem(f"{path.name}/", f'not a pack folder, so its files are not read '
                                           f'(did you mean "{meant}/"?)', "DEF007")


def _top_level(root: Path) -> Iterator[Problem]:
    for path in sorted(root.glob("*.json")):
        if not _visible(path) or not path.is_file() or _is_pack_file(path, root):
            continue
        home = _home(path)
        if home is not None:
            yield at(path.name, "", f"this looks like a definition, but only pack.json is "
                                    f'read at the top of a pack (did you mean "{home}"?)',
                     "DEF008")


def _is_pack_file(path: Path, root: Path) -> bool:
    """`Pack.json` is pack.json itself on a case-insensitive file system."""
    pack = root / "pack.json"
    return pack.is_file() and path.samefile(pack)


def _nested(root: Path, folder: str) -> Iterator[Problem]:
    base = root / folder
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.json")):
        if path.parent != base and path.is_file() and _visible(path):
            label = path.relative_to(root).as_posix()
            yield at(label, "", f"not read: definition files sit directly in {folder}/, "
                                f'not in a folder inside it (did you mean '
                                f'"{folder}/{path.name}"?)', "DEF008")


def _in_templates(root: Path) -> Iterator[Problem]:
    base = root / "templates"
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.json")):
        home = _home(path) if path.is_file() else None
        if home is not None:
            label = path.relative_to(root).as_posix()
            yield at(label, "", "this looks like a definition, but templates/ holds Jinja "
                                f'templates and is not read for definitions (did you mean '
                                f'"{home}"?)', "DEF008")


def _home(path: Path) -> str | None:
    """Where the definition in `path` belongs (`entity_defs/deal.json`, `pack.json`), or
    None when the file does not look like a Karte definition."""
    data = _sniff(path)
    if not isinstance(data, dict):
        return None
    schema = data.get("$schema")
    name = schema.rsplit("/", 1)[-1] if isinstance(schema, str) else ""
    if name == "pack.schema.json" or (PACK_MARKERS & data.keys()
                                      and _close(path.name, ("pack.json",))):
        return "pack.json"
    folder = SCHEMA_HOMES.get(name) or next(
        (home for key, home in MARKERS.items() if key in data), None)
    return f"{folder}/{path.name}" if folder is not None else None


def _sniff(path: Path) -> Any:
    """The file's JSON, or None when it is too large, unreadable or not JSON."""
    try:
        if path.stat().st_size > SNIFF_LIMIT:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
