"""Record actions through the API (SPEC §3.7, §11.1, issue 14): `POST …/actions/<name>` runs
the declared steps all or nothing and answers the record, the records created and where the
card would land; a refusal lists every reason (422, as on the card); `If-Match` honoured;
an unknown action is 404 — on both databases."""

from __future__ import annotations

import pytest

from tests.api_live import api_client
from tests.test_actions import CUSTOMER, FLOW, ORDER, ORDER_ACTION, ROLES, quote
from tests.test_web_actions import NOTE, add_quote


@pytest.fixture
def app(make_app):
    return make_app({"customer": CUSTOMER, "order": ORDER, "quote": quote(ORDER_ACTION, NOTE)},
                    {"quote_flow": FLOW}, pack={"roles": ROLES})


def test_an_action_answers_the_record_and_what_it_created(app):
    made = add_quote(app, "accepted")
    records = app.extensions["karte"]["records"]

    response = api_client(app, "sales").post(
        f"/api/v1/quote/{made['id']}/actions/make_order")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    [order] = records.query("order")
    assert body["record"]["stage"] == "ordered"
    assert body["record"]["version"] == made["version"] + 1
    assert body["created"] == [{"entity": "order", "id": order["id"],
                                "location": f"/api/v1/order/{order['id']}"}]
    assert body["open"] == body["created"][0]
    assert (order["title"], order["quote"]) == ("Q-1", made["id"])


def test_a_refused_action_lists_every_reason_and_writes_nothing(app):
    made = add_quote(app)                  # a draft: make_order runs on accepted quotes
    records = app.extensions["karte"]["records"]

    refused = api_client(app, "sales").post(f"/api/v1/quote/{made['id']}/actions/make_order",
                                            json={})
    support = api_client(app, "support").post(f"/api/v1/quote/{made['id']}/actions/mark")

    assert refused.status_code == 422
    assert [e["code"] for e in refused.get_json()["errors"]] == ["when"]
    assert support.status_code == 422
    assert [e["code"] for e in support.get_json()["errors"]] == ["forbidden"]
    assert records.count("order") == 0
    assert records.get("quote", made["id"])["version"] == made["version"]


def test_if_match_a_body_and_unknown_actions(app):
    made = add_quote(app)
    client = api_client(app)
    url = f"/api/v1/quote/{made['id']}/actions"

    stale = client.post(f"{url}/mark", headers={"If-Match": '"9"'})
    stray = client.post(f"{url}/mark", json={"note": "x"})
    unknown = client.post(f"{url}/fly")
    done = client.post(f"{url}/mark", headers={"If-Match": f'"{made["version"]}"'})

    assert stale.status_code == 412
    assert stray.status_code == 422
    assert unknown.status_code == 404
    assert done.status_code == 200
    assert done.get_json()["record"]["note"] == "seen"
    assert done.get_json()["created"] == []
    assert done.get_json()["open"]["id"] == made["id"]
