"""Issue 9, sessions that can be ended: sign-out ends the session for a copied cookie too
(on every app server, across restarts), idle and absolute timeouts, the account page
(sessions, signing them out, changing one's password) and the admin's "sign out
everywhere"."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from karte import StartupRefused
from karte.auth.users import list_users, verify_password
from karte.store.tables import engine_table
from tests.conftest import PASSWORD

ENTITIES = {"note": {"label": "Note", "fields": {"title": {"type": "string"}}}}
PACK = {"name": "t", "roles": {"sales": {"*": {"read": "all", "create": True,
                                               "update": "own", "delete": False}}}}
NEW = "plum tree in may"
FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=PACK)


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def engine_of(app):
    return app.extensions["karte"]["engine"]


def user_id(app, email: str) -> int:
    return next(u["id"] for u in list_users(engine_of(app)) if u["email"] == email)


def notes(app) -> list[str]:
    return [r["title"] for r in app.extensions["karte"]["records"].query("note")]


def copy_of(client, app):
    """Another browser holding a copy of this client's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def sent_to_sign_in(response, path: str = "/schema") -> bool:
    location = urlsplit(response.headers.get("Location", ""))
    return response.status_code == 302 and location.path == "/login" and \
        parse_qs(location.query).get("next") == [path]


def age(app, **moved: dt.timedelta) -> None:
    """Move every session's times back (created_at=…, last_seen_at=…): as if that much
    time had passed, without waiting."""
    sessions = engine_table("karte_session")
    with engine_of(app).begin() as conn:
        for row in conn.execute(sa.select(sessions)).all():
            conn.execute(sessions.update().where(sessions.c.id == row.id).values(
                {name: getattr(row, name) - delta for name, delta in moved.items()}))


def sign_in_from(client, email: str, **request):
    """Sign in as a browser at another address or with another user agent would."""
    page = html(client.get("/login", **request))
    token = page.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token}, **request)
    assert response.status_code == 303
    return response


def flashes(response) -> list[str]:
    return [p.get_text(" ", strip=True) for p in html(response).select(".flash")]


def sessions_table(page: BeautifulSoup) -> list[dict]:
    return [{"id": int(tr["id"].removeprefix("session-")),
             "current": "current" in (tr.get("class") or []),
             "cells": [td.get_text(" ", strip=True) for td in tr.find_all("td")],
             "form": tr.find("form")["action"]}
            for tr in page.select("table.sessions tbody tr")]


# ------------------------------------------------------------------ sign-out ends it

def test_a_cookie_copied_before_sign_out_can_neither_read_nor_write_after(app):
    client = app.client("sales")
    thief = copy_of(client, app)
    assert thief.get("/schema").status_code == 200  # the copy works while signed in

    client.send("/logout")

    assert sent_to_sign_in(thief.get("/schema"))
    token = html(app.client("sales").get("/schema")).find("meta", attrs={
        "name": "csrf-token"})["content"]
    wrote = thief.post("/note/new", data={"title": "stolen", "csrf_token": token})
    assert wrote.status_code in (302, 400) and notes(app) == []
    htmx = thief.get("/schema", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["HX-Redirect"]) == (401, "/login?next=/schema")


def test_a_session_holds_on_every_app_server_and_its_sign_out_too(app, make_app):
    client = app.client("sales")
    other_server = make_app(ENTITIES, pack=PACK)  # same database, same secret key
    there = other_server.test_client()
    there.set_cookie("session", client.get_cookie("session").value)

    assert there.get("/schema").status_code == 200
    client.send("/logout")
    assert sent_to_sign_in(there.get("/schema"))


def test_the_api_answers_an_ended_session_with_401_problem_json(app):
    client = app.client("sales")
    thief = copy_of(client, app)
    client.send("/logout")

    response = thief.get("/api/anything")

    assert response.status_code == 401 and response.mimetype == "application/problem+json"


# ------------------------------------------------------------------ timeouts

def test_a_session_idle_longer_than_the_setting_goes_to_sign_in(make_app):
    app = make_app(ENTITIES, pack=PACK, config={"KARTE_SESSION_IDLE_MINUTES": 30})
    client = app.client("sales")

    age(app, last_seen_at=dt.timedelta(minutes=29), created_at=dt.timedelta(minutes=29))
    assert client.get("/schema").status_code == 200  # and that request counts as use
    age(app, last_seen_at=dt.timedelta(minutes=31))

    assert sent_to_sign_in(client.get("/schema"))
    assert client.get("/login?next=/schema").status_code == 200


def test_a_session_older_than_the_longest_time_goes_to_sign_in_even_in_use(make_app):
    app = make_app(ENTITIES, pack=PACK, config={"KARTE_SESSION_MAX_DAYS": 3})
    client = app.client("sales")

    age(app, created_at=dt.timedelta(days=2, hours=23))
    assert client.get("/schema").status_code == 200
    age(app, created_at=dt.timedelta(hours=2))

    assert sent_to_sign_in(client.get("/schema"))


def test_timeouts_come_from_the_environment_with_sane_defaults(make_app, monkeypatch):
    default = make_app(ENTITIES, pack=PACK)
    monkeypatch.setenv("KARTE_SESSION_IDLE_MINUTES", "45")
    monkeypatch.setenv("KARTE_SESSION_MAX_DAYS", "1")
    configured = make_app(ENTITIES, pack=PACK)
    monkeypatch.setenv("KARTE_SESSION_IDLE_MINUTES", "an hour")

    assert (default.config["KARTE_SESSION_IDLE_MINUTES"],
            default.config["KARTE_SESSION_MAX_DAYS"]) == (480, 14)
    assert (configured.config["KARTE_SESSION_IDLE_MINUTES"],
            configured.config["KARTE_SESSION_MAX_DAYS"]) == (45, 1)
    with pytest.raises(StartupRefused, match="KARTE_SESSION_IDLE_MINUTES: must be a whole"):
        make_app(ENTITIES, pack=PACK)


# ------------------------------------------------------------------ the account page

def test_every_user_reaches_their_account_page_from_the_menu(app):
    page = html(app.client("sales").get("/schema"))

    assert "/account" in [a["href"] for a in page.select(".usermenu a")]


def test_the_account_page_shows_who_i_am_and_where_i_am_signed_in(app):
    client = app.client("sales")
    phone = app.test_client()
    sign_in_from(phone, "sales@example.com", headers=FIREFOX,
                 environ_base={"REMOTE_ADDR": "198.51.100.4"})
    app.client("admin")  # another user's session is not listed

    page = html(client.get("/account"))

    facts = [dd.get_text(strip=True) for dd in page.select("dl.facts dd")]
    assert facts == ["Sales", "sales@example.com", "sales"]
    rows = sessions_table(page)
    assert [r["current"] for r in rows].count(True) == 1 and len(rows) == 2
    mine = next(r for r in rows if r["current"])
    other = next(r for r in rows if not r["current"])
    assert mine["cells"][0].startswith("this session") and mine["form"] == "/logout"
    assert "Firefox/128.0" in other["cells"][0] and other["cells"][1] == "198.51.100.4"
    assert other["form"] == f"/account/sessions/{other['id']}/end"


def test_signing_out_another_session_from_the_account_page(app):
    client = app.client("sales")
    phone = app.test_client()
    phone.sign_in("sales@example.com")
    other = next(r for r in sessions_table(html(client.get("/account"))) if not r["current"])

    response = client.send(other["form"])

    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert sent_to_sign_in(phone.get("/schema"))
    after = client.get("/account")
    assert flashes(after) == ["That session has ended: its device has to sign in again."]
    assert len(sessions_table(html(after))) == 1


def test_nobody_signs_out_someone_elses_session(app):
    sales, admin = app.client("sales"), app.client("admin")
    theirs = sessions_table(html(admin.get("/account")))[0]["id"]

    assert sales.send(f"/account/sessions/{theirs}/end").status_code == 404
    assert admin.get("/schema").status_code == 200


def test_sign_out_all_other_sessions_keeps_this_one(app):
    client = app.client("sales")
    others = [app.test_client() for _ in range(2)]
    for other in others:
        other.sign_in("sales@example.com")

    response = client.send("/account/sessions/end-others")

    assert response.status_code == 303
    assert all(sent_to_sign_in(other.get("/schema")) for other in others)
    after = client.get("/account")
    assert flashes(after) == ["2 other sessions have ended."]
    assert [r["current"] for r in sessions_table(html(after))] == [True]


def change(client, current: str = PASSWORD, new: str = NEW, repeat: str | None = None):
    return client.send("/account/password", {"current": current, "password": new,
                                             "repeat": new if repeat is None else repeat})


def error_of(response, input_id: str) -> str:
    page = html(response)
    return page.find(id=page.find(id=input_id)["aria-describedby"]).get_text(" ", strip=True)


def test_changing_my_password_ends_my_other_sessions_and_keeps_this_one(app, caplog):
    client = app.client("sales")
    phone = app.test_client()
    phone.sign_in("sales@example.com")
    caplog.set_level(logging.INFO, logger="karte.security")

    response = change(client)

    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert flashes(client.get("/account")) == [
        "Your password is changed. Your sessions on other devices have ended."]
    assert sent_to_sign_in(phone.get("/schema"))
    assert verify_password(engine_of(app), "sales@example.com", NEW) is not None
    assert not [r for r in caplog.records if NEW in r.getMessage()]


@pytest.mark.parametrize(("typed", "input_id", "message"), [
    ({"current": "wrong guess"}, "current-password", "The current password is wrong."),
    ({"new": "qwertyuiop", "repeat": "qwertyuiop"}, "new-password",
     "This is one of the most common passwords, which attackers try first. Choose a "
     "longer phrase of your own."),
    ({"new": "sales@example.com 2024"}, "new-password",
     "A password must not contain the email address or the name before the @: attackers "
     "try those first."),
    ({"new": "            "}, "new-password", "A password cannot be only spaces."),
    ({"repeat": "plum tree in june"}, "repeat-password",
     "The two new passwords differ. Type the same one twice."),
])
def test_a_refused_password_change_says_why_next_to_the_field(app, typed, input_id, message):
    client = app.client("sales")

    response = change(client, **typed)

    assert response.status_code == 422
    assert error_of(response, input_id) == message
    assert not [i for i in html(response).select("input[type=password]") if i.get("value")]
    assert verify_password(engine_of(app), "sales@example.com", PASSWORD) is not None
    assert client.get("/schema").status_code == 200


def test_guessing_the_current_password_is_rate_limited(make_app):
    app = make_app(ENTITIES, pack=PACK, config={"RATELIMIT_ENABLED": True,
                                                "KARTE_LOGIN_LIMIT_PER_ACCOUNT": "2 per minute"})
    client = app.client("sales")

    tries = [change(client, current=f"guess {n}").status_code for n in range(2)]
    blocked = change(client)

    assert tries == [422, 422] and blocked.status_code == 429
    assert error_of(blocked, "current-password") == (
        "Too many attempts. Wait a minute and try again.")
    assert verify_password(engine_of(app), "sales@example.com", PASSWORD) is not None


def test_the_account_page_speaks_japanese(app):
    client = app.client("sales")
    client.get("/schema?lang=ja")

    page = html(change(client, current="wrong guess"))

    assert page.find("h1").get_text(strip=True) == "アカウント"
    assert page.find(id="current-password-error").get_text(strip=True) == (
        "現在のパスワードが違います。")


# ------------------------------------------------------------------ the admin's button

def test_an_admin_signs_a_user_out_everywhere(app):
    admin, sales = app.client("admin"), app.client("sales")
    phone = app.test_client()
    phone.sign_in("sales@example.com")
    target = user_id(app, "sales@example.com")
    row = html(admin.get("/admin/users")).find(id=f"user-{target}")
    assert row.find("button", attrs={"value": "sign_out"}) is not None

    response = admin.send(f"/admin/users/{target}", {"action": "sign_out"})

    assert response.status_code == 303
    assert flashes(admin.get("/admin/users")) == ["sales@example.com is signed out everywhere."]
    assert sent_to_sign_in(sales.get("/schema")) and sent_to_sign_in(phone.get("/schema"))
    assert app.test_client().sign_in("sales@example.com").status_code == 303


def test_an_admin_signing_themselves_out_everywhere_keeps_this_session(app):
    admin = app.client("admin")
    laptop = app.test_client()
    laptop.sign_in("admin@example.com")

    admin.send(f"/admin/users/{user_id(app, 'admin@example.com')}", {"action": "sign_out"})

    assert admin.get("/admin/users").status_code == 200
    assert sent_to_sign_in(laptop.get("/admin/users"), "/admin/users")


def test_the_admin_cannot_set_a_common_password_either(app):
    admin = app.client("admin")
    app.user("sales")
    target = user_id(app, "sales@example.com")

    response = admin.send(f"/admin/users/{target}", {"action": "password",
                                                     "password": "Password123"})

    assert response.status_code == 422
    assert html(response).find(id=f"user-{target}").find(class_="error").get_text(
        strip=True).startswith("This is one of the most common passwords")


def test_a_signed_out_visitor_posting_a_password_change_goes_to_sign_in(make_app):
    app = make_app(ENTITIES, pack=PACK, config={"RATELIMIT_ENABLED": True})
    visitor = app.test_client()
    token = html(visitor.get("/login")).find("input", attrs={"name": "csrf_token"})["value"]

    response = visitor.post("/account/password", data={
        "current": PASSWORD, "password": NEW, "repeat": NEW, "csrf_token": token})

    assert response.status_code == 302 and response.headers["Location"] == "/login"
