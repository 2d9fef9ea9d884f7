"""A quote in a real browser (issue 10): three lines typed in the grid, prices fetched from
the products, totals and margin updated live, sending refused without lines, then sent,
accepted, and turned into an order that carries the lines and gets its own number.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PRODUCTS = (("E2E Cement 25 kg", "1200", "800"), ("E2E Plasterboard", "950", "600"),
            ("E2E Screws box", "400", "150"))
QUANTITIES = ("10", "20", "5")    # 12,000 + 19,000 + 2,000 = 33,000; cost 20,750


def _save(page: Page, pattern: str) -> str:
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(pattern))
    return page.url.rsplit("/", 1)[1]


def test_quote_with_lines_becomes_an_order(page: Page, live_server):
    for name, price, cost in PRODUCTS:
        page.goto("/product/new")
        page.fill("input[name=name]", name)
        page.fill("input[name=price]", price)
        page.fill("input[name=cost]", cost)
        _save(page, r"/product/\d+$")
    page.goto("/customer/new")
    page.fill("input[name=name]", "E2E Builders 株式会社")
    page.select_option("select[name=kind]", index=1)
    customer = _save(page, r"/customer/\d+$")

    page.goto(f"/quote/new?customer={customer}")
    page.fill("input[name=valid_until]", "2030-01-31")
    quote = _save(page, r"/quote/\d+$")
    expect(page.locator("h1")).to_contain_text(re.compile(r"Q-\d{4}-0001"))

    page.click("button[name=to][value=sent]")       # no lines yet: refused
    prompt = page.locator("#move-prompt")
    expect(prompt).to_contain_text("Lines")
    expect(prompt).to_contain_text("Add the lines on the edit form")

    page.goto(f"/quote/{quote}/edit")
    rows = page.locator("#grid-lines tr.line-row")
    for i, ((product, price, _cost), quantity) in enumerate(zip(PRODUCTS, QUANTITIES,
                                                               strict=True)):
        if i >= rows.count():
            page.click("#grid-lines button.add-rows")
            expect(rows).to_have_count(i + 1)
        row = rows.nth(i)
        row.locator("select[name$=-product]").select_option(label=product)
        expect(row.locator("input[name$=-unit_price]")).to_have_value(
            re.compile(rf"^{price}(\.00)?$"))                      # fetched on pick
        row.locator("input[name$=-quantity]").fill(quantity)
        row.locator("input[name$=-quantity]").press("Tab")
    expect(page.locator("#v-subtotal")).to_contain_text("33,000.00")   # live, server-side
    expect(page.locator("#v-margin_pct")).to_contain_text("37.12")
    _save(page, rf"/quote/{quote}$")

    table = page.locator(".lines-card")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tfoot")).to_contain_text("$33,000.00")
    expect(page.locator("body")).to_contain_text("37.12%")

    page.click("button[name=to][value=sent]")
    expect(page.locator(".stage-bar [aria-current=step]")).to_contain_text("Sent")
    page.click("button[name=to][value=accepted]")
    expect(page.locator(".stage-bar [aria-current=step]")).to_contain_text("Accepted")

    page.click("button[data-action=make_order]")
    page.wait_for_url(re.compile(r"/order/\d+$"))
    expect(page.locator("h1")).to_contain_text(re.compile(r"SO-\d{4}-0001"))
    lines = page.locator(".lines-card tbody tr")
    expect(lines).to_have_count(3)
    for name, _price, _cost in PRODUCTS:
        expect(page.locator(".lines-card")).to_contain_text(name)
    expect(page.locator(".lines-card tfoot")).to_contain_text("$33,000.00")

    page.goto(f"/quote/{quote}")                     # the action ran once, and says so
    expect(page.locator("button[data-action=make_order]")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Create order")
