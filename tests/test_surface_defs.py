"""The work-surface keys reach the Registry as declared (SPEC §1 nav, §3.3, §3.7).

Their problems are in the corpus (tests/defs/invalid/DEF114…DEF117, WF042, WF043); here:
what a valid pack builds, defaults, overlays, and the standard pack's use of them.
"""

from __future__ import annotations

from pathlib import Path

from karte.meta.conditions import Compare
from karte.meta.load import load_pack
from karte.meta.model import ListView, NavGroup
from tests.conftest import write_pack

REPO_ROOT = Path(__file__).resolve().parents[1]

CUSTOMER = {"fields": {"name": {"type": "string"}, "city": {"type": "string"},
                       "owner": {"type": "user"}}}
DEAL = {"fields": {"title": {"type": "string"}, "customer": {"type": "link", "to": "customer"},
                   "amount": {"type": "money"}, "owner": {"type": "user"}}}
TASK = {"fields": {"title": {"type": "string"}, "due_on": {"type": "date"},
                   "done": {"type": "boolean"}, "owner": {"type": "user"}},
        "timeline_item": {"at": "due_on", "summary": "title", "done": "done"}}
FLOW = {"entity": "deal", "field": "stage",
        "stages": [{"key": "open"}, {"key": "won", "final": "won"}]}


def test_declared_keys_are_built(make_pack):
    deal = {**DEAL, "subtitle": ["customer", "owner"],
            "views": [{"name": "big", "label": {"en": "Big deals", "ja": "大型案件"},
                       "where": {"field": "amount", "op": ">", "value": 1000},
                       "columns": ["title", "amount"], "sort": "-amount"},
                      {"name": "all_mine"}]}
    pack = make_pack({"customer": CUSTOMER, "deal": deal, "task": TASK},
                     {"deal_pipeline": {**FLOW, "board": {"fields": ["amount", "owner"]}}},
                     {"nav": [{"label": {"en": "Sales", "ja": "営業"},
                               "items": ["customer", "deal", "board:deal_pipeline"]}]})
    entity = pack.entities["deal"]
    assert entity.subtitle == ("customer", "owner")
    big, mine = entity.views
    assert isinstance(big, ListView) and big.name == "big"
    assert big.label.get("ja") == "大型案件" and big.columns == ("title", "amount")
    assert big.sort == "-amount"
    assert isinstance(big.where, Compare) and big.where.ref.path == "amount"
    assert mine.where is None and mine.columns == () and mine.sort is None
    assert mine.label.get("en") == "All mine"
    assert pack.entities["task"].timeline_item.done == "done"
    assert pack.workflows["deal_pipeline"].board_fields == ("amount", "owner")
    assert pack.nav == (NavGroup(pack.nav[0].label, ("customer", "deal", "board:deal_pipeline")),)
    assert pack.nav[0].label.get("ja") == "営業"


def test_defaults_when_not_declared(make_pack):
    pack = make_pack({"customer": CUSTOMER, "deal": DEAL},
                     {"deal_pipeline": FLOW})
    assert pack.entities["deal"].subtitle == () and pack.entities["deal"].views == ()
    assert pack.workflows["deal_pipeline"].board_fields is None
    assert pack.nav is None


def test_an_overlay_replaces_views_subtitle_and_nav(tmp_path):
    base = write_pack(tmp_path / "base", {"customer": {**CUSTOMER, "subtitle": ["city"],
                                                       "views": [{"name": "a"}]}},
                      None, {"nav": [{"label": "All", "items": ["customer"]}]})
    client = write_pack(tmp_path / "client",
                        {"customer": {"extends": True, "fields": {},
                                      "subtitle": ["owner", "city"],
                                      "views": [{"name": "b"}]}},
                        None, {"extends": "../base",
                               "nav": [{"label": "Clients", "items": ["customer"]}]})
    assert base.exists()
    pack = load_pack(client)
    customer = pack.entities["customer"]
    assert customer.subtitle == ("owner", "city")
    assert [v.name for v in customer.views] == ["b"]
    assert pack.nav[0].label.get("en") == "Clients"


def test_the_standard_pack_uses_them():
    pack = load_pack(REPO_ROOT)
    assert pack.entities["customer"].subtitle == ("city", "owner")
    assert pack.entities["task"].timeline_item.done == "done"
    assert pack.entities["interaction"].timeline_item.done is None
    items = [item for group in pack.nav for item in group.items]
    boards = [f"board:{name}" for name in pack.workflows]
    assert set(boards) <= set(items)
    assert set(pack.entities) - {"quote_line", "order_line"} <= set(items)
