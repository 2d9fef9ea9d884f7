"""Lists show the totals of their money columns for the whole filter (SPEC §12): one SUM
query under the role's scope, never over a field the role may not see."""

from __future__ import annotations

from decimal import Decimal

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "deal": {
        "label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "amount": {"type": "money"},
                   "cost": {"type": "money"},
                   "source": {"type": "enum", "options": ["web", "call"]},
                   "owner": {"type": "user"}},
        "list": {"columns": ["title", "source", "amount", "cost"], "sort": "title",
                 "search": ["title"], "page_size": 2, "filters": ["source"]}},
    "note": {"label": {"en": "Note"}, "plural": {"en": "Notes"}, "title_field": "text",
             "fields": {"text": {"type": "string"}}},
}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own"}},
         "support": {"*": {"read": "all"}, "deal": {"hidden": ["cost"]}}}


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, None, {"name": "t", "roles": ROLES})
    records = app.extensions["karte"]["records"]
    sales = app.user("sales")
    for title, amount, cost, source, owner in [
            ("a", "0.10", "1", "web", sales), ("b", "0.20", "2", "call", None),
            ("c", "1000", None, "web", None), ("d", None, "4", "call", sales),
            ("e", "5", "8", "web", None)]:
        records.create("deal", {"title": title, "amount": amount, "cost": cost,
                                "source": source, "owner": owner})
    return app


def footer(response) -> dict[str, str]:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    cells = page.select("tfoot td[data-total]")
    found = {td["data-total"]: td.get_text(strip=True) for td in cells}
    head = page.select_one("tfoot th[scope=row]")
    if head is not None:
        found["label"] = head.get_text(strip=True)
    return found


def test_totals_cover_every_page_of_the_filter(app):
    client = app.client()
    assert footer(client.get("/deal/")) == {"amount": "$1,005.30", "cost": "$15.00",
                                            "label": "Total of all 5"}
    assert footer(client.get("/deal/?page=3")) == footer(client.get("/deal/"))
    assert footer(client.get("/deal/?f.source=web")) == {
        "amount": "$1,005.10", "cost": "$9.00", "label": "Total of all 3"}
    assert footer(client.get("/deal/?q=b")) == {"amount": "$0.20", "cost": "$2.00",
                                                "label": "Total"}
    # nothing found: no table, no totals; an entity without money: no footer
    assert footer(client.get("/deal/?q=zzz")) == {}
    app.extensions["karte"]["records"].create("note", {"text": "x"})
    assert "<tfoot" not in client.get("/note/").get_data(as_text=True)


def test_totals_follow_the_role_scope_and_never_sum_a_hidden_field(app):
    assert footer(app.client("sales").get("/deal/")) == {"amount": "$0.10", "cost": "$5.00",
                                                         "label": "Total"}
    support = footer(app.client("support").get("/deal/"))
    assert support == {"amount": "$1,005.30", "label": "Total of all 5"}


def test_the_records_service_sums_exactly_and_leaves_hidden_fields_out(app):
    from karte.store.actor import Actor

    records = app.extensions["karte"]["records"]
    assert records.totals("deal", ["amount", "cost", "title", "nope"]) == {
        "amount": Decimal("1005.30"), "cost": Decimal("15.00")}
    support = Actor(app.user("support"), "support@example.com", role="support")
    assert records.totals("deal", ["amount", "cost"], actor=support) == {
        "amount": Decimal("1005.30")}
    where = {"field": "source", "op": "=", "value": "call"}
    assert records.totals("deal", ["amount"], where=where, search="b") == {
        "amount": Decimal("0.20")}
    assert records.totals("deal", ["title"]) == {}
    from karte.store.errors import InvalidQuery
    with pytest.raises(InvalidQuery):      # a filter on a hidden field is refused
        records.totals("deal", ["amount"], where={"field": "cost", "op": ">", "value": 1},
                       actor=support)


@pytest.fixture
def staged(make_app):
    """Deals on a pipeline (so the board counters hold their money sums)."""
    pipeline = {"entity": "deal", "field": "stage",
                "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
    app = make_app(ENTITIES, {"pipeline": pipeline}, {"name": "t", "roles": ROLES})
    records = app.extensions["karte"]["records"]
    sales = app.user("sales")
    for title, amount, owner in [("a", "1.10", sales), ("b", "2", None), ("c", "30", None),
                                 ("d", None, sales), ("e", "400", None)]:
        records.create("deal", {"title": title, "amount": amount, "cost": "1",
                                "owner": owner, "source": "web"})
    return app


def test_past_the_count_cap_totals_come_from_the_counters_or_not_at_all(staged):
    staged.config["KARTE_LIST_COUNT_CAP"] = 3
    client = staged.client()
    assert footer(client.get("/deal/")) == {"amount": "$433.10", "cost": "$5.00",
                                            "label": "Total of all 3+"}
    # a filter past the cap is not summed (it would read every matching row)
    page = BeautifulSoup(client.get("/deal/?f.source=web").get_data(as_text=True),
                         "html.parser")
    cells = page.select("tfoot td[data-total]")
    assert [c.get_text(strip=True) for c in cells] == ["…", "…"]
    assert cells[0].span["title"].startswith("Too many records to total")
    # a role reading its own records only is summed by its scope (never past the cap here)
    assert footer(staged.client("sales").get("/deal/"))["amount"] == "$1.10"


def test_the_counters_answer_equals_the_sum(staged):
    from karte.store.actor import Actor

    records = staged.extensions["karte"]["records"]
    quick = records.totals("deal", ["amount", "cost"], quick=True)
    assert quick == {"amount": Decimal("433.10"), "cost": Decimal("5.00")}
    assert quick == records.totals("deal", ["amount", "cost"],
                                   where={"field": "title", "op": "!=", "value": "zz"})
    sales = Actor(staged.user("sales"), "sales@example.com", role="sales")
    assert records.totals("deal", ["amount"], actor=sales, quick=True) is None
    assert records.totals("deal", ["amount"], search="a", quick=True) is None
    deleted = records.query("deal", where={"field": "title", "op": "=", "value": "e"})[0]
    records.delete("deal", deleted["id"])
    assert records.totals("deal", ["amount"], quick=True) == {"amount": Decimal("33.10")}
