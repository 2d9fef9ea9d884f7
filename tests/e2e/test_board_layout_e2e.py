"""The board's layout in a real browser (issue 12): at 1280 px every column head is in view
without scrolling the page sideways, final stages are narrow drop targets that open in
place, and at 390 px one column shows at a time with a stage switcher — with JavaScript
and without — whose tap targets are at least 44 px."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PASSWORD

BOARD = "/board/deal_pipeline"


def new_deal(page: Page, title: str, amount: str = "", invoice: str = "") -> str:
    page.goto("/customer/new")
    page.fill("input[name=name]", f"{title} customer")
    page.select_option("select[name=kind]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/customer/\d+$"))
    customer = page.url.rsplit("/", 1)[1]
    page.goto(f"/deal/new?customer={customer}")
    page.fill("input[name=title]", title)
    if amount:
        page.fill("input[name=amount]", amount)
    if invoice:
        page.fill("input[name=invoice_no]", invoice)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    return page.url.rsplit("/", 1)[1]


def drag(page: Page, card_selector: str, stage: str) -> None:
    """Drag a card onto a column's list the way a mouse does, aiming at its middle."""
    card = page.locator(card_selector)
    target = page.locator(f'ol.board-list[data-stage="{stage}"]')
    start, end = card.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 20, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(120, end["height"] / 2),
                    steps=25)
    page.mouse.up()


def page_scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_board_at_1280_and_390(page: Page, live_server):
    deal = new_deal(page, "Layout deal with a rather long name for a narrow column",
                    amount="1200", invoice="INV-7")
    card = f"#card-deal-{deal}"

    # ---- 1280 px: every column head in view, no sideways scroll of the page or board
    page.goto(BOARD)
    expect(page.locator(card)).to_be_visible()
    assert page_scroll_width(page) <= 1280
    board = page.locator(".board")
    assert board.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), "the board scrolls"
    heads = page.locator(".col-head")
    assert heads.count() == 7
    for i in range(heads.count()):
        box = heads.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, heads.nth(i).inner_text()
        assert box["y"] + box["height"] <= 900
    # the heads stay put while a column's cards scroll: the cards scroll inside the list
    assert page.locator(".board-list").first.evaluate(
        "l => getComputedStyle(l).overflowY") == "auto"

    # final stages: narrow, collapsed, and yet drop targets
    won = page.locator(".board-col", has=page.locator('ol[data-stage="won"]'))
    assert "is-collapsed" in won.get_attribute("class")
    assert won.bounding_box()["width"] < 70
    with page.expect_response(lambda r: r.request.method == "POST"):
        drag(page, card, "invoiced")  # amount and invoice number given: accepted
    # the card the server sent back (its data-stage says so), not the one Sortable moved
    expect(page.locator(f'ol[data-stage="invoiced"] {card}[data-stage="invoiced"]')) \
        .to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST"):
        drag(page, card, "won")
    expect(page.locator(f'ol[data-stage="won"] {card}[data-stage="won"]')).to_be_attached()
    expect(page.locator(f'ol[data-stage="won"] {card}')).to_be_hidden()
    expect(won.locator(".col-count")).to_have_text("1 card")

    # opened in place: its cards fetched, then closed again
    page.reload()
    won.locator(".col-expand").click()
    expect(page.locator(f'ol[data-stage="won"] {card}')).to_be_visible()
    assert "is-collapsed" not in won.get_attribute("class")
    assert won.bounding_box()["width"] > 150
    assert page_scroll_width(page) <= 1280
    won.locator(".col-collapse").click()
    expect(page.locator(f'ol[data-stage="won"] {card}')).to_be_hidden()

    # ---- 390 px: one column at a time, switched by the stage switcher
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BOARD)
    switcher = page.locator(".stage-switch")
    expect(switcher).to_be_visible()
    assert page_scroll_width(page) <= 390
    visible = page.locator(".board-col:visible")
    expect(visible).to_have_count(1)
    switcher.get_by_role("link", name=re.compile("^Won")).click()
    expect(page.locator(f'ol[data-stage="won"] {card}')).to_be_visible()
    expect(visible).to_have_count(1)
    assert "stage=won" in page.url
    expect(switcher.locator("a[aria-current]")).to_have_attribute("data-stage", "won")
    for target in (switcher.locator("a"), page.locator(f"{card} .card-title"),
                   page.locator(f"{card} .card-move summary")):
        for i in range(target.count()):
            box = target.nth(i).bounding_box()
            assert box["height"] >= 44, (target.nth(i).inner_text(), box)
    switcher.get_by_role("link", name=re.compile("^New")).click()
    expect(page.locator('.board-col:visible ol[data-stage="new"]')).to_have_count(1)


def test_the_phone_switcher_without_javascript(browser: Browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(BOARD)
    page.locator(".stage-switch").get_by_role("link", name=re.compile("^Lost")).click()
    page.wait_for_url(re.compile(r"stage=lost"))
    expect(page.locator(".board-col:visible")).to_have_count(1)
    expect(page.locator('.board-col:visible ol[data-stage="lost"]')).to_have_count(1)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(BOARD)
    lost = page.locator(".board-col", has=page.locator('ol[data-stage="lost"]'))
    lost.locator(".col-expand").click()
    page.wait_for_url(re.compile(r"open=lost"))
    assert "is-collapsed" not in lost.get_attribute("class")
    context.close()
