"""Home's to-dos in a real browser (issue 12): a task due today, ticked done from home with
one click (htmx, no page load), shown crossed out with "Undo", undone, ticked again, and
gone from home after a few seconds — and done in the database, as a reload shows."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect


def test_tick_a_task_done_from_home_and_undo_it(page, live_server):
    today = dt.datetime.now(dt.UTC).date().isoformat()       # the standard pack is on UTC
    page.goto("/task/new")
    page.fill("input[name=title]", "E2E call the printer")
    page.fill("input[name=due_on]", today)
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/task/\d+$"))

    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url)
            if frame == page.main_frame else None)
    page.goto("/")
    row = page.locator(".todo-row", has_text="E2E call the printer")
    expect(row).to_have_class(re.compile(r"bucket-today"))
    box = row.locator("button.tick")
    expect(box).to_have_attribute("aria-checked", "false")

    box.click()                                           # one click: done
    expect(row.locator("button.tick")).to_have_attribute("aria-checked", "true")
    expect(row).to_have_class(re.compile(r"is-done"))
    undo = row.locator("button.undo")
    expect(undo).to_be_visible()
    undo.click()                                          # undo within the few seconds
    expect(row.locator("button.tick")).to_have_attribute("aria-checked", "false")
    expect(row).not_to_have_class(re.compile(r"is-done"))

    row.locator("button.tick").click()                    # done again, and left alone
    expect(row.locator("button.tick")).to_have_attribute("aria-checked", "true")
    expect(page.locator(".todo-row", has_text="E2E call the printer")).to_have_count(
        0, timeout=10_000)
    assert len(loads) == 1, loads                          # only the first load of home

    page.reload()
    expect(page.locator(".todo-row", has_text="E2E call the printer")).to_have_count(0)
    page.goto("/task/?f.done=true")
    expect(page.locator("#list-rows tr", has_text="E2E call the printer")).to_have_count(1)


def test_tick_a_task_done_in_the_list(page, live_server):
    page.goto("/task/new")
    page.fill("input[name=title]", "E2E list tick")
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/task/\d+$"))

    page.goto("/task/?q=E2E+list+tick")
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url)
            if frame == page.main_frame else None)
    box = page.locator("#list-rows tr", has_text="E2E list tick").locator("button.tick")
    expect(box).to_have_attribute("aria-checked", "false")
    box.click()
    expect(page.locator("#list-rows tr", has_text="E2E list tick")
           .locator("button.tick")).to_have_attribute("aria-checked", "true")
    assert loads == [], loads                               # in place, no page load
    page.reload()
    expect(page.locator("#list-rows tr", has_text="E2E list tick")
           .locator("button.tick")).to_have_attribute("aria-checked", "true")
