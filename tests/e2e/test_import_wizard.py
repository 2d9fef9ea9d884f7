"""The import wizard in a real browser (issue 13): a Shift_JIS file from a Japanese Excel
with a bad row → the check lists the problem by line, column and value → the corrected
file is checked again and imported → the report counts it → the import is reverted.
htmx swaps each step into the page: the test checks the page was never reloaded. On a
phone, in Japanese, axe-core finds nothing critical or serious on any step."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REQUIRED, sign_in
from tests.e2e.test_axe import AXE, findings

HEADER = "顧客名,区分,従業員数,メールアドレス,市区町村\r\n"
ROWS = ["ウィザード商事,法人,１２０,wizard1@example.jp,大阪市\r\n",
        "ウィザード個人,個人,1,wizard2@example.jp,京都市\r\n"]
BAD = "ウィザード不良,法人,たくさん,wizard3@example.jp,神戸市\r\n"
FIXED = "ウィザード不良,法人,３０,wizard3@example.jp,神戸市\r\n"


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.exists():
        if REQUIRED:
            pytest.fail(f"axe-core missing at {AXE}: run `make setup` or set KARTE_AXE")
        pytest.skip(f"axe-core missing at {AXE}")
    return AXE.read_text(encoding="utf-8")


def _file(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_bytes((HEADER + "".join(rows)).encode("cp932"))
    return path


def _count(page: Page, key: str) -> str:
    return page.locator(f"dd[data-count={key}]").inner_text().strip()


def test_shift_jis_file_checked_fixed_imported_and_reverted(page: Page, axe, tmp_path):
    page.goto("/customer/")
    page.locator("a.list-import").click()
    page.wait_for_url(re.compile(r"/customer/import$"))
    assert page.evaluate("() => { window.__sameDocument = true; return 1; }") == 1

    page.set_input_files("input[name=file]", str(_file(tmp_path, "顧客.csv",
                                                         [*ROWS, BAD])))
    page.click("form.import-upload button[type=submit]")
    expect(page).to_have_url(re.compile(r"/customer/import/file/[\w-]+$"))
    expect(page.locator(".import-file")).to_contain_text("cp932")
    expect(page.locator("select[name='map.0']")).to_have_value("name")
    expect(page.locator("select[name='map.2']")).to_have_value("employees")
    page.click("#import-mapping button[type=submit]")

    expect(page.locator(".import-problems tbody tr")).to_have_count(1)
    problem = page.locator(".import-problems tbody tr").first
    expect(problem.locator("td").nth(0)).to_have_text("4")
    expect(problem.locator("td").nth(2)).to_have_text("たくさん")
    assert _count(page, "failed") == "1"
    expect(page.locator(".import-preview")).to_contain_text("ウィザード商事")

    page.locator("a", has_text="Upload a corrected file").click()
    page.set_input_files("input[name=file]", str(_file(tmp_path, "顧客2.csv",
                                                         [*ROWS, FIXED])))
    page.click("form.import-upload button[type=submit]")
    page.click("#import-mapping button[type=submit]")
    expect(page.locator(".import-summary")).to_contain_text("No problems found")
    page.click("form.import-run button[type=submit]")

    expect(page).to_have_url(re.compile(r"/customer/import/\d+$"))
    expect(page.locator("#import-step")).to_have_attribute("data-state", "done")
    assert _count(page, "created") == "3" and _count(page, "failed") == "0"
    assert page.evaluate("() => window.__sameDocument === true"), "a step reloaded the page"
    assert not findings(page, axe)

    page.goto("/customer/?q=ウィザード")
    expect(page.locator("#list-rows tbody tr")).to_have_count(3)
    page.go_back()
    page.locator("a.import-revert").click()
    assert not findings(page, axe)
    page.locator("form.import-revert-form button[type=submit]").click()
    expect(page.locator("#import-step")).to_have_attribute("data-state", "reverted")
    page.goto("/customer/?q=ウィザード")
    expect(page.locator("#list-rows tbody tr")).to_have_count(0)



def test_every_step_on_a_phone_in_japanese_is_accessible(browser, live_server, axe, tmp_path):
    page, errors = sign_in(browser, live_server, viewport={"width": 390, "height": 844},
                           is_mobile=True)
    found: dict[str, list] = {}
    page.goto("/customer/import?lang=ja")
    found["upload"] = findings(page, axe)
    page.set_input_files("input[name=file]", str(_file(tmp_path, "電話.csv", [BAD])))
    page.click("form.import-upload button[type=submit]")
    expect(page.locator("#import-mapping")).to_be_visible()
    found["mapping"] = findings(page, axe)
    page.click("#import-mapping button[type=submit]")
    expect(page.locator(".import-problems")).to_contain_text("たくさん")
    expect(page.locator(".import-problems")).to_contain_text("数値として読めません")
    found["check"] = findings(page, axe)
    page.context.close()
    assert not errors, errors
    assert not any(found.values()), found


def test_the_wizard_works_with_javascript_off(browser, live_server, tmp_path):
    page, errors = sign_in(browser, live_server, java_script_enabled=False,
                           viewport={"width": 1280, "height": 900})
    page.goto("/customer/import")
    page.set_input_files("input[name=file]", str(_file(tmp_path, "nojs.csv", [
        "スクリプトなし商事,法人,5,nojs@example.jp,札幌市\r\n"])))
    page.click("form.import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/customer/import/file/[\w-]+$"))
    page.click("#import-mapping button[type=submit]")
    expect(page.locator(".import-summary")).to_contain_text("No problems found")
    page.click("form.import-run button[type=submit]")
    page.wait_for_url(re.compile(r"/customer/import/\d+$"))
    assert _count(page, "created") == "1"
    page.click("a.import-revert")
    page.click("form.import-revert-form button[type=submit]")
    expect(page.locator("#import-step")).to_have_attribute("data-state", "reverted")
    page.context.close()
    assert not errors, errors
