"""Files on pages (SPEC §13): uploads in the record form and on the card, downloads with
safe headers, and who may reach a file.

A file comes back byte for byte; an HTML page, an SVG or a program posing as a document is
always saved, never shown; a file of a record or field the user cannot see is a 404 like
any other; a refused upload keeps everything else typed, and a file received before a
failed save is kept so nobody uploads it twice.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

ENTITIES = {
    "client": {
        "name": "client", "title_field": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "owner": {"type": "user"},
            "papers": {"type": "file", "multiple": True,
                       "accept": ["application/pdf", "image/*"]},
            "logo": {"type": "file", "accept": ["image/*"], "max_mb": 0.05},
            "anything": {"type": "file", "multiple": True},
            "secret": {"type": "file"},
            "signed": {"type": "boolean"},
            "scan": {"type": "file", "visible_if": {"field": "signed", "op": "=",
                                                   "value": True}},
        },
        "list": {"columns": ["name", "papers"]},
        "card": {"sections": [{"label": "Client", "fields": [
            "name", "owner", "papers", "logo", "anything", "secret", "signed", "scan"]}]},
    },
}
ROLES = {
    "guest": {"*": {"read": "own", "create": True, "update": "own", "delete": False}},
    "sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
              "client": {"hidden": ["secret"]}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
}
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
       b"%%EOF\n")
HTML = b"<!DOCTYPE html>\n<html><body><script>alert('x')</script><p>hi</p></body></html>\n"
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
       b'height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>\n')
EXE = b"MZ" + b"\x90\x00\x03" + b"\x00" * 57 + b"\x80\x00\x00\x00" + b"\x00" * 64 + \
    b"PE\x00\x00L\x01" + b"\x00" * 200


def png(width: int = 40, height: int = 30, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "1")
    return make_app(ENTITIES, None, {"roles": ROLES})


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def upload(content: bytes, name: str):
    return (io.BytesIO(content), name)


def services(app):
    return app.extensions["karte"]


def record(app, id: int) -> dict:
    return services(app)["records"].get("client", id)


def create(client, data: dict) -> int:
    response = client.send("/client/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def url(id: int, field: str, ref: dict, tail: str = "") -> str:
    return f"/client/{id}/files/{field}/{ref['id']}{tail}"


@pytest.fixture
def admin(app):
    return app.client("admin")


# ---------------------------------------------------------------- the record form


def test_a_new_record_saves_its_files_with_its_values_and_they_download_intact(app, admin):
    photo = png()
    id = create(admin, {"name": "Acme", "papers": [upload(PDF, "contract.pdf"),
                                                   upload(photo, "site.png")]})
    saved = record(app, id)
    assert [(r["name"], r["type"], r["size"]) for r in saved["papers"]] == [
        ("contract.pdf", "application/pdf", len(PDF)), ("site.png", "image/png", len(photo))]
    for ref, content in zip(saved["papers"], (PDF, photo), strict=True):
        got = admin.get(url(id, "papers", ref))
        assert got.status_code == 200 and got.data == content
        assert got.headers["Content-Length"] == str(len(content))


def test_the_form_is_multipart_and_lists_what_the_field_accepts(app, admin):
    form = page(admin.get("/client/new")).find("form", id="record-form")
    assert form["enctype"] == "multipart/form-data"
    papers = form.find("input", attrs={"name": "papers"})
    assert papers["type"] == "file" and papers.has_attr("multiple")
    assert papers["accept"] == "application/pdf,image/*"
    logo = form.find("input", attrs={"name": "logo"})
    assert not logo.has_attr("multiple")
    hint = logo.find_next("p", class_="file-hint").get_text()
    assert hint == "Accepts images, up to 51.2 KB."


def test_editing_adds_to_a_multiple_field_removes_ticked_and_replaces_a_single_one(app, admin):
    id = create(admin, {"name": "Acme", "papers": upload(PDF, "a.pdf"),
                        "logo": upload(png(), "old.png")})
    first = record(app, id)
    response = admin.send(f"/client/{id}/edit", {
        "name": "Acme", "version": first["version"], "_id": id,
        "_remove.papers": first["papers"][0]["id"],
        "papers": [upload(png(colour="blue"), "b.png"), upload(PDF, "c.pdf")],
        "logo": upload(png(colour="green"), "new.png")}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    now = record(app, id)
    assert [r["name"] for r in now["papers"]] == ["b.png", "c.pdf"]
    assert [r["name"] for r in now["logo"]] == ["new.png"]


def test_an_edit_without_files_keeps_the_attached_ones(app, admin):
    id = create(admin, {"name": "Acme", "papers": upload(PDF, "a.pdf")})
    before = record(app, id)
    form = page(admin.get(f"/client/{id}/edit"))
    assert form.find("input", attrs={"name": "_remove.papers"})["value"] == \
        before["papers"][0]["id"]
    response = admin.send(f"/client/{id}/edit", {"name": "Acme Ltd", "_id": id,
                                                 "version": before["version"]},
                          content_type="multipart/form-data")
    assert response.status_code == 303
    assert record(app, id)["papers"] == before["papers"]


def test_a_refused_type_is_the_fields_error_and_keeps_the_other_values(app, admin):
    response = admin.send("/client/new", {"name": "Keep me", "logo": upload(PDF, "fake.png")},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    html = page(response)
    assert html.find("input", attrs={"name": "name"})["value"] == "Keep me"
    errors = html.find("ul", id="e-logo").get_text()
    assert "fake.png" in errors and "application/pdf" in errors
    assert services(app)["records"].count("client") == 0


def test_a_file_above_the_fields_limit_is_refused_next_to_it(app, admin):
    big = png(600, 600, "white") + b"\0" * 60_000
    response = admin.send("/client/new", {"name": "Big", "logo": upload(big, "big.png")},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert "big.png" in page(response).find("ul", id="e-logo").get_text()


def test_a_request_above_the_instances_limit_is_a_friendly_413(app, admin):
    huge = PDF + b"\0" * (2 * 1024 * 1024 + 10)
    # encoded in memory: the test client would spool a body this big to a temporary file
    # that nobody closes when the app refuses it unread
    body, length, boundary = stream_encode_multipart(
        {"name": "Huge", "csrf_token": admin.token(),
         "papers": FileStorage(io.BytesIO(huge), "huge.pdf")},
        use_tempfile=False)
    response = admin.post("/client/new", data=body.read(),
                          content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "1 MB" in page(response).find(class_="problems").get_text()
    assert services(app)["records"].count("client") == 0


def test_a_file_received_before_a_failed_save_is_kept_pending_then_saved(app, admin):
    response = admin.send("/client/new", {"name": "", "papers": upload(PDF, "keep.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    kept = page(response).find("input", attrs={"name": "_pending.papers"})
    assert kept is not None and kept.has_attr("checked")
    assert "keep.pdf" in kept.find_parent("li").get_text()
    id = create(admin, {"name": "Second try", "_pending.papers": kept["value"]})
    assert [r["name"] for r in record(app, id)["papers"]] == ["keep.pdf"]
    assert admin.get(url(id, "papers", record(app, id)["papers"][0])).data == PDF


def test_a_tampered_pending_token_is_ignored_with_a_message(app, admin):
    response = admin.send("/client/new", {"name": "", "papers": upload(PDF, "keep.pdf")},
                          content_type="multipart/form-data")
    token = page(response).find("input", attrs={"name": "_pending.papers"})["value"]
    id = create(admin, {"name": "Forged", "_pending.papers": token[:-3] + "xyz"})
    assert record(app, id)["papers"] in (None, [])
    card = page(admin.get(f"/client/{id}"))
    assert "choose it again" in card.find(class_="flashes").get_text()


def test_another_users_pending_token_is_not_theirs(app, admin):
    response = admin.send("/client/new", {"name": "", "papers": upload(PDF, "mine.pdf")},
                          content_type="multipart/form-data")
    token = page(response).find("input", attrs={"name": "_pending.papers"})["value"]
    other = app.client("sales")
    id = create(other, {"name": "Stolen", "_pending.papers": token})
    assert record(app, id)["papers"] in (None, [])


def test_uploads_need_the_csrf_token(app, admin):
    response = admin.post("/client/new", data={"name": "x", "papers": upload(PDF, "a.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    id = create(admin, {"name": "Acme"})
    response = admin.post(f"/client/{id}/files/papers",
                          data={"file": upload(PDF, "a.pdf"), "version": 1},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert record(app, id)["papers"] in (None, [])


# ---------------------------------------------------------------- downloads


@pytest.mark.parametrize(("content", "name", "mime", "kind"), [
    (PDF, "a.pdf", "application/pdf", "inline"),
    (png(), "a.png", "image/png", "inline"),
    (HTML, "page.pdf", "text/html", "attachment"),
    (SVG, "logo.svg", "image/svg+xml", "attachment"),
    (EXE, "invoice.pdf", "application/x-dosexec", "attachment"),
])
def test_downloads_are_inert_and_only_images_and_pdfs_are_shown_in_place(
        app, admin, content, name, mime, kind):
    id = create(admin, {"name": "Acme", "anything": upload(content, name)})
    ref = record(app, id)["anything"][0]
    assert ref["type"] == mime
    got = admin.get(url(id, "anything", ref))
    assert got.status_code == 200 and got.data == content
    assert got.headers["Content-Type"] == mime
    assert got.headers["Content-Disposition"].startswith(kind + ";")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    policy = got.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert "private" in got.headers["Cache-Control"]
    saved = admin.get(url(id, "anything", ref, "?download=1"))
    assert saved.headers["Content-Disposition"].startswith("attachment;")


def test_a_japanese_file_name_survives_the_download_header(app, admin):
    name = "契約書 2026.pdf"
    id = create(admin, {"name": "Acme", "papers": upload(PDF, name)})
    ref = record(app, id)["papers"][0]
    assert ref["name"] == name
    header = admin.get(url(id, "papers", ref)).headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote(name)}" in header
    plain = re.search(r'filename="([^"]*)"', header).group(1)
    assert plain.isascii() and plain.endswith("2026.pdf")


def test_etag_and_ranges(app, admin):
    id = create(admin, {"name": "Acme", "papers": upload(PDF, "a.pdf")})
    ref = record(app, id)["papers"][0]
    first = admin.get(url(id, "papers", ref))
    assert first.headers["ETag"] == f'"{ref["sha256"]}"'
    assert first.headers["Accept-Ranges"] == "bytes"
    again = admin.get(url(id, "papers", ref), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    weak = admin.get(url(id, "papers", ref),
                     headers={"If-None-Match": f'W/{first.headers["ETag"]}'})
    assert weak.status_code == 304
    other = admin.get(url(id, "papers", ref), headers={"If-None-Match": '"0000"'})
    assert other.status_code == 200 and other.data == PDF
    part = admin.get(url(id, "papers", ref), headers={"Range": "bytes=5-12"})
    assert part.status_code == 206 and part.data == PDF[5:13]
    assert part.headers["Content-Range"] == f"bytes 5-12/{len(PDF)}"
    assert part.headers["Content-Length"] == "8"
    tail = admin.get(url(id, "papers", ref), headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.data == PDF[-4:]
    outside = admin.get(url(id, "papers", ref), headers={"Range": f"bytes={len(PDF) + 5}-"})
    assert outside.status_code == 416
    assert outside.headers["Content-Range"] == f"bytes */{len(PDF)}"


def test_a_thumbnail_for_an_image_and_none_for_a_pdf(app, admin):
    id = create(admin, {"name": "Acme", "papers": [upload(png(800, 400), "wide.png"),
                                                   upload(PDF, "a.pdf")]})
    image, pdf = record(app, id)["papers"]
    thumb = admin.get(url(id, "papers", image, "/thumb"))
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(thumb.data)).size == (256, 128)
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    assert admin.get(url(id, "papers", pdf, "/thumb")).status_code == 404


def _not_found_heading(client) -> str:
    return page(client.get("/client/987654")).find("h1").get_text()


def test_a_file_of_a_record_the_user_cannot_read_is_a_plain_404(app, admin):
    id = create(admin, {"name": "Not yours", "anything": upload(PDF, "a.pdf")})
    ref = record(app, id)["anything"][0]
    guest = app.client("guest")
    for tail in ("", "/thumb"):
        response = guest.get(url(id, "anything", ref, tail))
        assert response.status_code == 404
        assert page(response).find("h1").get_text() == _not_found_heading(guest)
    assert guest.get(f"/client/{id}/files/anything/f_nosuchfile").status_code == 404
    assert admin.get(f"/client/{id}/files/anything/f_nosuchfile").status_code == 404


def test_a_file_in_a_field_hidden_from_the_role_is_a_404(app, admin):
    id = create(admin, {"name": "Acme", "secret": upload(PDF, "secret.pdf")})
    ref = record(app, id)["secret"][0]
    sales = app.client("sales")
    assert sales.get(url(id, "secret", ref)).status_code == 404
    card = sales.get(f"/client/{id}").get_data(as_text=True)
    assert "secret.pdf" not in card and ref["id"] not in card
    assert admin.get(url(id, "secret", ref)).status_code == 200


# ---------------------------------------------------------------- the card


def test_the_card_links_files_shows_thumbnails_and_attaches_without_the_form(app, admin):
    id = create(admin, {"name": "Acme", "papers": upload(png(), "site photo.png")})
    ref = record(app, id)["papers"][0]
    card = page(admin.get(f"/client/{id}"))
    image = card.find("img", alt="site photo.png")
    assert image["src"] == url(id, "papers", ref, "/thumb") and image["width"] == "256"
    assert card.find("a", href=url(id, "papers", ref)) is not None
    form = card.find("form", action=f"/client/{id}/files/papers")
    assert form["enctype"] == "multipart/form-data"
    response = admin.send(f"/client/{id}/files/papers", {
        "file": [upload(PDF, "quote.pdf"), upload(PDF, "order.pdf")],
        "version": record(app, id)["version"]}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert [r["name"] for r in record(app, id)["papers"]] == [
        "site photo.png", "quote.pdf", "order.pdf"]
    flashed = page(admin.get(response.headers["Location"])).find(class_="flashes").get_text()
    assert "quote.pdf" in flashed


def test_a_refused_card_upload_shows_the_card_with_the_reason(app, admin):
    id = create(admin, {"name": "Acme"})
    response = admin.send(f"/client/{id}/files/logo", {
        "file": upload(PDF, "not-a-logo.pdf"), "version": record(app, id)["version"]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    errors = page(response).find("ul", id="e-files-logo").get_text()
    assert "not-a-logo.pdf" in errors
    assert record(app, id)["logo"] in (None, [])


def test_a_card_upload_on_a_changed_record_is_a_conflict_keeping_the_file(app, admin):
    id = create(admin, {"name": "Acme"})
    stale = record(app, id)["version"]
    services(app)["records"].update("client", id, {"name": "Acme 2"}, stale)
    response = admin.send(f"/client/{id}/files/papers", {
        "file": upload(PDF, "late.pdf"), "version": stale}, content_type="multipart/form-data")
    assert response.status_code == 409
    html = page(response)
    kept = html.find("form", action=f"/client/{id}/files/papers").find(
        "input", attrs={"name": "_pending.papers"})
    assert record(app, id)["papers"] in (None, [])
    again = admin.send(f"/client/{id}/files/papers", {
        "_pending.papers": kept["value"], "version": record(app, id)["version"]},
        content_type="multipart/form-data")
    assert again.status_code == 303
    assert [r["name"] for r in record(app, id)["papers"]] == ["late.pdf"]


def test_remove_on_the_card(app, admin):
    id = create(admin, {"name": "Acme", "papers": [upload(PDF, "a.pdf"), upload(PDF, "b.pdf")]})
    first = record(app, id)["papers"][0]
    card = page(admin.get(f"/client/{id}"))
    form = card.find("form", action=url(id, "papers", first, "/remove"))
    assert "a.pdf" in form["data-confirm"]
    response = admin.send(url(id, "papers", first, "/remove"),
                          {"version": record(app, id)["version"]})
    assert response.status_code == 303
    assert [r["name"] for r in record(app, id)["papers"]] == ["b.pdf"]
    assert admin.get(url(id, "papers", first)).status_code == 404


def test_a_role_that_may_only_read_gets_links_but_no_upload_or_remove(app, admin):
    id = create(admin, {"name": "Acme", "papers": upload(PDF, "a.pdf")})
    ref = record(app, id)["papers"][0]
    viewer = app.client("viewer")
    card = page(viewer.get(f"/client/{id}"))
    assert card.find("a", href=url(id, "papers", ref)) is not None
    assert card.find("form", class_="file-add") is None
    assert card.find("form", class_="file-remove") is None
    assert viewer.get(url(id, "papers", ref)).data == PDF
    refused = viewer.send(f"/client/{id}/files/papers", {
        "file": upload(PDF, "b.pdf"), "version": record(app, id)["version"]},
        content_type="multipart/form-data")
    assert refused.status_code == 403
    assert len(record(app, id)["papers"]) == 1


def test_the_list_shows_thumbnails_and_names_in_a_file_column(app, admin):
    id = create(admin, {"name": "Acme", "papers": [upload(png(), "photo.png"),
                                                   upload(PDF, "terms.pdf")]})
    photo, terms = record(app, id)["papers"]
    table = page(admin.get("/client/")).find("table")
    image = table.find("img", alt="photo.png")
    assert image["src"] == url(id, "papers", photo, "/thumb") and image["loading"] == "lazy"
    assert table.find("a", href=url(id, "papers", terms)).get_text() == "terms.pdf"


def test_the_timeline_names_uploads_and_removals_with_a_thumbnail_while_attached(app, admin):
    id = create(admin, {"name": "Acme", "papers": [upload(png(), "plan.png"),
                                                   upload(PDF, "terms.pdf")]})
    plan, terms = record(app, id)["papers"]
    timeline = page(admin.get(f"/client/{id}/timeline"))
    image = timeline.find("img", alt="plan.png")
    assert image["src"] == url(id, "papers", plan, "/thumb")
    assert image.find_parent("a")["href"] == url(id, "papers", plan)
    assert "Uploaded terms.pdf" in timeline.get_text()
    admin.send(url(id, "papers", plan, "/remove"), {"version": record(app, id)["version"]})
    timeline = page(admin.get(f"/client/{id}/timeline"))
    assert "Removed plan.png" in timeline.get_text()
    assert timeline.find("img", alt="plan.png") is None     # its download is gone
    assert timeline.find("a", href=url(id, "papers", terms)) is not None


def test_the_upload_script_is_told_where_to_go_so_the_message_waits_for_that_page(app, admin):
    """uploads.js sends with progress and asks for the address instead of a 303, which its
    request would follow and so take the "Saved." message the opened page should show."""
    response = admin.send("/client/new", {"name": "Scripted", "papers": upload(PDF, "a.pdf")},
                          content_type="multipart/form-data", headers={"X-Karte-Upload": "1"})
    assert response.status_code == 204
    card = response.headers["X-Karte-Location"]
    assert re.fullmatch(r"/client/\d+", card)
    assert "Saved." in page(admin.get(card)).find(class_="flashes").get_text()
    id = int(card.rsplit("/", 1)[1])
    added = admin.send(f"/client/{id}/files/papers", {
        "file": upload(PDF, "b.pdf"), "version": record(app, id)["version"]},
        content_type="multipart/form-data", headers={"X-Karte-Upload": "1"})
    assert added.status_code == 204
    assert added.headers["X-Karte-Location"] == f"/client/{id}#files-papers"


def test_kept_files_and_remove_ticks_survive_the_live_form_and_a_hidden_field(app, admin):
    """The live form (conditions re-judged while typing) sends kept files and ticks back;
    a file field hidden by its condition keeps them as hidden inputs, so showing it again
    loses nothing."""
    response = admin.send("/client/new", {"name": "", "signed": "1",
                                          "scan": upload(PDF, "scan.pdf")},
                          content_type="multipart/form-data")
    token = page(response).find("input", attrs={"name": "_pending.scan"})["value"]
    hidden = page(admin.send("/client/form", {"name": "x", "signed": "0",
                                              "_pending.scan": token}))
    kept = hidden.find("input", attrs={"name": "_pending.scan"})
    assert kept["type"] == "hidden" and kept["value"] == token
    shown = page(admin.send("/client/form", {"name": "x", "signed": "1",
                                             "_pending.scan": token}))
    box = shown.find("input", attrs={"name": "_pending.scan"})
    assert box["type"] == "checkbox" and box.has_attr("checked")
    assert shown.find("input", attrs={"name": "scan", "type": "file"}).has_attr("hx-preserve")
    id = create(admin, {"name": "Signed", "signed": "1", "_pending.scan": token})
    assert [r["name"] for r in record(app, id)["scan"]] == ["scan.pdf"]


def test_the_file_parts_of_forms_and_cards_speak_japanese(app, admin):
    id = create(admin, {"name": "Acme", "logo": upload(png(), "ロゴ.png")})
    card = page(admin.get(f"/client/{id}?lang=ja"))
    picks = [label.get_text(strip=True) for label in card.select(".file-pick .label")]
    assert "ファイルを差し替え" in picks and "ファイルを追加" in picks
    assert "受け付けます" in card.find(class_="file-hint").get_text()
    assert card.find("img", alt="ロゴ.png") is not None
    refused = admin.send(f"/client/{id}/edit", {"name": "Acme", "_id": id,
                                                "version": record(app, id)["version"],
                                                "logo": upload(PDF, "違う.pdf")},
                         content_type="multipart/form-data")
    assert refused.status_code == 422
    message = page(refused).find("ul", id="e-logo").get_text()
    assert "違う.pdf" in message and not message.isascii()
    assert re.search(r"[ぁ-んァ-ン]", message.replace("違う", ""))


# ---------------------------------------------------------------- who may reach a file: the matrix

ROLES_SEEN = ("admin", "guest", "sales", "viewer")


def _expected(role: str, mine: bool, field: str, action: str) -> int:
    """What each role gets, from ROLES: guest reads and changes only its own clients,
    sales everything but never sees `secret`, viewer reads everything and changes
    nothing. Out of sight (another's record for guest, `secret` for sales) is 404 for
    every action; in sight but not changeable is 403."""
    if (role == "guest" and not mine) or (role == "sales" and field == "secret"):
        return 404
    if action in ("download", "thumb"):
        return 200
    return 403 if role == "viewer" else 303


@pytest.mark.parametrize("role", ROLES_SEEN)
def test_every_role_reaches_exactly_the_files_of_records_and_fields_it_may(app, admin, role):
    client, me = app.client(role), app.user(role)
    other = app.user("guest", "someone@example.com")
    records = services(app)["records"]
    for mine in (True, False):
        id = create(admin, {"name": f"{role} {mine}", "papers": upload(png(), "p.png"),
                            "secret": upload(png(colour="blue"), "s.png")})
        records.update("client", id, {"owner": me if mine else other},
                       record(app, id)["version"])
        for field in ("papers", "secret"):
            ref = record(app, id)[field][0]
            got = {"download": client.get(url(id, field, ref)).status_code,
                   "thumb": client.get(url(id, field, ref, "/thumb")).status_code,
                   "remove": client.send(url(id, field, ref, "/remove"), {
                       "version": record(app, id)["version"]}).status_code,
                   "attach": client.send(f"/client/{id}/files/{field}", {
                       "file": upload(PDF, "new.pdf"), "version": record(app, id)["version"]},
                       content_type="multipart/form-data").status_code}
            wanted = {action: _expected(role, mine, field, action) for action in got}
            assert got == wanted, (role, "own" if mine else "another's", field)
