"""Issue 4, sign-in end to end: the same answer for every refusal, a new session on sign-in,
cookie flags, rate limits, the gate in front of every page, safe `next`, sign-out, sessions
ended by a new password or deactivation, security headers, and pages the CSP can run.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from flask import url_for

from karte.auth.users import deactivate_user, list_users, update_user
from tests.conftest import PASSWORD

ENTITIES = {
    "customer": {"label": "Customer", "fields": {"name": {"type": "string"}}},
    "deal": {"label": "Deal", "fields": {"title": {"type": "string"},
                                         "customer": {"type": "link", "to": "customer"}}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
PACK = {"name": "t", "roles": {"sales": {"*": {"read": "all", "create": True,
                                               "update": "own", "delete": False}}}}
REFUSED = "Email or password is wrong."
TOO_MANY = "Too many sign-in attempts. Wait a minute and try again."


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, PACK)


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def form_token(client, path: str = "/login", **kwargs) -> str:
    page = html(client.get(path, **kwargs))
    return page.find("input", attrs={"name": "csrf_token"})["value"]


def attempt(client, email: str, password: str, next: str | None = None, **kwargs):
    """One sign-in as a browser sends it: the form's token, then the POST."""
    data = {"email": email, "password": password, "csrf_token": form_token(client)}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, **kwargs)


def alert(response) -> str:
    return html(response).find(role="alert").get_text(" ", strip=True)


def engine_of(app):
    return app.extensions["karte"]["engine"]


def user_id(app, role: str) -> int:
    return next(u["id"] for u in list_users(engine_of(app))
                if u["email"] == f"{role}@example.com")


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def cookie_flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def assert_csp_clean(page: str) -> None:
    """The page needs nothing our Content-Security-Policy blocks: no inline script or
    <style>, no on* handlers, no style= attributes, no hx-on, no javascript: URLs, no
    js: hx-vals. (A browser would silently ignore them: the page would just not work.)"""
    soup = BeautifulSoup(page, "html.parser")
    problems = [f"inline script: {str(s)[:80]}" for s in soup.find_all("script")
                if not s.get("src")]
    problems += [f"<style> element: {str(s)[:80]}" for s in soup.find_all("style")]
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            name, text = name.lower(), " ".join(value) if isinstance(value, list) else value
            if name.startswith("on") or name == "style" or \
                    name.startswith(("hx-on", "data-hx-on")):
                problems.append(f"<{tag.name} {name}=...>")
            elif name in ("href", "src", "action", "formaction") and \
                    text.strip().lower().startswith("javascript:"):
                problems.append(f"<{tag.name} {name}={text[:40]}>")
            elif name in ("hx-vals", "data-hx-vals") and text.strip().startswith(("js:",
                                                                                   "javascript:")):
                problems.append(f"<{tag.name} {name}={text[:40]}>")
    assert not problems, "CSP would block:\n" + "\n".join(problems)


# ------------------------------------------------------------------ signing in

def test_login_page_and_correct_credentials_go_to_next_or_home(app):
    app.user("sales")
    client = app.test_client()

    assert client.get("/login").status_code == 200
    to_next = attempt(client, "sales@example.com", PASSWORD, next="/schema")
    assert (to_next.status_code, to_next.headers["Location"]) == (303, "/schema")
    home = attempt(app.test_client(), "SALES@example.com", PASSWORD)
    assert (home.status_code, home.headers["Location"]) == (303, "/")


def test_the_next_page_asked_for_is_carried_through_the_form(app):
    page = html(app.test_client().get("/login?next=/board/pipeline"))

    assert page.find("input", attrs={"name": "next"})["value"] == "/board/pipeline"


def test_wrong_password_unknown_email_and_deactivated_user_get_the_same_answer(app):
    app.user("sales")
    app.user("sales", "gone@example.com")
    deactivate_user(engine_of(app), "gone@example.com")

    tries = [("sales@example.com", "wrong password"), ("nobody@example.com", PASSWORD),
             ("gone@example.com", PASSWORD), ("not an address", PASSWORD)]
    answers = [attempt(app.test_client(), email, password) for email, password in tries]

    def masked(response, email):  # the token differs per session; the form echoes the email
        body = re.sub(rb'name="csrf_token" value="[^"]+"', b"TOKEN", response.get_data())
        return body.replace(f'value="{email}"'.encode(), b'value="EMAIL"')

    assert [a.status_code for a in answers] == [401] * 4
    assert len({masked(a, e) for a, (e, _) in zip(answers, tries, strict=True)}) == 1
    assert alert(answers[0]) == REFUSED


def test_signing_in_starts_a_new_session(app):
    app.user("sales")
    client = app.test_client()
    with client.session_transaction() as session:
        session["x"] = 1
    old_token = form_token(client)
    old_cookie = client.get_cookie("session").value
    with client.session_transaction() as session:
        old_secret = session["csrf_token"]

    client.post("/login", data={"email": "sales@example.com", "password": PASSWORD,
                                "csrf_token": old_token})

    assert client.get_cookie("session").value != old_cookie
    new_token = re.search(r'name="csrf-token" content="([^"]+)"',
                          client.get("/schema").get_data(as_text=True)).group(1)
    with client.session_transaction() as session:
        assert "x" not in session
        assert session["csrf_token"] != old_secret
    assert new_token != old_token


def test_a_form_from_before_signing_in_is_refused_after(app):
    app.user("sales")
    client = app.test_client()
    old_token = form_token(client)
    client.post("/login", data={"email": "sales@example.com", "password": PASSWORD,
                                "csrf_token": old_token})

    assert client.post("/logout", data={"csrf_token": old_token}).status_code == 400
    assert client.get("/schema").status_code == 200


def test_the_chosen_language_survives_signing_in(app):
    app.user("sales")
    client = app.test_client()
    client.get("/login?lang=ja")

    attempt(client, "sales@example.com", PASSWORD)

    assert html(client.get("/schema")).find("html")["lang"] == "ja"


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(app):
    app.user("sales")

    plain = attempt(app.test_client(), "sales@example.com", PASSWORD)
    secure = app.test_client().get("/login", base_url="https://localhost")

    assert {"httponly", "samesite=lax"} <= cookie_flags(session_cookie(plain))
    assert "secure" not in cookie_flags(session_cookie(plain))
    assert {"httponly", "samesite=lax", "secure"} <= cookie_flags(session_cookie(secure))


# ------------------------------------------------------------------ rate limits

def limited(make_app, per_address: str, per_account: str):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, PACK, config={
        "RATELIMIT_ENABLED": True, "KARTE_LOGIN_LIMIT_PER_ADDRESS": per_address,
        "KARTE_LOGIN_LIMIT_PER_ACCOUNT": per_account})


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_too_many_attempts_from_one_address_get_429_other_addresses_still_sign_in(
        make_app, caplog):
    app = limited(make_app, "3 per minute", "100 per minute")
    app.user("sales")
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="karte.security")

    tries = [attempt(client, f"guess{n}@example.com", "guess", **from_address("10.0.0.1"))
             for n in range(3)]
    blocked = attempt(client, "sales@example.com", PASSWORD, **from_address("10.0.0.1"))

    assert [t.status_code for t in tries] == [401, 401, 401]
    assert (blocked.status_code, alert(blocked)) == (429, TOO_MANY)
    assert html(blocked).find("input", attrs={"name": "email"})["value"] == "sales@example.com"
    assert attempt(client, "sales@example.com", PASSWORD,
                   **from_address("10.0.0.2")).status_code == 303
    assert "sign-in rate limit hit from 10.0.0.1" in caplog.messages


def test_too_many_attempts_on_one_account_get_429_from_any_address(make_app):
    app = limited(make_app, "100 per minute", "2 per minute")
    app.user("sales")
    app.user("sales", "bob@example.com")
    client = app.test_client()

    tries = [attempt(client, "sales@example.com", "guess", **from_address(f"10.0.1.{n}"))
             for n in range(2)]
    blocked = attempt(client, " SALES@example.com", PASSWORD, **from_address("10.0.1.9"))

    assert [t.status_code for t in tries] == [401, 401]
    assert (blocked.status_code, alert(blocked)) == (429, TOO_MANY)
    assert attempt(client, "bob@example.com", PASSWORD,
                   **from_address("10.0.1.9")).status_code == 303


# ------------------------------------------------------------------ the gate

def every_page(app) -> list[str]:
    """A URL for every GET route a signed-out visitor must not see, converters filled
    from the pack (a new route with a new converter fails here until it gets a value).
    The API's routes (endpoint `api.*`) answer 401 instead: tests/test_api_*.py."""
    customer = app.extensions["karte"]["records"].create("customer", {"name": "Acme"})
    values = {"entity": "customer", "id": customer["id"], "workflow": "pipeline",
              "stage": "new", "child": "deal", "field": "customer", "link": "owner",
              "name": "no_such_action", "token": "an-import-upload-token", "batch": 1,
              "file_id": "f_no_such_file", "widget": "w1"}
    public = {"static", "theme", "schema.health", "auth.login", "auth.logout"}
    with app.test_request_context():
        return [url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
                for rule in app.url_map.iter_rules()
                if "GET" in rule.methods and rule.endpoint not in public
                and not rule.endpoint.startswith("api.")] + ["/search?q=acme"]


def test_every_page_sends_a_signed_out_visitor_to_sign_in_and_back(app):
    app.user("sales")
    pages = every_page(app)
    assert {"/schema", "/admin/users", "/customer/", "/board/pipeline"} <= set(pages)

    for path in pages:
        client = app.test_client()
        response = client.get(path)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert (location.path, parse_qs(location.query)["next"]) == ("/login", [path])
        kept = html(client.get(response.headers["Location"])).find(
            "input", attrs={"name": "next"})["value"]
        signed_in = attempt(client, "sales@example.com", PASSWORD, next=kept)
        assert signed_in.headers["Location"] == path


def test_htmx_requests_get_401_with_a_redirect_to_sign_in(app):
    response = app.test_client().get("/schema", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/schema"


def test_the_api_answers_a_signed_out_caller_with_401_problem_json(app):
    response = app.test_client().get("/api/anything")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example",
                                    "/\\evil.example", "/\t/evil.example",
                                    "javascript:alert(1)", "https:evil.example"])
def test_next_never_leads_to_another_site(app, target):
    app.user("sales")
    client = app.test_client()

    response = attempt(client, "sales@example.com", PASSWORD, next=target)

    assert response.headers["Location"] == "/"
    assert client.get("/login", query_string={"next": target}).headers["Location"] == "/"


# ------------------------------------------------------------------ signing out

def test_logout_asks_on_get_and_signs_out_only_on_post_with_the_token(app):
    client = app.client("sales")

    confirm = client.get("/logout")
    assert confirm.status_code == 200
    assert html(confirm).select_one("main form")["method"] == "post"
    assert client.get("/schema").status_code == 200

    response = client.send("/logout")

    assert (response.status_code, response.headers["Location"]) == (303, "/login")
    assert "You have signed out." in [p.get_text(strip=True) for p in
                                      html(client.get("/login")).select(".flash")]
    assert client.get("/schema").headers["Location"] == "/login?next=/schema"


def test_logout_without_the_token_is_refused_and_the_user_stays_signed_in(app):
    client = app.client("sales")

    assert client.post("/logout").status_code == 400
    assert client.get("/schema").status_code == 200


def test_a_signed_out_visitor_at_logout_just_goes_to_sign_in(app):
    response = app.test_client().get("/logout")

    assert response.headers["Location"] == "/login"


# ------------------------------------------------------------------ sessions ended

def test_a_new_password_ends_every_session_of_that_user_only(app):
    sales, other = app.client("sales"), app.client("admin")
    second = app.test_client()
    second.sign_in("sales@example.com")

    update_user(engine_of(app), app.extensions["karte"]["pack"], user_id(app, "sales"),
                password="a brand new secret")

    assert sales.get("/schema").headers["Location"] == "/login?next=/schema"
    assert second.get("/schema").headers["Location"] == "/login?next=/schema"
    assert other.get("/schema").status_code == 200
    assert attempt(sales, "sales@example.com", "a brand new secret").status_code == 303


def test_deactivation_ends_the_session_at_the_next_request(app):
    sales = app.client("sales")

    deactivate_user(engine_of(app), "sales@example.com")

    assert sales.get("/schema").headers["Location"] == "/login?next=/schema"
    assert attempt(sales, "sales@example.com", PASSWORD).status_code == 401


# ------------------------------------------------------------------ headers and CSP

def _kinds():
    return {
        "page 200": (200, lambda app: app.client().get("/admin/users")),
        "redirect 302": (302, lambda app: app.test_client().get("/schema")),
        "static file": (200, lambda app: app.test_client().get("/static/karte.css")),
        "sign-in refused 401": (401, lambda app: attempt(app.test_client(), "x@example.com",
                                                         "wrong password")),
        "htmx 401": (401, lambda app: app.test_client().get(
            "/schema", headers={"HX-Request": "true"})),
        "not found 404": (404, lambda app: app.client().get("/no/such/page")),
        "CSRF 400": (400, lambda app: app.client().post("/logout")),
        "forbidden 403": (403, lambda app: app.client("sales").get("/admin/users")),
        "API 401": (401, lambda app: app.test_client().get("/api/anything")),
    }


@pytest.mark.parametrize("kind", list(_kinds()))
def test_every_kind_of_response_carries_the_security_headers(app, kind):
    status, call = _kinds()[kind]

    with call(app) as response:
        assert response.status_code == status
        headers = response.headers
    policy = dict((d.strip().split(" ", 1) + [""])[:2]
                  for d in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy["script-src"] + policy.get("style-src", "")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def _pages():
    return {
        "login": lambda app: app.test_client().get("/login"),
        "login refused": lambda app: attempt(app.test_client(), "x@example.com", "wrong pw"),
        "logout": lambda app: app.client().get("/logout"),
        "schema": lambda app: app.client().get("/schema"),
        "admin users": lambda app: app.client().get("/admin/users"),
        "account": lambda app: app.client().get("/account"),
        "account refused": lambda app: app.client().send(
            "/account/password", {"current": "x", "password": "password", "repeat": "y"}),
        "admin users refused": lambda app: app.client().send(
            "/admin/users", {"email": "bad", "role": "sales", "password": "x"}),
        "404": lambda app: app.client().get("/no/such/page"),
        "403": lambda app: app.client("sales").get("/admin/users"),
        "400": lambda app: app.client().post("/logout"),
    }


@pytest.mark.parametrize("name", list(_pages()))
def test_pages_need_nothing_the_csp_blocks(app, name):
    app.user("sales")
    response = _pages()[name](app)

    assert response.mimetype == "text/html"
    assert_csp_clean(response.get_data(as_text=True))
