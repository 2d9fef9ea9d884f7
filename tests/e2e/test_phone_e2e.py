"""Phones in a real browser (issue 12 "Mobile"), at 390 px: a list row shows the record's
subtitle under its title; a saved view's tab stops looking chosen as soon as a filter
changes it (htmx swaps the tab bar with the rows) and is chosen again when the filter
goes back; the home page's tables fit the width, stacked, with 44 px title links."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_subtitles_tabs_and_home_on_a_phone(page: Page):
    page.goto("/customer/new")
    page.fill("input[name=name]", "Phone E2E 株式会社")
    page.fill("input[name=city]", "Sapporo")
    page.select_option("select[name=kind]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/customer/\d+$"))
    customer = page.url.rsplit("/", 1)[1]
    for title, source in [("PE2E web", "web"), ("PE2E call", "call")]:
        page.goto(f"/deal/new?customer={customer}")
        page.fill("input[name=title]", title)
        page.select_option("select[name=source]", source)
        page.click("form#record-form button.primary")
        page.wait_for_url(re.compile(r"/deal/\d+$"))

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/deal/?q=PE2E&f.source=web")
    row = page.locator("#list-rows tbody td.title", has_text="PE2E web")
    expect(row.locator(".subtitle")).to_be_visible()
    expect(row.locator(".subtitle")).to_contain_text("Phone E2E 株式会社")

    page.click("details.list-view-save summary")
    page.fill("#list-save-view input[name=name]", "Phone web")
    page.click("#list-save-view button[type=submit]")
    page.wait_for_url(re.compile(r"saved=\d+"))
    chosen = page.locator(".list-view-tabs a[aria-current=page]")
    expect(chosen).to_have_text("Phone web")
    page.evaluate("() => { window.__sameDocument = true; }")

    page.locator("summary", has_text="Filters").click()
    page.select_option("select[name='f.source']", "call")
    expect(page.locator("#list-rows tbody tr")).to_have_count(1)
    expect(chosen).to_have_count(0)
    expect(page.locator(".list-view-tabs a.view-changed")).to_contain_text("Phone web")
    page.select_option("select[name='f.source']", "web")
    expect(chosen).to_have_text("Phone web")
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"

    page.goto("/")
    too_wide = page.evaluate("""() => [...document.querySelectorAll('.home .card')]
        .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.className)""")
    assert too_wide == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator(".home-table td.title a").count() > 0
    for link in page.locator(".home-table td.title a").all()[:5]:
        assert link.bounding_box()["height"] >= 44
