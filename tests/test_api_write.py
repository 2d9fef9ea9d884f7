"""Creating, changing and deleting records through the API (SPEC §11.1, issue 14): bodies
as JSON objects (415, 400, 413), every unknown and read-only field named (422), values of
several types, `If-Match` (428, 412, 200), soft deletes (204, then 404), and role rights
exactly as on pages (403), on both databases."""

from __future__ import annotations

import pytest

from tests.api_live import api_client

ENTITIES = {
    "customer": {"label": {"en": "Customer", "ja": "顧客"},
                 "fields": {"name": {"type": "string", "required": True}}},
    "deal": {
        "label": {"en": "Deal", "ja": "商談"}, "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 40},
            "customer": {"type": "link", "to": "customer"},
            "amount": {"type": "money"},
            "double": {"type": "formula", "formula": "amount * 2", "result": "money"},
            "close_on": {"type": "date"},
            "source": {"type": "enum", "options": ["web", "call"]},
            "tags": {"type": "multi_enum", "options": ["hot", "big", "new"]},
            "urgent": {"type": "boolean"},
            "number": {"type": "string", "series": "D-{####}"},
            "note": {"type": "text", "read_only": True},
            "discount": {"type": "percent"},
            "cost": {"type": "money"},
        },
    },
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
PACK = {"name": "t", "currency": "USD", "roles": {
    "sales": {"*": {"read": "all", "create": True, "update": "all", "delete": "all"},
              "deal": {"read": "all", "create": True, "update": "all", "delete": "all",
                       "read_only": ["discount"], "hidden": ["cost"]}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=PACK)


def services(app):
    return app.extensions["karte"]["records"]


def customer(app, name: str = "Acme") -> int:
    return services(app).create("customer", {"name": name})["id"]


def fields_of(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.get_json()["errors"]}


def created(client, **values):
    response = client.post("/api/v1/deal", json={"title": "Alpha", **values})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_takes_values_of_several_types_and_answers_201_with_location(app):
    client = api_client(app)
    acme = customer(app)

    response = client.post("/api/v1/deal", json={
        "title": "Alpha", "customer": acme, "amount": "1234.50", "close_on": "2026-12-01",
        "source": "web", "tags": ["big", "hot"], "urgent": True})

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/deal/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["version"] == 1
    assert (body["title"], body["customer"], body["amount"], body["double"]) == (
        "Alpha", acme, "1234.50", "2469.00")
    assert (body["close_on"], body["source"], body["tags"], body["urgent"]) == (
        "2026-12-01", "web", ["hot", "big"], True)
    assert body["number"] == "D-0001" and body["stage"] == "new"
    assert body["created_by"] == client.user_id
    assert client.get(response.headers["Location"]).get_json() == body
    stored = services(app).get("deal", body["id"])
    assert str(stored["amount"]) == "1234.50" and stored["source"] == "web"


def test_a_link_may_be_sent_as_the_object_an_expanded_read_gives(app):
    client = api_client(app)
    acme = customer(app)

    body = created(client, customer={"id": acme, "title": "Acme"})

    assert body["customer"] == acme


def test_a_body_must_be_a_json_object(app):
    client = api_client(app)

    as_form = client.post("/api/v1/deal", data={"title": "Alpha"})
    broken = client.post("/api/v1/deal", data="{\"title\": ", content_type="application/json")
    array = client.post("/api/v1/deal", json=[{"title": "Alpha"}])
    nan = client.post("/api/v1/deal", data='{"title": "A", "amount": NaN}',
                      content_type="application/json")

    assert as_form.status_code == 415
    assert as_form.mimetype == "application/problem+json"
    assert fields_of(as_form) == {"Content-Type": "unsupported_media_type"}
    assert (broken.status_code, fields_of(broken)) == (400, {"": "invalid_json"})
    assert (array.status_code, fields_of(array)) == (400, {"": "not_an_object"})
    assert nan.status_code == 400
    assert services(app).count("deal") == 0


def test_a_body_above_the_limit_is_413(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "1")
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=PACK)
    client = api_client(app)

    # the limit is KARTE_MAX_UPLOAD_MB and one more MiB of form overhead: 2 MiB here
    response = client.post("/api/v1/deal", json={"title": "A", "pad": "x" * 2_200_000})

    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    assert services(app).count("deal") == 0


def test_every_unknown_and_read_only_field_is_named_at_once(app):
    client = api_client(app)

    response = client.post("/api/v1/deal", json={
        "title": "Alpha", "titel": "x", "double": "3", "number": "D-9", "note": "n",
        "stage": "won", "id": 7, "version": 1})

    assert response.status_code == 422
    assert fields_of(response) == {"titel": "unknown", "double": "read_only",
                                   "number": "read_only", "note": "read_only",
                                   "stage": "read_only", "id": "read_only",
                                   "version": "read_only"}
    said = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert '"title"' in said["titel"]          # did you mean
    assert "move" in said["stage"]
    assert services(app).count("deal") == 0


def test_values_of_the_wrong_type_and_the_service_problems_are_422(app):
    client = api_client(app)

    typed = client.post("/api/v1/deal", json={"title": "A", "amount": True,
                                              "close_on": "tomorrow", "source": "tv"})
    checked = client.post("/api/v1/deal", json={"title": "x" * 41, "customer": 999})
    required = client.post("/api/v1/deal", json={"amount": "5"})

    assert typed.status_code == 422
    assert fields_of(typed) == {"amount": "type", "close_on": "format", "source": "choice"}
    assert checked.status_code == 422
    assert fields_of(checked) == {"title": "invalid", "customer": "link"}
    assert fields_of(required) == {"title": "required"}
    assert required.get_json()["errors"][0]["message"] == "Title is required."


def test_messages_speak_the_callers_language(app):
    client = api_client(app)

    response = client.post("/api/v1/deal?lang=ja", json={"amount": "5"})
    unknown = client.post("/api/v1/deal?lang=ja", json={"titel": "A"})

    assert response.get_json()["errors"][0]["message"] == "Titleを入力してください。"
    assert unknown.get_json()["errors"][0]["message"] == \
        "商談に「titel」という項目はありません（もしかして「title」？）。"


def test_patch_needs_if_match_and_refuses_a_stale_version(app):
    client = api_client(app)
    id = created(client)["id"]
    url = f"/api/v1/deal/{id}"

    without = client.patch(url, json={"amount": "10"})
    changed = client.patch(url, json={"amount": "10"}, headers={"If-Match": '"1"'})
    again = client.patch(url, json={"amount": "20"}, headers={"If-Match": '"1"'})

    assert without.status_code == 428
    assert fields_of(without) == {"If-Match": "required"}
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    assert (changed.get_json()["amount"], changed.get_json()["version"]) == ("10.00", 2)
    assert again.status_code == 412
    assert again.get_json()["current_version"] == 2
    assert services(app).get("deal", id)["amount"] == 10


def test_patch_changes_only_the_fields_named_and_takes_back_what_was_read(app):
    client = api_client(app)
    read = created(client, amount="5", source="call")

    echoed = client.patch(f"/api/v1/deal/{read['id']}",
                          json={**{k: read[k] for k in ("id", "version", "created_at",
                                                        "created_by", "stage")},
                                "source": None},
                          headers={"If-Match": '"1"'})
    moved = client.patch(f"/api/v1/deal/{read['id']}", json={"stage": "won", "id": 5},
                         headers={"If-Match": '"2"'})

    assert echoed.status_code == 200, echoed.get_json()
    assert (echoed.get_json()["amount"], echoed.get_json()["source"]) == ("5.00", None)
    assert moved.status_code == 422
    assert fields_of(moved) == {"stage": "read_only", "id": "read_only"}


def test_delete_needs_if_match_then_the_record_is_gone(app):
    client = api_client(app)
    id = created(client)["id"]
    url = f"/api/v1/deal/{id}"

    assert client.delete(url).status_code == 428
    assert client.delete(url, headers={"If-Match": '"7"'}).status_code == 412
    response = client.delete(url, headers={"If-Match": '"1"'})

    assert response.status_code == 204
    assert response.get_data() == b""
    assert services(app).count("deal") == 0
    assert client.get(url).status_code == 404
    assert client.patch(url, json={}, headers={"If-Match": '"2"'}).status_code == 404
    assert client.delete(url, headers={"If-Match": "*"}).status_code == 404


def test_a_delete_a_restrict_link_blocks_is_409_and_deletes_nothing(app):
    client = api_client(app)
    acme = customer(app)
    created(client, customer=acme)

    response = client.delete(f"/api/v1/customer/{acme}", headers={"If-Match": '"1"'})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert services(app).count("customer") == 1


def test_roles_apply_as_on_pages(app):
    id = created(api_client(app))["id"]
    viewer, sales = api_client(app, "viewer"), api_client(app, "sales")
    url = f"/api/v1/deal/{id}"

    assert viewer.post("/api/v1/deal", json={"title": "B"}).status_code == 403
    assert viewer.patch(url, json={"title": "B"}).status_code == 403
    assert viewer.delete(url, headers={"If-Match": '"1"'}).status_code == 403
    fixed = sales.patch(url, json={"discount": "5"}, headers={"If-Match": '"1"'})
    hidden = sales.patch(url, json={"cost": "5"}, headers={"If-Match": '"1"'})

    assert fixed.status_code == 403
    assert fields_of(fixed) == {"discount": "forbidden"}
    assert hidden.status_code == 422
    assert fields_of(hidden) == {"cost": "unknown"}
    assert sales.patch(url, json={"title": "B"}, headers={"If-Match": '"1"'}).status_code == 200


def test_the_session_cookie_never_writes(app):
    browser = app.client()

    response = browser.post("/api/v1/deal", json={"title": "A"})

    assert response.status_code == 401
    assert services(app).count("deal") == 0


def test_parts_are_not_resources_of_their_own(make_app):
    from tests.test_api_lines import ENTITIES as LINED

    app = make_app(LINED, pack={"name": "l", "currency": "USD"})

    response = api_client(app).post("/api/v1/quote_line", json={"quantity": "1"})

    assert response.status_code == 404
