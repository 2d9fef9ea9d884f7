"""Home and boards flat in the data's size (issue 11): the recent-changes page and the
stage counts read their indexes (EXPLAIN, on both databases), and the board's numbers and
overdue flags — computed without a latest move per record — equal a fresh aggregate over
`karte_stage_move` after any sequence of moves and back-dated history (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import karte.store.recent as recent
from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.db import analyse_schema
from karte.store.field_rights import hidden
from karte.store.migrate import migrate
from karte.store.permissions import rights, scope
from karte.store.recent import page_query, recent_changes, records_query
from karte.workflow import Workflows, history

ITEM = {"name": "item", "fields": {"title": {"type": "string"},
                                   "amount": {"type": "money"}}}
FLOW = {"name": "flow", "entity": "item", "field": "stage", "stages": [
    {"key": "new", "max_days": 2}, {"key": "doing", "max_days": 5}, {"key": "review"},
    {"key": "done", "final": "won"}, {"key": "dropped", "final": "lost"}],
    "moves": {"skip": True, "back": True, "reopen": True}}
OTHER = {"name": "other", "fields": {"title": {"type": "string"}}}
KEYS = [s["key"] for s in FLOW["stages"]]
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def service(engine, make_pack) -> Workflows:
    pack = make_pack({"item": ITEM, "other": OTHER}, {"flow": FLOW})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


def plan(conn: sa.Connection, query: sa.Select) -> str:
    """The query's plan as text, with fresh statistics (the app runs ANALYZE at start);
    on PostgreSQL with scans and sorts that an index could replace disabled, so a test on
    a few rows asks whether the index *can* serve it."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}"))
    for knob in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
        conn.exec_driver_sql(f"SET LOCAL {knob} = off")
    analyse_schema(conn)
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))


# ------------------------------------------------------------------ EXPLAIN


def test_recent_changes_read_the_audit_index_newest_first(service):
    store = service.records.store
    for i in range(30):
        service.records.create("item", {"title": f"t{i}"})
        service.records.create("other", {"title": f"t{i}"})
    with service.records.engine.begin() as conn:
        every = plan(conn, page_query(store, ["item", "other"], 50))
        first = plan(conn, page_query(store, ["item"], 50))   # "other" unreadable
        later = plan(conn, page_query(store, ["item"], 100, (NOW, 10)))
        looked = plan(conn, records_query(store, store.entity("item"), None, [1, 2, 3]))
    for found in (every, first, later):
        assert "ix_karte_audit_at" in found, found
        assert "TEMP B-TREE" not in found and "Sort" not in found, found
        assert "SCAN karte_audit\n" not in found + "\n" and "Seq Scan" not in found, found
    assert "Seq Scan" not in looked and "SCAN item" not in looked, looked


def test_stage_counts_and_overdue_read_indexes(service):
    store, workflow = service.records.store, service.pack.workflows["flow"]
    table, moves = store.table("item"), store.tables["karte_stage_move"]
    for i in range(20):
        service.records.create("item", {"title": f"t{i}"})
    counts = (sa.select(table.c.stage, sa.func.count()).where(table.c.deleted_at.is_(None))
              .group_by(table.c.stage))
    late = sa.select(sa.func.count()).select_from(table).where(
        table.c.deleted_at.is_(None), table.c.stage == "new",
        history.overdue(workflow, store.tables, NOW, "new"))
    with service.records.engine.begin() as conn:
        counted, overdue = plan(conn, counts), plan(conn, late)
    assert "ix_item_stage_board" in counted, counted
    assert "COVERING INDEX" in counted or "Index Only Scan" in counted, counted
    if service.records.engine.dialect.name == "sqlite":  # PostgreSQL on 20 rows: any index
        # a range of (stage, entered the stage at): the overdue records alone
        assert "COVERING INDEX ix_item_stage_board (stage=? AND _stage_at" in overdue, overdue
    assert "SCAN item\n" not in overdue + "\n" and "Seq Scan on item" not in overdue, overdue
    assert moves.name not in overdue, overdue   # no history read per record


def test_migration_adds_the_indexes_to_an_existing_database(service):
    engine, pack = service.records.engine, service.pack
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_karte_audit_at")
        conn.exec_driver_sql("DROP INDEX ix_item_stage_board")
        conn.exec_driver_sql("CREATE INDEX ix_item_stage ON item (stage)")
    migrate(engine, pack)
    inspector = sa.inspect(engine)
    names = {t: {i["name"] for i in inspector.get_indexes(t)}
             for t in ("karte_audit", "karte_stage_move", "item")}
    assert "ix_karte_audit_at" in names["karte_audit"]
    assert "ix_item_stage_board" in names["item"] and "ix_item_stage" not in names["item"]


# ------------------------------------------------------------------ recent changes


def test_recent_changes_skip_unreadable_pages_and_keep_the_newest(service, monkeypatch):
    """Pages smaller than the hidden rows: the reader goes on to older pages."""
    monkeypatch.setattr(recent, "FIRST_PAGE", 2)
    records = service.records
    ids = [records.create("item", {"title": f"t{i}"})["id"] for i in range(6)]
    for id in ids[:3]:
        records.update("item", id, {"amount": "1.00"}, 1)
    records.delete("item", ids[4])
    with records.engine.begin() as conn:   # a record gone from its table: not shown
        conn.execute(sa.delete(records.store.table("item")).where(
            records.store.table("item").c.id == ids[5]))
    found = recent_changes(records.store, None, limit=5)
    audit = records.store.audit
    with records.engine.connect() as conn:
        expected = conn.execute(sa.select(audit.c.id).where(audit.c.record_id != ids[5])
                                .order_by(audit.c.at.desc(), audit.c.id.desc())
                                .limit(5)).scalars().all()
    assert [row["id"] for row in found] == expected
    assert next(r for r in found if r["record_id"] == ids[4])["deleted"] is True
    assert all(r["title"] for r in found)


# ------------------------------------------------------------------ property

steps = st.lists(st.tuples(st.integers(0, 5), st.sampled_from(KEYS)), max_size=25)
shifts = st.lists(st.integers(0, 12), min_size=1, max_size=40)


Fresh = tuple[dict[str, int], dict[str, int], dict[int, tuple[str, dt.datetime, bool]]]


def fresh(service: Workflows) -> Fresh:
    """Counts, overdue counts and each live record's (stage, in stage since, overdue),
    from the rows alone."""
    store, workflow = service.records.store, service.pack.workflows["flow"]
    table, moves = store.table("item"), store.tables["karte_stage_move"]
    with service.records.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.stage, table.c.created_at)
                            .where(table.c.deleted_at.is_(None))).all()
        entered: dict[tuple[int, str], dt.datetime] = {}
        for id, to, at in conn.execute(sa.select(moves.c.record_id, moves.c.to_stage,
                                                 moves.c.at)):
            entered[(id, to)] = max(at, entered.get((id, to), at))
    counts = {key: 0 for key in KEYS}
    late = {key: 0 for key in KEYS}
    flags = {}
    for id, stage, created in rows:
        since = entered.get((id, stage), created)
        days = workflow.stage(stage).max_days
        overdue = days is not None and since < NOW - dt.timedelta(days=days)
        flags[id] = (stage, since, overdue)
        counts[stage] += 1
        late[stage] += overdue
    return counts, late, flags


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps, shifts=shifts, deleted=st.sets(st.integers(0, 5), max_size=2))
def test_board_numbers_equal_a_fresh_aggregate_after_random_moves(service, steps, shifts,
                                                                  deleted):
    """Every write goes through the services, at times spread over the last twelve days
    (the store's clock): creations, moves, deletions; the stage times stored on the
    records, the board's counts, overdue counts and flags equal a fresh aggregate of the
    rows and the stage history."""
    records, store = service.records, service.records.store
    table = store.table("item")
    times = iter(sorted((NOW - dt.timedelta(days=days, hours=1) for days in shifts * 3),
                        reverse=False))
    last = NOW - dt.timedelta(days=13)

    def tick() -> dt.datetime:
        nonlocal last
        last = max(last, next(times, last + dt.timedelta(minutes=5)))
        return last

    store.clock = tick
    ids = [records.create("item", {"title": f"t{i}"})["id"] for i in range(6)]
    for who, to in steps:
        service.move("item", ids[who], to)
    for index in deleted:
        records.delete("item", ids[index])
    counts, late, flags = fresh(service)
    numbers = service.stage_counts("flow", now=NOW)
    assert {k: v["count"] for k, v in numbers.items()} == counts
    assert {k: v["overdue"] for k, v in numbers.items()} == late
    assert {k: v["count"] for k, v in service.stage_counts(
        "flow", now=NOW, only_counts=True).items()} == counts
    board = service.board("flow", limit=1000, now=NOW)
    for column in board:
        key = column.stage.key
        assert column.count == counts[key]
        assert column.overdue == late[key]
        assert {card["id"] for card in column.cards} == {
            id for id, (stage, _, _) in flags.items() if stage == key}
        assert column.late == {card["id"] for card in column.cards if flags[card["id"]][2]}
    since = history.entered_at(service.pack.workflows["flow"], store.tables)
    with records.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(table.c.id, since)
                                   .where(table.c.deleted_at.is_(None))).all())
    assert stored == {id: entered for id, (_, entered, _) in flags.items()}


# ------------------------------------------------------------------ same as before

def reference(store, actor, limit):
    """Recent changes as `main` computed them before issue 11: one join of the audit
    table per readable entity, newest first, merged — without its one slip: it read
    `limit` rows per entity before dropping the changes of hidden fields only, so it
    could show fewer rows than there were."""
    audit, users = store.audit, store.users
    found = []
    with store.engine.connect() as conn:
        for entity in store.pack.entities.values():
            if not rights(store, entity, actor).read:
                continue
            table, unseen = store.table(entity), hidden(store, entity, actor)
            title = table.c[entity.title_field] if entity.title_field in table.c else sa.null()
            who = sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email)
            query = (sa.select(audit.c.id, audit.c.action, audit.c.changes, who.label("user"),
                               title.label("title"), audit.c.at, table.c.deleted_at)
                     .select_from(audit.join(table, table.c.id == audit.c.record_id)
                                  .outerjoin(users, users.c.id == audit.c.user_id))
                     .where(audit.c.entity == entity.name,
                            scope(store, entity, actor, "read"))
                     .order_by(audit.c.id.desc()))
            for row in conn.execute(query).mappings():
                changes = {n: p for n, p in (row["changes"] or {}).items()
                           if n != "version" and n not in unseen}
                if row["action"] == "update" and not changes:
                    continue
                found.append((row["at"], row["id"], row["user"], row["title"], sorted(changes),
                              row["deleted_at"] is not None))
    found.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [r[1:] for r in found[:limit]]


NOTE = {"name": "memo", "title_field": "title",
        "fields": {"title": {"type": "string"}, "owner": {"type": "user"},
                   "secret": {"type": "string"}}}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": "own"},
                 "memo": {"hidden": ["secret"]}, "other": {"read": False}}}
ops = st.lists(st.tuples(st.sampled_from(["create", "title", "secret", "delete", "other"]),
                         st.integers(0, 1), st.integers(0, 9)), max_size=30)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=ops, first=st.sampled_from([1, 2, 50]), limit=st.sampled_from([1, 5, 15]))
def test_recent_changes_show_what_they_showed_before(engine, make_pack, monkeypatch, steps,
                                                     first, limit):
    monkeypatch.setattr(recent, "FIRST_PAGE", first)
    pack = make_pack({"memo": NOTE, "other": OTHER}, None, {"roles": ROLES})
    migrate(engine, pack)
    records = Records(engine, pack)
    with engine.begin() as conn:   # each example starts from an empty log
        for table in ("karte_audit", "memo", "other", "karte_user"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    people = [Actor(add_user(engine, pack, f"r{i}@example.com", "rep"), f"r{i}@example.com",
                    role="rep") for i in range(2)]
    made: list[int] = []
    for op, who, which in steps:
        if op == "create":
            made.append(records.create("memo", {"title": f"m{len(made)}",
                                                "owner": people[who].id})["id"])
        elif op == "other":
            records.create("other", {"title": "o"})
        elif made:
            id = made[which % len(made)]
            record = records.get("memo", id, include_deleted=True)
            if record["deleted_at"] is not None:
                continue
            if op == "delete":
                records.delete("memo", id)
            else:
                field = "title" if op == "title" else "secret"
                records.update("memo", id, {field: f"v{which}"}, record["version"])
    for actor in (people[0], None):
        found = [(r["id"], r["user"], r["title"], sorted(r["changes"]), r["deleted"])
                 for r in recent.recent_changes(records.store, actor, limit)]
        assert found == reference(records.store, actor, limit)
