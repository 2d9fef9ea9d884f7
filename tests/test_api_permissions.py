"""SPEC §3.4 through the REST API: the permission matrix of the pages
(tests/test_web_permissions.py, itself cross-checked with the hand-worked table of
tests/test_permissions.py) run again with a personal token, so that pages and API agree.

Same pack, same cases, same `expected(...)`: a record outside the read scope is 404 (its
existence is not revealed), a readable one the role may not change is 403, and where the page
succeeds (303) the API answers its own success (200, 201, 204). An entity the role may not
read at all is 403 for its list, as its list page is. Field-level permissions: hidden fields
are absent from every API read (record, list, expand, history) and can be neither filtered,
sorted nor searched; a write to a field the role may not change is refused naming it, as
the forms' service refuses it, and nothing is stored.
"""

from __future__ import annotations

import json

import pytest

from tests import test_web_field_permissions as fields_pack
from tests.api_live import api_client
from tests.test_permissions import ENTITIES, ROLES, WORKFLOWS
from tests.test_web_permissions import CASES, OK, Case, expected, readable


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, WORKFLOWS, {"name": "matrix", "roles": ROLES})


def agreed(page_status: int, success: int) -> int:
    """The API's status where the page gives `page_status`: the same refusal, or the API's
    own success code where the page redirects after doing it."""
    return success if page_status == OK else page_status


class ApiCase(Case):
    """The pages' case (the role's user, the other user, their records) plus the role's
    API client: the same user, with a token."""

    def __init__(self, app, role: str, entity: str):
        super().__init__(app, role, entity)
        self.api = api_client(app, role)
        assert self.api.user_id == self.me

    def url(self, record: dict | None = None, tail: str = "") -> str:
        return f"/api/v1/{self.entity}" + (f"/{record['id']}" if record else "") + tail

    @staticmethod
    def matched(record: dict) -> dict:
        return {"If-Match": f'"{record["version"]}"'}


@pytest.mark.parametrize(("role", "entity"), CASES)
def test_the_api_gives_every_role_exactly_the_pages_rights(app, role, entity):
    rights = app.extensions["karte"]["pack"].permission(role, entity)
    case = ApiCase(app, role, entity)
    api = case.api
    for mine in (True, False):
        can_read = readable(rights.read, mine)
        one, two, three = case.record(mine), case.record(mine), case.record(mine)
        seen = 200 if can_read else 404
        assert api.get(case.url(one)).status_code == seen, f"read mine={mine}"
        assert api.get(case.url(one, "/history")).status_code == seen, f"history mine={mine}"
        patch = api.patch(case.url(one), json={"title": "changed"}, headers=case.matched(one))
        assert patch.status_code == agreed(expected(rights.update, mine, can_read), 200), \
            f"patch mine={mine}: {patch.get_data(as_text=True)[:300]}"
        delete = api.delete(case.url(two), headers=case.matched(two))
        assert delete.status_code == agreed(expected(rights.delete, mine, can_read), 204), \
            f"delete mine={mine}: {delete.get_data(as_text=True)[:300]}"
        move = api.post(case.url(three, "/move"), json={"to": "done"})
        assert move.status_code == agreed(expected(rights.update, mine, can_read), 200), \
            f"move mine={mine}: {move.get_data(as_text=True)[:300]}"
        for response in (patch, delete, move):
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json"
    body = {"title": "new one", **({"owner": case.me} if case.owned else {})}
    created = api.post(case.url(), json=body)
    assert created.status_code == (201 if rights.create else 403), \
        created.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("role", "entity"), CASES)
def test_lists_show_exactly_the_records_the_list_page_shows(app, role, entity):
    case = ApiCase(app, role, entity)
    rights = app.extensions["karte"]["pack"].permission(role, entity)
    mine, theirs = case.record(True), case.record(False)
    listing = case.api.get(case.url())
    page = case.client.get(f"/{entity}/")
    if not rights.read:
        assert listing.status_code == page.status_code == 403
        assert listing.mimetype == "application/problem+json"
        return
    assert listing.status_code == page.status_code == 200
    for query in ("", "?q=t", "?f.title.eq=" + mine["title"][:1], "?sort=-id&limit=500"):
        listed = case.api.get(case.url() + query)
        assert listed.status_code == 200, (query, listed.get_data(as_text=True)[:300])
        ids = {row["id"] for row in listed.get_json()["data"]}
        if query.startswith("?f."):
            continue
        assert mine["id"] in ids, query
        assert (theirs["id"] in ids) == (rights.read == "all"), query


def test_the_session_of_a_signed_in_page_user_never_writes(app):
    case = ApiCase(app, "clerk", "memo")
    record = case.record(True)
    patched = case.client.patch(case.url(record), json={"title": "x"},
                                headers=case.matched(record))
    assert patched.status_code == 401
    assert case.client.get(case.url(record)).status_code == 200


# ------------------------------------------------------------------ field-level permissions


@pytest.fixture
def fields_app(make_app):
    app = make_app(fields_pack.ENTITIES, fields_pack.WORKFLOWS, {"roles": fields_pack.ROLES})
    records = app.extensions["karte"]["records"]
    made = records.create("product", {"name": "Rebar 10mm", "price": "5000",
                                      "unit_cost": fields_pack.COST,
                                      "supplier_note": fields_pack.NOTE})
    records.update("product", made["id"], {"unit_cost": "4242.18"}, made["version"])
    offer = records.create("offer", {"title": "Spring offer", "product": made["id"],
                                     "floor": "Quiet-Offer-77"})
    app.product, app.offer = made["id"], offer["id"]
    return app


def _secret_free(text: str) -> None:
    for secret in fields_pack.SECRETS:
        assert secret not in text, secret


def test_admin_reads_the_values_the_field_tests_look_for(fields_app):
    admin = api_client(fields_app, "admin")
    text = admin.get(f"/api/v1/product/{fields_app.product}").get_data(as_text=True)
    assert fields_pack.NOTE in text and "4242.18" in text


@pytest.mark.parametrize("role", ["sales", "support"])
def test_no_api_read_shows_a_hidden_field(fields_app, role):
    api = api_client(fields_app, role)
    id, offer = fields_app.product, fields_app.offer
    for url in (f"/api/v1/product/{id}", "/api/v1/product", f"/api/v1/product/{id}/history",
                "/api/v1/product?q=Rebar", f"/api/v1/offer/{offer}?expand=product",
                "/api/v1/offer?expand=product", f"/api/v1/offer/{offer}",
                f"/api/v1/offer/{offer}/history"):
        response = api.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        _secret_free(response.get_data(as_text=True))
    record = api.get(f"/api/v1/product/{id}").get_json()
    assert record["name"] == "Rebar 10mm" and record["price"] == "5000.00"
    assert not set(fields_pack.HIDE) & set(record)
    assert "floor" not in api.get(f"/api/v1/offer/{offer}").get_json()
    assert api.get("/api/v1/product?q=XJ9").get_json()["data"] == []


def test_filters_sorts_and_sparse_fields_on_a_hidden_field_are_refused(fields_app):
    sales = api_client(fields_app, "sales")
    for query in ("f.unit_cost.gt=100", "sort=-unit_cost"):
        refused = sales.get(f"/api/v1/product?{query}")
        page = fields_app.client("sales").get(f"/product/?{query}")
        assert refused.status_code == page.status_code == 400, query
        assert refused.mimetype == "application/problem+json"
        _secret_free(refused.get_data(as_text=True))
    sparse = sales.get(f"/api/v1/product/{fields_app.product}?fields=name,unit_cost")
    assert sparse.status_code in (200, 400)
    if sparse.status_code == 200:
        assert "unit_cost" not in sparse.get_json()
    admin = api_client(fields_app, "admin")
    assert admin.get("/api/v1/product?f.unit_cost.gt=100").status_code == 200


def _stored(app) -> dict:
    return app.extensions["karte"]["records"].get("product", app.product)


@pytest.mark.parametrize(("field", "value"), [("discount", "90"), ("unit_cost", "1.00"),
                                              ("supplier_note", "leak")])
def test_a_write_to_a_field_the_role_may_not_change_is_refused_naming_it(fields_app, field,
                                                                          value):
    sales = api_client(fields_app, "sales")
    before = _stored(fields_app)
    patched = sales.patch(f"/api/v1/product/{fields_app.product}",
                          json={"name": "X", field: value},
                          headers={"If-Match": f'"{before["version"]}"'})
    assert patched.status_code in (403, 422), patched.get_data(as_text=True)[:300]
    assert field in [e["field"] for e in patched.get_json()["errors"]]
    assert _stored(fields_app) == before
    created = sales.post("/api/v1/product", json={"name": "New", field: value})
    assert created.status_code in (403, 422)
    assert field in [e["field"] for e in created.get_json()["errors"]]
    _secret_free(json.dumps(created.get_json()))


def test_a_role_may_write_the_fields_it_sees_and_gets_no_hidden_ones_back(fields_app):
    sales = api_client(fields_app, "sales")
    before = _stored(fields_app)
    patched = sales.patch(f"/api/v1/product/{fields_app.product}",
                          json={"name": "Rebar 12mm", "price": "5100"},
                          headers={"If-Match": f'"{before["version"]}"'})
    assert patched.status_code == 200, patched.get_data(as_text=True)[:300]
    assert not set(fields_pack.HIDE) & set(patched.get_json())
    stored = _stored(fields_app)
    assert stored["name"] == "Rebar 12mm" and str(stored["unit_cost"]) == "4242.18"
    created = sales.post("/api/v1/product", json={"name": "Wire", "price": "3"})
    assert created.status_code == 201, created.get_data(as_text=True)[:300]
    assert not set(fields_pack.HIDE) & set(created.get_json())
