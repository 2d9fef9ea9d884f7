"""Setting a field on the ticked rows of a list (issue 12): through the records service,
all or nothing, with a report of which records were refused and why."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "deal": {
        "label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "priority": {"type": "enum", "required": True,
                                "options": ["low", "high"]},
                   "hot": {"type": "boolean"},
                   "owner": {"type": "user"},
                   "score": {"type": "integer", "read_only": True},
                   "amount": {"type": "money", "required_if": {
                       "field": "priority", "op": "=", "value": "high"}}},
        "list": {"columns": ["title", "priority", "owner"], "sort": "title",
                 "search": ["title"]}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
ROLES = {"clerk": {"*": {"read": "all", "update": "own"}},
         "viewer": {"*": {"read": "all"}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, {"name": "t", "roles": ROLES})


@pytest.fixture
def deals(app):
    records = app.extensions["karte"]["records"]
    clerk = app.user("clerk")
    made = {}
    for title, amount, owner in [("a", 10, clerk), ("b", None, clerk), ("c", 5, None)]:
        made[title] = records.create("deal", {"title": title, "priority": "low",
                                              "amount": amount, "owner": owner})
    return made


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def flashes(client) -> list[str]:
    return [p.get_text(" ", strip=True) for p in soup(client.get("/deal/")).select(".flash")]


def values(app, name: str) -> dict[str, object]:
    records = app.extensions["karte"]["records"]
    return {row["title"]: row[name] for row in records.query("deal", limit=100)}


def test_the_bar_offers_choice_fields_the_role_may_write(app, deals):
    page = soup(app.client().get("/deal/"))
    groups = [g["label"] for g in page.select("select[name=set] optgroup")]
    assert groups == ["Priority", "Hot", "Owner"]             # no stage, no read-only
    assert [o["value"] for o in page.select("optgroup[label=Priority] option")] == [
        "priority=low", "priority=high"]                      # required: no "(empty)"
    assert "hot=__empty__" in [o["value"] for o in page.select("optgroup[label=Hot] option")]
    button = page.find("button", string="Set on selected")
    assert button["formaction"] == "/deal/bulk-set"
    viewer = app.client("viewer")
    assert soup(viewer.get("/deal/")).select("select[name=set]") == []
    assert viewer.send("/deal/bulk-set", {"ids": [deals["a"]["id"]],
                                          "set": "hot=1"}).status_code == 403


def test_a_field_is_set_on_every_ticked_record(app, deals):
    client = app.client()
    admin = app.user("admin")
    response = client.send("/deal/bulk-set", {
        "ids": [deals["a"]["id"], deals["c"]["id"]], "set": f"owner={admin}",
        "back": "/deal/?q=a"})
    assert response.status_code == 303 and response.headers["Location"] == "/deal/?q=a"
    assert flashes(client) == ["Set Owner on 2 records."]
    owners = values(app, "owner")
    assert owners["a"] == admin and owners["c"] == admin and owners["b"] != admin
    client.send("/deal/bulk-set", {"ids": [deals["a"]["id"]], "set": "hot=__empty__"})
    client.send("/deal/bulk-set", {"ids": [deals["b"]["id"]], "set": "hot=1"})
    assert values(app, "hot") == {"a": None, "b": True, "c": None}


def test_one_refusal_writes_nothing_and_names_every_refused_record(app, deals):
    client = app.client()
    ids = [deals["a"]["id"], deals["b"]["id"], deals["c"]["id"], 999]
    client.send("/deal/bulk-set", {"ids": ids, "set": "priority=high"})
    required = "Amount is required."
    assert flashes(client) == [
        "Nothing was changed: 2 records cannot take this Priority:",
        f"“b” (#{deals['b']['id']}): {required}",
        "#999: not found, or not yours to read"]
    assert values(app, "priority") == {"a": "low", "b": "low", "c": "low"}
    records = app.extensions["karte"]["records"]
    assert [h["action"] for h in records.history("deal", deals["a"]["id"])] == ["create"]


def test_rights_are_the_records_services(app, deals):
    clerk = app.client("clerk")
    clerk.send("/deal/bulk-set", {"ids": [deals["a"]["id"], deals["c"]["id"]],
                                  "set": "hot=1"})
    messages = flashes(clerk)
    assert messages[0] == "Nothing was changed: 1 record cannot take this Hot:"
    assert messages[1].startswith(f"“c” (#{deals['c']['id']}): Your role (clerk) may only")
    assert values(app, "hot") == {"a": None, "b": None, "c": None}
    clerk.send("/deal/bulk-set", {"ids": [deals["a"]["id"], deals["b"]["id"]],
                                  "set": "hot=1"})
    assert flashes(clerk) == ["Set Hot on 2 records."]


def test_bad_choices_are_refused_without_writing(app, deals):
    client = app.client()
    for choice in ("stage=won", "score=3", "nope=1", "priority", ""):
        client.send("/deal/bulk-set", {"ids": [deals["a"]["id"]], "set": choice})
        assert flashes(client) == ["Choose a field and a value to set."], choice
    client.send("/deal/bulk-set", {"set": "hot=1"})
    assert flashes(client) == ["Select at least one record to change."]
    client.send("/deal/bulk-set", {"ids": [deals["a"]["id"]], "set": "priority=urgent"})
    messages = flashes(client)
    assert messages[0].startswith("Nothing was changed") and "urgent" in messages[1]
    assert values(app, "stage") == {"a": "new", "b": "new", "c": "new"}


def test_update_many_rolls_back_records_written_before_a_refusal(app, deals):
    records = app.extensions["karte"]["records"]
    refused = records.update_many("deal", [deals["a"]["id"], deals["b"]["id"]],
                                  {"priority": "high"})
    assert list(refused) == [deals["b"]["id"]]
    assert values(app, "priority")["a"] == "low"
    assert records.update_many("deal", [deals["a"]["id"], deals["c"]["id"]],
                               {"priority": "high"}) == {}
    assert values(app, "priority") == {"a": "high", "b": "low", "c": "high"}
