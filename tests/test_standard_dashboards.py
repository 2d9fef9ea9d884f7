"""The dashboards the repository ships (issue 16): the standard pack's `sales` and
`support`, the distributor's `operations` on top of them. Both packs load them, `karte
check` passes on both (every widget's statement run once on an empty database), the menus
name them, and on a small database whose records we place by hand the widgets give the
numbers a person counting the records would give."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner

from karte.auth.users import add_user
from karte.cli import main
from karte.config import REPO_ROOT
from karte.demo.history import Timeline, backdate
from karte.demo.stages import Placement
from karte.meta.load import load_pack
from karte.reports.service import Reports
from karte.store import Records
from karte.store.actor import Actor
from karte.store.db import make_engine

DISTRIBUTOR = REPO_ROOT / "examples" / "distributor"
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)     # this month: March 2026


def _nav_items(pack) -> set[str]:
    return {item for group in pack.nav for item in group.items}


def test_the_standard_pack_has_its_sales_and_support_dashboards_in_its_menu():
    pack = load_pack(REPO_ROOT)
    assert list(pack.dashboards) == ["sales", "support"]
    sales, support = pack.dashboards["sales"], pack.dashboards["support"]
    assert [w.name for w in sales.widgets] == ["won_this_month", "win_rate", "pipeline",
                                               "won_by_month", "funnel", "top_open"]
    assert [w.kind for w in support.widgets] == ["chart", "chart", "number", "chart", "list"]
    assert sales.shown_to("sales") and not sales.shown_to("support")
    assert support.shown_to("support") and not support.shown_to("sales")
    assert {"dashboard:sales", "dashboard:support"} <= _nav_items(pack)
    resolved = support.widget("created_vs_resolved")
    assert [s.date for s in resolved.series] == ["created_at", "resolved_at"]
    assert support.widget("time_to_resolve").measure.span.end == "resolved"


def test_the_distributor_adds_its_dashboard_to_the_standard_ones():
    pack = load_pack(DISTRIBUTOR)
    assert list(pack.dashboards) == ["sales", "support", "operations"]
    operations = pack.dashboards["operations"]
    assert [w.name for w in operations.widgets] == ["sales_by_month", "gross_margin", "on_time",
                                                    "satisfaction", "late_shipments"]
    assert operations.widget("on_time").target == Decimal("0.95")
    assert {"dashboard:operations", "dashboard:sales", "dashboard:support"} <= \
        _nav_items(pack)


@pytest.mark.parametrize("root", [REPO_ROOT, DISTRIBUTOR], ids=["standard", "distributor"])
def test_karte_check_passes_on_the_shipped_packs(root):
    result = CliRunner().invoke(main, ["check", "--pack", str(root)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


@pytest.fixture
def crm(tmp_path, db_url, monkeypatch):
    """The standard pack on an empty database: (records, reports, admin, customer id)."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["migrate", "--pack", str(REPO_ROOT), "--apply"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(REPO_ROOT))
    id = add_user(engine, records.pack, "boss@example.com", "admin", "a long enough password 1")
    customer = records.create("customer", {"name": "Kanto Builders", "kind": "company"})
    yield records, Reports(records), Actor(id, "boss@example.com", role="admin"), customer["id"]
    engine.dispose()


def _deal(records: Records, customer: int, stage: str, amount: str, closed: dt.date | None,
          **more) -> None:
    records.create("deal", {"title": f"{stage} {amount}", "customer": customer, "stage": stage,
                            "amount": amount, "close_on": closed, **more}, moving=True)


def test_the_sales_dashboard_counts_the_deals_a_person_would_count(crm):
    records, reports, admin, customer = crm
    for stage, amount, closed in (("won", "1000", dt.date(2026, 3, 2)),
                                  ("won", "500", dt.date(2026, 3, 10)),
                                  ("won", "2000", dt.date(2026, 2, 20)),
                                  ("won", "100", dt.date(2025, 12, 31)),   # last quarter
                                  ("won", "70", dt.date(2026, 1, 10))):
        _deal(records, customer, stage, amount, closed, invoice_no="INV-1")
    _deal(records, customer, "lost", "800", dt.date(2026, 3, 5), lost_reason="Price")
    _deal(records, customer, "proposal", "700", dt.date(2026, 4, 30))
    _deal(records, customer, "invoiced", "300", dt.date(2026, 3, 31), invoice_no="INV-2")
    sales = reports.dashboard("sales", admin)
    found = {r.widget.name: r for r in reports.results(sales, admin, now=NOW)}
    won = found["won_this_month"]
    assert (won.value, won.previous) == (Decimal("1500"), Decimal("2000"))
    assert won.change == pytest.approx(-0.25)
    rate = found["win_rate"]                  # Q1: four won, one lost
    assert (rate.numerator, rate.denominator) == (4, 5) and rate.value == pytest.approx(0.8)
    pipeline = {p.key: p.value for p in found["pipeline"].series[0].points}
    assert pipeline == {"new": 0, "contacted": 0, "meeting": 0, "proposal": Decimal("700"),
                        "invoiced": Decimal("300")}
    monthly = {p.start: p.value for p in found["won_by_month"].series[0].points}
    assert len(monthly) == 12 and min(monthly) == dt.date(2025, 4, 1)
    assert (monthly[dt.date(2026, 3, 1)], monthly[dt.date(2026, 2, 1)],
            monthly[dt.date(2025, 12, 1)], monthly[dt.date(2025, 11, 1)]) == (2, 1, 1, 0)
    assert [row["amount"] for row in found["top_open"].rows] == [Decimal("700"),
                                                                 Decimal("300")]


def _resolved(records: Records, customer: int, created: dt.datetime, days: float,
              **more) -> int:
    """A ticket resolved `days` after `created`, with the stage history of the walk."""
    resolved = created + dt.timedelta(days=days)
    ticket = records.create("ticket", {"subject": f"after {days} days", "customer": customer,
                                       "status": "resolved", "resolution": "Fixed",
                                       "resolved_at": resolved, **more}, moving=True)
    flow = records.pack.workflows["ticket_flow"]
    path = tuple(flow.stage(key) for key in ("new", "triage", "resolved"))
    timeline = Timeline(created, ((created + dt.timedelta(hours=1), resolved),))
    with records.engine.begin() as conn:
        backdate(conn, records.store, records.pack.entities["ticket"],
                 [(ticket["id"], [Placement(flow, path)], timeline, None)])
    return ticket["id"]


def test_the_support_dashboard_reads_open_tickets_and_the_stage_history(crm):
    records, reports, admin, customer = crm
    for days in (1, 2, 6):
        _resolved(records, customer, NOW - dt.timedelta(days=20), days)
    _resolved(records, customer, NOW - dt.timedelta(days=200), 30)    # resolved long ago
    for status, priority in (("new", "high"), ("new", "urgent"), ("triage", "high")):
        records.create("ticket", {"subject": "open", "customer": customer, "status": status,
                                  "priority": priority}, moving=True)
    support = reports.dashboard("support", admin)
    found = {r.widget.name: r for r in reports.results(support, admin, now=NOW)}
    assert found["time_to_resolve"].value == pytest.approx(2 * 86400)
    statuses = {p.key: p.value for p in found["open_by_status"].series[0].points}
    assert (statuses["new"], statuses["triage"], statuses.get("resolved", 0)) == (2, 1, 0)
    priorities = {p.key: p.value for p in found["open_by_priority"].series[0].points}
    assert (priorities["high"], priorities["urgent"]) == (2, 1)
    created, resolved = found["created_vs_resolved"].series
    assert sum(p.value for p in resolved.points) == 3
    assert sum(p.value for p in created.points) == 3      # the open ones came in after NOW
    assert found["oldest_open"].total == 3 and len(found["oldest_open"].rows) == 3


def test_the_distributor_dashboard_gives_margin_on_time_rate_and_satisfaction(
        tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["migrate", "--pack", str(DISTRIBUTOR), "--apply"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(DISTRIBUTOR))
    customer = records.create("customer", {"name": "Kanto Builders", "kind": "company"})
    cement = records.create("product", {"name": "Cement", "price": "1000", "cost": "600"})
    order = records.create("order", {"customer": customer["id"], "ordered_on": dt.date(2026, 3, 3),
                                     "lines": [{"product": cement["id"], "quantity": "10"}]})
    assert (order["total"], order["margin"]) == (Decimal("10000.00"), Decimal("4000.00"))
    depot = records.create("warehouse", {"name": "Chiba"})
    shipped = [records.create("shipment", {
        "order": order["id"], "warehouse": depot["id"], "delivery": "delivered",
        "deliver_by": dt.date(2026, 3, promised), "delivered_on": dt.date(2026, 3, delivered)},
        moving=True)["id"] for promised, delivered in ((10, 9), (10, 10), (10, 12), (20, 14))]
    for score, answered in ((5, 1), (3, 10), (1, 20)):       # 20 Feb: the previous period
        records.create("survey", {"shipment": shipped[0], "customer": customer["id"],
                                  "score": score,
                                  "answered_on": dt.date(2026, 3 if answered < 20 else 2,
                                                         answered)})
    reports = Reports(records)
    admin = Actor(1, "boss@example.com", role="admin")
    operations = reports.dashboard("operations", admin)
    found = {r.widget.name: r for r in reports.results(operations, admin, now=NOW)}
    assert found["gross_margin"].value == pytest.approx(0.4)
    assert (found["on_time"].numerator, found["on_time"].denominator) == (3, 4)
    assert found["satisfaction"].value == pytest.approx(3)     # (5 + 3 + 1) / 3
    assert [row["days_late"] for row in found["late_shipments"].rows] == [2]
    viewer = Actor(2, "viewer@example.com", role="viewer")
    shown = {r.widget.name for r in reports.results(operations, viewer, now=NOW)}
    assert "gross_margin" not in shown and "on_time" in shown
    engine.dispose()
