"""A salesperson's day in a real browser (issue 5): create a customer, add a deal (fixing a
form error on the way), drag the deal across the board — one refused move, one accepted,
one that asks for the missing field — and find the moves on the card's timeline.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def drag(page: Page, card_selector: str, stage: str) -> None:
    """Drag a board card onto a column the way a mouse does (Sortable's own dragging)."""
    card = page.locator(card_selector)
    target = page.locator(f'ol.board-list[data-stage="{stage}"]')
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 20, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 30, steps=25)
    page.mouse.up()


def column_of(page: Page, card_selector: str) -> str:
    return page.locator(card_selector).evaluate("el => el.closest('ol.board-list')"
                                                ".dataset.stage")


def test_customer_deal_board_and_timeline(page: Page, live_server):
    page.goto("/customer/new")
    page.fill("input[name=name]", "E2E Trading 株式会社")
    page.select_option("select[name=kind]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/customer/\d+$"))
    customer = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text("E2E Trading 株式会社")

    page.goto(f"/deal/new?customer={customer}")
    page.fill("input[name=amount]", "0")
    page.click("form#record-form button.primary")
    expect(page.locator('[data-field="title"] .field-errors')).to_be_visible()
    assert page.input_value("input[name=amount]") == "0", "typed values survive a 422"
    page.fill("input[name=title]", "E2E first order")
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    deal = page.url.rsplit("/", 1)[1]

    page.goto("/board/deal_pipeline")
    card = f"#card-deal-{deal}"
    expect(page.locator(card)).to_be_visible()
    assert column_of(page, card) == "new"

    drag(page, card, "invoiced")  # no invoice number and a zero amount: refused
    expect(page.locator("#board-messages")).to_contain_text("positive amount")
    assert column_of(page, card) == "new", "a refused card snaps back"

    # the amount is there: accepted. Sortable shows the card in its new column at once;
    # the reload must wait for the server's answer, or it races the move in flight (the
    # page could read the counts before the move and the cards after it)
    with page.expect_response(lambda r: r.request.method == "POST"):
        drag(page, card, "proposal")
    expect(page.locator(f'ol.board-list[data-stage="proposal"] {card}')).to_be_visible()
    page.reload()
    assert column_of(page, card) == "proposal", "the move was saved"

    drag(page, card, "lost")  # only the lost reason is missing: the board asks for it
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("textarea[name=lost_reason]").fill("Budget went to another project")
    dialog.locator("button[type=submit]").first.click()
    # Lost is a final stage: collapsed, its cards hidden until opened (board_cards.py)
    expect(page.locator(f'ol.board-list[data-stage="lost"] {card}[data-stage="lost"]')) \
        .to_be_attached()

    page.goto(f"/deal/{deal}")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".entry-move")).to_have_count(2)
    expect(timeline).to_contain_text("Proposal")
    expect(timeline).to_contain_text("Lost")
