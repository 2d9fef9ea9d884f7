"""`karte_schema_history`: every applied migration and every definition change.

Each row keeps the definitions it applied twice over: `entities` (per field the type and
the options that shape storage — what the next comparison needs) and `raw` (the merged
pack, entity and workflow files as read — what a person wants to see). `karte history
--show N` prints the difference between a row's `raw` and the row before it, so a stage
added, a field made required or a rule changed leave a readable trace.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.fields import BIGINT, JSON, UTCDateTime
from karte.meta.model import Field, Pack

HISTORY = "karte_schema_history"
FIELD_KEYS = ("required", "unique", "index", "max_length", "precision", "scale", "currency",
              "to", "of", "renamed_from", "workflow")
HISTORY_ROWS = sa.table(
    HISTORY, sa.column("id", BIGINT), sa.column("applied_at", UTCDateTime()),
    sa.column("pack", sa.String()), sa.column("summary", sa.Text()),
    sa.column("operations", JSON), sa.column("definitions", JSON))
KEYED_LISTS = ("stages", "options")   # lists whose items are told apart by their "key"


@dataclass(frozen=True)
class HistoryEntry:
    """One applied migration or definition change, as `karte history` shows it."""

    id: int
    applied_at: dt.datetime
    pack: str
    summary: str
    operations: list[dict[str, Any]]
    definitions: dict[str, Any]


def _field_definition(field: Field, kept: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {"type": field.type}
    found.update({k: getattr(field, k) for k in FIELD_KEYS if getattr(field, k) not in
                  (None, False)})
    if field.type == "link":
        found["on_delete"] = field.on_delete
    if field.options or kept:
        found["options"] = [*field.option_keys, *sorted(kept - set(field.option_keys))]
    return found


def describe(pack: Pack, kept: Mapping[tuple[str, str], set[str]] | None = None
             ) -> dict[str, Any]:
    """The definitions a migration applied: per entity its table and fields (type and the
    options that shape storage and rules), and the raw definitions. `kept` adds option
    keys still stored in rows (a retirement waiting for `--apply`), so the next run looks
    for them again."""
    kept = kept or {}
    return {"pack": pack.name, "entities": {
        e.name: {"table": e.table_name,
                 "fields": {f.name: _field_definition(f, kept.get((e.table_name, f.name),
                                                                  set()))
                            for f in e.fields.values()}}
        for e in pack.entities.values()}, "raw": _plain(pack.definitions)}


def _plain(value: Any) -> Any:
    """Read-only mappings (the Registry's) as plain JSON."""
    return json.loads(json.dumps(value, default=dict))


def record(conn: sa.Connection, pack: Pack, summary: str, operations: list[dict[str, Any]],
           definitions: dict[str, Any]) -> None:
    conn.execute(HISTORY_ROWS.insert().values(
        applied_at=dt.datetime.now(dt.UTC), pack=pack.name, summary=summary,
        operations=operations, definitions=definitions))


def last_definitions(conn: sa.Connection) -> dict[str, Any] | None:
    """The definitions of the newest history row, None before the first migration."""
    if not sa.inspect(conn).has_table(HISTORY):
        return None
    query = (sa.select(HISTORY_ROWS.c.definitions).order_by(HISTORY_ROWS.c.id.desc())
             .limit(1))
    return conn.execute(query).scalar_one_or_none()


def recorded_options(last: dict[str, Any] | None, entity: str, field: str) -> set[str] | None:
    """The option keys the last applied definitions had for a field (None: unknown)."""
    found = ((last or {}).get("entities", {}).get(entity, {}).get("fields", {}).get(field))
    return None if found is None else set(found.get("options", ()))


def history(engine: sa.Engine) -> list[HistoryEntry]:
    """Applied migrations, oldest first (none before the first migration)."""
    if not sa.inspect(engine).has_table(HISTORY):
        return []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(HISTORY_ROWS).order_by(HISTORY_ROWS.c.id)).mappings()
        return [HistoryEntry(**row) for row in rows]


# -- what changed between two sets of definitions -----------------------------------------

def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of options or stages by key (plain string options are their own key)."""
    keys = [i if isinstance(i, str) else i.get("key") if isinstance(i, dict) else None
            for i in items]
    named = [key for key in keys if key is not None]
    if len(named) < len(keys) or len(set(named)) != len(named):
        return None
    return dict(zip(named, items, strict=True))


def _diff(old: Any, new: Any, where: str) -> Iterator[str]:
    if old == new:
        return
    if isinstance(old, list) and isinstance(new, list) and where.rsplit("/", 1)[-1] in \
            KEYED_LISTS and (a := _keyed(old)) is not None and (b := _keyed(new)) is not None:
        old, new = a, b
        if list(a) != [k for k in b if k in a] and set(a) == set(b):
            yield f"~ {where}: order {', '.join(a)} → {', '.join(b)}"
    if not isinstance(old, dict) or not isinstance(new, dict):
        yield f"~ {where}: {_show(old)} → {_show(new)}"
        return
    for key in old.keys() - new.keys():
        yield f"- {where}/{key}: {_show(old[key])}"
    for key in new:
        if key not in old:
            yield f"+ {where}/{key}: {_show(new[key])}"
        else:
            yield from _diff(old[key], new[key], f"{where}/{key}")


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """One line per difference ("+ added", "- removed", "~ changed"), by JSON path such
    as `workflows/deal_pipeline/stages/won/requires`; stages and options by key."""
    if old is None:
        return []
    return sorted(_diff(old, new, ""), key=lambda line: line[2:])


def changed_files(lines: list[str]) -> list[str]:
    """`entity deal`, `workflow deal_pipeline`, `pack` — what the lines are about."""
    kinds = {"entities": "entity", "workflows": "workflow", "pack": "pack"}
    found = []
    for line in lines:
        parts = line[2:].split(":", 1)[0].strip("/").split("/")
        name = kinds.get(parts[0], parts[0]) + (f" {parts[1]}" if parts[0] != "pack"
                                                and len(parts) > 1 else "")
        if name not in found:
            found.append(name)
    return found
