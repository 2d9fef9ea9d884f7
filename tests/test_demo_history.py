"""Demo records have a past (karte.demo.history): a dashboard of the demo shows months of
work — deals won in different months with their close dates then, tickets resolved some
time after they came in — not everything made in the second `karte demo` ran."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine


@pytest.fixture
def standard(tmp_path, db_url, monkeypatch):
    """The standard pack's demo (1,500 records): (records service, {entity: records},
    {(entity, id): [stage history rows in order]})."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["demo", "--pack", str(REPO_ROOT), "--seed", "5",
                                       "--size", "1500"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(REPO_ROOT))
    rows = {name: records.query(name, limit=1000) for name in ("deal", "ticket", "customer")}
    history: dict[tuple[str, int], list] = {}
    with engine.connect() as conn:
        moves = records.store.tables["karte_stage_move"]
        for row in conn.execute(sa.select(moves).order_by(moves.c.at, moves.c.id)).mappings():
            history.setdefault((row["entity"], row["record_id"]), []).append(row)
    yield records, rows, history
    engine.dispose()


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_won_deals_closed_over_many_months_on_the_day_they_were_won(standard):
    _, rows, history = standard
    won = [d for d in rows["deal"] if d["stage"] == "won"]
    assert len(won) >= 8
    months = {(d["close_on"].year, d["close_on"].month) for d in won}
    assert len(months) >= 5
    for deal in won:
        moves = history[("deal", deal["id"])]
        assert [m["to_stage"] for m in moves][:2] == ["new", "contacted"]
        assert moves[-1]["to_stage"] == "won"
        assert _utc(moves[-1]["at"]).date() == deal["close_on"] <= dt.date.today()
        assert _utc(moves[0]["at"]) == _utc(deal["created_at"])


def test_stage_history_walks_forward_and_counts_the_time_in_each_stage(standard):
    _, rows, history = standard
    for ticket in rows["ticket"]:
        moves = history[("ticket", ticket["id"])]
        assert moves[0]["from_stage"] is None and moves[0]["seconds_in_previous"] is None
        assert moves[-1]["to_stage"] == ticket["status"]
        for before, after in zip(moves, moves[1:], strict=False):
            assert after["from_stage"] == before["to_stage"]
            seconds = (_utc(after["at"]) - _utc(before["at"])).total_seconds()
            assert after["seconds_in_previous"] == int(seconds) > 0


def test_a_record_entered_its_stage_when_its_history_says(standard):
    records, rows, history = standard
    table = records.store.table(records.pack.entities["ticket"])
    with records.engine.connect() as conn:
        entered = dict(conn.execute(sa.select(table.c.id, table.c._status_at)).all())
    assert len(entered) == len(rows["ticket"])
    for id, at in entered.items():
        assert _utc(at) == _utc(history[("ticket", id)][-1]["at"])


def test_resolved_tickets_have_the_time_they_were_resolved(standard):
    _, rows, history = standard
    resolved = [t for t in rows["ticket"] if t["status"] == "resolved"]
    assert resolved
    for ticket in resolved:
        entered = history[("ticket", ticket["id"])][-1]["at"]
        assert _utc(ticket["resolved_at"]) == _utc(entered) > _utc(ticket["created_at"])
    assert all(t["resolved_at"] is None for t in rows["ticket"]
               if t["status"] not in ("resolved",))


def test_open_records_are_mostly_within_their_stage_limits_and_others_span_a_year(standard):
    _, rows, history = standard
    records, _, _ = standard
    now = dt.datetime.now(dt.UTC)
    limits = {s.key: s.max_days for s in records.pack.workflows["ticket_flow"].stages}
    timed = [t for t in rows["ticket"] if limits[t["status"]]]
    late = [t for t in timed if now - _utc(history[("ticket", t["id"])][-1]["at"])
            > dt.timedelta(days=limits[t["status"]])]
    assert timed and len(late) <= len(timed) * 0.3     # mostly within max_days, not never
    made = [_utc(c["created_at"]) for c in rows["customer"]]
    assert max(made) - min(made) > dt.timedelta(days=200)
    assert min(made) >= now - dt.timedelta(days=366)
