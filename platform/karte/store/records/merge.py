"""Merging two records of one entity (SPEC §14): what points at the record merged away is
re-pointed to the survivor, in SQL, inside the merge's transaction (`Records.merge`).

Re-pointed: every link field of the pack aiming at the entity (records of other entities,
timeline items — records with a link — and lines, appended after the survivor's own),
the rows of `links` fields (junction rows; a row the survivor already has is not
duplicated), notes and stage history. Re-pointed records get a version step and an audit
row, like a `set_null` of a delete: a colleague's open edit of one of them then meets a
conflict, not a silent overwrite. Lines keep their version: their parent's history
tells the merge. Rollups over re-pointed children are refreshed for both parents.

`karte_merge` remembers each merge, so that the merged record's URL leads to the
survivor (`merged_into`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Field
from karte.store import audit, stage_reached, stage_times
from karte.store.records import rollups
from karte.store.records.delete import referrers
from karte.store.records.store import Store

MERGED_INTO, MERGED_FROM = "merged_into", "merged_from"
MAX_HOPS = 20      # a record merged into one merged later, and so on


@dataclass(frozen=True)
class Pointing:
    """How many of one kind of reference point at the record merged away."""

    kind: str            # "link", "timeline", "line", "junction", "note", "stage_move"
    entity: str | None   # the entity holding the reference (None: notes, stage history)
    field: str | None
    count: int


def _kind(source: Entity, link: Field) -> str:
    if source.part_of == link.name:
        return "line"
    return "timeline" if source.timeline_item is not None else "link"


def _pointing(table: sa.Table, link: Field, source: Entity, entity: Entity, other: int,
              keep: int | None = None) -> sa.ColumnElement[bool]:
    """Records whose `link` is `other`; of the merged entity itself (a link to its own
    kind), not the survivor and the other (which would point at itself)."""
    clause = table.c[link.name] == other
    if source.name == entity.name:
        clause = sa.and_(clause, table.c.id.not_in([other] + ([] if keep is None else [keep])))
    return clause


def junctions(store: Store, entity: Entity) -> list[tuple[Entity, Field]]:
    """Every `links` field of the pack aiming at the entity."""
    return [(source, f) for source in store.pack.entities.values()
            for f in source.fields.values() if f.type == "links" and f.to == entity.name]


def _counted(conn: sa.Connection, query: sa.Select[Any]) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def preview(store: Store, conn: sa.Connection, entity: Entity, keep: int,
            other: int) -> list[Pointing]:
    """What a merge of `other` into `keep` re-points (kinds with nothing left out); live
    records only are counted, though deleted ones follow too (a restore finds them right)."""
    found = []
    for source, link in referrers(store, entity.name):
        table = store.table(source)
        query = sa.select(table.c.id).where(_pointing(table, link, source, entity, other, keep),
                                            table.c.deleted_at.is_(None))
        found.append(Pointing(_kind(source, link), source.name, link.name,
                              _counted(conn, query)))
    for source, link in junctions(store, entity):
        rows = store.junction(source, link)
        found.append(Pointing("junction", source.name, link.name, _counted(
            conn, sa.select(rows.c.source_id).where(rows.c.target_id == other))))
    note, move = store.tables["karte_note"], store.tables["karte_stage_move"]
    found.append(Pointing("note", None, None, _counted(conn, sa.select(note.c.id).where(
        note.c.entity == entity.name, note.c.record_id == other, note.c.deleted_at.is_(None)))))
    found.append(Pointing("stage_move", None, None, _counted(conn, sa.select(move.c.id).where(
        move.c.entity == entity.name, move.c.record_id == other))))
    return [p for p in found if p.count]


def repoint(store: Store, conn: sa.Connection, entity: Entity, keep: int, other: int,
            at: dt.datetime, user: int | None) -> None:
    """Every reference to `other` made a reference to `keep` (see the module's text)."""
    rows: list[dict[str, Any]] = []
    for source, link in referrers(store, entity.name):
        if source.part_of == link.name:
            _lines(store, conn, source, link, keep, other)
        else:
            rows += _links(store, conn, source, link, keep, other, at, user)
        rollups.refresh(store, conn, source.name, {link.name: {keep, other}})
    audit.write(conn, store.audit, rows)
    for source, link in junctions(store, entity):
        _junction(conn, store.junction(source, link), keep, other)
    for name in ("karte_note", "karte_stage_move"):
        table = store.tables[name]
        conn.execute(table.update().where(table.c.entity == entity.name,
                                          table.c.record_id == other).values(record_id=keep))
    _stages_reached(store, conn, entity, keep, other)


def _stages_reached(store: Store, conn: sa.Connection, entity: Entity, keep: int,
                    other: int) -> None:
    """The survivor took the other's stage history: it has reached those stages too
    (store/stage_reached.py), each appended unless it lists it already; the other, left
    without history, lists none."""
    table = store.table(entity)
    for name in stage_times.stage_fields(entity):
        column = table.c[stage_reached.column_name(name)]
        for key in stage_reached.keys(conn.scalar(sa.select(column)
                                                  .where(table.c.id == other))):
            conn.execute(table.update().where(table.c.id == keep)
                         .values({column: stage_reached.reaching(column, key)}))
        conn.execute(table.update().where(table.c.id == other).values({column: None}))


def _links(store: Store, conn: sa.Connection, source: Entity, link: Field, keep: int,
           other: int, at: dt.datetime, user: int | None) -> list[dict[str, Any]]:
    """Re-point one link field, each record with a version step; its audit rows."""
    table = store.table(source)
    pointing = _pointing(table, link, source, store.entity(link.to_entity), other, keep)
    found = conn.execute(sa.select(table.c.id, table.c.version).where(pointing)).all()
    if not found:
        return []
    conn.execute(table.update().where(pointing).values(
        {link.name: keep, "version": table.c.version + 1, "updated_at": at,
         "updated_by": user}))
    return [audit.row(source.name, id, "update", user, at,
                      {link.name: [other, keep], audit.VERSION: [version, version + 1]})
            for id, version in found]


def _lines(store: Store, conn: sa.Connection, part: Entity, link: Field, keep: int,
           other: int) -> None:
    """The other's lines after the survivor's, in their order."""
    table = store.table(part)
    column = table.c[link.name]
    if "position" not in table.c:
        conn.execute(table.update().where(column == other).values({link.name: keep}))
        return
    last = conn.scalar(sa.select(sa.func.max(table.c.position)).where(column == keep))
    step = 0 if last is None else int(last) + 1
    conn.execute(table.update().where(column == other).values(
        {link.name: keep, "position": table.c.position + step}))


def _junction(conn: sa.Connection, rows: sa.Table, keep: int, other: int) -> None:
    """Rows aiming at `other` aim at `keep`, unless the source already has one there."""
    has_keep = sa.select(rows.c.source_id).where(rows.c.target_id == keep)
    conn.execute(rows.insert().from_select(
        ["source_id", "target_id"],
        sa.select(rows.c.source_id, sa.literal(keep, sa.BigInteger()))
        .where(rows.c.target_id == other, rows.c.source_id.not_in(has_keep))))
    conn.execute(rows.delete().where(rows.c.target_id == other))


def record(store: Store, conn: sa.Connection, entity: Entity, keep: int, other: int,
           at: dt.datetime, user: int | None, versions: tuple[int, int]) -> None:
    """The merge remembered, and told in both records' histories."""
    conn.execute(store.tables["karte_merge"].insert().values(
        entity=entity.name, from_id=other, into_id=keep, user_id=user, at=at))
    audit.write(conn, store.audit, [
        audit.row(entity.name, keep, "merge", user, at,
                  {MERGED_FROM: [None, other], audit.VERSION: [versions[0], versions[0]]}),
        audit.row(entity.name, other, "merge", user, at,
                  {MERGED_INTO: [None, keep], audit.VERSION: [versions[1], versions[1]]})])


def merged_into(store: Store, conn: sa.Connection, entity: Entity, id: int) -> int | None:
    """The live record `id` was merged into (following later merges), else None."""
    table, live = store.tables["karte_merge"], store.table(entity)
    current, seen = id, {id}
    for _ in range(MAX_HOPS):
        into = conn.scalar(sa.select(table.c.into_id).where(
            table.c.entity == entity.name, table.c.from_id == current)
            .order_by(table.c.id.desc()).limit(1))
        if into is None or into in seen:
            return None
        alive = conn.scalar(sa.select(live.c.id).where(live.c.id == into,
                                                       live.c.deleted_at.is_(None)))
        if alive is not None:
            return int(into)
        current = into
        seen.add(into)
    return None
