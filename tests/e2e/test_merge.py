"""Duplicates and merge in a real browser (issue 13): two customers written differently
(full-width, case, spaces) are one group on the duplicates page; merging them from there
leaves the survivor's card with the other's deal, and the other's URL leads to it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import create_customers


def test_a_duplicate_group_is_merged_and_the_survivor_holds_the_links(page: Page,
                                                                      live_server):
    ids = create_customers(page, [("Merge E2E Trading", "Osaka"),
                                  ("ＭＥＲＧＥ　Ｅ２Ｅ trading", "Kyoto")])
    page.goto(f"/deal/new?customer={ids['Osaka']}")   # the older: merged away
    page.fill("input[name=title]", "Merge E2E deal")
    page.fill("input[name=amount]", "700")
    page.select_option("select[name=source]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))

    page.goto("/customer/")
    page.get_by_role("link", name="Duplicates").click()
    page.wait_for_url(re.compile(r"/customer/duplicates"))
    group = page.locator("form.dup-group", has_text="Merge E2E Trading")
    expect(group.locator("input[name=ids]")).to_have_count(2)
    group.get_by_role("button", name="Merge the two ticked").click()

    page.wait_for_url(re.compile(r"/customer/merge\?"))
    expect(page.locator(".merge-pointing")).to_contain_text("1 Deal")
    page.locator(".merge-values tr", has_text="City").locator(
        "input[value=other]").check()
    page.get_by_role("button", name="Merge", exact=True).click()

    page.wait_for_url(re.compile(r"/customer/\d+$"))
    survivor = page.url.rsplit("/", 1)[1]
    other = ids["Kyoto"] if survivor == ids["Osaka"] else ids["Osaka"]
    expect(page.locator(".flash")).to_contain_text("Merged")
    expect(page.locator("main")).to_contain_text("Merge E2E deal")
    page.goto(f"/customer/{other}")
    expect(page).to_have_url(re.compile(rf"/customer/{survivor}$"))
    expect(page.locator(".flash")).to_contain_text(f"#{other} was merged")
