"""The admin's users page (/admin/users): only admins, every change a CSRF-checked POST,
bad input shown next to its field, and the rules that keep someone in charge."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from bs4 import BeautifulSoup

from karte.auth.users import get_user, list_users
from karte.store.tables import engine_table
from tests.conftest import PASSWORD

ENTITIES = {"note": {"label": "Note", "fields": {"title": {"type": "string"}}}}
PACK = {"name": "t", "roles": {
    "sales": {"*": {"read": "all", "create": True, "update": "own", "delete": False}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}}}}
NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=PACK)


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def user_id(app, email: str) -> int:
    engine = app.extensions["karte"]["engine"]
    return next(u["id"] for u in list_users(engine) if u["email"] == email)


def stored(app, email: str):
    return get_user(app.extensions["karte"]["engine"], user_id(app, email))


def row(soup: BeautifulSoup, email: str):
    """The table row of the user with this email."""
    return next(tr for tr in soup.select("table.users tbody tr")
                if tr.find("td").get_text(" ", strip=True).split(" ")[0] == email)


def field_error(soup: BeautifulSoup, input_id: str) -> str:
    """The message a screen reader links to the input (aria-describedby)."""
    described = soup.find(id=input_id)["aria-describedby"]
    return soup.find(id=described).get_text(" ", strip=True)


def flashes(soup: BeautifulSoup) -> list[str]:
    return [p.get_text(" ", strip=True) for p in soup.select(".flash")]


def signs_in(app, email: str, password: str = PASSWORD) -> int:
    client = app.test_client()
    token = html(client.get("/login")).find("input", attrs={"name": "csrf_token"})["value"]
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token}).status_code


def add(admin, **values):
    form = {"email": "ann@example.com", "name": "Ann", "role": "sales",
            "password": "initial secret", **values}
    return admin.send("/admin/users", form)


# ------------------------------------------------------------------ who may

@pytest.mark.parametrize("role", ["sales", "viewer"])
def test_other_roles_get_403_for_the_page_and_for_every_change(app, role):
    client = app.client(role)
    app.user("admin")
    target = user_id(app, "admin@example.com")

    assert client.get("/admin/users").status_code == 403
    assert add(client).status_code == 403
    assert client.send(f"/admin/users/{target}", {"action": "deactivate"}).status_code == 403
    assert client.send(f"/admin/users/{target}", {"action": "role", "role": role}
                       ).status_code == 403
    assert [u["email"] for u in list_users(app.extensions["karte"]["engine"])] == [
        "admin@example.com", f"{role}@example.com"]
    assert stored(app, "admin@example.com").role == "admin"


def test_only_admins_see_the_users_link_in_the_menu(app):
    admin_menu = html(app.client("admin").get("/schema")).select(".usermenu a")
    sales_menu = html(app.client("sales").get("/schema")).select(".usermenu a")

    assert "/admin/users" in [a["href"] for a in admin_menu]
    assert "/admin/users" not in [a["href"] for a in sales_menu]


# ------------------------------------------------------------------ the page

def test_the_page_lists_every_user_with_role_status_and_last_sign_in(app):
    admin = app.client("admin")
    app.user("sales")

    page = html(admin.get("/admin/users"))

    me, sales = row(page, "admin@example.com"), row(page, "sales@example.com")
    assert me.select_one("select[name=role] option[selected]")["value"] == "admin"
    assert sales.select_one("select[name=role] option[selected]")["value"] == "sales"
    assert [o["value"] for o in sales.select("select[name=role] option")] == [
        "admin", "sales", "viewer"]
    assert me.select_one(".badge").get_text(strip=True) == "Active"
    assert me.find("time") is not None  # the admin signed in a moment ago
    assert "never" in sales.get_text(" ", strip=True)
    assert me.find("button", attrs={"value": "deactivate"}) is None  # not oneself
    assert sales.find("button", attrs={"value": "deactivate"}) is not None


def test_last_sign_in_is_shown_in_the_viewers_timezone(app):
    admin = app.client("admin")
    engine = app.extensions["karte"]["engine"]
    users = engine_table("karte_user")
    with engine.begin() as conn:
        conn.execute(users.update().values(
            timezone="Asia/Tokyo", last_login_at=dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)))

    shown = row(html(admin.get("/admin/users")), "admin@example.com").find("time")

    assert "Jan 2, 2026" in shown.get_text() and "8:30" in shown.get_text()


def test_a_name_with_markup_is_shown_as_text(app):
    admin = app.client("admin")
    add(admin, name='<script>alert("x")</script><b onclick="steal()">Ann</b>')

    page = html(admin.get("/admin/users"))

    name_cell = row(page, "ann@example.com").find_all("td")[1]
    assert name_cell.get_text() == '<script>alert("x")</script><b onclick="steal()">Ann</b>'
    assert name_cell.find("script") is None and name_cell.find("b") is None
    assert all(s.get("src") for s in page.find_all("script"))


# ------------------------------------------------------------------ add

def test_an_added_user_can_sign_in_with_the_initial_password(app):
    admin = app.client("admin")

    response = add(admin)

    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    assert flashes(html(admin.get("/admin/users"))) == [
        "Added ann@example.com with the role sales."]
    assert (stored(app, "ann@example.com").name, stored(app, "ann@example.com").role) == (
        "Ann", "sales")
    assert signs_in(app, "ann@example.com", "initial secret") == 303


def test_adding_a_taken_address_is_refused_and_the_user_unchanged(app):
    admin = app.client("admin")
    app.user("sales")

    response = add(admin, email="SALES@example.com", role="admin", name="Impostor")

    page = html(response)
    assert response.status_code == 422
    assert field_error(page, "add-email") == (
        "A user with this email already exists. Change that user in the list below instead.")
    assert page.find(id="add-email")["value"] == "SALES@example.com"
    assert (stored(app, "sales@example.com").role, stored(app, "sales@example.com").name) == (
        "sales", "Sales")
    assert signs_in(app, "sales@example.com") == 303


def test_an_unknown_role_is_refused_next_to_the_role(app):
    response = add(app.client("admin"), role="boss")

    assert response.status_code == 422
    assert field_error(html(response), "add-role") == "Choose one of the roles in the list."
    assert "ann@example.com" not in [u["email"] for u in
                                     list_users(app.extensions["karte"]["engine"])]


def test_a_short_password_is_refused_and_the_typed_values_kept_but_not_the_password(app):
    response = add(app.client("admin"), email="ann@example.com", name="Ann Lee",
                   role="viewer", password="short")

    page = html(response)
    assert response.status_code == 422
    assert field_error(page, "add-password") == "A password needs at least 8 characters."
    assert page.find(id="add-email")["value"] == "ann@example.com"
    assert page.find(id="add-name")["value"] == "Ann Lee"
    assert page.select_one("#add-role option[selected]")["value"] == "viewer"
    assert not page.find(id="add-password").get("value")
    assert "short" not in response.get_data(as_text=True).replace("shortcut", "")


def test_a_bad_email_is_refused_next_to_the_email(app):
    response = add(app.client("admin"), email="ann-at-example")

    assert response.status_code == 422
    assert field_error(html(response), "add-email") == (
        "Enter a valid email address, like name@example.com.")


# ------------------------------------------------------------------ changes

def test_a_role_change_applies_on_the_users_next_request(app):
    admin, sales = app.client("admin"), app.client("sales")
    assert sales.get("/admin/users").status_code == 403
    target = user_id(app, "sales@example.com")

    response = admin.send(f"/admin/users/{target}", {"action": "role", "role": "admin"})

    assert response.status_code == 303
    assert flashes(html(admin.get("/admin/users"))) == [
        "sales@example.com now has the role admin."]
    assert sales.get("/admin/users").status_code == 200
    admin.send(f"/admin/users/{target}", {"action": "role", "role": "viewer"})
    assert sales.get("/admin/users").status_code == 403


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(app):
    admin, sales = app.client("admin"), app.client("sales")
    target = user_id(app, "sales@example.com")

    admin.send(f"/admin/users/{target}", {"action": "deactivate"})

    response = sales.get("/schema")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert signs_in(app, "sales@example.com") == 401
    page = html(admin.get("/admin/users"))
    assert row(page, "sales@example.com").select_one(".badge").get_text(strip=True) == (
        "Deactivated")
    assert row(page, "sales@example.com").find("button", attrs={"value": "reactivate"})

    admin.send(f"/admin/users/{target}", {"action": "reactivate"})

    assert signs_in(app, "sales@example.com") == 303


def test_a_password_reset_ends_the_users_sessions_and_the_new_password_works(app):
    admin, sales = app.client("admin"), app.client("sales")
    target = user_id(app, "sales@example.com")

    response = admin.send(f"/admin/users/{target}", {"action": "password",
                                                     "password": NEW_PASSWORD})

    assert response.status_code == 303
    assert sales.get("/schema").status_code == 302
    assert signs_in(app, "sales@example.com") == 401
    assert signs_in(app, "sales@example.com", NEW_PASSWORD) == 303


def test_an_admin_changing_their_own_password_stays_signed_in_here_only(app):
    admin = app.client("admin")
    elsewhere = app.test_client()
    elsewhere.sign_in("admin@example.com")
    me = user_id(app, "admin@example.com")

    admin.send(f"/admin/users/{me}", {"action": "password", "password": NEW_PASSWORD})

    assert admin.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302
    assert signs_in(app, "admin@example.com", NEW_PASSWORD) == 303


def test_a_short_new_password_is_refused_next_to_that_users_field(app):
    admin = app.client("admin")
    app.user("sales")
    target = user_id(app, "sales@example.com")

    response = admin.send(f"/admin/users/{target}", {"action": "password", "password": "abc"})

    page = html(response)
    assert response.status_code == 422
    details = row(page, "sales@example.com").select_one("details.set-password")
    assert details.has_attr("open")
    assert details.find(class_="error").get_text(strip=True) == (
        "A password needs at least 8 characters.")
    assert signs_in(app, "sales@example.com") == 303


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app):
    admin = app.client("admin")
    me = user_id(app, "admin@example.com")

    response = admin.send(f"/admin/users/{me}", {"action": "role", "role": "sales"})

    page = html(response)
    assert response.status_code == 409
    assert row(page, "admin@example.com").find(class_="error").get_text(strip=True) == (
        "This is the last active admin. Make another user admin first.")
    assert row(page, "admin@example.com").select_one("option[selected]")["value"] == "sales"
    assert stored(app, "admin@example.com").role == "admin"
    assert admin.get("/admin/users").status_code == 200


def test_an_admin_may_hand_over_and_then_lands_on_the_start_page(app):
    admin = app.client("admin")
    app.user("admin", "second@example.com")
    me = user_id(app, "admin@example.com")

    response = admin.send(f"/admin/users/{me}", {"action": "role", "role": "sales"})

    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert admin.get("/admin/users").status_code == 403


def test_an_admin_cannot_deactivate_themselves(app):
    admin = app.client("admin")
    app.user("admin", "second@example.com")
    me = user_id(app, "admin@example.com")

    response = admin.send(f"/admin/users/{me}", {"action": "deactivate"})

    assert response.status_code == 409
    assert row(html(response), "admin@example.com").find(class_="error").get_text(
        strip=True) == "You cannot deactivate yourself. Ask another admin to do it."
    assert stored(app, "admin@example.com").active


def test_without_the_csrf_token_nothing_changes(app):
    admin = app.client("admin")
    app.user("sales")
    target = user_id(app, "sales@example.com")

    added = admin.post("/admin/users", data={"email": "ann@example.com", "role": "sales",
                                             "password": "initial secret"})
    stopped = admin.post(f"/admin/users/{target}", data={"action": "deactivate"})

    assert (added.status_code, stopped.status_code) == (400, 400)
    assert [u["email"] for u in list_users(app.extensions["karte"]["engine"])] == [
        "admin@example.com", "sales@example.com"]
    assert stored(app, "sales@example.com").active


def test_an_unknown_user_is_404_and_an_unknown_action_400(app):
    admin = app.client("admin")

    assert admin.send("/admin/users/999", {"action": "deactivate"}).status_code == 404
    me = user_id(app, "admin@example.com")
    assert admin.send(f"/admin/users/{me}", {"action": "delete"}).status_code == 400


def test_admin_actions_are_logged_without_passwords(app, caplog):
    admin = app.client("admin")
    caplog.set_level(logging.INFO, logger="karte.security")

    add(admin, password="initial secret")
    target = user_id(app, "ann@example.com")
    admin.send(f"/admin/users/{target}", {"action": "password", "password": NEW_PASSWORD})
    admin.send(f"/admin/users/{target}", {"action": "deactivate"})

    lines = [r.getMessage() for r in caplog.records if r.name == "karte.security"]
    me = user_id(app, "admin@example.com")
    assert f"admin {me}: added user {target} (ann@example.com) with role sales" in lines
    assert f"admin {me}: password of user {target} (ann@example.com)" in lines
    assert f"admin {me}: deactivate of user {target} (ann@example.com)" in lines
    assert not [line for line in lines if "initial secret" in line or NEW_PASSWORD in line]
