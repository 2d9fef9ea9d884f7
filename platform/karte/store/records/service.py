"""The records service: the one path for reading and writing records (DESIGN rule 4).

Every write validates (marshmallow schemas from the Registry), checks the optimistic
`version`, writes an audit row and runs in one transaction. Pass `conn=` to join a
transaction the caller holds (`with records.transaction() as conn:`): the workflow engine
does so to save a move, its field values and its `on_enter` actions all or nothing.

Stage fields are never written by ordinary input. A move writes them through
`update(entity, id, {stage: "won", ...}, version, actor, moving=True, conn=conn)` (and an
import with --allow-moves through `create(..., moving=True)`); `moving=True` also lets
`read_only` fields be set, as workflows and imports may.

Every call taking an `actor` enforces its role's rights (SPEC §3.4, see
`karte.store.permissions`); `actor=None` is the system and is not limited.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import islice
from typing import Any

import sqlalchemy as sa

from karte.fields import normalise
from karte.meta.model import Entity, Pack
from karte.problems import Problem
from karte.store import audit, stage_totals
from karte.store import field_rights as fields
from karte.store.actor import Actor, actor_id
from karte.store.errors import Conflict, Refused, ValidationFailed
from karte.store.permissions import check_create, read_for, scope
from karte.store.records import bulk_lines, bulk_set, keyset, merging, rollups, totals
from karte.store.records import lines as records_lines
from karte.store.records import moves as records_moves
from karte.store.records.delete import apply_delete, dead_links, plan_delete, refusal
from karte.store.records.fetch import Linked
from karte.store.records.gc_pause import fewer_collections
from karte.store.records.plans import counting, page_statement, read_page
from karte.store.records.query import (
    check_paging,
    duplicate_queries,
    filtered,
)
from karte.store.records.store import Store, chunks
from karte.store.records.unique import integrity_problems, unique_clashes, unique_problems
from karte.store.records.write import (
    Tagged,
    created_changes,
    insert,
    judge_with,
    prepare_create,
    prepare_update,
    reference_problems,
    stamp,
    update_row,
)
from karte.store.validation import label, noun

Record = dict[str, Any]


def _version(version: Any) -> int:
    if isinstance(version, bool):
        version = None
    try:
        return int(version)
    except (TypeError, ValueError):
        raise ValidationFailed([Problem("version", "The record's version is missing or not "
                                                   "a number; reload and try again.",
                                        "version")]) from None


def _row_where(index: int, where: str) -> str:
    """Problems of create_many name the row, counted from 1: "row 12: email"."""
    return f"row {index + 1}: {where}" if where else f"row {index + 1}"


def _action(entity: Entity, changed: list[str]) -> str:
    """"move" when a stage field changed (the timeline shows it as a move), else "update"."""
    return "move" if any(entity.fields[n].workflow for n in changed) else "update"


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "empty"
    if isinstance(value, list):     # files by their names, not as references
        return ", ".join(str(item["name"]) if isinstance(item, dict) and "name" in item
                         else str(item) for item in value)
    return str(value)


class Records:
    """Create, read, update, delete, restore and query the records of one pack."""

    def __init__(self, engine: sa.Engine, pack: Pack):
        self.engine, self.pack = engine, pack
        self.store = Store(engine, pack)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One transaction for several writes: pass the connection as `conn=`."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _writing(self, conn: sa.Connection | None, entity: Entity) -> Iterator[sa.Connection]:
        """The caller's transaction or a new one; a constraint the database refused (a race
        the pre-checks could not see) becomes a ValidationFailed naming the field."""
        try:
            if conn is not None:
                yield conn
            else:
                with self.engine.begin() as own:
                    yield own
        except sa.exc.IntegrityError as error:
            raise ValidationFailed(integrity_problems(entity, error)) from error

    @contextmanager
    def _reading(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.connect() as own:
                yield own

    # ------------------------------------------------------------ create

    def _db_problems(self, conn: sa.Connection, entity: Entity, records: Sequence[Record],
                     names: Sequence[Sequence[str]], exclude: set[int],
                     seen: dict[str, set[Any]], actor: Actor | None,
                     reader: Actor | None) -> Tagged:
        """Dead links (for `actor`: None when the pack's own action writes) and unique
        clashes, naming the clashing record only when `reader` may read it."""
        return (reference_problems(self.store, conn, entity, records, names, actor)
                + unique_problems(self.store, conn, entity, records, names, exclude, seen,
                                  reader))

    def create(self, entity: str, values: Mapping[str, Any], actor: Actor | None = None, *,
               moving: bool = False, conn: sa.Connection | None = None,
               enforce: bool = True, files: bool = False) -> Record:
        """A new record from `values` (defaults, initial stages and formulas filled in).
        `enforce=False` is for consequences the pack declares (a workflow's `create`
        action): stamped with the actor, not limited by their role. `files=True` (the
        files service only) lets `values` hold file references; otherwise a file field
        in `values` is a problem (`write.file_input`)."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        if enforce:
            check_create(self.store, ent, actor)
            fields.check_input(self.store, ent, actor, values)
        checked = actor if enforce else None
        with self._writing(conn, ent) as c:
            ctx = self.store.context(actor)
            judge = judge_with(ctx, self.store.fetcher(c))
            linked = Linked(self.store, c, ent, checked)
            record, problems = prepare_create(self.store, ent, values, ctx, judge, moving,
                                              linked, files)
            plans, found = records_lines.plan(self.store, ent, record, values, None, ctx, judge,
                                              moving, c, checked)
            problems += found
            clean = [n for n in ent.fields if n not in {p.where for p in problems}]
            problems += [p for _, p in self._db_problems(c, ent, [record], [clean], set(), {},
                                                         checked, actor)]
            problems += records_lines.db_problems(self.store, c, plans, checked)
            if problems:
                raise ValidationFailed(problems)
            user = actor_id(actor)
            [id] = insert(self.store, c, ent, [record], stamp(ctx.now, user, True))
            stage_totals.change(c, self.pack, ent.name, (), [record])
            lined = records_lines.save_lines(self.store, c, ent, id, plans, ctx.now, user)
            audit.write(c, self.store.audit, [audit.row(ent.name, id, "create", user, ctx.now,
                                                        created_changes(ent, record) | lined)])
            self._first_moves(c, ent, [id], [record], user, ctx.now)
            rollups.refresh(self.store, c, ent.name, rollups.parents_of(self.store, ent,
                                                                        [record]))
            return fields.strip(self.store, ent, actor, self.store.read_one(c, ent, id))

    def create_many(self, entity: str, rows: Iterable[Mapping[str, Any]],
                    actor: Actor | None = None, batch_size: int = 1000, *,
                    moving: bool = False, conn: sa.Connection | None = None,
                    files: bool = False) -> list[int]:
        """Many records at once (demo data, imports), validated like `create`, inserted in
        batches with executemany, all or nothing. Problems name the row: "row 12: email"
        (rows counted from 1); every row is checked so one report lists them all.
        `files=True` (the demo, with files it stored through the files service): rows may
        hold file references, as for `create`."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        check_create(self.store, ent, actor)
        ids: list[int] = []
        problems: Tagged = []
        seen: dict[str, set[Any]] = {}
        parents: rollups.Parents = {}
        rows = iter(rows)
        with fewer_collections(), self._writing(conn, ent) as c:
            ctx = self.store.context(actor)
            judge = judge_with(ctx, self.store.fetcher(c))
            stamped = stamp(ctx.now, actor_id(actor), True)
            start = 0
            while batch := list(islice(rows, max(1, batch_size))):
                records, found, plans = self._prepare_batch(c, ent, batch, ctx, judge, moving,
                                                            seen, actor, files)
                problems += [(start + i, p) for i, p in found]
                if not problems:
                    ids += self._insert_batch(c, ent, records, stamped, plans)
                    rollups.parents_of(self.store, ent, records, into=parents)
                start += len(batch)
            if problems:
                raise ValidationFailed([Problem(_row_where(i, p.where), p.message, p.code)
                                        for i, p in problems])
            rollups.refresh(self.store, c, ent.name, parents)
        return ids

    def create_each(self, entity: str, rows: Sequence[Mapping[str, Any]],
                    actor: Actor | None = None, *, moving: bool = False,
                    conn: sa.Connection | None = None, seen: dict[str, set[Any]] | None = None
                    ) -> tuple[list[int | None], dict[int, list[Problem]]]:
        """`create_many` of one batch, but each row on its own (imports): the rows with
        problems are left out and the others created. Returns each row's id (None when
        refused) and the refused rows' problems by position (from 0); `seen` carries the
        unique values of earlier batches of the same import."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        check_create(self.store, ent, actor)
        ids: list[int | None] = [None] * len(rows)
        refused: dict[int, list[Problem]] = {}
        with fewer_collections(), self._writing(conn, ent) as c:
            ctx = self.store.context(actor)
            records, found, plans = self._prepare_batch(
                c, ent, rows, ctx, judge_with(ctx, self.store.fetcher(c)), moving,
                {} if seen is None else seen, actor)
            for i, problem in found:
                refused.setdefault(i, []).append(problem)
            keep = [i for i in range(len(rows)) if i not in refused]
            kept = [records[i] for i in keep]
            made = self._insert_batch(c, ent, kept, stamp(ctx.now, actor_id(actor), True),
                                      [plans[i] for i in keep]) if keep else []
            for i, id in zip(keep, made, strict=True):
                ids[i] = id
            rollups.refresh(self.store, c, ent.name, rollups.parents_of(self.store, ent, kept))
        return ids, refused

    def _prepare_batch(self, conn: sa.Connection, entity: Entity,
                       batch: Sequence[Mapping[str, Any]], ctx: Any, judge: Any,
                       moving: bool, seen: dict[str, set[Any]],
                       actor: Actor | None, files: bool = False
                       ) -> tuple[list[Record], Tagged, list[Any]]:
        """Every row prepared and checked; what needs the database is read once per batch
        (linked records, lines' links: store/records/bulk_lines.py)."""
        records, found_rows, plans = [], [], []
        linked = Linked(self.store, conn, entity, actor)
        linked.prime(batch)
        parts = bulk_lines.linked_parts(self.store, conn, entity, batch, actor)
        for values in batch:
            fields.check_input(self.store, entity, actor, values)
            record, found = prepare_create(self.store, entity, values, ctx, judge, moving,
                                           linked, files)
            lined, more = records_lines.plan(self.store, entity, record, values, None, ctx,
                                             judge, moving, conn, actor, parts)
            records.append(record)
            plans.append(lined)
            found_rows.append(found + more)
        lines_found = bulk_lines.db_problems_many(self.store, conn, plans, actor)
        problems: Tagged = []
        clean = []
        names = list(entity.fields)       # shared by the rows without problems (read only)
        for i, found in enumerate(found_rows):
            found += lines_found.get(i, [])
            problems += [(i, p) for p in found]
            named = {p.where for p in found}
            clean.append([n for n in entity.fields if n not in named] if named else names)
        problems += self._db_problems(conn, entity, records, clean, set(), seen, actor, actor)
        return records, sorted(problems, key=lambda tagged: tagged[0]), plans

    def _insert_batch(self, conn: sa.Connection, entity: Entity, records: list[Record],
                      stamped: Mapping[str, Any], plans: list[Any]) -> list[int]:
        ids = insert(self.store, conn, entity, records, stamped)
        stage_totals.change(conn, self.pack, entity.name, (), records)
        at, user = stamped["created_at"], stamped["created_by"]
        lined = bulk_lines.save_new_lines(self.store, conn, entity, ids, plans, at, user)
        audit.write(conn, self.store.audit, [
            audit.row(entity.name, id, "create", user, at,
                      created_changes(entity, record) | more)
            for id, record, more in zip(ids, records, lined, strict=True)])
        self._first_moves(conn, entity, ids, records, user, at)
        return ids

    def _first_moves(self, conn: sa.Connection, entity: Entity, ids: list[int],
                     records: list[Record], user: int | None, at: Any) -> None:
        """Each new record enters its first stage of every workflow (stage history)."""
        records_moves.write(conn, self.store.tables["karte_stage_move"],
                            records_moves.initial_rows(self.pack, entity, ids, records, user,
                                                       at))

    # ------------------------------------------------------------ read

    def get(self, entity: str, id: Any, include_deleted: bool = False, *,
            actor: Actor | None = None, conn: sa.Connection | None = None) -> Record:
        """One record (NotFound when missing, deleted unless `include_deleted`, or not
        readable by the actor)."""
        ent = self.store.entity(entity)
        with self._reading(conn) as c:
            return fields.strip(self.store, ent, actor, self.store.read_one(
                c, ent, id, include_deleted, scope=scope(self.store, ent, actor, "read")))

    def get_many(self, entity: str, ids: Iterable[Any], *, actor: Actor | None = None,
                 conn: sa.Connection | None = None) -> list[Record]:
        """Live records in the order of `ids`; missing, deleted or unreadable ones are
        left out."""
        ent = self.store.entity(entity)
        wanted = [int(id) for id in ids]
        with self._reading(conn) as c:
            found = self.store.read(c, ent, wanted, scope=scope(self.store, ent, actor, "read"))
        return [fields.strip(self.store, ent, actor, found[id])
                for id in dict.fromkeys(wanted) if id in found]

    def lines_of(self, entity: str, ids: Iterable[Any], *, actor: Actor | None = None,
                 conn: sa.Connection | None = None) -> dict[str, dict[int, list[Record]]]:
        """The lines of many live parents the actor may read, per `lines` field and parent
        id, ordered by position (one query per field: cards of a list, exports)."""
        ent = self.store.entity(entity)
        with self._reading(conn) as c:
            table = self.store.table(ent)
            wanted = [int(id) for id in ids]
            readable = [id for batch in chunks(wanted) for id in c.scalars(
                sa.select(table.c.id).where(table.c.id.in_(batch), table.c.deleted_at.is_(None),
                                            scope(self.store, ent, actor, "read")))]
            return records_lines.lines_of(self.store, c, ent, readable)

    def history(self, entity: str, id: Any, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Audit entries newest first: who, when, action, changes {field: [old, new]}."""
        ent = self.store.entity(entity)
        with self.engine.connect() as c:
            record = self.store.read_one(c, ent, id, include_deleted=True,
                                         scope=scope(self.store, ent, actor, "read"))
            return fields.history(self.store, ent, actor,
                                  audit.history(c, self.store.tables, ent.name, record["id"]))

    # ------------------------------------------------------------ update

    def update(self, entity: str, id: Any, values: Mapping[str, Any], version: Any,
               actor: Actor | None = None, *, moving: bool = False,
               conn: sa.Connection | None = None, files: bool = False) -> Record:
        """Change some fields of a record read at `version`. A stale version raises
        Conflict and writes nothing; a change to nothing writes nothing. `files=True`:
        file references may be written, as for `create`."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        expected = _version(version)
        with self._writing(conn, ent) as c:
            old = read_for(self.store, c, ent, id, actor, "update", lock=True)
            if old["version"] != expected:
                raise self._conflict(c, ent, old, values, expected, actor)
            if not moving:
                # a move's values mix the mover's with the pack's `set` actions: the
                # workflow judges the mover's (karte.workflow.checks)
                fields.check_input(self.store, ent, actor, values, old)
            ctx = self.store.context(actor)
            judge = judge_with(ctx, self.store.fetcher(c))
            record, changed, problems = prepare_update(self.store, ent, old, values, judge,
                                                       moving, Linked(self.store, c, ent, actor),
                                                       files)
            plans, found = records_lines.plan(self.store, ent, record, values, old, ctx, judge,
                                              moving, c, actor)
            problems += found
            changed = records_lines.changed_names(ent, changed, plans)
            clean = [n for n in changed if n not in {p.where for p in problems}]
            problems += [p for _, p in self._db_problems(c, ent, [record], [clean],
                                                         {old["id"]}, {}, actor, actor)]
            problems += records_lines.db_problems(self.store, c, plans, actor, old["id"])
            if problems:
                raise ValidationFailed(problems)
            if not changed:
                return fields.strip(self.store, ent, actor, old)
            user = actor_id(actor)
            if not update_row(self.store, c, ent, old, record, changed,
                              stamp(ctx.now, user, False)):
                raise self._conflict(c, ent, self.store.read_one(c, ent, id), values, expected,
                                     actor)
            stage_totals.change(c, self.pack, ent.name, [old], [record])
            lined = records_lines.save_lines(self.store, c, ent, old["id"], plans, ctx.now, user)
            after = {**record, "version": old["version"] + 1}
            audit.write(c, self.store.audit, [audit.row(
                ent.name, old["id"], _action(ent, changed), user, ctx.now,
                audit.changes(old, after, records_lines.audit_names(ent, changed)) | lined)])
            rollups.refresh(self.store, c, ent.name,
                            rollups.parents_of(self.store, ent, [old, record], changed))
            return fields.strip(self.store, ent, actor, self.store.read_one(c, ent, id))

    def update_many(self, entity: str, ids: Iterable[Any], values: Mapping[str, Any],
                    actor: Actor | None = None) -> dict[int, list[Problem]]:
        """`values` on every record of `ids`, all or nothing: {} when written, else each
        refused record's problems by id and nothing written (`records.bulk_set`)."""
        return bulk_set.update_many(self, entity, ids, values, actor)

    def _from_audit(self, entity: Entity, name: str, value: Any) -> Any:
        """An audit value (JSON form) back in its stored type, as well as it converts."""
        field = entity.fields[name]
        if value is None or field.derived:
            return None if value is None else Decimal(str(value))
        try:
            return normalise(field, value, self.pack.country)
        except (ValueError, ArithmeticError):
            return value

    def _conflict(self, conn: sa.Connection, entity: Entity, current: Record,
                  values: Mapping[str, Any], version: int,
                  actor: Actor | None = None) -> Conflict:
        """What changed after `version`: per field (theirs now, yours sent or seen), of
        the fields the actor may see."""
        seen = audit.changed_since(conn, self.store.audit, entity.name, current["id"], version)
        current = fields.strip(self.store, entity, actor, current)
        changed = {name: (current.get(name), values[name] if name in values
                          else self._from_audit(entity, name, old))
                   for name, old in seen.items() if name in current and name in entity.fields}
        problems = [Problem("", f"This {noun(entity)} was changed by someone else after you "
                                f"opened it (you had version {version}, it is now at version "
                                f"{current['version']}); nothing was saved. Review the "
                                "changes and save again.", "stale")]
        problems += [Problem(name, f"{label(entity.fields[name])} was changed meanwhile; it is "
                                   f"now {_shown(theirs)}.", "stale")
                     for name, (theirs, _yours) in changed.items()]
        return Conflict(problems + records_lines.changed_meanwhile(entity, seen, current),
                        changed, current)

    # ------------------------------------------------------------ delete / restore

    def delete(self, entity: str, id: Any, actor: Actor | None = None, version: Any = None,
               *, conn: sa.Connection | None = None) -> dict[str, list[int]]:
        """Soft-delete a record and apply `on_delete` of the links pointing at it; returns
        the ids deleted per entity (cascades included). Refused while a live record's
        restrict link points here; Conflict when `version` is given and stale. The actor
        needs `delete` on this record only: cascades and set_null are the pack's declared
        consequences and run whatever the actor's rights on those records."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        expected = None if version is None else _version(version)
        with self._writing(conn, ent) as c:
            old = read_for(self.store, c, ent, id, actor, "delete", lock=True)
            if expected is not None and old["version"] != expected:
                raise self._conflict(c, ent, old, {}, expected, actor)
            plan = plan_delete(self.store, c, ent, old["id"], old["version"])
            refused = refusal(self.store, ent, plan)
            if refused is not None:
                raise refused
            stage_totals.removed(c, self.pack, self.store.tables, plan.deletes)
            apply_delete(self.store, c, plan, self.store.context(actor).now, actor_id(actor))
            rollups.after_delete(self.store, c, plan)
        return {name: sorted(ids) for name, ids in plan.deletes.items() if ids}

    def restore(self, entity: str, id: Any, actor: Actor | None = None, *,
                conn: sa.Connection | None = None) -> Record:
        """Undo a soft delete of this one record (records deleted along by a cascade are
        restored one by one). Refused while one of its links points at a deleted record.
        Undoing a delete takes the `delete` right on the record."""
        ent = self.store.entity(entity)
        records_lines.refuse_part(self.store, ent)
        with self._writing(conn, ent) as c:
            old = read_for(self.store, c, ent, id, actor, "delete", include_deleted=True,
                           lock=True, verb="restore")
            if old["deleted_at"] is None:
                return fields.strip(self.store, ent, actor, old)
            dead = dead_links(self.store, c, ent, old)
            if dead:
                raise Refused(dead)
            taken = unique_problems(self.store, c, ent, [old], [list(ent.fields)],
                                    {old["id"]}, {}, actor)
            if taken:
                raise ValidationFailed([p for _, p in taken])
            self._undelete(c, ent, old, actor)
            stage_totals.change(c, self.pack, ent.name, (), [{**old, "deleted_at": None}])
            rollups.refresh(self.store, c, ent.name, rollups.parents_of(self.store, ent, [old]))
            return fields.strip(self.store, ent, actor, self.store.read_one(c, ent, id))

    def _undelete(self, conn: sa.Connection, entity: Entity, old: Record,
                  actor: Actor | None) -> None:
        table, at, user = self.store.table(entity), self.store.context(actor).now, actor_id(actor)
        conn.execute(table.update().where(table.c.id == old["id"]).values(
            deleted_at=None, version=old["version"] + 1, updated_at=at, updated_by=user))
        change = {"deleted_at": [audit.jsonable(old["deleted_at"]), None],
                  audit.VERSION: [old["version"], old["version"] + 1]}
        audit.write(conn, self.store.audit,
                    [audit.row(entity.name, old["id"], "restore", user, at, change)])
        records_lines.restore_lines(self.store, conn, entity, old, at, user)

    # ------------------------------------------------------------ query

    def query(self, entity: str, where: Any = None, search: str | None = None,
              sort: str | None = None, limit: int = 50, offset: int = 0,
              include_deleted: bool = False, *, actor: Actor | None = None,
              reverse: bool = False, links: Collection[str] | None = None) -> list[Record]:
        """One page of records. `where` is a condition (parsed, or raw JSON-like data);
        `search` is text looked for in the list's search fields; `sort` is "field" or
        "-field" (default the list's sort), always tie-broken by id; `reverse` reads the
        sort backwards (offset counted from the end). `links`: the `links` fields to read
        (a list page: those it shows); the others are left out of the rows. Default: all."""
        ent = self.store.entity(entity)
        limit, offset = check_paging(limit, offset)
        query, plan = page_statement(self.store, ent, where, search, sort, actor, reverse,
                                     include_deleted, links)
        with self.engine.connect() as c:    # no hidden field is read: nothing to strip
            return read_page(self.store, c, ent, query, plan, limit, offset)

    def iterate(self, entity: str, where: Any = None, search: str | None = None,
                sort: str | None = None, *, actor: Actor | None = None,
                batch: int = keyset.BATCH) -> Iterator[list[Record]]:
        """Every record `query` would page through, in its order, in batches read by
        keyset (constant cost per batch; see `karte.store.records.keyset`)."""
        return keyset.batches(self.store, entity, where, search, sort, actor=actor,
                              size=batch)

    def count(self, entity: str, where: Any = None, search: str | None = None,
              include_deleted: bool = False, *, actor: Actor | None = None,
              cap: int | None = None) -> int:
        """How many records match; with `cap`, counting stops there (for huge tables)."""
        ent = self.store.entity(entity)
        query = counting(self.store, ent, where, search, include_deleted, actor, cap)
        with self.engine.connect() as c:
            return c.execute(query).scalar_one()  # type: ignore[no-any-return]

    def nonempty(self, wheres: Mapping[str, Any], *, actor: Actor | None = None) -> set[str]:
        """Which of these entities have at least one record matching its condition (a
        readable one), asked in ONE statement: a page that shows a section per entity
        (home's "changed by others") reads only the sections that have rows."""
        if not wheres:
            return set()
        probes = [sa.exists(filtered(self.store, self.store.entity(name), where, None, False,
                                     actor, ordered=False).with_only_columns(sa.literal(1))
                            ).label(f"e{index}")
                  for index, (name, where) in enumerate(wheres.items())]
        with self.engine.connect() as c:
            row = c.execute(sa.select(*probes)).one()
        return {name for name, hit in zip(wheres, row, strict=True) if hit}

    def totals(self, entity: str, names: Iterable[str], where: Any = None,
               search: str | None = None, *, actor: Actor | None = None,
               quick: bool = False) -> dict[str, Decimal] | None:
        """The sum of each money field of `names` over every record `count` would count
        (one query); fields hidden from the actor are left out. `quick`: only if the
        board counters can tell, else None (`records.totals`)."""
        ent = self.store.entity(entity)
        summed = totals.summable(self.store, ent, names, actor)
        if not summed:
            return {}
        query = totals.statement(self.store, ent, summed, where, search, actor)
        with self.engine.connect() as c:
            if where is None and not (search or "").strip():
                found = totals.counted(c, self.store, ent, summed, actor)
                if found is not None:
                    return found
            return None if quick else totals.read(c, query, summed)

    def clashes(self, entity: str, values: Mapping[str, Any], exclude_id: Any = None, *,
                actor: Actor | None = None) -> list[Problem]:
        """The unique values among `values` another live record holds (SPEC §3.3), as
        create and update would refuse them: a form asks before offering to save."""
        ent = self.store.entity(entity)
        values = fields.strip(self.store, ent, actor, dict(values))
        with self.engine.connect() as c:
            return unique_clashes(self.store, c, ent, values, exclude_id, actor)

    def duplicates(self, entity: str, values: Mapping[str, Any], exclude_id: Any = None,
                   *, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Live records that look like `values` by a duplicate rule: a warning to show
        before saving, never a refusal. Each as {"rule": [fields], "record": {...}}."""
        ent = self.store.entity(entity)
        exclude = None if exclude_id is None else int(exclude_id)
        values = fields.strip(self.store, ent, actor, dict(values))
        matches: dict[int, tuple[str, ...]] = {}
        with self.engine.connect() as c:
            for rule, query in duplicate_queries(self.store, ent, values, exclude, actor):
                for id in c.scalars(query):
                    matches.setdefault(id, rule)
            records = self.store.read(c, ent, list(matches))
        return [{"rule": list(rule), "record": fields.strip(self.store, ent, actor, records[id])}
                for id, rule in matches.items()]

    # ------------------------------------------------------------ duplicates and merge

    def duplicate_groups(self, entity: str, rule: int = 0, limit: int = 20, offset: int = 0,
                         *, actor: Actor | None = None) -> dict[str, Any]:
        """A page of the groups the entity's duplicate rule number `rule` finds across
        its live records the actor may read (`records.merging`)."""
        return merging.duplicate_groups(self, entity, rule, limit, offset, actor)

    def merge_preview(self, entity: str, keep_id: Any, other_id: Any, *,
                      actor: Actor | None = None) -> dict[str, Any]:
        """Both records, the fields to choose and what a merge would re-point."""
        return merging.preview(self, entity, keep_id, other_id, actor)

    def merge(self, entity: str, keep_id: Any, other_id: Any, values: Mapping[str, Any],
              actor: Actor | None = None, versions: tuple[Any, Any] | None = None) -> Record:
        """Merge `other_id` into `keep_id` in one transaction: `values` for the survivor,
        every reference re-pointed, the other soft-deleted as merged (SPEC §14)."""
        return merging.merge(self, entity, keep_id, other_id, values, versions, actor)

    def merged_into(self, entity: str, id: Any) -> int | None:
        """The live record that `id` was merged into, if it was."""
        return merging.merged_into(self, entity, id)
