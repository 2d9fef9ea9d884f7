"""Fixing and logging in place, in a real browser (issue 12): drag a deal to Won on the
board, fix the refusal in the dialog (a zero amount refused there, a real one accepted),
the card lands in Won; move a deal on its card's stage bar through the same dialog; log a
call from the card without a page reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import column_of, drag


def _customer(page: Page, name: str) -> str:
    page.goto("/customer/new")
    page.fill("input[name=name]", name)
    page.select_option("select[name=kind]", index=1)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/customer/\d+$"))
    return page.url.rsplit("/", 1)[1]


def _deal(page: Page, customer: str, title: str) -> str:
    page.goto(f"/deal/new?customer={customer}")
    page.fill("input[name=title]", title)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    return page.url.rsplit("/", 1)[1]


def test_drag_to_won_fixing_the_refusal_in_the_dialog(page: Page):
    deal = _deal(page, _customer(page, "Fixers Ltd"), "Fix in place")
    page.goto("/board/deal_pipeline")
    card = f"#card-deal-{deal}"
    assert column_of(page, card) == "new"

    drag(page, card, "won")                       # no amount: the dialog asks for it
    dialog = page.locator("#move-dialog")
    expect(dialog.locator("input[name=amount]")).to_be_visible()
    assert column_of(page, card) == "new", "the card waits for the move to succeed"

    dialog.locator("input[name=amount]").fill("0")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".error").first).to_contain_text("positive amount")
    assert dialog.locator("input[name=amount]").input_value() == "0", "typed text is kept"
    assert column_of(page, card) == "new"

    dialog.locator("input[name=amount]").fill("4800")
    with page.expect_response(lambda r: r.request.method == "POST" and r.ok):
        dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    # Won is a final stage: collapsed, the card is in it but not shown until opened
    expect(page.locator(f'ol.board-list[data-stage="won"] {card}')).to_be_attached()
    page.goto("/board/deal_pipeline?open=won")   # the collapsed column, opened
    assert column_of(page, card) == "won", "the value and the move were saved"


def test_the_stage_bar_asks_in_the_dialog_and_warns_about_later_stages(page: Page):
    deal = _deal(page, _customer(page, "Bar Ltd"), "Stage bar fix")
    page.goto(f"/deal/{deal}")
    page.locator(".stage-bar button[value=proposal]").click()
    dialog = page.locator("#move-dialog")
    expect(dialog).to_contain_text("Invoiced will need this")
    dialog.locator("input[name=amount]").fill("0")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".error").first).to_contain_text("Invoiced will need this")

    dialog.locator("input[name=amount]").fill("120")
    dialog.locator("button[type=submit]").click()
    expect(page.locator(".stage-bar [aria-current=step]")).to_contain_text("Proposal")


def test_log_a_call_from_the_card_without_a_reload(page: Page):
    deal = _deal(page, _customer(page, "Callers Ltd"), "Log a call")
    page.goto(f"/deal/{deal}")
    page.evaluate("window.__same_page = true")
    page.locator("details.quick-add summary", has_text="Interaction").click()
    form = page.locator(f'form[action="/deal/{deal}/quick-add/interaction"]')
    assert form.locator("select[name=kind]").input_value() == "call"
    assert form.locator("input[name=happened_at]").input_value() != "", "$now pre-filled"

    form.locator("input[name=subject]").fill("")
    form.locator("textarea[name=body]").fill("Asked about delivery")
    form.locator("input[name=subject]").evaluate("el => el.removeAttribute('required')")
    form.locator("button[type=submit]").click()       # refused: said in place, text kept
    expect(form.locator("input[name=subject][aria-invalid=true]")).to_be_visible()
    assert form.locator("textarea[name=body]").input_value() == "Asked about delivery"

    form.locator("input[name=subject]").fill("Called about delivery")
    form.locator("button[type=submit]").click()
    expect(page.locator(".quick-added")).to_contain_text("Called about delivery")
    expect(page.locator("#timeline .entry-item").first).to_contain_text(
        "Called about delivery")
    assert page.evaluate("window.__same_page === true"), "no page load"
