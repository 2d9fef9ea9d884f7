"""Accessibility in a real browser (issue 12): axe-core (npm, `make setup` installs it in
node_modules) runs on every page type — home, list, card, form, board, search, history,
account, admin, schema, login — at 1280 and 390 px, in English and Japanese. A critical or
serious finding fails the test with the rule, the page and the offending elements.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from karte.config import REPO_ROOT
from tests.e2e.conftest import REQUIRED

AXE = Path(os.environ.get("KARTE_AXE", REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"))
WIDTHS = (1280, 390)
SERIOUS = ("critical", "serious")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        reason = f"axe-core missing at {AXE}: run `make setup` (npm) or set KARTE_AXE"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def findings(page: Page, axe_source: str) -> list[dict]:
    """axe's critical and serious violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)   # evaluated by the browser, not an inline <script>: CSP-safe
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
    }""")
    return [v for v in result if v["impact"] in SERIOUS]


def _records(page: Page) -> dict[str, str]:
    """A customer with a deal (created through the forms): the pages that need a record."""
    page.goto("/customer?q=Axe+Trading")
    link = page.locator("table.list-table td.title a", has_text="Axe Trading 株式会社")
    if link.count() == 0:
        page.goto("/customer/new")
        page.fill("input[name=name]", "Axe Trading 株式会社")
        page.select_option("select[name=kind]", index=1)
        page.click("form#record-form button.primary")
        page.wait_for_url(re.compile(r"/customer/\d+$"))
        customer = page.url.rsplit("/", 1)[1]
        page.goto(f"/deal/new?customer={customer}")
        page.fill("input[name=title]", "Axe annual licence")
        page.fill("input[name=amount]", "1200")
        page.click("form#record-form button.primary")
        page.wait_for_url(re.compile(r"/deal/\d+$"))
    else:
        customer = link.first.get_attribute("href").rsplit("/", 1)[1]
    return {
        "home": "/",
        "list": "/customer",
        "card": f"/customer/{customer}",
        "form": f"/customer/{customer}/edit",
        "new form": "/deal/new",
        "board": "/board/deal_pipeline",
        "search": "/search?q=Axe",
        "history": f"/customer/{customer}/history",
        "account": "/account",
        "admin": "/admin/users",
        "schema": "/schema",
    }


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_findings(page: Page, browser, live_server, axe_source, width, lang):
    pages = _records(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/?lang={lang}")
    found: dict[str, list[dict]] = {}
    for kind, path in pages.items():
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang, f"{kind}: not in {lang}"
        if width < 641 and kind == "home":      # the menu, opened, is checked too
            page.click(".navmenu > summary")
        found.update({f"{kind} {path}": f for f in [findings(page, axe_source)] if f})

    # the sign-in page, signed out
    context = browser.new_context(base_url=live_server,
                                  viewport={"width": width, "height": 900})
    login = context.new_page()
    login.goto(f"/login?lang={lang}")
    signed_out = findings(login, axe_source)
    context.close()
    if signed_out:
        found["login /login"] = signed_out
    assert not found, f"axe at {width} px, {lang}:\n" + json.dumps(found, indent=1,
                                                                 ensure_ascii=False)
