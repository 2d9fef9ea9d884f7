"""The stages each record ever entered are stored beside its stage (store/stage_reached.py)
and always list exactly the `to_stage` of its stage history rows, in order of first entry:
after random creations, moves, back-moves, deletions, restorations and a merge, after a
migration that maps a retired stage or renames one, and after the migration that adds the
column to a database written before it existed (filled from the history). A funnel step and its
drill-down read that column; a stage key holding `_` is not a LIKE pattern there."""

from __future__ import annotations

import random

import sqlalchemy as sa

from karte.meta.conditions import Context, Reached, evaluate
from karte.store import Records
from karte.store.migrate import migrate
from karte.store.where import to_sql
from karte.workflow.service import Workflows
from tests.test_migrate_values import ENTITIES, flow, without

OPEN = ["new", "returned", "preparing"]     # "done" is final: no move leaves it


def stored_and_expected(records: Records) -> tuple[dict[int, str | None], dict[int, str]]:
    """Each record's stored reached stages, and its history's stages in first-entry order."""
    table, moves = records.store.table("shipment"), records.store.tables["karte_stage_move"]
    with records.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(table.c.id, table.c._stage_reached)).all())
        history = conn.execute(sa.select(moves.c.record_id, moves.c.to_stage)
                               .where(moves.c.entity == "shipment",
                                      moves.c.workflow == "shipping")
                               .order_by(moves.c.at, moves.c.id)).all()
    entered: dict[int, list[str]] = {id: [] for id in stored}
    for id, stage in history:
        entered[id].append(stage)
    return stored, {id: "|" + "|".join(dict.fromkeys(keys)) + "|" if keys else None
                    for id, keys in entered.items()}


def service(make_pack, engine, stages=None) -> Records:
    pack = make_pack(ENTITIES, flow(stages) if stages else flow())
    migrate(engine, pack)
    return Records(engine, pack)


def test_random_writes_keep_the_column_equal_to_the_history(make_pack, engine):
    records = service(make_pack, engine)
    moves, rng = Workflows(records), random.Random(16)
    ids = [records.create("shipment", {"title": f"S{n}"})["id"] for n in range(6)]
    ids += records.create_many("shipment", [{"title": f"M{n}"} for n in range(4)])
    deleted: set[int] = set()
    for _ in range(60):
        id, action = rng.choice(ids), rng.random()
        if id in deleted:
            records.restore("shipment", id)
            deleted.discard(id)
        elif action < 0.1:
            records.delete("shipment", id)
            deleted.add(id)
        else:
            current = records.get("shipment", id)["stage"]
            moves.move("shipment", id, rng.choice([k for k in OPEN if k != current]))
    for id in set(ids[:3]) - deleted:
        moves.move("shipment", id, "done")
    alive = [id for id in ids[3:] if id not in deleted]
    records.merge("shipment", alive[0], alive[1], {})   # the survivor takes its history
    stored, expected = stored_and_expected(records)
    assert stored == expected
    assert any(len(v.split("|")) > 4 for v in stored.values() if v)   # some moved a lot


def test_a_retired_stage_mapped_by_the_migration_is_reached(make_pack, engine):
    records = service(make_pack, engine)
    ids = [records.create("shipment", {"title": t})["id"] for t in "ABC"]
    for id in ids[:2]:
        Workflows(records).move("shipment", id, "returned")
    mapped = make_pack(ENTITIES, flow(without("returned"), retired={"returned": "preparing"}))
    migrate(engine, mapped, apply_risky=True)
    stored, expected = stored_and_expected(Records(engine, mapped))
    assert stored == expected
    assert stored[ids[0]] == "|new|returned|preparing|" and stored[ids[2]] == "|new|"


def test_a_renamed_stage_is_renamed_in_the_column(make_pack, engine):
    records = service(make_pack, engine)
    ids = [records.create("shipment", {"title": t})["id"] for t in "AB"]
    Workflows(records).move("shipment", ids[0], "returned")
    Workflows(records).move("shipment", ids[0], "preparing")
    Workflows(records).move("shipment", ids[1], "returned")   # a record holds the old key
    renamed = without("returned") + [{"key": "sent_back", "renamed_from": "returned"}]
    migrate(engine, make_pack(ENTITIES, flow(renamed)))
    stored, expected = stored_and_expected(records)
    assert stored == expected
    assert stored[ids[0]] == "|new|sent_back|preparing|"
    assert stored[ids[1]] == "|new|sent_back|"


def test_the_migration_adding_the_column_fills_it_from_the_history(make_pack, engine):
    records = service(make_pack, engine)
    ids = [records.create("shipment", {"title": t})["id"] for t in "ABC"]
    for to in ("preparing", "returned", "done"):       # entered out of the workflow's order
        Workflows(records).move("shipment", ids[0], to)
    Workflows(records).move("shipment", ids[1], "returned")
    records.delete("shipment", ids[2])
    with engine.begin() as conn:     # a database written before the column existed
        conn.exec_driver_sql("ALTER TABLE shipment DROP COLUMN _stage_reached")
    applied = migrate(engine, records.pack)
    assert any(s.kind == "add_column" and s.column == "_stage_reached"
               for s in applied.applied)
    stored, expected = stored_and_expected(records)
    assert {id: set(v.split("|")) for id, v in stored.items() if v} == \
        {id: set(v.split("|")) for id, v in expected.items() if v}
    assert stored[ids[0]] == "|new|returned|preparing|done|"    # the workflow's order
    assert stored[ids[2]] == "|new|"


def test_reached_agrees_in_sql_and_python_and_keys_are_no_patterns(make_pack, engine):
    """`not_won` must not be found by a test for `no_won` (LIKE's `_` matches any one
    character) nor `won` inside `not_won`."""
    stages = [{"key": "new"}, {"key": "not_won"}, {"key": "won", "final": "won"}]
    records = service(make_pack, engine, stages)
    ids = [records.create("shipment", {"title": t})["id"] for t in "AB"]
    Workflows(records).move("shipment", ids[0], "not_won")
    Workflows(records).move("shipment", ids[0], "new")
    table = records.store.table("shipment")
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
        for keys, wanted in ((("no_won",), []), (("won",), []), (("not_won",), [ids[0]]),
                             (("new", "won"), ids)):
            cond = Reached("shipment", "shipping", "stage", keys, "_stage_reached")
            found = list(conn.scalars(sa.select(table.c.id).where(
                to_sql(cond, records.store.tables, Context.current())).order_by(table.c.id)))
            assert found == wanted, keys
            assert [r["id"] for r in rows
                    if evaluate(cond, r, Context.current(), lambda *_: None)] == wanted
