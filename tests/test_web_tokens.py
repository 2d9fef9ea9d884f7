"""API tokens on pages (web/api_tokens.py): created on /account and shown once, listed
without their secret, revoked by their owner (nobody else's), and listed and revoked for
everyone by admins on /admin/tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from karte.auth import tokens

ENTITIES = {"customer": {"label": "Customer", "fields": {"name": {"type": "string"}}}}
PACK = {"name": "t", "timezone": "Asia/Tokyo",
        "roles": {"sales": {"*": {"read": "all", "create": True, "update": "own",
                                  "delete": False}}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=PACK)


def engine_of(app):
    return app.extensions["karte"]["engine"]


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def create(client, name: str, expires: str = ""):
    return client.send("/account/tokens", {"name": name, "expires": expires})


def secret_of(response) -> str:
    return html(response).find("input", id="token-secret")["value"]


def test_a_new_token_is_shown_once_and_then_listed_without_its_secret(app):
    client = app.client("sales")
    response = create(client, "Web shop")

    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    secret = secret_of(response)
    user, reason = tokens.verify(engine_of(app), secret)
    assert reason == "" and user.email == "sales@example.com"
    account = client.get("/account")
    page = account.get_data(as_text=True)
    assert secret not in page and secret.split("_")[2] not in page
    row = html(account).find("table", class_="tokens").find("tbody").find("tr")
    assert "Web shop" in row.get_text() and f"karte_{secret.split('_')[1]}_" in row.get_text()
    assert secret not in create(client, "Other").get_data(as_text=True)


def test_the_last_day_is_the_users_timezone_and_shown(app):
    client = app.client("sales")
    last_day = dt.date.today() + dt.timedelta(days=10)
    secret = secret_of(create(client, "Until", last_day.isoformat()))

    info = tokens.list_tokens(engine_of(app))[0]
    assert info.expires_at == tokens.end_of_day(last_day, "Asia/Tokyo")
    assert tokens.verify(engine_of(app), secret)[1] == ""
    row = html(client.get("/account")).find("tr", id=f"token-{info.id}")
    assert "no expiry" not in row.find("td", attrs={"data-label": "Expires"}).get_text()


@pytest.mark.parametrize(("name", "expires", "status", "field"), [
    ("", "", 422, "name"), ("x" * 81, "", 422, "name"), ("Shop", "31.12.2026", 422, "expires"),
    ("Shop", "2020-01-01", 422, "expires")])
def test_refused_input_is_shown_next_to_its_field(app, name, expires, status, field):
    client = app.client("sales")
    response = create(client, name, expires)

    assert response.status_code == status
    page = html(response)
    assert page.find(id=f"token-{field}-error").get_text().strip()
    assert page.find(id=f"token-{field}")["aria-invalid"] == "true"
    assert tokens.list_tokens(engine_of(app)) == []


def test_a_name_in_use_is_a_409_and_free_again_once_revoked(app):
    client = app.client("sales")
    create(client, "Shop")
    refused = create(client, "Shop")
    assert refused.status_code == 409
    assert "revoke that token first" in html(refused).find(id="token-name-error").get_text()

    info = tokens.list_tokens(engine_of(app))[0]
    response = client.send(f"/account/tokens/{info.id}/revoke")
    assert response.status_code == 303 and response.location.endswith("/account#tokens")
    assert create(client, "Shop").status_code == 201


def test_revoking_needs_the_csrf_token_and_stops_the_token(app):
    client = app.client("sales")
    secret = secret_of(create(client, "Shop"))
    info = tokens.list_tokens(engine_of(app))[0]

    assert client.post(f"/account/tokens/{info.id}/revoke").status_code == 400
    assert tokens.verify(engine_of(app), secret)[1] == ""
    client.send(f"/account/tokens/{info.id}/revoke")
    assert tokens.verify(engine_of(app), secret) == (None, "revoked")
    page = client.get("/account")
    assert "Shop" not in html(page).find("table", class_="tokens").get_text()
    assert "is revoked" in page.get_data(as_text=True)


def test_nobody_revokes_someone_elses_token_from_the_account_page(app):
    owner = app.client("sales")
    secret = secret_of(create(owner, "Shop"))
    info = tokens.list_tokens(engine_of(app))[0]

    for other in (app.client("sales", "other@example.com"), app.client("admin")):
        assert other.send(f"/account/tokens/{info.id}/revoke").status_code == 404
    assert tokens.verify(engine_of(app), secret)[1] == ""
    assert "Shop" not in app.client("admin").get("/account").get_data(as_text=True)


def test_admins_list_and_revoke_everyones_tokens(app):
    secret = secret_of(create(app.client("sales"), "Shop"))
    admin = app.client("admin")
    create(admin, "Mine")

    page = admin.get("/admin/tokens")
    assert page.status_code == 200
    rows = html(page).find("table", class_="tokens").find("tbody").find_all("tr")
    assert [r.find("td", attrs={"data-label": "Name"}).get_text().split()[0]
            for r in rows] == ["Mine", "Shop"]
    assert "sales@example.com" in rows[1].get_text() and secret not in page.get_data(
        as_text=True)
    info = next(t for t in tokens.list_tokens(engine_of(app)) if t.name == "Shop")
    response = admin.send(f"/admin/tokens/{info.id}/revoke")
    assert response.status_code == 303 and response.location.endswith("/admin/tokens")
    assert tokens.verify(engine_of(app), secret) == (None, "revoked")
    assert admin.send("/admin/tokens/999999/revoke").status_code == 404
    assert 'href="/admin/tokens"' in admin.get("/account").get_data(as_text=True)


def test_the_admin_tokens_page_is_for_admins_only(app):
    sales = app.client("sales")
    create(sales, "Shop")
    info = tokens.list_tokens(engine_of(app))[0]

    assert sales.get("/admin/tokens").status_code == 403
    assert sales.send(f"/admin/tokens/{info.id}/revoke").status_code == 403
    assert 'href="/admin/tokens"' not in sales.get("/account").get_data(as_text=True)
    assert app.test_client().get("/admin/tokens").status_code == 302   # sign in first


def test_the_token_pages_speak_japanese(app):
    client = app.client("sales")
    page = client.get("/account?lang=ja").get_data(as_text=True)
    assert "API トークン" in page and "トークンを作成" in page
    assert "一度だけ" in create(client, "Shop").get_data(as_text=True)
