"""Merging two records through the API (SPEC §14, §11.1, issue 14): `POST …/merge` with
`{"other": id, "values": {...}}` keeps this record with the values taken, re-points every
reference and deletes the other; its body is checked like a record's; versions are
honoured when sent; rights as on the merge page — on both databases."""

from __future__ import annotations

import pytest

from tests.api_live import api_client
from tests.test_merge import ENTITIES, LIFECYCLE, ROLES


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"lifecycle": LIFECYCLE}, pack={"name": "t", "roles": ROLES})


@pytest.fixture
def pair(app) -> tuple[int, int]:
    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme", "city": "Osaka",
                                       "addresses": [{"street": "1 Keep St"}]})
    other = records.create("customer", {"name": "ACME", "email": "buy@acme.example",
                                        "city": "Kyoto", "addresses": [{"street": "2 Rd"}]})
    for title, owner in (("k1", keep), ("o1", other), ("o2", other)):
        records.create("deal", {"title": title, "customer": owner["id"], "amount": 10})
    return keep["id"], other["id"]


def errors(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.get_json()["errors"]}


def test_a_merge_answers_the_survivor_with_everything_repointed(app, pair):
    keep, other = pair
    records = app.extensions["karte"]["records"]

    response = api_client(app).post(f"/api/v1/customer/{keep}/merge", json={
        "other": other, "values": {"email": "buy@acme.example"}})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["email"], body["city"]) == (keep, "buy@acme.example", "Osaka")
    assert (body["deals"], body["pipeline"]) == (3, "30.00")
    assert [a["street"] for a in body["addresses"]] == ["1 Keep St", "2 Rd"]
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert records.merged_into("customer", other) == keep
    assert records.count("customer") == 1


def test_the_body_of_a_merge_is_checked(app, pair):
    keep, other = pair
    client = api_client(app)
    url = f"/api/v1/customer/{keep}/merge"

    nothing = client.post(url, json={})
    stray = client.post(url, json={"other": other, "keep": keep})
    values = client.post(url, json={"other": other, "values": {"deals": 4, "emial": "x"}})
    itself = client.post(url, json={"other": keep})
    missing = client.post(url, json={"other": 99999})

    assert (nothing.status_code, errors(nothing)) == (422, {"other": "required"})
    assert (stray.status_code, errors(stray)) == (422, {"keep": "unknown"})
    assert errors(values) == {"deals": "read_only", "emial": "unknown"}
    assert itself.status_code == 409
    assert missing.status_code == 404
    assert app.extensions["karte"]["records"].count("customer") == 2


def test_versions_are_honoured_when_sent(app, pair):
    keep, other = pair
    client = api_client(app)
    url = f"/api/v1/customer/{keep}/merge"

    stale = client.post(url, json={"other": other}, headers={"If-Match": '"9"'})
    theirs = client.post(url, json={"other": other, "other_version": 9},
                         headers={"If-Match": '"1"'})
    fresh = client.post(url, json={"other": other, "other_version": 1},
                        headers={"If-Match": '"1"'})

    assert (stale.status_code, stale.get_json()["current_version"]) == (412, 1)
    assert theirs.status_code == 412
    assert fresh.status_code == 200


def test_a_role_that_may_not_delete_may_not_merge(app, pair):
    keep, other = pair

    response = api_client(app, "editor").post(f"/api/v1/customer/{keep}/merge",
                                              json={"other": other})

    assert response.status_code == 403
    assert app.extensions["karte"]["records"].count("customer") == 2
