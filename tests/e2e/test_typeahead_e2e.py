"""Type-ahead in a real browser (issue 12): "/" focuses the top search, typing shows
records grouped by entity with their subtitles, ArrowDown + Enter opens one; in the deal
form the customer picker (more than 50 customers: a combobox, not a <select>) tells two
"Lyons Ltd" apart by their subtitle and is chosen with the keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import create_customers

TWINS = (("E2E Lyons Ltd", "Lyon"), ("E2E Lyons Ltd", "Leeds"))


def _create_customers(page: Page) -> dict[str, str]:
    """Twins plus enough others that the deal form's customer is a combobox; {city: id}."""
    return create_customers(page, [*TWINS, *((f"E2E Filler {n:02d}", "Kobe")
                                             for n in range(52))])


def test_top_search_and_customer_picker_by_keyboard(page: Page, live_server):
    ids = _create_customers(page)
    page.goto("/")
    page.locator("body").press("/")
    box = page.locator("#quick-search")
    expect(box).to_be_focused()
    box.press_sequentially("E2E Lyons", delay=20)
    listbox = page.locator("#quick-search-options")
    expect(box).to_have_attribute("aria-expanded", "true")
    group = listbox.locator('[role="group"]').filter(has_text="Customers")
    expect(group.locator('[role="option"]')).to_have_count(2)
    expect(group).to_contain_text("Lyon")
    expect(group).to_contain_text("Leeds")
    box.press("ArrowDown")
    first = listbox.locator('[role="option"]').first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    href = first.get_attribute("href")
    box.press("Enter")
    page.wait_for_url(re.compile(re.escape(href) + "$"))

    page.goto("/deal/new")
    assert page.locator("select[name=customer]").count() == 0      # no <select> of 54
    page.fill("input[name=title]", "E2E twin deal")
    picker = page.locator("input[name='_q.customer']")
    expect(picker).to_have_attribute("role", "combobox")
    picker.press_sequentially("E2E Lyons", delay=20)
    options = page.locator("#o-customer [role=option]")
    expect(options).to_have_count(2)
    subtitles = options.locator(".ta-sub").all_inner_texts()
    leeds = next(i for i, text in enumerate(subtitles) if text.startswith("Leeds"))
    for _ in range(leeds + 1):
        picker.press("ArrowDown")
    expect(options.nth(leeds)).to_have_attribute("aria-selected", "true")
    picker.press("Enter")
    expect(page.locator("input[name=customer]")).to_have_value(ids["Leeds"])
    expect(picker).to_have_value("E2E Lyons Ltd")
    expect(page.locator(".picker .picker-sub").first).to_contain_text("Leeds")
    expect(picker).to_have_attribute("aria-expanded", "false")
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    expect(page.locator(f'main a[href="/customer/{ids["Leeds"]}"]').first).to_be_visible()
