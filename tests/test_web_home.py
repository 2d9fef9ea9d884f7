"""Home (my open work, boards, recent changes) and quick search — generic over the pack,
and limited to what the signed-in user's role may read (SPEC §3.4, §11)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from karte.auth.users import get_user
from tests.test_web_board import ENTITIES, PIPELINE, add_deal, services

TASK = {"label": "Task", "plural": "Tasks", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "due_on": {"type": "date"},
                   "assignee": {"type": "user"},
                   "deal": {"type": "link", "to": "deal"}},
        "timeline_item": {"at": "due_on", "summary": "title"},
        "list": {"columns": ["title", "due_on", "deal"], "search": ["title"]}}
ROLES = {"name": "t", "roles": {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False},
              "customer": {"read": False}},
    "manager": {"*": {"read": "all", "create": True, "update": "all", "delete": "all"}},
}}


@pytest.fixture
def app(make_app):
    return make_app({**ENTITIES, "task": TASK}, {"pipeline": PIPELINE}, pack=ROLES)


def as_user(app, id: int):
    """The user as the records service's actor (tasks have no owner field: "own" means
    created by them)."""
    return get_user(services(app)["engine"], id)


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def groups(soup: BeautifulSoup) -> dict[str, list[str]]:
    """{group heading: [record titles]} of the open-work or search groups."""
    found = {}
    for group in soup.select(".record-group"):
        heading = group.select_one("h2, h3").find("a") or group.select_one("h2, h3")
        found[heading.get_text(strip=True)] = [
            row.find("a").get_text(strip=True) for row in group.select("tbody tr, li")]
    return found


def test_home_lists_my_open_records_soonest_first_and_not_others_or_closed(app):
    me, other = app.user("sales"), app.user("admin", "boss@example.com")
    client = app.client("sales")
    records = services(app)["records"]
    add_deal(app, "My deal", owner=me)
    add_deal(app, "My won deal", "won", owner=me)
    add_deal(app, "Their deal", owner=other)
    records.create("task", {"title": "Later", "due_on": "2031-05-01", "assignee": me},
                   as_user(app, me))
    records.create("task", {"title": "Sooner", "due_on": "2030-01-01", "assignee": me},
                   as_user(app, me))
    records.create("task", {"title": "Not mine", "assignee": other}, as_user(app, other))

    soup = page(client, "/")

    # tasks without `timeline_item.done` are not to-dos, and have no stages to wait in
    assert groups(soup.select_one(".home-work")) == {"Deals": ["My deal"]}


def test_home_boards_show_per_stage_counts_of_readable_records(app):
    me = app.user("sales")
    client = app.client("sales")
    add_deal(app, "Mine", owner=me)
    add_deal(app, "Theirs", "won")

    board = page(client, "/").select_one(".board-summary")

    assert board.find("a")["href"] == "/board/pipeline"
    counts = [li.get_text(" ", strip=True) for li in board.select(".stage-counts li")]
    assert counts == ["New 1", "Contacted 0", "Proposal 0", "Invoiced 0", "Won 0", "Lost 0"]


def test_recent_changes_show_only_records_i_may_read(app):
    me, other = app.user("sales"), app.user("admin", "boss@example.com")
    client = app.client("sales")
    mine = add_deal(app, "Mine", owner=me)
    services(app)["workflows"].move("deal", mine, "contacted", as_user(app, other))
    secret = add_deal(app, "Secret", owner=other)
    services(app)["workflows"].move("deal", secret, "contacted", as_user(app, other))

    recent = page(client, "/").select(".recent li")

    assert [li.find("a").get_text(strip=True) for li in recent] == ["Mine"]
    said = [" ".join(s.get_text(" ", strip=True).split()) for s in recent[0].select(".what")]
    assert len(said) == 1 and said[0].startswith("Admin moved to Contacted "), said


def test_home_says_what_to_expect_when_empty(app):
    soup = page(app.client("sales"), "/")
    empties = [p.get_text(" ", strip=True) for p in soup.select(".empty")]
    assert any("No open to-dos" in text for text in empties)
    assert any("Nothing waits on you" in text for text in empties)
    assert any("No one else changed your records" in text for text in empties)


def test_search_groups_matches_of_readable_entities_with_a_link_to_all(app):
    me = app.user("sales")
    client = app.client("sales")
    records = services(app)["records"]
    records.create("customer", {"name": "Apple Inc"})
    add_deal(app, "Apple renewal", owner=me)
    add_deal(app, "Apple secret", owner=app.user("admin"))
    records.create("task", {"title": "Call Apple", "assignee": me}, as_user(app, me))

    soup = page(client, "/search?q=apple")

    assert groups(soup) == {"Deals": ["Apple renewal"], "Tasks": ["Call Apple"]}
    links = [a["href"] for a in soup.select(".record-group p a")]
    assert links == ["/deal/?q=apple", "/task/?q=apple"]
    assert soup.select(".record-group p a")[0].get_text(strip=True) == "1 result in the list →"


def test_search_without_words_is_just_the_form_and_nothing_found_says_so(app):
    client = app.client()
    empty = page(client, "/search")
    assert empty.select_one(".search-form input[name=q]") is not None
    assert empty.select(".record-group") == [] and empty.select(".empty") == []

    none = page(client, "/search?q=zebra")
    assert "Nothing matches “zebra”" in none.select_one(".empty").get_text()
