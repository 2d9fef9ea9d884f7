"""The standard pack's dashboards in a real browser (issue 16), over demo data: `sales` and
`support` in English and Japanese at 1280 and 390 px open without a console error (CSP
included), pass axe, fit a phone without sideways scrolling, and are saved as screenshots
(under the test's tmp dir) for a person to look at; a bar leads to its drilled list and a
tile's refresh button swaps the tile in place."""

from __future__ import annotations

import os
import re
import threading

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from karte.config import REPO_ROOT
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_axe import axe_source, findings  # noqa: F401 (a fixture)

DASHBOARDS = ("sales", "support")
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, browser):
    """The standard pack with demo data (300 records) and an admin, served."""
    from werkzeug.serving import make_server

    from karte import create_app
    from karte.auth.users import add_user
    from karte.cli import main

    instance = tmp_path_factory.mktemp("dashboards")
    url = f"sqlite:///{instance / 'karte.db'}"
    os.environ["KARTE_INSTANCE"] = str(instance)
    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    result = CliRunner().invoke(main, ["demo", "--pack", str(REPO_ROOT), "--size", "300",
                                       "--seed", "3"], env={"KARTE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    add_user(services["engine"], services["pack"], "boss@example.com", "admin", PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    services["engine"].dispose()


def signed_in(browser, base: str, width: int):
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 900},
                                  is_mobile=width < 640)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.fill("input[name=email]", "boss@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page, errors


@pytest.mark.parametrize("width", WIDTHS)
def test_dashboards_render_cleanly_in_both_languages(browser, demo, axe_source, width,  # noqa: F811
                                                    tmp_path):
    page, errors = signed_in(browser, demo, width)
    for name in DASHBOARDS:
        for lang in ("en", "ja"):
            page.goto(f"/dashboard/{name}?lang={lang}")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            expect(page.locator("article.widget").first).to_be_visible()
            assert page.locator("article.widget svg, article.widget .figure").count() >= 3
            wide = page.evaluate("() => document.scrollingElement.scrollWidth")
            assert wide <= width + 1, f"{name} {lang} scrolls sideways at {width} px: {wide}"
            assert findings(page, axe_source) == [], f"{name} {lang} at {width} px"
            page.screenshot(path=str(tmp_path / f"{name}-{lang}-{width}.png"), full_page=True)
    page.context.close()
    assert not errors, f"browser console errors: {errors}"


def test_a_bar_leads_to_its_records_and_refresh_swaps_the_tile(browser, demo):
    page, errors = signed_in(browser, demo, 1280)
    page.goto("/dashboard/sales")
    tile = page.locator("article.widget").filter(has=page.locator("svg a")).first
    tile_id = tile.get_attribute("id")
    page.locator(f"#{tile_id} .widget-refresh").click()
    expect(page.locator(f"#{tile_id} .widget-refresh")).not_to_have_class(
        re.compile("htmx-request"))
    assert page.url.endswith("/dashboard/sales")          # swapped in place, no navigation
    page.locator(f"#{tile_id} svg a").first.click()
    page.wait_for_url(re.compile(r"drill=sales\."))
    expect(page.locator(".list-drill .chip")).to_contain_text("›")
    page.context.close()
    assert not errors, f"browser console errors: {errors}"

