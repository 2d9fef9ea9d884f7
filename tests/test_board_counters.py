"""The boards' per-stage counters (issue 11, `karte.store.stage_totals`): kept by every
write in its own transaction so that they always equal a fresh GROUP BY over the live
records (hypothesis, both databases), read by an unfiltered board of a viewer who reads
every record, and left alone — the grouped query answers — for a filtered board or a
role that reads its own records only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from karte.store import Records, stage_totals
from karte.store.actor import Actor
from karte.store.migrate import migrate
from karte.workflow import Workflows, board, reports

ACCOUNT = {"name": "account", "fields": {"name": {"type": "string"}}}
ITEM = {"name": "item", "fields": {
    "title": {"type": "string"},
    "account": {"type": "link", "to": "account", "on_delete": "cascade"},
    "amount": {"type": "money"}, "fee": {"type": "money"},
    "owner": {"type": "user"}}}
FLOW = {"name": "flow", "entity": "item", "field": "stage", "stages": [
    {"key": "new", "max_days": 2}, {"key": "doing"}, {"key": "done", "final": "won"}],
    "moves": {"skip": True, "back": True, "reopen": True}}
KEYS = ["new", "doing", "done"]
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
ROLES = {"name": "t", "currency": "USD", "roles": {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}}


@pytest.fixture
def service(engine, make_pack) -> Workflows:
    pack = make_pack({"account": ACCOUNT, "item": ITEM}, {"flow": FLOW})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


def fresh(records: Records) -> dict:
    """Every counter row as a GROUP BY over the live records computes it now, zeros
    left out (the counters keep a zero row per stage)."""
    with records.engine.connect() as conn:
        found = stage_totals.fresh(conn, records.pack, records.store.tables, "item")
        table = records.store.table("item")
        money = [sa.func.sum(table.c.amount), sa.func.sum(table.c.fee)]
        grouped = {stage: (n, a, f) for stage, n, a, f in conn.execute(
            sa.select(table.c.stage, sa.func.count(), *money)
            .where(table.c.deleted_at.is_(None), table.c.stage.is_not(None))
            .group_by(table.c.stage))}
    # the test's own aggregate, independent of the module's cents expression
    for stage, (n, amount, fee) in grouped.items():
        assert found[("item", "stage", stage, "")] == (n, 0)
        assert found[("item", "stage", stage, "amount")] == (
            n, stage_totals.cents(reports._exact(amount)))
        assert found[("item", "stage", stage, "fee")] == (n, stage_totals.cents(
            reports._exact(fee)))
    return {k: v for k, v in found.items() if v != (0, 0)}


def held(records: Records) -> dict:
    with records.engine.connect() as conn:
        return {k: v for k, v in stage_totals.held(conn).items() if v != (0, 0)}


def test_migration_backfills_and_keeps_a_zero_row_per_stage(engine, make_pack):
    staged = {**ITEM, "fields": {**ITEM["fields"], "stage": {"type": "enum",
                                                             "options": KEYS}}}
    pack = make_pack({"account": ACCOUNT, "item": staged})   # no workflow yet
    migrate(engine, pack)
    records = Records(engine, pack)
    with engine.begin() as conn:   # written behind the service's back: no counter knows
        conn.execute(records.store.table("item").insert(), [
            {"title": f"t{i}", "amount": Decimal("1.10"), "stage": KEYS[i % 2],
             "created_at": NOW, "updated_at": NOW, "version": 1} for i in range(5)])
    flowing = make_pack({"account": ACCOUNT, "item": ITEM}, {"flow": FLOW})
    migrate(engine, flowing)
    records = Records(engine, flowing)
    with engine.connect() as conn:
        rows = stage_totals.held(conn)
    assert {k[2] for k in rows} == set(KEYS)
    assert rows[("item", "stage", "new", "amount")] == (3, 330)
    assert rows[("item", "stage", "doing", "")] == (2, 0)
    assert rows[("item", "stage", "done", "fee")] == (0, 0)
    assert held(records) == fresh(records)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["create", "many", "amount", "move", "delete",
                                           "cascade", "restore", "rollback"]),
                          st.integers(0, 50), st.sampled_from(KEYS),
                          st.decimals(min_value=Decimal("-999.99"),
                                      max_value=Decimal("99999.99"), places=2,
                                      allow_nan=False)),
                min_size=1, max_size=14))
@example([("create", 0, "doing", Decimal("5.00")), ("many", 2, "new", Decimal("2.50")),
          ("delete", 1, "new", Decimal(0)), ("restore", 0, "new", Decimal(0)),
          ("cascade", 0, "new", Decimal(0)), ("restore", 1, "new", Decimal(0)),
          ("rollback", 0, "done", Decimal("7.00"))])
def test_counters_equal_a_fresh_aggregate_after_any_writes(service, steps):
    records = service.records
    account = records.create("account", {"name": "a"})["id"]

    def live(deleted: bool = False) -> list[dict]:
        return records.query("item", limit=500, include_deleted=deleted)

    for action, pick, stage, amount in steps:
        items = [r for r in live(True) if (r["deleted_at"] is None) != (action == "restore")]
        chosen = items[pick % len(items)] if items else None
        if action == "create":
            records.create("item", {"title": "x", "stage": stage, "amount": amount,
                                    "account": account}, moving=True)
        elif action == "many":
            records.create_many("item", [{"title": f"m{i}", "amount": amount if i % 2 else None,
                                          "fee": amount, "stage": KEYS[(pick + i) % 3]}
                                         for i in range(pick % 5 + 1)],
                                batch_size=2, moving=True)
        elif chosen is None:
            continue
        elif action == "amount":
            records.update("item", chosen["id"], {"amount": amount, "fee": None},
                           chosen["version"])
        elif action == "move":
            if chosen["stage"] != stage:
                service.move("item", chosen["id"], stage)
        elif action == "delete":
            records.delete("item", chosen["id"])
        elif action == "cascade":
            records.delete("account", account)
            account = records.create("account", {"name": "b"})["id"]
        elif action == "restore":
            try:
                records.restore("item", chosen["id"])
            except Exception:   # its account is deleted: refused, nothing changed
                pass
        elif action == "rollback":
            with pytest.raises(RuntimeError), records.transaction() as conn:
                made = records.create("item", {"title": "r", "stage": stage,
                                               "amount": amount}, moving=True, conn=conn)
                records.update("item", chosen["id"], {"amount": amount},
                               chosen["version"], conn=conn)
                records.delete("item", made["id"], conn=conn)
                raise RuntimeError("rolled back")
        assert held(records) == fresh(records), (action, stage, amount)


def test_recompute_rebuilds_wrong_counters(service):
    records = service.records
    for stage in KEYS:
        records.create("item", {"title": stage, "stage": stage, "amount": "5.25"},
                       moving=True)
    right = held(records)
    with records.engine.begin() as conn:
        conn.execute(stage_totals.table().update().values(count=99))
    assert held(records) != right
    rows, differed = stage_totals.recompute(records.engine, records.pack,
                                            records.store.tables)
    assert rows == len(KEYS) * 3 and len(differed) == len(KEYS) * 3
    assert held(records) == right == fresh(records)


# ------------------------------------------------------------------ who reads the counters


def _tamper(records: Records, stage: str, count: int) -> None:
    """Make the counters visibly wrong: only a reader of the counters shows it."""
    with records.engine.begin() as conn:
        table = stage_totals.table()
        conn.execute(table.update().where(table.c.stage == stage).values(count=count))


def test_unfiltered_board_reads_counters_filtered_and_scoped_ones_group(service, engine):
    records, workflow = service.records, service.pack.workflows["flow"]
    from karte.auth.users import add_user
    seller = add_user(engine, records.pack, "s@example.com", "admin", "pw-long-enough")
    for i, stage in enumerate(["new", "new", "doing", "done"]):
        records.create("item", {"title": f"t{i}", "stage": stage, "amount": "10.50",
                                "owner": seller if i % 2 else None}, moving=True)
    admin = Actor(id=seller, email="s@example.com", role="admin")
    before = board.counts(records, workflow, board.Filter(actor=admin), NOW)
    assert before["new"]["count"] == 2 and before["new"]["sum"] == Decimal("21.00")
    assert before["doing"]["count"] == 1 and before["done"]["sum"] == Decimal("10.50")
    _tamper(records, "new", 77)
    admin_now = board.counts(records, workflow, board.Filter(actor=admin), NOW)
    assert admin_now["new"]["count"] == 77          # read from the counters
    filtered = board.counts(records, workflow, board.Filter(
        where={"field": "title", "op": "!=", "value": "zzz"}, actor=admin), NOW)
    searched = board.counts(records, workflow, board.Filter(search="t", actor=admin), NOW)
    assert filtered["new"]["count"] == 2 and searched["new"]["count"] == 2
    assert filtered["new"]["sum"] == Decimal("21.00")


def test_scoped_role_and_home_numbers(make_app):
    app = make_app({"account": ACCOUNT, "item": {
        **ITEM, "list": {"columns": ["title", "stage", "amount"], "search": ["title"]}}},
        {"flow": FLOW}, pack=ROLES)
    services = app.extensions["karte"]
    records, workflows = services["records"], services["workflows"]
    seller = app.user("sales")
    for i, stage in enumerate(["new", "new", "new", "doing"]):
        records.create("item", {"title": f"t{i}", "stage": stage, "amount": "3.00",
                                "owner": seller if i == 0 else None}, moving=True)
    _tamper(records, "new", 1234)

    def column_numbers(client) -> str:
        html = BeautifulSoup(client.get("/board/flow").get_data(as_text=True), "html.parser")
        return " ".join(n.get_text(" ", strip=True) for n in html.select(".col-count"))

    assert "1234 cards" in column_numbers(app.client("admin"))
    # a role that reads its own records: its one record, from the grouped query
    assert column_numbers(app.client("sales")).startswith("1 card 0 cards")
    sales = Actor(id=seller, email="sales@example.com", role="sales")
    counted = workflows.stage_counts("flow", actor=sales, only_counts=True, cap=1000)
    assert counted["new"] == {"count": 1, "capped": False}
    system = workflows.stage_counts("flow", only_counts=True, cap=1000)
    assert system["new"] == {"count": 1234, "capped": False}   # the counters, exact
    assert system["doing"]["count"] == 1


def test_overdue_counts_stop_at_the_cap(service, monkeypatch):
    records, workflow = service.records, service.pack.workflows["flow"]
    monkeypatch.setattr(reports, "OVERDUE_CAP", 3)
    records.create_many("item", [{"title": f"o{i}"} for i in range(5)])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    numbers = board.counts(records, workflow, board.Filter(), later)
    assert numbers["new"]["count"] == 5
    assert numbers["new"]["overdue"] == 3 and numbers["new"]["overdue_capped"]
    monkeypatch.setattr(reports, "OVERDUE_CAP", 5)
    numbers = board.counts(records, workflow, board.Filter(), later)
    assert numbers["new"]["overdue"] == 5 and not numbers["new"]["overdue_capped"]


def test_karte_recompute_stage_totals_rebuilds_and_reports(tmp_path, db_url, monkeypatch):
    from click.testing import CliRunner

    from karte.cli import main
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    from tests.conftest import write_pack

    root = write_pack(tmp_path / "pack", {"account": ACCOUNT, "item": ITEM}, {"flow": FLOW})
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    engine = make_engine(db_url)
    pack = load_pack(root)
    migrate(engine, pack)
    records = Records(engine, pack)
    records.create("item", {"title": "a", "stage": "doing", "amount": "2.00"}, moving=True)
    _tamper(records, "doing", 5)
    result = CliRunner().invoke(main, ["recompute", "stage-totals", "--pack", str(root)])
    assert result.exit_code == 0, result.output
    assert "9 rows rebuilt, 3 differed" in result.output
    assert "item.stage = doing" in result.output
    assert held(records) == fresh(records)
    engine.dispose()


def test_concurrent_writers_lose_no_increment(service):
    """Writers in parallel transactions add to the same counter rows: every increment
    lands (INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count)."""
    import threading

    records = service.records
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(6):
                records.create("item", {"title": f"w{n}.{i}", "amount": "1.01"})
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert held(records)[("item", "stage", "new", "amount")] == (18, 1818)
    assert held(records) == fresh(records)
