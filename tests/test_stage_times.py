"""When a record entered its stage is stored beside the stage (store/stage_times.py) and
always equals the latest stage history row into its current stage: after creations and
moves (tests/test_home_boards_scale.py checks random sequences), after a migration that
maps a retired stage, and after the migration that adds the column to a database written
before it existed (filled from the history)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from karte.store import Records
from karte.store.migrate import migrate
from karte.workflow.service import Workflows
from tests.test_migrate_values import ENTITIES, flow, without

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def stored_and_expected(records: Records) -> tuple[dict[int, dt.datetime | None],
                                                   dict[int, dt.datetime]]:
    """Each record's stored stage time, and the latest history row into its stage."""
    table, moves = records.store.table("shipment"), records.store.tables["karte_stage_move"]
    with records.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(table.c.id, table.c._stage_at)).all())
        latest = (sa.select(sa.func.max(moves.c.at)).where(
            moves.c.record_id == table.c.id, moves.c.to_stage == table.c.stage)
            .scalar_subquery())
        expected = dict(conn.execute(sa.select(table.c.id,
                                               sa.func.coalesce(latest, table.c.created_at)))
                        .all())
    return stored, expected


def seeded(make_pack, engine) -> tuple[list[int], Records]:
    """Three shipments created a day apart; two moved to "returned" a day later."""
    pack = make_pack(ENTITIES, flow())
    migrate(engine, pack)
    records = Records(engine, pack)
    clock = iter(T0 + dt.timedelta(days=n) for n in range(20))
    records.store.clock = lambda: next(clock)
    made = [records.create("shipment", {"title": t})["id"] for t in "ABC"]
    for id in made[:2]:
        Workflows(records).move("shipment", id, "returned")
    return made, records


def test_creations_and_moves_store_when_the_stage_was_entered(make_pack, engine):
    ids, records = seeded(make_pack, engine)
    stored, expected = stored_and_expected(records)
    assert stored == expected
    assert stored[ids[2]] == records.get("shipment", ids[2])["created_at"]
    assert stored[ids[0]] > records.get("shipment", ids[0])["created_at"]


def test_a_retired_stage_mapped_by_the_migration_is_entered_then(make_pack, engine):
    ids, records = seeded(make_pack, engine)
    before, _ = stored_and_expected(records)
    mapped = make_pack(ENTITIES, flow(without("returned"), retired={"returned": "preparing"}))
    migrate(engine, mapped, apply_risky=True)
    stored, expected = stored_and_expected(Records(engine, mapped))
    assert stored == expected
    assert stored[ids[0]] > before[ids[0]] and stored[ids[2]] == before[ids[2]]


def test_the_migration_adding_the_column_fills_it_from_the_history(make_pack, engine):
    ids, records = seeded(make_pack, engine)
    _, expected = stored_and_expected(records)
    with engine.begin() as conn:     # a database written before stage times existed
        conn.exec_driver_sql("DROP INDEX ix_shipment_stage_board")
        conn.exec_driver_sql("ALTER TABLE shipment DROP COLUMN _stage_at")
    applied = migrate(engine, records.pack)
    assert any(s.kind == "add_column" and s.column == "_stage_at" for s in applied.applied)
    stored, _ = stored_and_expected(records)
    assert stored == expected and None not in stored.values()
    assert len(stored) == len(ids)


def test_the_overdue_condition_agrees_in_sql_and_in_python(make_pack, engine):
    """The list's `late=` filter (conditions.Overdue): the records the SQL finds are the
    ones `evaluate` accepts, at several moments."""
    from karte.meta.conditions import Context, Overdue, evaluate

    timed = [{**s, **({"max_days": days} if days else {})} for s, days in zip(
        flow()["shipping"]["stages"], (2, 5, None, None), strict=True)]
    pack = make_pack(ENTITIES, flow(timed))
    migrate(engine, pack)
    records = Records(engine, pack)
    clock = iter(T0 + dt.timedelta(days=n) for n in range(50))
    records.store.clock = lambda: next(clock)
    ids = [records.create("shipment", {"title": t})["id"] for t in "ABCD"]
    Workflows(records).move("shipment", ids[0], "returned")
    late = Overdue("shipment", "stage", "_stage_at", (("new", 2), ("returned", 5)))
    table = records.store.table("shipment")
    for days in (0, 3, 6, 9, 12):
        now = T0 + dt.timedelta(days=days)
        records.store.clock = lambda now=now: now
        found = {r["id"] for r in records.query("shipment", where=late, limit=100)}
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
        expected = {r["id"] for r in rows
                    if evaluate(late, r, Context.current(now=now), lambda *_: None)}
        assert found == expected, days
    assert found == set(ids)      # twelve days on, every one is late
