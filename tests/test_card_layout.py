"""The card's layout (issue 12): related lists at full width below the fields and the
timeline with the total of each money column over the whole list, the timeline's
upcoming items apart from its history, and a heading with the subtitle, the stage and the
owner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup

from karte.store.timeline import Entry, Page
from karte.web.card_layout import split

ENTITIES = {
    "customer": {"label": "Customer", "plural": "Customers", "subtitle": ["city", "owner"],
                 "fields": {"name": {"type": "string", "required": True},
                            "city": {"type": "string"},
                            "owner": {"type": "user"}}},
    "deal": {"label": "Deal", "plural": "Deals", "title_field": "title",
             "subtitle": ["customer"],
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer"},
                        "amount": {"type": "money"},
                        "owner": {"type": "user"}},
             "list": {"columns": ["title", "customer", "amount"]}},
    "task": {"label": "Task", "plural": "Tasks", "title_field": "title",
             "timeline_item": {"at": "due_on", "summary": "title"},
             "fields": {"title": {"type": "string", "required": True},
                        "due_on": {"type": "date"},
                        "customer": {"type": "link", "to": "customer"}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
            "stages": [{"key": "new", "label": "New"},
                       {"key": "won", "label": "Won", "final": "won"}]}
ROLES = {"name": "t", "currency": "USD", "roles": {
    "clerk": {"*": {"read": "all"}, "deal": {"read": "all", "hidden": ["amount"]}}}}


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)


def records(app):
    return app.extensions["karte"]["records"]


def customer_with_deals(app, amounts: list[int], owner: int | None = None) -> int:
    store = records(app)
    customer = store.create("customer", {"name": "Lyons Ltd", "city": "Leeds",
                                         "owner": owner})["id"]
    for n, amount in enumerate(amounts):
        store.create("deal", {"title": f"Deal {n}", "customer": customer,
                              "amount": Decimal(amount)})
    return customer


@pytest.mark.parametrize("amounts", [[100, 250, 50], [100] * 9 + [7, 1000, 3, 40]])
def test_money_totals_cover_the_whole_related_list(app, amounts):
    customer = customer_with_deals(app, amounts)
    soup = page(app.client().get(f"/customer/{customer}"))
    related = soup.select_one("#related-deal-customer")
    expected = f"${sum(amounts):,}.00"
    assert related.select_one("h2 .sum").get_text(strip=True) == expected
    footer = related.select_one("tfoot tr.sums")
    assert footer.select_one("th").get_text(strip=True) == "Total"
    assert footer.select_one("td.num").get_text(strip=True) == expected
    assert len(related.select("tbody tr")) == min(len(amounts), 10)   # one page shown


def test_a_money_field_hidden_from_the_role_is_not_summed(app):
    customer = customer_with_deals(app, [100] * 12)
    soup = page(app.client("clerk").get(f"/customer/{customer}"))
    related = soup.select_one("#related-deal-customer")
    assert related is not None and related.select_one(".sum, tfoot") is None


def test_related_lists_sit_below_the_fields_and_the_timeline(app):
    customer = customer_with_deals(app, [5])
    soup = page(app.client().get(f"/customer/{customer}"))
    assert soup.select_one(".record-main .related") is None
    assert soup.select_one(".record-layout + .record-related #related-deal-customer")
    cells = soup.select("#related-deal-customer tbody td")
    assert [td.get("data-label") for td in cells] == ["Title", "Amount"]  # stacked on phones


def test_upcoming_items_are_apart_from_the_history(app):
    customer = customer_with_deals(app, [])
    today = dt.date.today()
    for title, days in (("Send the contract", 3), ("Call today", 0), ("Called last week", -7)):
        records(app).create("task", {"title": title, "customer": customer,
                                     "due_on": today + dt.timedelta(days=days)})
    soup = page(app.client().get(f"/customer/{customer}"))
    heads = [h.get_text(strip=True) for h in soup.select("#timeline .timeline-head")]
    assert heads == ["Upcoming", "History"]
    upcoming = soup.select_one("ol.timeline-upcoming").get_text(" ", strip=True)
    assert upcoming.index("Call today") < upcoming.index("Send the contract")  # soonest first
    assert "Called last week" not in upcoming
    history = soup.select("ol.timeline")[-1].get_text(" ", strip=True)
    assert "Called last week" in history and "Send the contract" not in history


def test_without_upcoming_items_the_timeline_has_no_headings(app):
    customer = customer_with_deals(app, [])
    records(app).create("task", {"title": "Old", "customer": customer,
                                 "due_on": dt.date.today() - dt.timedelta(days=2)})
    soup = page(app.client().get(f"/customer/{customer}"))
    assert soup.select("#timeline .timeline-head") == []
    assert "Old" in soup.select_one("#timeline ol.timeline").get_text()


def test_split_keeps_todays_dated_items_and_later_ones_ahead():
    now = dt.datetime(2026, 5, 10, 15, 30, tzinfo=dt.UTC)

    def item(at: dt.datetime) -> Entry:
        return Entry("item", at, None, None, {})
    midnight_today = item(dt.datetime(2026, 5, 10, tzinfo=dt.UTC))   # a date field: today
    this_morning = item(dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC))
    tomorrow = item(dt.datetime(2026, 5, 11, 9, 0, tzinfo=dt.UTC))
    note_later = Entry("note", dt.datetime(2026, 5, 12, tzinfo=dt.UTC), None, None, {})
    parts = split(Page([note_later, tomorrow, this_morning, midnight_today], None), now)
    assert parts["upcoming"].entries == [midnight_today, tomorrow]
    assert parts["history"].entries == [note_later, this_morning]


def test_the_heading_shows_the_subtitle_the_stage_and_the_owner(app):
    owner = app.user("clerk")
    customer = customer_with_deals(app, [10], owner=owner)
    deal = records(app).query("deal", limit=1)[0]["id"]
    soup = page(app.client().get(f"/deal/{deal}"))
    sub = soup.select_one(".record-head .record-sub")
    assert sub.select_one(".sub-part a")["href"] == f"/customer/{customer}"
    assert sub.select_one(".sub-badge").get_text(strip=True) == "New"
    soup = page(app.client().get(f"/customer/{customer}"))
    sub = soup.select_one(".record-head .record-sub")
    assert [s.get_text(strip=True) for s in sub.select(".sub-part")] == ["Leeds"]
    assert sub.select_one(".sub-owner").get_text(" ", strip=True) == "Owner: Clerk"


def test_a_refused_note_says_why_in_the_users_language(app):
    customer = customer_with_deals(app, [])
    client = app.client()
    client.get("/?lang=ja")
    response = client.send(f"/customer/{customer}/notes", {"body": "  "})
    assert response.status_code == 422
    assert page_422(response).select_one("#note-error").get_text() == \
        "メモを入力してから保存してください。"
    response = client.send(f"/customer/{customer}/notes", {"body": "x" * 10_001})
    assert page_422(response).select_one("#note-error").get_text() == \
        "10000文字以内で入力してください（入力は10001文字）。"


def page_422(response) -> BeautifulSoup:
    assert response.status_code == 422, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")
