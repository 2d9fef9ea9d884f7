"""Stage history (creation rows, seconds in the previous stage, the audit trail), overdue
records in SQL, and the pipeline reports — on every database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.migrate import migrate
from karte.workflow import Workflows

DEAL = {"name": "deal", "fields": {
    "title": {"type": "string"}, "amount": {"type": "money"}, "reason": {"type": "text"}}}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage", "stages": [
    {"key": "new"}, {"key": "contacted", "max_days": 2}, {"key": "proposal", "max_days": 10},
    {"key": "won", "final": "won"}, {"key": "lost", "final": "lost"}]}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def service(engine, make_pack) -> Workflows:
    built = make_pack({"deal": DEAL}, {"pipeline": PIPELINE})
    migrate(engine, built)
    return Workflows(Records(engine, built))


def deals(service: Workflows, *stages: str, amount: str = "10") -> list[int]:
    ids = service.records.create_many("deal", [{"title": s, "amount": amount}
                                               for s in stages])
    for id, stage in zip(ids, stages, strict=True):
        if stage != "new":
            service.move("deal", id, stage)
    return ids


def execute(service: Workflows, statement) -> None:
    with service.records.transaction() as conn:
        conn.execute(statement)


def backdate(service: Workflows, id: int, days: float) -> None:
    """Pretend the record entered its current stage `days` ago (its history and the stage
    time stored on it)."""
    moves, deal = service.store.tables["karte_stage_move"], service.store.table("deal")
    execute(service, moves.update().where(moves.c.record_id == id)
            .values(at=now() - dt.timedelta(days=days)))
    execute(service, deal.update().where(deal.c.id == id)
            .values(_stage_at=now() - dt.timedelta(days=days)))


def test_every_new_record_enters_its_first_stage_in_the_history(service):
    one = service.records.create("deal", {"title": "One"})
    many = service.records.create_many("deal", [{"title": "A"}, {"title": "B"}])

    for id in (one["id"], *many):
        [row] = service.history("deal", id)
        assert (row["from_stage"], row["to_stage"], row["seconds_in_previous"]) == (
            None, "new", None)


def test_a_move_records_who_when_and_the_time_spent_in_the_stage_left(service):
    user = Actor(add_user(service.records.engine, service.pack, "ann@example.com", "admin",
                          name="Ann"), "ann@example.com")
    [id] = deals(service, "new")
    backdate(service, id, 1 / 24)

    moved = service.move("deal", id, "contacted", user)

    latest = service.history("deal", id)[0]
    assert (latest["from_stage"], latest["to_stage"], latest["user"]) == (
        "new", "contacted", "Ann")
    assert latest["at"] == moved["updated_at"]
    assert 3600 <= latest["seconds_in_previous"] < 3700
    audit = service.records.history("deal", id)[0]
    assert (audit["action"], audit["changes"], audit["user"]) == (
        "move", {"stage": ["new", "contacted"]}, "Ann")


def _overdue_ids(service: Workflows, negate: bool = False) -> list[int]:
    table = service.store.tables["deal"]
    late = service.overdue("pipeline", now())
    query = sa.select(table.c.id).where(sa.not_(late) if negate else late).order_by(table.c.id)
    with service.records.engine.connect() as conn:
        return list(conn.scalars(query))


def test_overdue_is_a_sql_filter_on_time_in_the_current_stage(service):
    fresh, late, new_old, proposal = deals(service, "contacted", "contacted", "new",
                                           "proposal")
    backdate(service, late, 3)
    backdate(service, new_old, 300)
    backdate(service, proposal, 9)

    assert _overdue_ids(service) == [late]
    assert _overdue_ids(service, negate=True) == [fresh, new_old, proposal]


def test_overdue_falls_back_to_creation_without_history(service):
    """A database written before stage times were stored, and whose records have no stage
    history: the migration that adds the column takes the creation time."""
    from karte.store.migrate import migrate

    [id] = deals(service, "contacted")
    moves, table = service.store.tables["karte_stage_move"], service.store.tables["deal"]
    execute(service, moves.delete())
    execute(service, table.update().values(created_at=now() - dt.timedelta(days=5)))
    with service.records.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_deal_stage_board")
        conn.exec_driver_sql("ALTER TABLE deal DROP COLUMN _stage_at")
    migrate(service.records.engine, service.pack)

    assert _overdue_ids(service) == [id]
    entered = service.entered_at("pipeline").label("entered")
    with service.records.engine.connect() as conn:
        assert conn.scalar(sa.select(entered)) <= now() - dt.timedelta(days=5)


def test_stage_counts_count_sum_and_badge_overdue_records(service):
    ids = deals(service, "new", "contacted", "contacted", "won", amount="12.50")
    backdate(service, ids[1], 3)
    gone = deals(service, "contacted")[0]
    service.records.delete("deal", gone)

    counts = service.stage_counts("pipeline", now=now())

    assert list(counts) == ["new", "contacted", "proposal", "won", "lost"]
    assert counts["contacted"] == {"count": 2, "sum": Decimal("25.00"), "overdue": 1,
                                   "overdue_capped": False}
    assert counts["proposal"] == {"count": 0, "sum": Decimal("0.00"), "overdue": 0,
                                  "overdue_capped": False}
    assert service.stage_counts("pipeline", money_field=None)["won"]["sum"] == \
        Decimal("12.50")


def test_the_funnel_counts_records_that_ever_reached_each_stage(service):
    ids = deals(service, "new", "contacted", "proposal", "won")
    service.move("deal", ids[1], "lost")
    service.move("deal", ids[2], "contacted")
    service.records.delete("deal", deals(service, "won")[0])

    assert service.funnel("pipeline") == {"new": 4, "contacted": 2, "proposal": 1,
                                          "won": 1, "lost": 1}


def test_median_time_in_stage_from_moves_out_of_it(service):
    ids = deals(service, "contacted", "contacted", "contacted", "contacted", "proposal")
    moves = service.store.tables["karte_stage_move"]
    for id, seconds in zip(ids, (100, 10, 30, 20, 7), strict=True):
        execute(service, moves.update().where(moves.c.record_id == id,
                                              moves.c.from_stage == "new")
                .values(seconds_in_previous=seconds))
    service.move("deal", ids[0], "proposal")
    execute(service, moves.update().where(moves.c.from_stage == "contacted")
            .values(seconds_in_previous=5))

    medians = service.median_time_in_stage("pipeline")

    assert medians == {"new": 20.0, "contacted": 5.0, "proposal": None, "won": None,
                       "lost": None}


def test_win_rate_is_won_over_closed(service):
    assert service.win_rate("pipeline") is None
    deals(service, "won", "won", "lost", "new", "proposal")

    assert service.win_rate("pipeline") == pytest.approx(2 / 3)
