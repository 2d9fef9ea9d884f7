"""Lists in a real browser (issue 12): a filter change swaps the table without a reload
and updates the URL; a view is saved, reopened from its tab, and the totals follow the
filter."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_filters_apply_in_place_and_a_saved_view_reopens(page: Page, live_server):
    page.goto("/customer/new")
    page.fill("input[name=name]", "Lists E2E 株式会社")
    page.select_option("select[name=kind]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/customer/\d+$"))
    customer = page.url.rsplit("/", 1)[1]
    for title, amount, source in [("LE2E web one", "100", "web"),
                                  ("LE2E web two", "250", "web"),
                                  ("LE2E call", "4000", "call")]:
        page.goto(f"/deal/new?customer={customer}")
        page.fill("input[name=title]", title)
        page.fill("input[name=amount]", amount)
        page.select_option("select[name=source]", source)
        page.click("form#record-form button.primary")
        page.wait_for_url(re.compile(r"/deal/\d+$"))

    page.goto("/deal/?q=LE2E")
    expect(page.locator("#list-rows tbody tr")).to_have_count(3)
    expect(page.locator("tfoot [data-total=amount]")).to_have_text("$4,350.00")
    marker = page.evaluate("() => { window.__sameDocument = true; return 1; }")
    assert marker == 1
    expect(page.locator(".filter-apply")).to_be_hidden()   # with JavaScript: no Apply

    page.select_option("select[name='f.source']", "web")
    expect(page.locator("#list-rows tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/deal/\?q=LE2E&f\.source=web$"))
    expect(page.locator("tfoot [data-total=amount]")).to_have_text("$350.00")
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"

    page.locator("th a.sort", has_text="Amount").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Amount")
    expect(page).to_have_url(re.compile(r"sort=amount"))
    assert page.evaluate("() => window.__sameDocument === true")

    page.click("details.list-view-save summary")
    page.fill("#list-save-view input[name=name]", "Web leads E2E")
    page.click("#list-save-view button[type=submit]")
    page.wait_for_url(re.compile(r"saved=\d+"))
    expect(page.locator(".flash")).to_contain_text("Saved the view “Web leads E2E”.")

    page.click("a.list-clear")
    expect(page.locator(".list-view-tabs a[aria-current=page]")).to_have_text(
        re.compile("All Deals"))
    page.locator(".list-view-tabs a", has_text="Web leads E2E").click()
    page.wait_for_url(re.compile(r"saved=\d+"))
    expect(page.locator(".list-view-tabs a[aria-current=page]")).to_have_text(
        "Web leads E2E")
    expect(page.locator("#list-rows tbody tr")).to_have_count(2)
    expect(page.locator("select[name='f.source']")).to_have_value("web")
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Amount")
    expect(page.locator("#list-rows tbody tr").first).to_contain_text("LE2E web one")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/deal/?view=my_open")
    expect(page.locator(".list-view-tabs a[aria-current=page]")).to_have_text(
        "My open deals")
