"""Every API failure is application/problem+json (RFC 9457, SPEC §11.1): `type`, `title`,
`status`, `detail` and `errors[]` of `{field, code, message}` — for 400, 401, 403 and 404,
on both databases."""

from __future__ import annotations

import pytest

from tests import api_read_pack as pack
from tests.api_live import api_client


@pytest.fixture
def app(make_app):
    return pack.make(make_app)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"field", "code", "message"}
        assert isinstance(item["field"], str) and item["code"] and item["message"]
    return body


def test_a_bad_query_is_a_400_problem_naming_each_parameter(app):
    body = assert_problem(api_client(app).get("/api/v1/customer?colour=red&size=2&limit=-1"),
                          400)
    assert [e["field"] for e in body["errors"]] == ["colour", "size"]
    assert {e["code"] for e in body["errors"]} == {"unknown_parameter"}
    assert "colour" in body["errors"][0]["message"]


def test_a_filter_that_does_not_fit_is_a_400_problem_on_its_parameter(app):
    body = assert_problem(api_client(app).get("/api/v1/customer?f.revenue.gte=lots"), 400)
    assert body["errors"][0]["field"] == "f.revenue.gte"
    assert "lots" in body["errors"][0]["message"]


def test_without_a_token_or_a_session_a_read_is_a_401_problem(app):
    body = assert_problem(app.test_client().get("/api/v1/customer"), 401)
    assert body["errors"][0]["field"] == "Authorization"


def test_a_role_without_read_gets_a_403_problem(app):
    body = assert_problem(api_client(app, "guest").get("/api/v1/deal"), 403)
    assert body["errors"][0]["code"] == "forbidden"
    assert "guest" in body["errors"][0]["message"]


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/api/v1/customer/12345",
                                 "/api/v1/customer/12345/history", "/api/v1/quote_line"])
def test_what_does_not_exist_is_a_404_problem(app, url):
    assert_problem(api_client(app).get(url), 404)


def test_problems_speak_the_packs_language(make_app):
    app = make_app({"customer": pack.CUSTOMER, "product": pack.PRODUCT},
                   pack={"name": "t", "locale": "ja"})
    body = assert_problem(api_client(app).get("/api/v1/customer?limit=0&colour=red"), 400)
    assert "パラメーター" in body["errors"][0]["message"]
    assert body["title"] == "不正なリクエスト" or body["title"]


def test_lang_chooses_the_language_of_the_problems(app):
    client = api_client(app)
    assert client.get("/api/v1/customer?lang=ja").status_code == 200   # not a filter
    body = assert_problem(client.get("/api/v1/customer?lang=ja&limit=0"), 400)
    assert "ページサイズ" in body["errors"][0]["message"]


def test_a_token_callers_own_language_is_used_without_lang_and_no_cookie_is_set(app):
    import sqlalchemy as sa

    client = api_client(app, "admin", "hanako@example.com")
    with app.extensions["karte"]["engine"].begin() as conn:
        conn.execute(sa.text("UPDATE karte_user SET locale = 'ja' WHERE id = :id"),
                     {"id": client.user_id})
    body = assert_problem(client.get("/api/v1/customer?limit=0"), 400)
    assert "ページサイズ" in body["errors"][0]["message"]
    english = client.get("/api/v1/customer?lang=en&limit=0")
    assert "ページサイズ" not in english.json["errors"][0]["message"]
    assert "Set-Cookie" not in english.headers
    assert "ページサイズ" in client.get("/api/v1/customer?limit=0").json["errors"][0]["message"]
