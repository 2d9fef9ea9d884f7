"""What every part of the records service shares: the pack, its tables, and reading rows.

A record is a plain dict: every column of the entity's table (system columns included) with
the database's Python types (Decimal, date, aware datetime, list for multi_enum), and each
`links` field as a sorted list of the ids of its live targets.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from karte.fields import record_id
from karte.meta.conditions import Context
from karte.meta.model import Entity, Field, Pack
from karte.problems import did_you_mean
from karte.store.actor import Actor, actor_id
from karte.store.errors import NotFound
from karte.store.lazy_tables import LazyTables
from karte.store.tables import junction_name
from karte.store.validation import Schemas

CHUNK = 5000  # ids per IN (...) list: far below every database's parameter limit
MEMO_SIZE = 4096  # entries `Store.remember` keeps before starting again
T = TypeVar("T")

Fetch = Callable[[str, int], Mapping[str, Any] | None]


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def links_fields(entity: Entity) -> tuple[Field, ...]:
    return tuple(f for f in entity.fields.values() if f.type == "links")


class Store:
    """The pack's tables and schemas, built once per service, and row reading."""

    def __init__(self, engine: sa.Engine, pack: Pack):
        self.engine, self.pack = engine, pack
        self.tables: Mapping[str, sa.Table] = LazyTables(pack, engine.dialect.name)
        self.schemas = Schemas(pack)
        # what "now" is for writes (created_at, `$today`, series dates); tests set it
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        # what reads rebuild from the pack alone, kept: rights per role, read scopes,
        # hidden fields, statements (`remember`); the pack never changes under a Store
        self.memo: dict[Hashable, Any] = {}

    def remember(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once per `key` (which must name everything the result
        depends on: the entity, the role, the actor when the result is theirs alone).
        Bounded: past MEMO_SIZE entries the memo starts again. A `make` that raises
        leaves nothing behind."""
        try:
            return self.memo[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        made = make()
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[key] = made
        return made

    def entity(self, name: str) -> Entity:
        try:
            return self.pack.entities[name]
        except KeyError:
            raise NotFound(str(name), None, did_you_mean(name, self.pack.entities)) from None

    def table(self, entity: Entity | str) -> sa.Table:
        return self.tables[entity if isinstance(entity, str) else entity.table_name]

    def junction(self, entity: Entity, field: Field) -> sa.Table:
        return self.tables[junction_name(entity.name, field.name)]

    @property
    def audit(self) -> sa.Table:
        return self.tables["karte_audit"]

    @property
    def users(self) -> sa.Table:
        return self.tables["karte_user"]

    def context(self, actor: Actor | None) -> Context:
        return Context.current(actor_id(actor), self.pack.timezone, self.clock())

    def read(self, conn: sa.Connection, entity: Entity, ids: Sequence[int],
             include_deleted: bool = False, lock: bool = False,
             scope: sa.ColumnElement[bool] | None = None,
             lines: bool = True) -> dict[int, dict[str, Any]]:
        """Records by id (missing ones, and with `scope` those outside it, left out),
        links attached, and lines unless `lines` is False (a rollup refresh reads
        parents for their values only)."""
        table = self.table(entity)
        found: dict[int, dict[str, Any]] = {}
        for batch in chunks(ids):
            query = sa.select(table).where(table.c.id.in_(batch))
            if scope is not None:
                query = query.where(scope)
            if not include_deleted:
                query = query.where(table.c.deleted_at.is_(None))
            if lock:
                query = query.with_for_update()
            found.update((row["id"], dict(row)) for row in conn.execute(query).mappings())
        self.attach_links(conn, entity, list(found.values()))
        if lines:
            self.attach_lines(conn, entity, list(found.values()))
        return found

    def read_one(self, conn: sa.Connection, entity: Entity, id: Any,
                 include_deleted: bool = False, lock: bool = False,
                 scope: sa.ColumnElement[bool] | None = None) -> dict[str, Any]:
        """One record, or NotFound (also for an id that is not a number or beyond 64 bits,
        or a record outside `scope`: the caller may not learn that it exists)."""
        number = record_id(id)
        if number is None:
            raise NotFound(entity.name, id)
        record = self.read(conn, entity, [number], include_deleted, lock, scope).get(number)
        if record is None:
            raise NotFound(entity.name, id)
        return record

    def attach_links(self, conn: sa.Connection, entity: Entity,
                     records: list[dict[str, Any]],
                     fields: Iterable[Field] | None = None) -> None:
        """Each `links` field (or those of `fields`) as sorted ids of live targets: one
        query per field per page."""
        ids = [record["id"] for record in records]
        for field in links_fields(entity) if fields is None else fields:
            targets: dict[int, list[int]] = defaultdict(list)
            query = self._links_query(entity, field)
            for batch in chunks(ids):
                for source_id, target_id in conn.execute(query,
                                                         {"ids": self.ids_value(batch)}).all():
                    targets[source_id].append(target_id)
            name = field.name
            for record in records:
                record[name] = targets.get(record["id"], [])

    def _links_query(self, entity: Entity, field: Field) -> sa.Select[Any]:
        """The live targets of a `links` field for the source ids bound as `ids`
        (`ids_value`), built once: the same statement object serves every page."""
        def make() -> sa.Select[Any]:
            junction, target = self.junction(entity, field), self.table(field.to_entity)
            return (sa.select(junction.c.source_id, junction.c.target_id)
                    .join(target, target.c.id == junction.c.target_id)
                    .where(self.among(junction.c.source_id), target.c.deleted_at.is_(None))
                    .order_by(junction.c.source_id, junction.c.target_id))
        return self.remember(("links", entity.name, field.name), make)

    def among(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """`column` is one of the ids bound as `ids` (as `ids_value` makes the value): one
        parameter, an array on PostgreSQL and JSON text on SQLite, so the SQL is the
        same whatever the number of ids (no IN list expanded per call)."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return column == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.BigInteger)))
        if dialect == "sqlite":
            return column.in_(sa.select(sa.column("value", sa.Integer))
                              .select_from(sa.func.json_each(sa.bindparam("ids", type_=sa.Text))))
        return column.in_(sa.bindparam("ids", expanding=True))

    def ids_value(self, ids: list[int]) -> Any:
        """The value of `ids` for `among`."""
        if self.engine.dialect.name == "sqlite":
            return json.dumps(ids)
        return ids

    def attach_lines(self, conn: sa.Connection, entity: Entity,
                     records: list[dict[str, Any]]) -> None:
        """Each `lines` field as its lines in order (SPEC §3.5): one query per field. A
        live record has its live lines; a deleted one the lines deleted with it. Lists
        of records (`query`) do not call this: a list page shows no lines."""
        for field in entity.fields.values():
            if field.type != "lines" or not field.of or field.of not in self.tables:
                continue
            part = self.pack.entities[field.of]
            found = self.lines_of(conn, part, {r["id"]: r["deleted_at"] for r in records})
            for record in records:
                record[field.name] = found.get(record["id"], [])

    def lines_of(self, conn: sa.Connection, part: Entity,
                 parents: Mapping[int, dt.datetime | None]) -> dict[int, list[dict[str, Any]]]:
        """The lines of each parent id, ordered by position: the live ones of a parent
        whose value is None, else those deleted at that moment (deleted with it)."""
        table, parent = self.table(part), part.part_of or ""
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for batch in chunks(parents):
            deleted = {at for id, at in parents.items() if id in batch and at is not None}
            alive = table.c.deleted_at.is_(None)
            when = sa.or_(alive, table.c.deleted_at.in_(deleted)) if deleted else alive
            query = (sa.select(table).where(table.c[parent].in_(batch), when)
                     .order_by(table.c[parent], table.c.position, table.c.id))
            for row in conn.execute(query).mappings():
                if row["deleted_at"] == parents[row[parent]]:
                    found[row[parent]].append(dict(row))
        lines = [line for group in found.values() for line in group]
        self.attach_links(conn, part, lines)
        return dict(found)

    def fetcher(self, conn: sa.Connection) -> Fetch:
        """`fetch(entity, id)` for conditions that follow a link: any record, deleted or
        not, read once per write."""
        cache: dict[tuple[str, int], Mapping[str, Any] | None] = {}

        def fetch(name: str, id: int) -> Mapping[str, Any] | None:
            if (name, id) not in cache:
                found = self.read(conn, self.pack.entities[name], [id], include_deleted=True)
                cache[(name, id)] = found.get(id)
            return cache[(name, id)]

        return fetch
