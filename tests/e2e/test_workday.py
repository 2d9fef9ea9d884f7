"""The salesperson's day, counted (issue 12's quality bar), in a real browser at 1280 and
390 px: find a twin by its subtitle in the top search, log a call from its card, create a
deal for it (the customer picker by typing), move the deal to Won fixing the refusal in
place, go home and tick today's task done. The day is one journey per viewport; it counts
its page loads (main-frame document loads), prints them (`pytest -s`) and must take at
most half the loads the same day took before issue 12 (BEFORE). docs/ui-workday.md."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import create_customers, sign_in
from tests.e2e.test_journey import drag

# "What it takes today": the same day on the code before issue 12 (commit ac469f7, with this
# commit's deal_pipeline.json so that Won refuses a zero amount as it does now), driven
# once in Chromium through that UI in the standard pack's live server, counting main-frame
# `load` events from the first load of home exactly as below. Not run in the suite: each
# entry is the page one load brought, in order (docs/ui-workday.md tells the steps). It is
# a lower bound: the old search and <select> could not tell the twins apart, and the
# script opened the right one by its id where a user would guess.
BEFORE_DAY = {
    "1280": (
        "/",                        # home
        "/search?q=Lyons",          # the top search had no type-ahead: its results page
        "/customer/2",              # the twin (two identical "Lyons Ltd" rows)
        "/customer/2#timeline",     # quick-add of the call posted as a full page
        "/deal/",                   # the menu's Deals
        "/deal/new",                # "New Deal"; the customer a <select> of 53
        "/deal/1",                  # saved
        "/board/deal_pipeline",     # the drag to Won refused: the reason above the board
        "/deal/1",                  # the card, to fix the amount
        "/deal/1/edit",             # its edit form
        "/deal/1",                  # saved
        "/board/deal_pipeline",     # back to the board, the drag repeated
        "/",                        # home: its to-dos had no tick
        "/task/1",                  # the task's card
        "/task/1/edit",             # its edit form, "Done" ticked
        "/task/1",                  # saved
    ),
    "390": (
        "/", "/search?q=Lyons", "/customer/2", "/customer/2#timeline", "/deal/",
        "/deal/new", "/deal/2",
        "/deal/2/move",             # the stage bar's Won refused: the move page, "Back"
        "/deal/2", "/deal/2/edit", "/deal/2",
        "/deal/2",                  # the stage bar's Won again, accepted
        "/", "/task/3", "/task/3/edit", "/task/3",
    ),
}
BEFORE = {viewport: len(loads) for viewport, loads in BEFORE_DAY.items()}   # 16 and 16

VIEWPORTS = {
    "1280": {"viewport": {"width": 1280, "height": 900}},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
            "device_scale_factor": 2},
}
TWINS = ("Dijon", "York")          # two "Lyons Ltd", told apart by their city
THE_TWIN = "York"


def _titled_twin(page: Page):
    """An option titled exactly "Lyons Ltd" (other e2e tests add "E2E Lyons Ltd")."""
    return page.locator(".ta-title", has_text=re.compile(r"^Lyons Ltd$"))


def _sign_in(browser: Browser, live_server: str, **options) -> tuple[Page, list[str]]:
    return sign_in(browser, live_server, **options)


@pytest.fixture(scope="module")
def twins(browser: Browser, live_server: str) -> dict[str, str]:
    """Two "Lyons Ltd" in different cities, and enough other customers that the deal
    form's customer is a type-ahead picker (over 50 targets); {city: id}."""
    page, _ = _sign_in(browser, live_server)
    ids = create_customers(page, [*(("Lyons Ltd", city) for city in TWINS),
                                  *((f"Workday filler {n:02d}", "Kobe") for n in range(51))])
    page.context.close()
    return ids


def _task_due_today(page: Page, title: str) -> None:
    """Through the form: its owner defaults to the signed-in user."""
    page.goto("/task/new")
    page.fill("input[name=title]", title)
    page.fill("input[name=due_on]", dt.datetime.now(dt.UTC).date().isoformat())
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/task/\d+$"))


def _open_menu_link(page: Page, name: str, phone: bool) -> None:
    """A link of the main menu: a bar on wide screens, behind its "Menu" button on phones."""
    if phone:
        page.locator(".navmenu summary").click()
    nav = page.locator(".mobilenav" if phone else ".mainnav")
    nav.get_by_role("link", name=re.compile(rf"{name}$")).click()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_salespersons_day(browser: Browser, live_server: str, twins: dict[str, str],
                              viewport: str):
    phone = viewport == "390"
    page, errors = _sign_in(browser, live_server, **VIEWPORTS[viewport])
    task = f"Workday call back Lyons {viewport}"
    deal_title = f"Workday deal {viewport}"
    call = f"Called about the spring order ({viewport})"
    _task_due_today(page, task)

    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.goto("/")                                                    # the day starts

    # find the twin by its subtitle (the city) in the top search's type-ahead
    box = page.locator("#quick-search")
    box.click()
    box.press_sequentially("Lyons", delay=20)
    options = page.locator('#quick-search-options [role="option"]').filter(has=_titled_twin(page))
    expect(options).to_have_count(2)
    options.filter(has_text=THE_TWIN).click()
    page.wait_for_url(re.compile(rf"/customer/{twins[THE_TWIN]}$"))

    # log a call from its card: the quick-add, swapped in place
    page.locator("details.quick-add summary", has_text="Interaction").click()
    form = page.locator(f'form[action="/customer/{twins[THE_TWIN]}/quick-add/interaction"]')
    assert form.locator("select[name=kind]").input_value() == "call"
    form.locator("input[name=subject]").fill(call)
    form.locator("button[type=submit]").click()
    expect(page.locator(".quick-added")).to_contain_text(call)
    expect(page.locator("#timeline .entry-item", has_text=call)).to_have_count(1)

    # create a deal for it: the Deals list's "New deal", the customer picked by typing
    _open_menu_link(page, "Deals", phone)
    page.wait_for_url(re.compile(r"/deal/"))
    page.get_by_role("link", name="New Deal").first.click()
    page.wait_for_url(re.compile(r"/deal/new"))
    page.fill("input[name=title]", deal_title)
    page.fill("input[name=amount]", "0")                   # not priced yet
    picker = page.locator("input[name='_q.customer']")
    picker.press_sequentially("Lyons", delay=20)
    choices = page.locator("#o-customer [role=option]").filter(has=_titled_twin(page))
    expect(choices).to_have_count(2)
    choices.filter(has_text=THE_TWIN).click()
    expect(page.locator("input[name=customer]")).to_have_value(twins[THE_TWIN])
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    deal = page.url.rsplit("/", 1)[1]

    # to Won with a zero amount: refused, fixed in the dialog
    dialog = page.locator("#move-dialog")
    if phone:       # one board column at a time: the deal card's stage bar
        page.locator(".stage-bar button[value=won]").click()
    else:
        _open_menu_link(page, "Sales pipeline", phone)
        page.wait_for_url(re.compile(r"/board/deal_pipeline"))
        drag(page, f"#card-deal-{deal}", "won")
    expect(dialog.locator("input[name=amount]")).to_be_visible()
    expect(dialog.locator(".error").first).to_contain_text("positive amount")
    dialog.locator("input[name=amount]").fill("7200")
    with page.expect_response(lambda r: r.request.method == "POST" and r.ok):
        dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    if phone:
        expect(page.locator(".stage-bar [aria-current=step]")).to_contain_text("Won")
    else:
        expect(page.locator(f'ol.board-list[data-stage="won"] #card-deal-{deal}')) \
            .to_be_attached()

    # home: today's task ticked done in place
    _open_menu_link(page, "Home", phone)
    page.wait_for_url(f"{live_server}/")
    row = page.locator(".todo-row", has_text=task)
    row.locator("button.tick").click()
    expect(row.locator("button.tick")).to_have_attribute("aria-checked", "true")
    page.wait_for_load_state("load")

    n = len(loads)
    print(f"workday {viewport}: {n} page loads (before issue 12: {BEFORE[viewport]})")
    assert n <= BEFORE[viewport] / 2, loads
    # what the day saved, read without a page load
    assert "$7,200.00" in page.request.get(f"/deal/{deal}").text()
    def listed(done: str) -> bool:
        html = page.request.get("/task/", params={"f.done": done, "q": task}).text()
        return re.search(rf'href="/task/\d+"[^>]*>{re.escape(task)}<', html) is not None
    assert listed("true") and not listed("false"), "the task is done"
    assert not errors, f"browser console errors: {errors}"
    page.context.close()


def test_a_phones_board_move_form_fixes_the_refusal_in_the_dialog(
        browser: Browser, live_server: str, twins: dict[str, str]):
    """On a phone the board shows one column, so a card moves by its "Move to…" form: a
    refusal opens the same dialog as a drag (it went through the move page before)."""
    page, errors = _sign_in(browser, live_server, **VIEWPORTS["390"])
    page.goto(f"/deal/new?customer={twins[THE_TWIN]}")
    page.fill("input[name=title]", "Workday phone board deal")
    page.fill("input[name=amount]", "0")
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/deal/\d+$"))
    card = f"#card-deal-{page.url.rsplit('/', 1)[1]}"

    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.goto("/board/deal_pipeline?stage=new")
    page.locator(f"{card} .card-move summary").click()
    page.locator(f"{card} .card-move select[name=to]").select_option("won")
    page.locator(f"{card} .card-move button[type=submit]").click()
    dialog = page.locator("#move-dialog")
    expect(dialog.locator(".error").first).to_contain_text("positive amount")
    assert "/move" not in page.url, "refused in place, not on the move page"
    dialog.locator("input[name=amount]").fill("950")
    with page.expect_navigation():                  # moved: the board comes back
        dialog.locator("button[type=submit]").click()
    expect(page.locator(".flashes .flash").filter(
        has_text="Workday phone board deal moved to Won").first).to_be_visible()
    page.locator(".stage-switch").get_by_role("link", name=re.compile("^Won")).click()
    expect(page.locator(f'ol[data-stage="won"] {card}')).to_be_visible()
    assert len(loads) == 2, loads           # the board, and the board after the move
    assert not errors, f"browser console errors: {errors}"
    page.context.close()
