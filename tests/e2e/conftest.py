"""End-to-end fixtures: the standard pack served on a free port, driven by headless Chromium.

The tests skip when Playwright or Chromium is missing, unless KARTE_REQUIRE_E2E=1 (CI sets
it): then a missing browser, or front-end assets that `make setup` did not install, fail
the run instead of hiding it.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from karte.config import REPO_ROOT

CHROMIUM = os.environ.get("KARTE_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("KARTE_REQUIRE_E2E") == "1"
VENDOR = REPO_ROOT / "platform" / "karte" / "static" / "vendor"
PASSWORD = "e2e password 1"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"no Chromium at {CHROMIUM}"
    missing = [n for n in ("htmx.min.js", "Sortable.min.js") if not (VENDOR / n).exists()]
    if missing:
        return f"front-end assets missing ({', '.join(missing)}): run `make setup` with npm"
    return None


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The standard pack on SQLite with an admin user; yields the base URL."""
    reason = _unavailable()
    if reason:
        if REQUIRED:
            pytest.fail(f"KARTE_REQUIRE_E2E=1 but {reason}")
        pytest.skip(reason)
    from werkzeug.serving import make_server

    from karte import create_app
    from karte.auth.users import add_user

    instance = tmp_path_factory.mktemp("e2e-instance")
    os.environ["KARTE_INSTANCE"] = str(instance)
    app = create_app(pack=REPO_ROOT, database_url=f"sqlite:///{instance / 'karte.db'}",
                     config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    add_user(services["engine"], services["pack"], "admin@example.com", "admin", PASSWORD,
             name="Ada Admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    services["engine"].dispose()


@pytest.fixture(scope="session")
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def sign_in(browser, live_server: str, **options):
    """A page of a new browser context (`options`: viewport, is_mobile, ...) signed in as
    the admin, and the list its console errors (CSP violations included) go to."""
    context = browser.new_context(base_url=live_server, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    return page, errors


def create_customers(page, rows) -> dict[str, str]:
    """Customers (name, city), posted through the form as the signed-in page's user,
    duplicates confirmed; {city: id of the first one in that city}."""
    page.goto("/customer/")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    ids: dict[str, str] = {}
    for name, city in rows:
        response = page.request.post("/customer/new", max_redirects=0, form={
            "csrf_token": token, "name": name, "kind": "company", "city": city,
            "_confirm_duplicates": "1"})
        assert response.status == 303, response.text()[:300]
        ids.setdefault(city, response.headers["location"].rsplit("/", 1)[1])
    return ids


@pytest.fixture
def page(browser, live_server):
    """A signed-in page; console errors (CSP violations included) fail the test."""
    page, errors = sign_in(browser, live_server, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()
    assert not errors, f"browser console errors: {errors}"
