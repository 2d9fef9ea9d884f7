"""Merge and duplicate groups as the records service offers them (`Records.merge`,
`Records.merge_preview`, `Records.duplicate_groups`, `Records.merged_into`).

A merge is one transaction: rights first (the actor updates both records and deletes the
one merged away: `check`), then both versions (a record changed since the form was read
is a Conflict and nothing is written), then the references re-pointed
(`store.records.merge`), the other record soft-deleted through `Records.delete` (its
`on_delete` rules find nothing left to cascade), the survivor updated through
`Records.update` with the values taken from the other (validation, unique checks, audit,
rollups, board counters), and the merge recorded in both histories.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store import field_rights
from karte.store.actor import Actor, actor_id
from karte.store.errors import InvalidQuery, Refused
from karte.store.permissions import read_for
from karte.store.records import duplicate_groups as dup
from karte.store.records import merge as merging
from karte.store.records.store import Store

if TYPE_CHECKING:
    from karte.store.records.service import Records

Record = dict[str, Any]
UNMERGED_TYPES = frozenset({"lines"})


def mergeable(store: Store, entity: Entity, actor: Actor | None) -> list[Field]:
    """The fields a merge lets the user choose: stored, not a stage (moves change those),
    not lines (the other's lines are appended), visible and writable for the actor."""
    writable = set(field_rights.writable(store, entity, actor))
    return [f for f in entity.fields.values()
            if not f.derived and f.workflow is None and f.type not in UNMERGED_TYPES
            and not f.read_only and f.name in writable]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(_sortable, a)) == sorted(map(_sortable, b))
    return bool(a == b)


def _sortable(item: Any) -> Any:
    """A list item that sorts among its kind: a file reference by its id."""
    return str(item.get("id")) if isinstance(item, dict) else item


def _union(keep: Any, other: Any) -> list[dict[str, Any]]:
    """The files of both sides, the survivor's first, each file (by id) once."""
    seen: set[str] = set()
    union = []
    for ref in [*(keep or []), *(other or [])]:
        if ref["id"] not in seen:
            seen.add(ref["id"])
            union.append(ref)
    return union


def file_values(fields: list[Field], survivor: Mapping[str, Any], merged: Mapping[str, Any],
                values: Mapping[str, Any]) -> dict[str, Any]:
    """The survivor's file fields after the merge, taken from the STORED records (never
    from `values`, which only says which side was chosen: a client names no blob): a
    `multiple` field keeps both sides' files, a single one the chosen side's."""
    found: dict[str, Any] = {}
    for f in fields:
        if f.type != "file":
            continue
        if f.multiple:
            found[f.name] = _union(survivor.get(f.name), merged.get(f.name))
        elif f.name in values:
            found[f.name] = merged.get(f.name)
    return {n: v for n, v in found.items() if not _equal(v or [], survivor.get(n) or [])}


def differing(fields: list[Field], keep: Mapping[str, Any],
              other: Mapping[str, Any]) -> list[tuple[Field, str]]:
    """The fields whose values differ, each with the side a merge takes by default: the
    survivor's, unless it is empty and the other's is not."""
    return [(f, "other" if _empty(keep.get(f.name)) else "keep") for f in fields
            if not _equal(keep.get(f.name), other.get(f.name))
            and not (_empty(keep.get(f.name)) and _empty(other.get(f.name)))]


def _same(store: Store, entity: Entity, actor: Actor | None, keep: int, other: int) -> None:
    if keep == other:
        ja = actor is not None and getattr(actor, "locale", None) == "ja"
        message = ("同じレコードはマージできません。別のレコードを選んでください。" if ja
                   else "A record cannot be merged into itself: choose two different records.")
        raise Refused([Problem("ids", message, "merge")])


def check(store: Store, conn: sa.Connection, entity: Entity, keep: int, other: int,
          actor: Actor | None, lock: bool = False) -> tuple[Record, Record]:
    """Both records as stored, once the actor may merge them: NotFound outside their read
    scope, Forbidden unless they may update both and delete the other."""
    _same(store, entity, actor, keep, other)
    survivor = read_for(store, conn, entity, keep, actor, "update", lock=lock)
    merged = read_for(store, conn, entity, other, actor, "update", lock=lock)
    read_for(store, conn, entity, other, actor, "delete")
    return survivor, merged


def preview(records: Records, entity: str, keep: Any, other: Any,
            actor: Actor | None) -> dict[str, Any]:
    """Both records (as the actor may see them), the fields to choose from, and what
    the merge would re-point. Raises like `merge` would (NotFound, Forbidden, Refused)."""
    store = records.store
    ent = store.entity(entity)
    with records.engine.connect() as c:
        survivor, merged = check(store, c, ent, int(keep), int(other), actor)
        pointing = merging.preview(store, c, ent, survivor["id"], merged["id"])
    return {"keep": field_rights.strip(store, ent, actor, survivor),
            "other": field_rights.strip(store, ent, actor, merged),
            "fields": mergeable(store, ent, actor), "pointing": pointing}


def merge(records: Records, entity: str, keep: Any, other: Any, values: Mapping[str, Any],
          versions: tuple[Any, Any] | None, actor: Actor | None) -> Record:
    """Merge `other` into `keep`, taking `values` (those chosen from the other) for the
    survivor; `versions` (keep's, other's) as the user saw them. Returns the survivor."""
    store = records.store
    ent = store.entity(entity)
    keep_id, other_id = int(keep), int(other)
    with records.transaction() as c:
        survivor, merged = check(store, c, ent, keep_id, other_id, actor, lock=True)
        if versions is not None:
            for record, seen in ((survivor, versions[0]), (merged, versions[1])):
                expected = _version(seen)
                if record["version"] != expected:
                    raise records._conflict(c, ent, record, values, expected, actor)
        at, user = store.context(actor).now, actor_id(actor)
        merging.repoint(store, c, ent, keep_id, other_id, at, user)
        records.delete(entity, other_id, actor, merged["version"], conn=c)
        fields = mergeable(store, ent, actor)
        filed = {f.name for f in fields if f.type == "file"}   # others: refused as input
        chosen = {n: v for n, v in values.items() if n not in filed}
        chosen |= file_values(fields, survivor, merged, values)
        result = (records.update(entity, keep_id, chosen, survivor["version"], actor, conn=c,
                                 files=True)
                  if chosen else field_rights.strip(store, ent, actor, survivor))
        merging.record(store, c, ent, keep_id, other_id, at, user,
                       (result["version"], merged["version"] + 1))
        return result


def _version(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidQuery([Problem("version", "The records' versions are missing; reload "
                                               "the merge page.", "version")]) from None


def merged_into(records: Records, entity: str, id: Any) -> int | None:
    ent = records.store.entity(entity)
    with records.engine.connect() as c:
        return merging.merged_into(records.store, c, ent, int(id))


def duplicate_groups(records: Records, entity: str, rule: int, limit: int, offset: int,
                     actor: Actor | None) -> dict[str, Any]:
    """One page of the groups of the entity's `rule`-th usable duplicate rule: {"rules",
    "rule", "groups": [{"key", "count", "records"}], "more"}."""
    store = records.store
    ent = store.entity(entity)
    rules = dup.rules(store, ent, actor)
    if not rules:
        return {"rules": [], "rule": None, "groups": [], "more": False}
    if not 0 <= rule < len(rules) or not 0 < limit <= dup.MAX_GROUPS or offset < 0:
        raise InvalidQuery([Problem("rule", "No such duplicate rule or page.", "paging")])
    with records.engine.connect() as c:
        found, more = dup.groups(store, c, ent, rules[rule], actor, limit, offset)
        read = store.read(c, ent, [id for g in found for id in g.ids], lines=False)
    return {"rules": rules, "rule": rules[rule], "more": more, "groups": [
        {"key": g.key, "count": g.count,
         "records": [field_rights.strip(store, ent, actor, read[id]) for id in g.ids
                     if id in read]} for g in found]}
