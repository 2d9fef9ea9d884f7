"""The API's rate limit (api/limits.py): KARTE_API_LIMIT per token (or per signed-in user),
shared by every route, with RateLimit-* headers, and 429 problem+json with Retry-After."""

from __future__ import annotations

import pytest

from karte import StartupRefused
from tests.api_live import api_client

ENTITIES = {"customer": {"label": "Customer", "fields": {"name": {"type": "string"}}}}
ROUTE = "/api/v1/openapi.json"


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, config={"RATELIMIT_ENABLED": True,
                                      "KARTE_API_LIMIT": "3 per minute"})


def test_each_answer_says_what_is_left_and_the_fourth_call_is_429(app):
    client = api_client(app)
    left = []
    for _call in range(3):
        response = client.get(ROUTE)
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 60
        left.append(response.headers["RateLimit-Remaining"])
    assert left == ["2", "1", "0"]

    refused = client.get(ROUTE)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["status"] == 429
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("Authorization",
                                                                  "rate_limited")]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_each_token_has_its_own_budget(app):
    first, second = api_client(app), api_client(app)    # the same user, two tokens
    for _call in range(3):
        first.get(ROUTE)
    assert first.get(ROUTE).status_code == 429
    assert second.get(ROUTE).status_code == 200


def test_a_refused_token_spends_no_budget_and_is_401(app):
    client = api_client(app)
    stranger = app.test_client()
    for _call in range(5):
        response = stranger.get(ROUTE, headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 401
        assert "RateLimit-Limit" not in response.headers
    assert client.get(ROUTE).headers["RateLimit-Remaining"] == "2"


def test_the_browser_session_is_limited_per_user(app):
    browser = app.client("admin")
    for _call in range(3):
        assert browser.get(ROUTE).status_code == 200
    assert browser.get(ROUTE).status_code == 429
    assert api_client(app).get(ROUTE).status_code == 200     # a token of the same user


def test_pages_get_no_rate_limit_headers(app):
    page = app.client("admin").get("/account")
    assert page.status_code == 200 and "RateLimit-Limit" not in page.headers


def test_a_wrong_limit_setting_stops_the_app(make_app):
    with pytest.raises(StartupRefused, match="KARTE_API_LIMIT"):
        make_app(ENTITIES, config={"KARTE_API_LIMIT": "lots"})
