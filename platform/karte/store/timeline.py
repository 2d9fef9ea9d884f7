"""A record's timeline (SPEC §3.3): timeline items, notes, field changes and stage moves,
newest first, one page at a time — and the notes people write on a card.

Each source is one SQL query per page (items: two per linking entity, dated and undated),
all limited to what the actor may read. Pages are cut by time: `before` is the cursor, and
a page ends only where every source is known complete, so entries sharing a timestamp (a
move's audit row and its stage-move row) are never split across pages and never lost.

Stage moves are read from `karte_stage_move` here, in `store`, where that table is defined
and written (`store/records/moves.py`): the timeline needs no import of `workflow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.fields import NUL_MESSAGE, has_nul, normalise
from karte.meta.model import Entity, Field, TimelineItem
from karte.problems import Problem
from karte.store import Records
from karte.store.actor import Actor, actor_id
from karte.store.audit import ACTION_RUN, VERSION
from karte.store.errors import ValidationFailed
from karte.store.field_rights import hidden, unseen
from karte.store.permissions import own_column, read_for, rights, scope
from karte.store.records import files_audit
from karte.store.records.store import Store

PAGE = 30
MAX_NOTE = 10_000
MAX_FETCH = 1000


@dataclass(frozen=True)
class Entry:
    """One line of a timeline. `kind` is "item", "note", "change", "move" or "action" (a
    record action's run); `details` holds what that kind shows (the `_…_entry` functions)."""

    kind: str
    at: dt.datetime
    user_id: int | None
    who: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """Entries newest first; `older` is the cursor of the next page (None: no more)."""

    entries: list[Entry]
    older: dt.datetime | None


@dataclass
class _Batch:
    entries: list[Entry]
    full: bool                   # the source returned as many rows as asked: more may exist
    last: dt.datetime | None     # the oldest time it returned


def aware(value: Any) -> dt.datetime:
    """A stored date or datetime as an aware UTC datetime (a date: its midnight, UTC)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC)


def from_audit(entity: Entity, name: str, value: Any, country: str | None = None) -> Any:
    """An audit value (JSON form) back in its field's stored type, so it can be shown like
    the live value; left as it is when it no longer converts (the field changed type)."""
    f = entity.lookup(name)
    if f is None or value is None:
        return value
    try:
        return normalise(f.as_value(), value, country)
    except (ValueError, ArithmeticError):
        return value


def linking(store: Store, entity: Entity) -> list[tuple[Entity, tuple[Field, ...]]]:
    """Entities with a `timeline_item` and their link/links fields pointing at `entity`."""
    found = []
    for other in store.pack.entities.values():
        fields = tuple(f for f in other.fields.values()
                       if f.type in ("link", "links") and f.to == entity.name)
        if other.timeline_item is not None and fields:
            found.append((other, fields))
    return found


def _who(users: sa.Table) -> sa.ColumnElement[str]:
    return sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email).label("who")


def _before_date(column: sa.ColumnElement[Any], before: dt.datetime) -> sa.ColumnElement[bool]:
    """A date column's midnight (UTC) is earlier than `before`."""
    day = before.astimezone(dt.UTC)
    if day.time() == dt.time.min:
        return column < day.date()
    return column <= day.date()


class Timeline:
    """Timelines and notes of one pack, over its records service."""

    def __init__(self, records: Records):
        self.records, self.store = records, records.store

    @property
    def notes(self) -> sa.Table:
        return self.store.tables["karte_note"]

    # ------------------------------------------------------------ reading

    def entries(self, entity: str, id: Any, actor: Actor | None = None, limit: int = PAGE,
                before: dt.datetime | None = None,
                record: Mapping[str, Any] | None = None) -> Page:
        """One page of the record's timeline, newest first. NotFound for a record the
        actor may not read; items of entities they may not read are left out. `record`:
        the record as the caller already read it for this actor (not read again)."""
        ent = self.store.entity(entity)
        limit = max(1, min(int(limit), MAX_FETCH))
        with self.records.engine.connect() as conn:
            if record is None or record.get("id") != id:
                record = self.store.read_one(conn, ent, id,
                                             scope=scope(self.store, ent, actor, "read"))
            fetch = limit + 1
            while True:
                batches = self._batches(conn, ent, record["id"], actor, fetch, before)
                page = _cut(batches, limit)
                if page is not None or fetch >= MAX_FETCH:
                    return page or _everything(batches, limit)
                fetch = min(fetch * 4, MAX_FETCH)

    def _batches(self, conn: sa.Connection, entity: Entity, id: int, actor: Actor | None,
                 limit: int, before: dt.datetime | None) -> list[_Batch]:
        batches = [self._notes(conn, entity, id, limit, before),
                   self._changes(conn, entity, id, limit, before,
                                 unseen(self.store, entity, actor)),
                   self._moves(conn, entity, id, limit, before)]
        for other, fields in linking(self.store, entity):
            if rights(self.store, other, actor).read:
                batches += self._items(conn, other, fields, id, actor, limit, before)
        return batches

    def _run(self, conn: sa.Connection, query: sa.Select[Any], limit: int,
             make: Callable[[sa.RowMapping], Entry | None],
             at: Callable[[sa.RowMapping], dt.datetime]) -> _Batch:
        rows = list(conn.execute(query.limit(limit)).mappings())
        entries = [entry for row in rows if (entry := make(row)) is not None]
        return _Batch(entries, len(rows) == limit, at(rows[-1]) if rows else None)

    def _notes(self, conn: sa.Connection, entity: Entity, id: int, limit: int,
               before: dt.datetime | None) -> _Batch:
        notes = self.notes
        query = self._newest(notes, notes.c.created_by, notes.c.created_at, entity, id, before,
                             notes.c.deleted_at.is_(None))
        return self._run(conn, query, limit, _note_entry, lambda row: row["created_at"])

    def _changes(self, conn: sa.Connection, entity: Entity, id: int, limit: int,
                 before: dt.datetime | None, unseen: Container[str]) -> _Batch:
        """Writes from the change log, without the fields hidden from the reader."""
        audit = self.store.audit
        query = self._newest(audit, audit.c.user_id, audit.c.at, entity, id, before)
        return self._run(conn, query, limit,
                         lambda row: _change_entry(entity, row, self.store.pack.country,
                                                   unseen),
                         lambda row: row["at"])

    def _moves(self, conn: sa.Connection, entity: Entity, id: int, limit: int,
               before: dt.datetime | None) -> _Batch:
        """Moves between stages; a record's entry into its first stage is its creation,
        which the change log already shows."""
        moves = self.store.tables["karte_stage_move"]
        query = self._newest(moves, moves.c.user_id, moves.c.at, entity, id, before,
                             moves.c.from_stage.is_not(None))
        return self._run(conn, query, limit, _move_entry, lambda row: row["at"])

    def _newest(self, table: sa.Table, user: sa.Column[Any], at: sa.Column[Any], entity: Entity,
                id: int, before: dt.datetime | None, *where: Any) -> sa.Select[Any]:
        """A log table's rows about one record, newest first, with who wrote each."""
        users = self.store.users
        query = (sa.select(table, _who(users))
                 .select_from(table.outerjoin(users, users.c.id == user))
                 .where(table.c.entity == entity.name, table.c.record_id == id, *where)
                 .order_by(at.desc(), table.c.id.desc()))
        return query if before is None else query.where(at < before)

    def _items(self, conn: sa.Connection, other: Entity, fields: tuple[Field, ...], id: int,
               actor: Actor | None, limit: int, before: dt.datetime | None) -> list[_Batch]:
        """Readable live records of `other` linking here: those with an `at` value by it,
        those without by their creation time."""
        table, users, item = self.store.table(other), self.store.users, other.timeline_item
        if item is None:
            return []
        owner, at = table.c[own_column(other)], table.c[item.at]
        if {item.summary, item.at} & hidden(self.store, other, actor):
            return []                   # the entries would show a field hidden from them
        done = () if item.done is None or item.done in hidden(self.store, other, actor) \
            else (item.done, "version", own_column(other))  # a to-do: ticked here
        names = [n for n in dict.fromkeys((other.title_field, item.summary, item.at, *done))
                 if n not in ("id", "created_at")]
        query = (sa.select(table.c.id, table.c.created_at, *(table.c[n] for n in names),
                           _who(users))
                 .select_from(table.outerjoin(users, users.c.id == owner))
                 .where(sa.or_(*(self._links_to(other, f, id) for f in fields)),
                        table.c.deleted_at.is_(None), scope(self.store, other, actor, "read")))
        dated = query.where(at.is_not(None)).order_by(at.desc(), table.c.id.desc())
        undated = query.where(at.is_(None)).order_by(table.c.created_at.desc(),
                                                      table.c.id.desc())
        if before is not None:
            at_field = other.lookup(item.at)
            is_date = at_field is not None and at_field.type == "date"
            dated = dated.where(_before_date(at, before) if is_date else at < before)
            undated = undated.where(table.c.created_at < before)
        when: tuple[Callable[[sa.RowMapping], dt.datetime], ...] = (
            lambda row: aware(row[item.at]), lambda row: row["created_at"])
        return [self._run(conn, q, limit, _item_maker(other, item, w), w)
                for q, w in zip((dated, undated), when, strict=True)]

    def _links_to(self, other: Entity, f: Field, id: int) -> sa.ColumnElement[bool]:
        table = self.store.table(other)
        if f.type == "link":
            return table.c[f.name] == id
        junction = self.store.junction(other, f)
        return table.c.id.in_(sa.select(junction.c.source_id)
                              .where(junction.c.target_id == id))

    # ------------------------------------------------------------ notes

    def add_note(self, entity: str, id: Any, body: Any, actor: Actor | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
        """Write a note on a record. Writing one is changing the record's story, so it
        takes the `update` right on it (NotFound when unreadable, Forbidden otherwise)."""
        ent = self.store.entity(entity)
        text = _note_text(body)
        with self.records.transaction() as conn:
            record = read_for(self.store, conn, ent, id, actor, "update",
                              verb="add notes to")
            values = {"entity": ent.name, "record_id": record["id"], "body": text,
                      "created_by": actor_id(actor),
                      "created_at": now or dt.datetime.now(dt.UTC)}
            note_id = conn.execute(self.notes.insert().values(**values)
                                   .returning(self.notes.c.id)).scalar_one()
        return {"id": note_id, **values}


def _note_text(body: Any) -> str:
    """The note as typed (outer blank lines trimmed); refused when empty, too long or
    holding a NUL character."""
    text = "" if body is None else str(body).replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed([Problem("body", "Write the note before saving it.",
                                        "required")])
    if has_nul(text):
        raise ValidationFailed([Problem("body", NUL_MESSAGE, "nul")])
    if len(text) > MAX_NOTE:
        raise ValidationFailed([Problem(
            "body", f"A note holds at most {MAX_NOTE:,} characters; this one has "
                    f"{len(text):,}.", "max_length")])
    return text


# ---------------------------------------------------------------- entries


def _note_entry(row: sa.RowMapping) -> Entry:
    return Entry("note", row["created_at"], row["created_by"], row["who"],
                 {"id": row["id"], "body": row["body"]})


def _change_entry(entity: Entity, row: sa.RowMapping, country: str | None,
                  unseen: Container[str] = frozenset()) -> Entry | None:
    """A write from the change log. A move's stage field is left to the move's own entry;
    a move that changed nothing else is no separate entry, nor is an update that changed
    only fields hidden from the reader (`unseen`). `files` holds, per file field, the
    references uploaded and removed (`files_audit.changed`) — on a create too, whose
    other values the card shows already — for a page to name them, with thumbnails."""
    if row["action"] == "action":
        return _action_entry(row)
    stages = {f.name for f in entity.fields.values() if f.workflow}
    changed = {name: [from_audit(entity, name, old, country),
                      from_audit(entity, name, new, country)]
               for name, (old, new) in row["changes"].items()
               if name != VERSION and name not in unseen
               and not (row["action"] == "move" and name in stages)}
    if row["action"] in ("move", "update") and not changed:
        return None
    shown = {} if row["action"] == "create" else changed
    files = {name: files_audit.changed(old, new) for name, (old, new) in changed.items()
             if (f := entity.lookup(name)) is not None and f.type == "file"}
    return Entry("change", row["at"], row["user_id"], row["who"],
                 {"action": row["action"], "changes": shown, "files": files})


def _action_entry(row: sa.RowMapping) -> Entry:
    """A record action's run: its name and the records it created ({entity, id, title})."""
    details = (row["changes"].get(ACTION_RUN) or [None, None])[1] or {}
    return Entry("action", row["at"], row["user_id"], row["who"],
                 {"name": details.get("name"), "created": details.get("created") or []})


def _move_entry(row: sa.RowMapping) -> Entry:
    return Entry("move", row["at"], row["user_id"], row["who"],
                 {"workflow": row["workflow"], "from": row["from_stage"],
                  "to": row["to_stage"], "seconds": row["seconds_in_previous"]})


def _item_maker(other: Entity, item: TimelineItem,
                when: Callable[[sa.RowMapping], dt.datetime]) -> Callable[[sa.RowMapping], Entry]:
    return lambda row: _item_entry(other, item, row, when(row))


def _item_entry(other: Entity, item: TimelineItem, row: sa.RowMapping,
                at: dt.datetime) -> Entry:
    return Entry("item", at, None, row["who"],
                 {"entity": other.name, "id": row["id"], "title": row.get(other.title_field),
                  "summary": item.summary, "at_field": item.at,
                  "record": {n: row.get(n) for n in (other.title_field, item.summary,
                                                     item.at, item.done, "version", "id",
                                                     own_column(other))
                             if n is not None and n in row}})


# ---------------------------------------------------------------- paging


def _ordered(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: e.at, reverse=True)


def _cut(batches: list[_Batch], limit: int) -> Page | None:
    """The page of the `limit` newest entries that are certainly complete: newer than
    every time a full source stopped at. A page never ends inside a group of entries
    sharing one time. None when nothing is certain yet (fetch more)."""
    horizon = max((b.last for b in batches if b.full and b.last is not None), default=None)
    known = _ordered(e for b in batches for e in b.entries
                     if horizon is None or e.at > horizon)
    more = horizon is not None or len(known) > limit
    if len(known) > limit:
        boundary = known[limit - 1].at
        if known[limit].at == boundary:
            kept = [e for e in known[:limit] if e.at != boundary]
            known = kept or [e for e in known if e.at >= boundary]
        else:
            known = known[:limit]
    if not known:
        return None if horizon is not None else Page([], None)
    return Page(known, known[-1].at if more else None)


def _everything(batches: list[_Batch], limit: int) -> Page:
    """The fallback when more than MAX_FETCH entries share one time: that time's entries
    (as many as were read), then on to older ones."""
    entries = _ordered(e for b in batches for e in b.entries)
    if not entries:
        return Page([], None)
    newest = entries[0].at
    return Page([e for e in entries if e.at == newest], newest)
