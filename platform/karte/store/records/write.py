"""The steps of a write, shared by create, create_many and update.

Preparing a record (defaults, initial stages, formulas, validation) needs no database;
checking it (link targets alive here, unique values free in `unique`) takes one query per
field for a whole batch; writing it is one executemany. Problems come back tagged with the
row's position so a batch can report "row 12: email".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty, normalise
from karte.meta import conditions, formulas, rollups
from karte.meta.formulas import Formula
from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store import audit, stage_reached, stage_times
from karte.store.actor import Actor
from karte.store.bulk_insert import insert_rows
from karte.store.permissions import scope
from karte.store.records import series
from karte.store.records.fetch import Linked
from karte.store.records.store import Fetch, Store, chunks, links_fields
from karte.store.validation import (
    Judge,
    check_protected,
    check_required,
    check_stages,
    differs,
    label,
    noun,
)

Tagged = list[tuple[int, Problem]]
TOKENS: dict[str, Callable[[conditions.Context], Any]] = {
    "$today": lambda ctx: ctx.today,
    "$now": lambda ctx: ctx.now,
    "$me": lambda ctx: ctx.user_id,
}
REFERENCES = frozenset({"link", "links", "user"})


def judge_with(ctx: conditions.Context, fetch: Fetch) -> Judge:
    return lambda cond, record: conditions.evaluate(cond, record, ctx, fetch)


def blank(entity: Entity) -> dict[str, Any]:
    """Every declared field, empty."""
    return {name: [] if f.type == "links" else None for name, f in entity.fields.items()}


def default_of(field: Field, ctx: conditions.Context, country: str | None) -> Any:
    raw = field.default
    if isinstance(raw, str) and raw in TOKENS:
        raw = TOKENS[raw](ctx)
    return normalise(field, raw, country)


def _defaults(entity: Entity, given: Mapping[str, Any], ctx: conditions.Context,
              country: str | None) -> tuple[dict[str, Any], list[Problem]]:
    """Defaults for the fields the input does not mention (an explicit empty stays empty)."""
    values, problems = {}, []
    for name, field in _shape(entity).defaults:
        if name in given:
            continue
        try:
            values[name] = default_of(field, ctx, country)
        except ValueError as error:
            problems.append(Problem(name, f"The default of {label(field)} is not valid: "
                                          f"{error}", "invalid"))
    return values, problems


class _Shape:
    """What preparing a new record of one entity needs from its definition, worked out
    once per entity (a bulk create prepares thousands of rows): the formula order, the
    empty record, the fields with a default, the guarded fields, the audited fields."""

    def __init__(self, entity: Entity):
        self.entity = entity
        self.order = formulas.in_order(entity)
        self.starting = rollups.starting(entity)
        self.empty = {**blank(entity), **self.starting}
        self.lists = [name for name, f in entity.fields.items() if f.type == "links"]
        self.defaults = [(n, f) for n, f in entity.fields.items() if f.default is not None]
        self.series = frozenset(n for n, f in entity.fields.items() if f.series is not None)
        self.audited = [n for n, f in entity.fields.items() if f.type != "lines"]

    def new_record(self) -> dict[str, Any]:
        """`blank` with the rollups' starting values, its lists fresh."""
        record = dict(self.empty)
        for name in self.lists:
            record[name] = []
        return record


_SHAPES: dict[int, _Shape] = {}


def _shape(entity: Entity) -> _Shape:
    """The entity's `_Shape`. Keyed by the entity object itself: the Registry's objects
    are frozen, and a cached entry holds its entity, so its id is not reused."""
    found = _SHAPES.get(id(entity))
    if found is None or found.entity is not entity:
        if len(_SHAPES) > 10_000:     # packs built again and again (tests): start afresh
            _SHAPES.clear()
        found = _SHAPES[id(entity)] = _Shape(entity)
    return found


def _formula_order(entity: Entity) -> list[str]:
    """`formulas.in_order`, worked out once per entity."""
    return _shape(entity).order


def compute_formulas(entity: Entity, record: dict[str, Any],
                     hops: Mapping[str, Any] | None = None) -> None:
    """Every formula, each after the formulas it uses; `hops` holds the values read
    through links (`{"customer.discount_pct": ...}`, store/records/fetch.py). Without
    them a formula reading through a link keeps the value it has (a draft, a check)."""
    for name in _formula_order(entity):
        formula = entity.fields[name].formula
        if not isinstance(formula, Formula):
            record[name] = None
        elif hops is not None or not formula.hops:
            record[name] = formula.evaluate({**record, **hops} if hops else record)


def _without_repeats(problems: list[Problem], required: list[Problem]) -> list[Problem]:
    """"X is required" adds nothing when X already has a problem (e.g. an invalid value)."""
    named = {p.where for p in problems}
    return problems + [p for p in required if p.where not in named]


def _requirements(store: Store, entity: Entity, record: Mapping[str, Any],
                  changed: set[str] | None, judge: Judge) -> list[Problem]:
    """`required` / `required_if`, then what the record's current stages keep (a field
    already found missing is named once)."""
    found = check_required(entity, record, changed, judge)
    named = {p.where for p in found}
    staged = check_stages(entity, store.pack.workflows_of(entity.name), record, changed, judge,
                          store.pack.locale)
    return found + [p for p in staged if p.where not in named]


def _protected(entity: Entity, loaded: Mapping[str, Any],
               ctx: conditions.Context) -> Mapping[str, Any]:
    """The given values to guard on create: all, but for the system (no user: an import)
    not the series numbers it brings, which are kept (store/records/series.py)."""
    series = _shape(entity).series
    if ctx.user_id is not None or not series:
        return loaded
    return {n: v for n, v in loaded.items() if n not in series}


ATTACH = "Attach files through the upload form or the files endpoint."


def file_input(entity: Entity, values: Mapping[str, Any],
               files: bool) -> tuple[Mapping[str, Any], list[Problem]]:
    """`values` without the file fields, each a problem, unless `files`: only the files
    service (`karte.files`) writes file references, after it stored the bytes, so no
    form, import, bulk edit or API body can point a record at a blob it did not upload."""
    if files:
        return values, []
    named = [n for n in values if n in entity.fields and entity.fields[n].type == "file"]
    if not named:
        return values, []
    return ({n: v for n, v in values.items() if n not in named},
            [Problem(n, ATTACH, "invalid") for n in named])


ONE_FILE = "This field holds one file; attach a single file."


def file_counts(entity: Entity, loaded: Mapping[str, Any],
                old: Mapping[str, Any]) -> list[Problem]:
    """A field that is not `multiple` holds one file: more is a problem — unless the
    record held more already (the field was `multiple` before the pack changed) and
    this write does not add to them, so that its files can still be taken off."""
    found = []
    for name, value in loaded.items():
        field = entity.fields.get(name)
        if field is None or field.type != "file" or field.multiple or len(value or ()) < 2:
            continue
        if len(value) > len(old.get(name) or ()):
            found.append(Problem(name, ONE_FILE, "invalid"))
    return found


def prepare_create(store: Store, entity: Entity, values: Mapping[str, Any],
                   ctx: conditions.Context, judge: Judge, trusted: bool,
                   linked: Linked | None = None, files: bool = False
                   ) -> tuple[dict[str, Any], list[Problem]]:
    """The record to insert (declared fields only) and every problem with it; with
    `linked`, fetched fields copied and formulas reading through links computed.
    `files`: file fields may be given (`file_input`)."""
    shape = _shape(entity)
    values, refused = file_input(entity, values, files)
    loaded, problems = store.schemas.load(entity, values)
    problems += refused + file_counts(entity, loaded, {})
    defaults, found = _defaults(entity, values, ctx, store.pack.country)
    record = shape.new_record()
    record.update(defaults)
    record.update(loaded)
    record.update(shape.starting)
    for workflow in store.pack.workflows_of(entity.name):
        if not (trusted and not is_empty(loaded.get(workflow.field))):
            record[workflow.field] = workflow.initial
    if linked is not None:
        problems += linked.fill(record, loaded, None, trusted)
    compute_formulas(entity, record, linked.hop_values(record) if linked else None)
    problems += found + check_protected(entity, _protected(entity, loaded, ctx), {}, judge,
                                        trusted)
    return record, _without_repeats(problems, _requirements(store, entity, record, None, judge))


def prepare_update(store: Store, entity: Entity, old: Mapping[str, Any],
                   values: Mapping[str, Any], judge: Judge, trusted: bool,
                   linked: Linked | None = None, files: bool = False
                   ) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """The record as it would be saved, the names that change, and every problem."""
    values, refused = file_input(entity, values, files)
    loaded, problems = store.schemas.load(entity, values)
    problems += refused + file_counts(entity, loaded, old)
    record = {**old, **loaded}
    if linked is not None:
        problems += linked.fill(record, loaded, old, trusted)
    compute_formulas(entity, record, linked.hop_values(record) if linked else None)
    names = [*loaded, *(n for n, f in entity.fields.items() if f.type == "formula" or f.fetch)]
    changed = [n for n in dict.fromkeys(names) if differs(old.get(n), record.get(n))]
    problems += check_protected(entity, loaded, old, judge, trusted)
    required = _requirements(store, entity, record, set(changed), judge)
    return record, changed, _without_repeats(problems, required)


# ---------------------------------------------------------------- database checks

def _ids(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _pointable(store: Store, field: Field, actor: Actor | None) -> sa.ColumnElement[bool]:
    """What a field may point at: active users, or live target records the actor may read
    (an unreadable record is answered like a missing one: its existence must not leak)."""
    if field.type == "user":
        return store.users.c.active.is_(True)
    target = store.entity(field.to_entity)
    return sa.and_(store.table(target).c.deleted_at.is_(None),
                   scope(store, target, actor, "read"))


def _live_ids(store: Store, conn: sa.Connection, field: Field, ids: set[int],
              actor: Actor | None) -> set[int]:
    """Of `ids`, those the field may point at for the actor."""
    table = store.users if field.type == "user" else store.table(field.to_entity)
    alive = _pointable(store, field, actor)
    found: set[int] = set()
    for batch in chunks(sorted(ids)):
        found.update(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(batch), alive)))
    return found


def _missing_message(store: Store, field: Field, ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:5])
    if field.type == "user":
        return f"There is no active user with id {shown}."
    return (f"There is no {noun(store.entity(field.to_entity))} with id {shown} "
            "(it may have been deleted).")


def reference_problems(store: Store, conn: sa.Connection, entity: Entity,
                       records: Sequence[Mapping[str, Any]], names: Sequence[Sequence[str]],
                       actor: Actor | None = None) -> Tagged:
    """Links, links lists and users that point at nothing alive (or, for links, nothing
    the actor may read), per record position."""
    problems: Tagged = []
    for field in entity.fields.values():
        if field.type not in REFERENCES:
            continue
        wanted = {i: _ids(r.get(field.name)) for i, r in enumerate(records)
                  if field.name in names[i]}
        alive = _live_ids(store, conn, field, {n for ids in wanted.values() for n in ids},
                          actor)
        for i, ids in wanted.items():
            missing = [n for n in ids if n not in alive]
            if missing:
                problems.append((i, Problem(field.name, _missing_message(store, field, missing),
                                            "link")))
    return problems


# ---------------------------------------------------------------- writing

def stamp(at: dt.datetime, user_id: int | None, creating: bool) -> dict[str, Any]:
    made = {"created_at": at, "created_by": user_id, "version": 1} if creating else {}
    return {**made, "updated_at": at, "updated_by": user_id}


def insert(store: Store, conn: sa.Connection, entity: Entity,
           records: Sequence[dict[str, Any]], stamped: Mapping[str, Any]) -> list[int]:
    """Number the series fields, insert rows in one executemany (ids in input order),
    then their links."""
    series.assign(store, conn, entity, records, stamped["created_at"])
    table = store.table(entity)
    columns = [c.name for c in table.c if c.name not in ("id", "deleted_at")]
    params = [{c: stamped[c] if c in stamped else r.get(c) for c in columns}
              | stage_times.on_create(entity, r, stamped["created_at"])
              | stage_reached.on_create(entity, r) for r in records]
    ids = _inserted_ids(conn, table, params)
    for field in links_fields(entity):
        rows = [{"source_id": id, "target_id": target}
                for id, record in zip(ids, records, strict=True)
                for target in record.get(field.name) or ()]
        insert_rows(conn, store.junction(entity, field), rows)
    return ids


def _inserted_ids(conn: sa.Connection, table: sa.Table, params: list[dict[str, Any]]) -> list[int]:
    """Ids of the inserted rows, in input order. SQLAlchemy's sort_by_parameter_order
    falls back to one INSERT per row on SQLite; there it is not needed, because while this
    transaction holds the write lock each new row gets max(rowid) + 1 in statement order,
    so the ids sorted are the rows in order. On PostgreSQL many rows take their ids from
    the table's sequence first (one query), then go in by plain executemany: a multi-row
    INSERT … RETURNING is a new, long statement per batch, which psycopg parses anew
    every time (a third of a bulk create's time)."""
    if conn.dialect.name == "sqlite" and len(params) > 1:
        # A plain executemany (sqlite3 loops in C; INSERT … RETURNING makes SQLAlchemy
        # batch the rows into long multi-row statements), then the last id: the rows just
        # inserted hold the `len(params)` ids up to it, in statement order.
        conn.execute(table.insert(), params)
        last = conn.scalar(sa.select(sa.func.max(table.c.id)))
        return list(range(last - len(params) + 1, last + 1))
    if conn.dialect.name == "sqlite":
        return list(conn.scalars(table.insert().returning(table.c.id), params))
    if len(params) > 1 and conn.dialect.name == "postgresql":
        ids = _reserve_ids(conn, table, len(params))
        insert_rows(conn, table, [{**row, "id": id} for row, id in zip(params, ids,
                                                                       strict=True)])
        return ids
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(conn.scalars(statement, params))


def _reserve_ids(conn: sa.Connection, table: sa.Table, count: int) -> list[int]:
    """`count` new ids from the sequence of the table's id column, ascending."""
    sequence = sa.func.pg_get_serial_sequence(table.name, "id")
    query = sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
    return sorted(conn.scalars(query))


def update_row(store: Store, conn: sa.Connection, entity: Entity, old: Mapping[str, Any],
               record: Mapping[str, Any], changed: Sequence[str],
               stamped: Mapping[str, Any]) -> bool:
    """Write the changed columns and links if the stored version is still `old`'s."""
    table = store.table(entity)
    columns = {n: record[n] for n in changed if n in table.c}
    columns |= stage_times.on_update(entity, columns, stamped["updated_at"])
    columns |= stage_reached.on_update(entity, table, columns)
    result = conn.execute(
        table.update().where(table.c.id == old["id"], table.c.version == old["version"])
        .values(**columns, **stamped, version=old["version"] + 1))
    if result.rowcount != 1:
        return False
    for field in links_fields(entity):
        if field.name in changed:
            replace_links(store, conn, entity, field, old["id"], record[field.name])
    return True


def replace_links(store: Store, conn: sa.Connection, entity: Entity, field: Field,
                  id: int, targets: Sequence[int]) -> None:
    junction = store.junction(entity, field)
    conn.execute(junction.delete().where(junction.c.source_id == id))
    if targets:
        conn.execute(junction.insert(), [{"source_id": id, "target_id": t} for t in targets])


def created_changes(entity: Entity, record: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Audit changes of a new record: every non-empty field from None (what
    `audit.changes({}, record, names)` gives, built directly: one per created record)."""
    found: dict[str, list[Any]] = {}
    jsonable = audit.jsonable
    for name in _shape(entity).audited:                     # lines: line by line
        value = record.get(name)
        if not is_empty(value):
            found[name] = [None, jsonable(value)]
    found[audit.VERSION] = [None, 1]
    return found
