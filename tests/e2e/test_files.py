"""Files in a real browser (issue 15): a PDF and a photo attached to a customer's documents,
the photo's thumbnail drawn, the PDF downloaded byte for byte and previewed in place; a file
dropped on the card's upload area attached with the progress bar's request; and an SVG
carrying a script, opened by its URL, only ever saved — never run."""

from __future__ import annotations

import base64
import io
import re
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.conftest import write_pack
from tests.e2e.conftest import PASSWORD, create_customers, sign_in
from tests.e2e.test_axe import axe_source, findings  # noqa: F401 (a fixture)


def _pdf() -> bytes:
    sheet = Image.new("RGB", (300, 400), "white")
    ImageDraw.Draw(sheet).text((30, 30), "Karte e2e", fill="black")
    out = io.BytesIO()
    sheet.save(out, "PDF")
    return out.getvalue()


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(out, "PNG")
    return out.getvalue()


PDF, PHOTO = _pdf(), _png("teal")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
       b'<script>alert("svg ran"); console.log("svg ran")</script>'
       b'<rect width="20" height="20" fill="red"/></svg>')


def _document(page: Page, customer: str, title: str, name: str, mime: str,
              content: bytes) -> str:
    """A document of the customer with one file, through the form; its card's URL."""
    page.goto(f"/document/new?customer={customer}")
    page.fill("input[name=title]", title)
    page.set_input_files("input[name=file]", files=[
        {"name": name, "mimeType": mime, "buffer": content}])
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/document/\d+$"))
    return page.url


def test_a_pdf_and_a_photo_on_a_customer_thumbnail_download_and_preview(page: Page):
    customer = create_customers(page, [("Files E2E 株式会社", "Nagoya")])["Nagoya"]
    _document(page, customer, "Signed contract", "契約書.pdf", "application/pdf", PDF)
    expect(page.locator(".flashes")).to_contain_text("Saved")   # sent with progress, shown
    assert page.locator("link[href*='card.css']").count() == 1   # the card, as a page
    expect(page.locator(".card-files .file-name")).to_have_text("契約書.pdf")
    pdf_url = page.locator(".card-files a.file-open").get_attribute("href")
    with page.expect_download() as saving:
        page.click(".card-files a.file-download")
    assert saving.value.suggested_filename == "契約書.pdf"
    assert Path(saving.value.path()).read_bytes() == PDF

    _document(page, customer, "Site photo", "site.png", "image/png", PHOTO)
    thumb = page.locator(".card-files img.thumb")
    expect(thumb).to_have_attribute("alt", "site.png")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") == 256

    page.goto(f"/customer/{customer}")
    related = page.locator(".record-related")
    expect(related.locator("img.thumb[alt='site.png']")).to_be_visible()
    expect(related.locator(f"a[href='{pdf_url}']")).to_have_text("契約書.pdf")

    page.goto(pdf_url)   # shown in place (Chromium's viewer, under the sandbox CSP), not saved
    assert page.evaluate("document.contentType") == "application/pdf"


def test_a_file_dropped_on_the_card_is_attached_with_progress(page: Page):
    customer = create_customers(page, [("Drop E2E", "Kobe")])["Kobe"]
    card = _document(page, customer, "Delivery", "note.pdf", "application/pdf", PDF)
    dropped = page.evaluate_handle(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
          return data;
        }""", base64.b64encode(_png("orange")).decode())
    area = page.locator("form.file-add")
    area.dispatch_event("dragover", {"dataTransfer": dropped})
    expect(area).to_have_class(re.compile(r"\bis-dragging\b"))
    area.dispatch_event("drop", {"dataTransfer": dropped})
    assert area.locator("input[type=file]").evaluate("input => input.files[0].name") == \
        "dropped.png"
    with page.expect_request(lambda r: r.method == "POST" and "/files/file" in r.url):
        with page.expect_navigation():
            area.locator("button[type=submit]").click()
    assert page.url == card + "#files-file"
    expect(page.locator(".card-files .file-name")).to_have_text("dropped.png")  # replaced
    expect(page.locator(".flashes")).to_contain_text("dropped.png")


# ---------------------------------------------------------------- a pack that takes anything

ANYTHING = {"thing": {"name": "thing", "title_field": "title", "fields": {
    "title": {"type": "string", "required": True},
    "attachments": {"type": "file", "multiple": True}}}}


@pytest.fixture(scope="module")
def anything_server(live_server, tmp_path_factory):
    """A second app whose file field takes any type (the standard pack refuses SVG)."""
    from werkzeug.serving import make_server

    from karte import create_app
    from karte.auth.users import add_user

    root = write_pack(tmp_path_factory.mktemp("anything-pack"), ANYTHING)
    app = create_app(pack=root, database_url=f"sqlite:///{root / 'karte.db'}",
                     config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    add_user(services["engine"], services["pack"], "admin@example.com", "admin", PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    services["engine"].dispose()


def test_an_svg_with_a_script_is_saved_never_run(browser, anything_server):
    page, errors = sign_in(browser, anything_server, viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    ran: list[str] = []
    page.on("console", lambda message: ran.append(message.text) if "svg ran" in message.text
            else None)
    page.goto("/thing/new")
    page.fill("input[name=title]", "Logo")
    page.set_input_files("input[name=attachments]", files=[
        {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": SVG}])
    page.click("form#record-form button.primary")
    page.wait_for_url(re.compile(r"/thing/\d+$"))
    link = page.locator(".card-files a.file-open")
    expect(link.locator("img")).to_have_count(0)       # no thumbnail, no <img> of an SVG
    url = link.get_attribute("href")
    with page.expect_download() as saving:
        try:
            page.goto(url)
        except Exception as error:   # Playwright: "Download is starting" instead of a page
            assert "Download is starting" in str(error)
    assert Path(saving.value.path()).read_bytes() == SVG
    page.wait_for_timeout(300)
    assert dialogs == [] and ran == []
    page.context.close()
    assert not errors, errors


def test_file_inputs_cards_and_kept_files_pass_axe(page: Page, axe_source: str):  # noqa: F811
    customer = create_customers(page, [("Axe Files", "Sendai")])["Sendai"]
    card = _document(page, customer, "Axe photo", "axe.png", "image/png", PHOTO)
    seen = {}
    for url in (card, card + "/edit", f"/document/?customer={customer}"):
        page.goto(url)
        seen[url] = findings(page, axe_source)
    page.goto(f"/document/new?customer={customer}")      # no title: kept "will be saved"
    page.set_input_files("input[name=file]", files=[
        {"name": "kept.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("form#record-form button.primary")
    expect(page.locator("input[name='_pending.file']")).to_be_checked()
    seen["kept"] = findings(page, axe_source)
    assert not any(seen.values()), seen
