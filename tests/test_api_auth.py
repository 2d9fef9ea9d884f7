"""Who may call /api/v1 (SPEC §11.1): a personal token as `Authorization: Bearer`, or the
browser's session for reading only. Every refusal is a 401 problem+json naming its reason,
with `WWW-Authenticate: Bearer`, before anything says whether an address exists."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from karte.auth import tokens
from karte.auth.users import deactivate_user
from tests.api_live import api_client

ENTITIES = {"customer": {"label": "Customer", "fields": {"name": {"type": "string"}}}}
PACK = {"name": "t", "roles": {"sales": {"*": {"read": "all", "create": True,
                                               "update": "own", "delete": False}},
                               "guest": {"*": {"read": False}}}}
UNKNOWN = "/api/v1/no_such_thing"


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=PACK)


def engine_of(app):
    return app.extensions["karte"]["engine"]


def refused(response, code: str) -> dict:
    """The 401 problem with this reason code; returns its body."""
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401 and body["title"] and body["detail"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("Authorization", code)]
    assert body["errors"][0]["message"] == body["detail"]
    return body


def bearer(app, value: str, method: str = "GET", path: str = UNKNOWN, **kwargs):
    return app.test_client().open(path, method=method,
                                  headers={"Authorization": value}, **kwargs)


def test_without_a_token_the_api_answers_401_for_every_address(app):
    client = app.test_client()
    for method in ("GET", "POST", "PATCH", "DELETE"):
        body = refused(client.open(UNKNOWN, method=method), "missing")
        assert "Authorization: Bearer" in body["detail"]
    refused(client.get("/api/v1/customer"), "missing")
    refused(client.get("/api/elsewhere"), "missing")


@pytest.mark.parametrize("header", ["Basic YWxhZGRpbjpvcGVu", "Bearer", "Bearer   ",
                                    "Token karte_abcdefgh_" + "a" * 40])
def test_an_authorization_header_of_another_scheme_is_malformed(app, header):
    refused(bearer(app, header), "malformed")


@pytest.mark.parametrize("value", ["not-a-token", "karte_short_x", "karte_" + "a" * 60])
def test_a_bearer_value_that_is_no_karte_token_is_malformed(app, value):
    body = refused(bearer(app, f"Bearer {value}"), "malformed")
    assert "karte_<prefix>_<secret>" in body["detail"]


def test_unknown_revoked_expired_and_inactive_tokens_are_refused_by_name(app):
    user = app.user("sales")
    engine = engine_of(app)
    secret, info = tokens.add(engine, user, "Shop")
    tampered = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    refused(bearer(app, f"Bearer {tampered}"), "unknown")
    wrong_prefix = f"karte_{'0' * 8 if info.prefix != '0' * 8 else '1' * 8}{secret[14:]}"
    refused(bearer(app, f"Bearer {wrong_prefix}"), "unknown")

    tokens.revoke(engine, info.id)
    assert "revoked" in refused(bearer(app, f"Bearer {secret}"), "revoked")["detail"]

    later, expiring = tokens.add(engine, user, "Soon",
                                 expires_at=tokens.now() + dt.timedelta(hours=1))
    with engine.begin() as conn:
        table = tokens._tokens()
        conn.execute(table.update().where(table.c.id == expiring.id)
                     .values(expires_at=tokens.now() - dt.timedelta(seconds=1)))
    refused(bearer(app, f"Bearer {later}"), "expired")

    live, _info = tokens.add(engine, user, "Live")
    deactivate_user(engine, user)
    refused(bearer(app, f"Bearer {live}"), "inactive")


def test_a_refusal_speaks_the_requests_language(app):
    body = refused(bearer(app, "Bearer nonsense", path=f"{UNKNOWN}?lang=ja"), "malformed")
    assert "トークン" in body["detail"]


def test_a_valid_token_passes_and_an_unknown_address_is_then_404(app):
    client = api_client(app, "sales")
    for method in ("GET", "POST", "DELETE"):
        response = client.open(method, UNKNOWN, json={} if method == "POST" else None)
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"][0]["code"] == "not_found"
    last_used = tokens.get_token(engine_of(app), tokens.list_tokens(
        engine_of(app), client.user_id)[0].id).last_used_at
    assert last_used is not None


def test_the_bearer_scheme_is_case_insensitive(app):
    client = api_client(app)
    response = app.test_client().get(UNKNOWN, headers={"Authorization": f"bearer {client.token}"})
    assert response.status_code == 404


def test_the_session_cookie_reads_but_never_writes(app):
    browser = app.client("sales")
    assert browser.get(UNKNOWN).status_code == 404            # reading: accepted
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        body = refused(browser.open(UNKNOWN, method=method, json={}), "session_write")
        assert "personal token" in body["detail"]


def test_a_token_wins_over_the_session_cookie(app):
    browser = app.client("admin")
    response = browser.post(UNKNOWN, json={}, headers={"Authorization": "Bearer nonsense"})
    refused(response, "malformed")
    assert browser.get("/api/v1/customer").status_code == 200
    guest = api_client(app, "guest")
    acting = browser.get("/api/v1/customer", headers={"Authorization": f"Bearer {guest.token}"})
    assert acting.status_code == 403           # the token's user, not the session's


def test_every_api_route_refuses_a_call_without_a_token(app):
    """Each GET route of the API (as the other parts land) is behind the same gate."""
    client = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    for rule in rules:
        path = re.sub(r"<([^>:]+:)?([^>]+)>",
                      lambda m: "customer" if m.group(2) == "entity" else "1", rule.rule)
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        refused(client.open(path, method=method), "missing")
