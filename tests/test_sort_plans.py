"""List sorts are read from an index (issue 11), on SQLite and PostgreSQL: for every entity
of the standard pack, the default list query and the sort by each `list.sort`/filter field
(both directions) plan an index scan, never a whole-table scan plus a sort; pages show the
same order on both databases (empty values last); a filtered capped count reads an index.

The plans are read with EXPLAIN on tables of ROWS rows, inserted raw (only the sorted
columns filled) so that the planner has a reason to prefer an index; ANALYZE first.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import analyse_schema
from karte.store.migrate import migrate
from karte.store.records.query import filtered, order_by
from karte.store.tables import engine_table, sort_fields

ROWS = 5000
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pack():
    return load_pack(REPO_ROOT)


def _value(column: sa.Column[Any], i: int, users: list[int]) -> Any:
    if i % 10 == 0:
        return None                                   # empty values sort last
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return i % 3 == 0
    if isinstance(kind, sa.Date):
        return dt.date(2024, 1, 1) + dt.timedelta(days=i % 400)
    if isinstance(kind, sa.DateTime) or "DateTime" in type(kind).__name__:
        return START + dt.timedelta(minutes=(i * 7919) % 100_000)
    if column.foreign_keys:
        return users[i % len(users)]                  # user fields (links are not sorted)
    if isinstance(kind, sa.Numeric):
        return Decimal(i % 113)
    if isinstance(kind, sa.Integer):
        return i % 113
    return f"v{(i * 31) % 997:04d}"


def _fill(records: Records, users: list[int]) -> None:
    rng = random.Random(11)
    with records.engine.begin() as conn:
        for entity in records.pack.entities.values():
            table = records.store.table(entity)
            sorted_by = [n for n in sort_fields(entity) if n in entity.fields]
            rows = []
            for i in range(ROWS):
                at = START + dt.timedelta(seconds=rng.randrange(10**7))
                row = {"created_at": at, "updated_at": at + dt.timedelta(seconds=i),
                       "deleted_at": at if i % 50 == 0 else None}
                row.update({n: _value(table.c[n], i, users) for n in sorted_by})
                row.update({n: f"u{i:05d}" for n in sorted_by       # a list column may be
                            if entity.fields[n].unique and row[n] is not None})  # unique
                rows.append(row)
            conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":
            analyse_schema(conn)
        else:
            conn.exec_driver_sql("ANALYZE")


@pytest.fixture
def crm(engine, pack):
    migrate(engine, pack, apply_risky=True)
    records = Records(engine, pack)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        users = [conn.execute(engine_table("karte_user").insert().values(
            email=f"u{i}@example.com", name=f"U{i}", role="admin", created_at=now,
            updated_at=now)).inserted_primary_key[0] for i in range(5)]
    _fill(records, users)
    return records


def _plan(conn: sa.Connection, query: sa.Select[Any]) -> str:
    compiled = query.compile(dialect=conn.dialect)
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        return "\n".join(r[0] for r in rows)
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
    return "\n".join(r[-1] for r in rows)


def _sorts_by_scan(plan: str, dialect: str) -> bool:
    if dialect == "sqlite":
        return "TEMP B-TREE" not in plan      # a SCAN in rowid order is the `id` index
    lines = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    return (not any(line.startswith(("Sort ", "Seq Scan")) for line in lines)
            and any("Index" in line for line in lines))


def _sorts(entity) -> list[str | None]:
    names = sort_fields(entity)
    return [None, *(s for n in names for s in (n, f"-{n}"))]


def test_every_list_sort_of_the_standard_pack_reads_an_index(crm):
    failures = []
    with crm.engine.connect() as conn:
        for entity in crm.pack.entities.values():
            for sort in _sorts(entity):
                query = (filtered(crm.store, entity).order_by(
                    *order_by(crm.store, entity, sort)).limit(51).offset(0))
                plan = _plan(conn, query)
                if not _sorts_by_scan(plan, conn.dialect.name):
                    failures.append(f"{entity.name} sort={sort or entity.list.sort}:\n{plan}")
    assert not failures, "\n\n".join(failures)


def test_the_check_sees_a_sort_no_index_serves(crm):
    """The plan check itself fails on an unindexed sort (a text column no list sorts by)."""
    entity = crm.pack.entities["customer"]
    table = crm.store.table(entity)
    unindexed = next(n for n, f in entity.fields.items()
                     if f.type == "string" and n not in sort_fields(entity)
                     and not f.unique and not f.index and n in table.c)
    with crm.engine.connect() as conn:
        query = filtered(crm.store, entity).order_by(table.c[unindexed].desc(), table.c.id)
        assert not _sorts_by_scan(_plan(conn, query.limit(51)), conn.dialect.name)


def _expected(rows: list[dict], name: str, descending: bool) -> list[int]:
    present = sorted((r for r in rows if r[name] is not None),
                     key=lambda r: (r[name], r["id"]), reverse=descending)
    empty = sorted((r for r in rows if r[name] is None), key=lambda r: r["id"],
                   reverse=descending)
    return [r["id"] for r in present + empty]


def test_pages_keep_empty_values_last_in_both_directions(crm):
    """The index-friendly ORDER BY shows what it showed before: values in order, then the
    empty ones, ties by id, on both databases (a later page too)."""
    for entity_name in ("task", "deal", "ticket", "interaction"):
        entity = crm.pack.entities[entity_name]
        for name in sort_fields(entity):
            live = _live(crm, entity_name, name)
            for descending in (False, True):
                sort = f"-{name}" if descending else name
                expected = _expected(live, name, descending)
                for offset in (0, 4000):
                    got = crm.query(entity_name, sort=sort, limit=1000, offset=offset)
                    assert [r["id"] for r in got] == expected[offset:offset + 1000], sort


def _live(crm: Records, entity_name: str, name: str) -> list[dict]:
    table = crm.store.tables[entity_name]
    with crm.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c[name])
                            .where(table.c.deleted_at.is_(None))).mappings()
        return [dict(r) for r in rows]


def test_a_filtered_capped_count_reads_an_index(crm):
    """With a filter on a list filter field matching fewer rows than the cap, the capped
    count (web/lists.py) reads that field's index, not the whole table."""
    entity = crm.pack.entities["task"]
    table = crm.store.table(entity)
    where = {"field": "due_on", "op": "=", "value": "2024-01-05"}
    matching = (filtered(crm.store, entity, where).with_only_columns(table.c.id)
                .limit(10_001))
    query = sa.select(sa.func.count()).select_from(matching.subquery())
    with crm.engine.connect() as conn:
        plan = _plan(conn, query)
        if conn.dialect.name == "sqlite":
            assert "USING INDEX ix_task_due_on" in plan or "USING COVERING INDEX" in plan, plan
        else:
            assert "Seq Scan" not in plan and "ix_task_due_on" in plan, plan
    count = crm.count("task", where=where, cap=10_001)
    assert 0 < count < 10_001
