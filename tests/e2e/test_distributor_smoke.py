"""The example client pack in a real browser (issue 10): `examples/distributor/` with demo
data, its own pages and the base's quote pages open without an error, in Japanese (the
pack's locale), and a supplier's contact people show as lines on its card."""

from __future__ import annotations

import os
import re
import threading

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from karte.config import REPO_ROOT
from tests.e2e.conftest import PASSWORD

PACK = REPO_ROOT / "examples" / "distributor"
PAGES = ("/", "/supplier/", "/warehouse/", "/stock/", "/carrier/", "/shipment/",
         "/board/delivery", "/survey/", "/document/", "/product/", "/quote/", "/order/",
         "/supplier_contact/")


@pytest.fixture(scope="module")
def distributor(tmp_path_factory, browser):
    from werkzeug.serving import make_server

    from karte import create_app
    from karte.auth.users import add_user
    from karte.cli import main

    instance = tmp_path_factory.mktemp("distributor")
    url = f"sqlite:///{instance / 'karte.db'}"
    os.environ["KARTE_INSTANCE"] = str(instance)
    app = create_app(pack=PACK, database_url=url, config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    result = CliRunner().invoke(main, ["demo", "--pack", str(PACK), "--size", "150",
                                       "--seed", "2"], env={"KARTE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    add_user(services["engine"], services["pack"], "admin@example.com", "admin", PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    services["engine"].dispose()


def test_every_page_of_the_client_pack_opens_cleanly(browser, distributor):
    context = browser.new_context(base_url=distributor, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{distributor}/")
    for path in PAGES:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    page.goto("/shipment/")
    page.locator("tbody a").filter(has_text=re.compile(r"^SH-")).first.click()
    page.wait_for_url(re.compile(r"/shipment/\d+$"))
    expect(page.locator("h1")).to_contain_text("SH-")
    page.goto("/supplier/")
    page.locator("tbody a[href^='/supplier/']").first.click()
    page.wait_for_url(re.compile(r"/supplier/\d+$"))
    expect(page.locator("h1")).to_be_visible()
    context.close()
    assert not errors, f"browser console errors: {errors}"
