"""Moves through the API (SPEC §4, §11.1, issue 14): an accepted move, a refusal with every
reason and the missing fields machine-readable (409), a move completed with values in one
request, an unknown stage, `If-Match` honoured, transitions' roles — on both databases."""

from __future__ import annotations

import pytest

from tests.api_live import api_client
from tests.test_web_board import ENTITIES, PIPELINE, ROLES, add_deal


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)


def deal(app, id: int) -> dict:
    return app.extensions["karte"]["records"].get("deal", id)


def errors(response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.get_json()["errors"]]


def test_a_move_answers_the_record_in_its_new_stage(app):
    id = add_deal(app, "Alpha")

    response = api_client(app).post(f"/api/v1/deal/{id}/move", json={"to": "contacted"})

    assert response.status_code == 200
    assert (response.get_json()["stage"], response.get_json()["version"]) == ("contacted", 2)
    assert response.headers["ETag"] == '"2"'
    assert deal(app, id)["stage"] == "contacted"


def test_a_refused_move_is_409_with_every_reason_and_the_missing_fields(app):
    id = add_deal(app, "Alpha")

    response = api_client(app).post(f"/api/v1/deal/{id}/move", json={"to": "invoiced"})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["missing"] == ["amount", "invoice_no"]
    assert body["only_missing"] is True
    assert ("amount", "required") in errors(response)
    assert ("invoice_no", "required") in errors(response)
    assert any(e["message"] == "Fill in Invoice no to move to Invoiced."
               for e in body["errors"])
    assert (deal(app, id)["stage"], deal(app, id)["version"]) == ("new", 1)


def test_a_rule_refusal_is_named_with_its_field(app):
    id = add_deal(app, "Alpha", amount="-5", invoice_no="INV-1")

    response = api_client(app).post(f"/api/v1/deal/{id}/move", json={"to": "invoiced"})

    assert response.status_code == 409
    assert errors(response) == [("amount", "rule")]
    assert response.get_json()["missing"] == []


def test_the_missing_values_complete_the_move_in_one_request(app):
    id = add_deal(app, "Alpha")

    response = api_client(app).post(f"/api/v1/deal/{id}/move", json={
        "to": "invoiced", "values": {"amount": "1200", "invoice_no": "INV-7"}})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["stage"], body["amount"], body["invoice_no"]) == ("invoiced", "1200.00",
                                                                    "INV-7")


def test_the_body_of_a_move_is_checked_like_a_record_body(app):
    id = add_deal(app, "Alpha")
    client = api_client(app)
    url = f"/api/v1/deal/{id}/move"

    unknown = client.post(url, json={"to": "contacted", "stage": "won", "values": {"x": 1}})
    nowhere = client.post(url, json={"to": "heaven"})
    no_stage = client.post(url, json={"values": {}})
    typed = client.post(url, json={"to": "invoiced", "values": {"amount": [1]}})

    assert unknown.status_code == 422
    assert errors(unknown) == [("stage", "unknown")]
    assert nowhere.status_code == 422
    assert errors(nowhere)[0][0] == "stage"
    assert errors(no_stage) == [("to", "required")]
    assert errors(typed) == [("amount", "type")]
    assert deal(app, id)["version"] == 1


def test_if_match_is_honoured_when_sent(app):
    id = add_deal(app, "Alpha")
    client = api_client(app)
    url = f"/api/v1/deal/{id}/move"

    stale = client.post(url, json={"to": "contacted"}, headers={"If-Match": '"3"'})
    fresh = client.post(url, json={"to": "contacted"}, headers={"If-Match": '"1"'})

    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == 1
    assert fresh.status_code == 200


def test_roles_and_transitions_apply(app):
    sales = api_client(app, "sales")
    mine = add_deal(app, "Mine", "invoiced", owner=sales.user_id, amount="5",
                    invoice_no="INV-1")
    theirs = add_deal(app, "Theirs")

    refused = sales.post(f"/api/v1/deal/{mine}/move", json={"to": "won"})
    hidden = sales.post(f"/api/v1/deal/{theirs}/move", json={"to": "contacted"})
    viewer = api_client(app, "viewer").post(f"/api/v1/deal/{theirs}/move",
                                            json={"to": "contacted"})

    assert refused.status_code == 409
    assert errors(refused) == [("stage", "not_allowed")]
    assert hidden.status_code == 404          # sales reads only their own deals
    assert viewer.status_code == 403
    assert deal(app, theirs)["stage"] == "new"
