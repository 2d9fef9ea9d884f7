"""Read a pack folder (and the packs it extends) into raw documents with provenance.

`load_pack` is the one entry point: read → merge overlays (SPEC §7) → JSON Schema → build
the Registry → semantic checks, collecting every problem on the way. It raises
`ProblemsError` carrying all of them, or returns the frozen `Pack`.

Provenance: every document keeps the pack-relative file it came from. A document merged
from a base and an overlay also keeps `origins`, the JSON pointers whose data came from
another file, so a problem found in merged data names the file a person has to edit.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from karte.meta.build import build_pack
from karte.meta.folders import stray_files
from karte.meta.model import Pack
from karte.meta.raw import Doc, RawPack
from karte.meta.validate import check_meaning, check_schemas, is_warning
from karte.problems import Problem, ProblemsError, at, did_you_mean, pointer

KINDS = {"entity_defs": "entity", "workflows": "workflow", "dashboards": "dashboard"}
NOT_INHERITED = ("name", "extends", "$schema")   # pack.json keys a client never inherits


def read_json(path: Path, label: str) -> tuple[Any, list[Problem]]:
    """Parse one JSON file; a syntax error becomes a problem with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [at(label, "", f"not UTF-8 text ({error.reason} at byte {error.start})",
                         "DEF002")]
    except OSError as error:
        return None, [at(label, "", f"cannot read the file: {error.strerror}", "DEF002")]
    try:
        return json.loads(text, parse_constant=_no_constant), []
    except json.JSONDecodeError as error:
        return None, [at(label, "", f"invalid JSON at line {error.lineno}, column "
                                    f"{error.colno}: {error.msg}", "DEF001")]
    except ValueError as error:           # NaN, Infinity, integers of thousands of digits
        return None, [at(label, "", f"invalid JSON: {error}", "DEF001")]
    except RecursionError:
        return None, [at(label, "", "invalid JSON: nested too deeply", "DEF001")]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _read_folder(root: Path, folder: str) -> tuple[dict[str, Doc], list[Problem]]:
    docs: dict[str, Doc] = {}
    problems: list[Problem] = []
    for path in sorted((root / folder).glob("*.json")):
        label = f"{folder}/{path.name}"
        data, found = read_json(path, label)
        problems += found
        if not found:
            if isinstance(data, dict):
                data.setdefault("name", path.stem)   # a definition's name is its file stem
            docs[path.stem] = Doc(data, label, KINDS[folder])
    return docs, problems


def read_pack(root: Path) -> tuple[RawPack, list[Problem]]:
    """The raw documents of one pack folder (no overlay merging)."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        return RawPack(root, Doc({}, "pack.json", "pack")), [
            Problem(str(root), "pack folder not found; set KARTE_PACK or --pack to a folder "
                               "holding entity_defs/", "DEF000")]
    pack_data: Any = {}
    if (root / "pack.json").exists():
        pack_data, problems = read_json(root / "pack.json", "pack.json")
    raw = RawPack(root, Doc(pack_data if pack_data is not None else {}, "pack.json", "pack"))
    if pack_data is not None and (root / "pack.json").exists():
        raw.files.append(raw.pack)
    raw.entities, found = _read_folder(root, "entity_defs")
    problems += found
    raw.workflows, found = _read_folder(root, "workflows")
    problems += found
    raw.dashboards, found = _read_folder(root, "dashboards")
    problems += found
    raw.files += [*raw.entities.values(), *raw.workflows.values(), *raw.dashboards.values()]
    if (root / "templates").is_dir():
        raw.template_dirs.append(root / "templates")
    return raw, problems + stray_files(root)


# -- overlays (SPEC §7) -------------------------------------------------------------------

def read_layers(root: Path | str) -> tuple[RawPack, list[Problem]]:
    """The documents of a pack with every pack it extends merged in, and the problems."""
    return _layered(Path(root), ())


def _layered(root: Path, chain: tuple[Path, ...]) -> tuple[RawPack, list[Problem]]:
    raw, problems = read_pack(root)
    ref = raw.pack.data.get("extends") if isinstance(raw.pack.data, dict) else None
    if not isinstance(ref, str) or not ref:
        return raw, problems + _orphan_patches(raw, "this pack extends no base pack "
                                                    '(set "extends" in pack.json)')
    base_root = Path(os.path.normpath(root / ref))
    seen = (*chain, root.resolve())
    if base_root.resolve() in seen:
        loop = " → ".join(path.name or str(path) for path in (*seen, base_root.resolve()))
        found = [at("pack.json", "/extends", f"packs extend each other in a cycle: {loop}",
                    "DEF004")]
    elif not base_root.is_dir():
        found = [at("pack.json", "/extends", f'base pack "{ref}" not found (looked for the '
                                             f"folder {base_root.resolve()})", "DEF003")]
    else:
        base, found = _layered(base_root, seen)
        return _merge(_relabel(base, base_root, root), raw, problems +
                      _relabel_problems(found, base_root, root))
    return raw, problems + found + _orphan_patches(raw, "the base pack could not be read")


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _relabeller(base_root: Path, root: Path) -> Callable[[str], str]:
    def relabel(label: str) -> str:
        moved = posixpath.normpath(_relative(Path(os.path.normpath(base_root / label)), root))
        return moved + "/" if label.endswith("/") else moved     # a folder stays a folder
    return relabel


def _relabel(base: RawPack, base_root: Path, root: Path) -> RawPack:
    """Name the base pack's files relative to the client pack (e.g. ../standard/...)."""
    relabel = _relabeller(base_root, root)
    unique = {id(doc): doc for doc in (*base.files, *base.documents())}
    for doc in unique.values():
        doc.file = relabel(doc.file)
        doc.origins = {ptr: relabel(file) for ptr, file in doc.origins.items()}
    return base


def _relabel_problems(problems: list[Problem], base_root: Path, root: Path) -> list[Problem]:
    relabel = _relabeller(base_root, root)
    moved = []
    for problem in problems:
        file, sep, rest = problem.where.partition(": ")
        located = sep or file.endswith("/")           # a file, or a folder (DEF007)
        moved.append(replace(problem, where=relabel(file) + sep + rest) if located
                     else problem)
    return moved


def _orphan_patches(raw: RawPack, reason: str) -> list[Problem]:
    """Overlays with nothing under them: entity patches, and dashboard removals (which
    leave the pack, so nothing is built from them)."""
    removals = [name for name, doc in raw.dashboards.items() if _is_removal(doc)]
    for name in removals:
        del raw.dashboards[name]
    return [*(at(doc.file, "/extends", f'"extends": true, but {reason}', "DEF005")
              for doc in raw.entities.values() if _is_patch(doc)),
            *(at(f"dashboards/{name}.json", "/remove", f'"remove": true, but {reason}',
                 "DSH021") for name in removals)]


def _is_patch(doc: Doc) -> bool:
    return isinstance(doc.data, dict) and doc.data.get("extends") is True


def _is_removal(doc: Doc) -> bool:
    return isinstance(doc.data, dict) and doc.data.get("remove") is True


def _merge(base: RawPack, client: RawPack, problems: list[Problem]) -> tuple[RawPack,
                                                                             list[Problem]]:
    merged = RawPack(client.root, _merge_pack(base.pack, client.pack),
                     entities=dict(base.entities),
                     workflows={**base.workflows, **client.workflows},
                     template_dirs=client.template_dirs + base.template_dirs,
                     files=base.files + client.files)
    for name, doc in client.entities.items():
        if not _is_patch(doc):
            merged.entities[name] = doc
        elif name in base.entities:
            merged.entities[name], found = patch_entity(base.entities[name], doc)
            problems = problems + found
        else:
            problems = problems + [at(doc.file, "/extends", f'"extends": true, but the base '
                                   f'pack has no entity "{name}"'
                                   f"{did_you_mean(name, base.entities)}", "DEF005")]
            merged.entities[name] = doc
    merged.dashboards, found = _merge_dashboards(base.dashboards, client.dashboards)
    return merged, problems + found


def _merge_dashboards(base: dict[str, Doc], client: dict[str, Doc]
                      ) -> tuple[dict[str, Doc], list[Problem]]:
    """The base's dashboards in their order, a client file of the same name in its place,
    a client `{"remove": true}` taking it out, then the client's new ones."""
    merged, problems = dict(base), []
    for name, doc in client.items():
        if not _is_removal(doc):
            merged[name] = doc
        elif merged.pop(name, None) is None:
            problems.append(at(doc.file, "/remove", f'"remove": true, but the base pack has '
                               f'no dashboard "{name}"{did_you_mean(name, base)}', "DSH021"))
    return merged, problems


def _take(base: Doc, where: str) -> dict[str, str]:
    """Origins of the base data under pointer `where`, to carry into a merged document."""
    taken = {where: base.source_of(where)}
    taken.update({ptr: file for ptr, file in base.origins.items()
                  if ptr.startswith(where + "/")})
    return taken


def _claim(origins: dict[str, str], where: str, file: str) -> None:
    """Record that the data under `where` now comes from `file`."""
    for ptr in [p for p in origins if p.startswith(where + "/")]:
        del origins[ptr]
    origins[where] = file


def _merge_pack(base: Doc, client: Doc) -> Doc:
    if not isinstance(base.data, dict) or not isinstance(client.data, dict):
        return client
    data = {key: value for key, value in base.data.items() if key not in NOT_INHERITED}
    origins: dict[str, str] = {}
    for key in data:
        origins.update(_take(base, pointer(key)))
    for key, value in client.data.items():
        data[key] = value
        _claim(origins, pointer(key), client.file)
    base_roles, client_roles = base.data.get("roles"), client.data.get("roles")
    if isinstance(base_roles, dict) and isinstance(client_roles, dict):
        data["roles"] = {**base_roles, **client_roles}
        for role in base_roles.keys() - client_roles.keys():
            origins.update(_take(base, pointer("roles", role)))
    return Doc(data, client.file, "pack", origins)


def patch_entity(base: Doc, patch: Doc) -> tuple[Doc, list[Problem]]:
    """The base entity with an `"extends": true` overlay applied (SPEC §7)."""
    if not isinstance(base.data, dict) or not isinstance(patch.data, dict):
        return patch, []
    data = {key: value for key, value in base.data.items() if key != "extends"}
    origins: dict[str, str] = {}
    for key in data:
        origins.update(_take(base, pointer(key)))
    for key, value in patch.data.items():
        if key == "fields" and isinstance(data.get("fields"), dict) and isinstance(value, dict):
            data["fields"] = _merge_fields(data["fields"], value, origins, patch.file)
        elif key == "remove" and isinstance(data.get("remove"), list) and isinstance(value,
                                                                                     list):
            start = len(data["remove"])
            data["remove"] = data["remove"] + value
            for index in range(len(value)):
                _claim(origins, pointer("remove", start + index), patch.file)
        elif key != "extends":
            data[key] = value
            _claim(origins, pointer(key), patch.file)
    problems = _remove_fields(data, base.data.get("fields"), patch, set(patch.data))
    return Doc(data, patch.file, "entity", origins), problems


def _merge_fields(fields: dict[str, Any], patch: dict[str, Any], origins: dict[str, str],
                  file: str) -> dict[str, Any]:
    fields = dict(fields)
    for name, keys in patch.items():
        if isinstance(fields.get(name), dict) and isinstance(keys, dict):
            fields[name] = {**fields[name], **keys}
            for key in keys:
                _claim(origins, pointer("fields", name, key), file)
        else:
            fields[name] = keys
            _claim(origins, pointer("fields", name), file)
    return fields


def _remove_fields(data: dict[str, Any], base_fields: Any, patch: Doc,
                   patched: set[str]) -> list[Problem]:
    """Hide the fields the overlay removes, and drop them from base lists and cards."""
    removal = patch.data.get("remove")
    if not isinstance(removal, list) or not isinstance(data.get("fields"), dict):
        return []
    base_fields = base_fields if isinstance(base_fields, dict) else {}
    problems, gone = [], set()
    for index, name in enumerate(removal):
        if isinstance(name, str) and name in base_fields:
            data["fields"].pop(name, None)
            gone.add(name)
        elif isinstance(name, str):
            problems.append(at(patch.file, pointer("remove", index),
                               f'the base entity has no field "{name}" to remove'
                               f"{did_you_mean(name, base_fields)}", "DEF006"))
    _prune(data, gone, patched)
    return problems


def _without(names: Any, gone: set[str]) -> Any:
    return [n for n in names if n not in gone] if isinstance(names, list) else names


def _prune(data: dict[str, Any], gone: set[str], patched: set[str]) -> None:
    """Removed fields leave the base's list, card, duplicate rules and unique combinations
    (not the overlay's)."""
    if not gone:
        return
    if "list" not in patched and isinstance(data.get("list"), dict):
        data["list"] = {key: _without(value, gone) for key, value in data["list"].items()
                        if not (key == "sort" and isinstance(value, str)
                                and value.lstrip("-") in gone)}
    card = data.get("card")
    if "card" not in patched and isinstance(card, dict) and isinstance(card.get("sections"),
                                                                       list):
        data["card"] = {**card, "sections": [
            {**s, "fields": _without(s.get("fields"), gone)} if isinstance(s, dict) else s
            for s in card["sections"]]}
    if "duplicates" not in patched and isinstance(data.get("duplicates"), list):
        data["duplicates"] = [rule for rule in data["duplicates"] if not (
            isinstance(rule, dict) and gone & set(_strings(rule.get("fields"))))]
    if "unique" not in patched and isinstance(data.get("unique"), list):
        data["unique"] = [names for names in data["unique"] if not gone & set(_strings(names))]
    if "title_field" not in patched and data.get("title_field") in gone:
        del data["title_field"]


def _strings(items: Any) -> Iterable[str]:
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


# -- the one entry point ------------------------------------------------------------------

def relocate(raw: RawPack, problems: Iterable[Problem]) -> list[Problem]:
    """Point each problem at the file its data came from; drop repeats, keep order."""
    merged = {doc.file: doc for doc in raw.documents() if doc.origins}
    seen: dict[tuple[str, str, str], Problem] = {}
    for problem in problems:
        file, sep, where = problem.where.partition(": ")
        doc = merged.get(file) if sep else None
        if doc is not None:
            source = doc.source_of("" if where == "/" else where)
            problem = replace(problem, where=f"{source}: {where}")
        seen.setdefault((problem.where, problem.message, problem.code), problem)
    return list(seen.values())


def _buildable(raw: RawPack, broken: set[str]) -> RawPack:
    """The documents build_pack may read: schema-valid, and not an unmerged patch."""
    def keep(docs: dict[str, Doc]) -> dict[str, Doc]:
        return {name: doc for name, doc in docs.items()
                if doc.file not in broken and not _is_patch(doc)}
    pack = raw.pack if raw.pack.file not in broken else Doc({}, raw.pack.file, "pack")
    return replace(raw, pack=pack, entities=keep(raw.entities), workflows=keep(raw.workflows),
                   dashboards=keep(raw.dashboards))


def check_pack(root: Path | str, known_valid: Path | None = None, *,
               max_upload_mb: int | None = None) -> tuple[Pack | None, list[Problem]]:
    """Every problem of a pack, and the Registry when there are none but warnings (a
    warning, e.g. DEF099, is reported and the pack still loads). `known_valid`: a folder
    remembering the documents that passed their JSON Schema (validate/known_valid.py);
    `max_upload_mb`: the instance's upload limit, which file fields' max_mb must not pass."""

    raw, problems = read_layers(root)
    if not raw.root.is_dir():
        return None, problems
    invalid = check_schemas(raw, known_valid)
    broken = {problem.where.partition(": ")[0] for problem in invalid}
    pack, found = build_pack(_buildable(raw, broken))
    meaning = check_meaning(raw, pack, max_upload_mb)
    problems = relocate(raw, [*problems, *invalid, *found, *meaning])
    if any(not is_warning(problem) for problem in problems):
        return None, problems
    return pack, problems


def load_pack(root: Path | str, known_valid: Path | None = None) -> Pack:
    """The validated Registry of the pack at `root`; raises ProblemsError listing all."""
    pack, problems = check_pack(root, known_valid)
    if pack is None:                 # there are errors exactly when there is no pack
        raise ProblemsError(problems)
    return pack
