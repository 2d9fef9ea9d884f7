"""The indexes that follow the dashboards (karte/store/dashboard_indexes.py) are made and
read: the standard `sales` dashboard's "won this month" and "win rate this quarter" plan a
range of (stage, close_on) — the won (or closed) deals of the period — rather than every
deal closing in it, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.reports import funnel, scalar
from karte.reports.conditions import plain
from karte.reports.service import Reports
from karte.store import Records
from karte.store.dashboard_indexes import wanted
from karte.store.db import analyse_schema
from karte.store.migrate import migrate

ROWS = 4000
INDEX = "rx_deal_stage__close_on"


@pytest.fixture(scope="module")
def pack():
    return load_pack(REPO_ROOT)


def test_the_standard_dashboards_ask_for_their_indexes(pack):
    found = set(wanted(pack))
    assert ("deal", ("stage", "close_on")) in found      # won this month, win rate
    assert ("ticket", ("resolved_at",)) in found         # time to resolve (90 days)
    # the funnel: its statement reads this index alone
    assert ("deal", ("created_at", "_stage_reached", "deleted_at")) in found
    assert all(entity in pack.entities for entity, _ in found)


@pytest.fixture
def reports(engine, pack) -> Reports:
    migrate(engine, pack, apply_risky=True)
    records = Records(engine, pack)
    rng = random.Random(16)
    stages = [s.key for s in pack.workflows["deal_pipeline"].stages]
    today = dt.date.today()
    rows = []
    for i in range(ROWS):
        at = dt.datetime.now(dt.UTC) - dt.timedelta(days=rng.randrange(700))
        rows.append({"created_at": at, "updated_at": at, "deleted_at": None,
                     "title": f"d{i}", "amount": Decimal(rng.randrange(1000)),
                     "stage": "won" if i % 20 == 0 else rng.choice(stages[:-2]),
                     "close_on": today + dt.timedelta(days=rng.randrange(-360, 360))})
    with engine.begin() as conn:
        conn.execute(records.store.table("deal").insert(), rows)
        if conn.dialect.name == "postgresql":
            analyse_schema(conn)
        else:
            conn.exec_driver_sql("ANALYZE")
    return Reports(records)


def _plan(conn: sa.Connection, query: sa.Select[Any]) -> str:
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    return "\n".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize("name", ["won_this_month", "win_rate"])
def test_won_deals_of_a_period_are_read_from_stage_and_close_date(reports, name):
    board = reports.pack.dashboards["sales"]
    widget = plain(board.widget(name))
    frame = reports.frame(widget, None)
    query, _ = scalar.statement(frame, widget, frame.context.today)
    with reports.records.engine.connect() as conn:
        assert INDEX in _plan(conn, query)


def test_the_funnel_reads_its_date_index_and_not_the_stage_history(reports):
    """This quarter's deals from (created_at, _stage_reached): on SQLite the index alone."""
    widget = reports.pack.dashboards["sales"].widget("funnel")
    frame = reports.frame(widget, None)
    flow = reports.pack.workflows[widget.workflow or ""]
    query = funnel.statement(frame, widget, flow, frame.context.today)
    with reports.records.engine.connect() as conn:
        plan = _plan(conn, query)
    assert "rx_deal_created_at___stage_reached__deleted_at" in plan
    assert "karte_stage_move" not in plan
    if reports.records.engine.dialect.name == "sqlite":
        assert "COVERING INDEX" in plan
