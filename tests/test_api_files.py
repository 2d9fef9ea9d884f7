"""A record's files through the API (SPEC §13, issue 15): multipart uploads with If-Match
(428, 412, 201), a record created with its files in one request, refusals by content (422
type/accept/empty, 413 size, 415 not multipart), downloads byte for byte with the pages'
safe headers and ranges, removal, several files on a `multiple` field, and the read scope
and field rights (404, 403), on both databases; one round trip through an S3 bucket."""

from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from karte.demo.files import pdf, picture
from tests import files_s3
from tests.api_live import api_client

s3_bucket = files_s3.s3_bucket      # a moto S3 server for the session (tests/files_s3.py)

PDF = pdf("Contract", ["Signed by both parties."])
PNG = picture(7, "PNG", (64, 48))
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + \
      b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 400
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
       b"<script>alert(document.cookie)</script></svg>")

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string", "required": True}}},
    "document": {"title_field": "title", "fields": {
        "title": {"type": "string", "required": True},
        "customer": {"type": "link", "to": "customer"},
        "scan": {"type": "file", "accept": ["application/pdf"], "max_mb": 0.01},
        "photos": {"type": "file", "multiple": True, "accept": ["image/*"]},
        "any": {"type": "file"},
        "secret": {"type": "file"}}},
    "contract": {"fields": {
        "title": {"type": "string", "required": True},
        "signed": {"type": "file", "required": True, "accept": ["application/pdf"]},
        "photos": {"type": "file", "multiple": True}}},
}
PACK = {"name": "t", "roles": {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False},
              "document": {"hidden": ["secret"]}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=PACK)


def document(app) -> dict:
    return app.extensions["karte"]["records"].create("document", {"title": "Lease"})


def upload(client, record: dict, field: str, *files: tuple[bytes, str],
           version: int | None = None, query: str = ""):
    data = {"file": [(io.BytesIO(body), name) for body, name in files]}
    headers = {"If-Match": f'"{record["version"] if version is None else version}"'}
    return client.post(f"/api/v1/document/{record['id']}/files/{field}{query}", data=data,
                       content_type="multipart/form-data", headers=headers)


def errors(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.get_json()["errors"]}


def test_a_pdf_goes_up_and_comes_back_byte_for_byte_with_its_japanese_name(app):
    client = api_client(app)
    record = document(app)

    response = upload(client, record, "scan", (PDF, "契約書 2026.pdf"))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["ETag"] == f'"{record["version"] + 1}"'
    [item] = body["scan"]
    assert (item["name"], item["size"], item["type"]) == ("契約書 2026.pdf", len(PDF),
                                                          "application/pdf")
    assert item["url"] == f"/api/v1/document/{record['id']}/files/scan/{item['id']}"
    assert response.headers["Location"] == item["url"]
    assert item["uploaded_by"] is not None and item["uploaded_at"]

    got = client.get(item["url"])
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert got.headers["Content-Disposition"].startswith("inline;")
    assert f"filename*=UTF-8''{quote('契約書 2026.pdf')}" in got.headers["Content-Disposition"]
    asked = client.get(item["url"] + "?download=1")
    assert asked.headers["Content-Disposition"].startswith("attachment;")


def test_a_range_and_a_known_etag_are_answered_as_for_pages(app):
    client = api_client(app)
    [item] = upload(client, document(app), "scan", (PDF, "a.pdf")).get_json()["scan"]

    part = client.get(item["url"], headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.data) == (206, PDF[:8])
    assert part.headers["Content-Range"] == f"bytes 0-7/{len(PDF)}"
    etag = client.get(item["url"]).headers["ETag"]
    assert client.get(item["url"], headers={"If-None-Match": etag}).status_code == 304


def test_if_match_is_required_and_a_stale_one_attaches_nothing(app):
    client = api_client(app)
    record = document(app)
    url = f"/api/v1/document/{record['id']}/files/scan"
    data = {"file": (io.BytesIO(PDF), "a.pdf")}

    missing = client.post(url, data=data, content_type="multipart/form-data")
    stale = upload(client, record, "scan", (PDF, "a.pdf"), version=record["version"] + 5)

    assert (missing.status_code, errors(missing)) == (428, {"If-Match": "required"})
    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == record["version"]
    assert client.get(f"/api/v1/document/{record['id']}").get_json()["scan"] == []


def test_the_type_is_judged_from_the_content_not_the_name(app):
    client = api_client(app)
    record = document(app)

    exe = upload(client, record, "scan", (EXE, "invoice.pdf"))
    png = upload(client, record, "scan", (PNG, "scan.pdf"))

    assert (exe.status_code, errors(exe)) == (422, {"scan": "accept"})
    assert "application/" in exe.get_json()["errors"][0]["message"]
    assert (png.status_code, errors(png)) == (422, {"scan": "accept"})
    assert "image/png" in png.get_json()["errors"][0]["message"]


def test_too_large_is_413_and_empty_is_422_each_with_its_code(app):
    client = api_client(app)
    record = document(app)
    big = PDF + b"%" + b"0" * 20_000          # the field takes 0.01 MB (10,485 bytes)

    large = upload(client, record, "scan", (big, "big.pdf"))
    empty = upload(client, record, "any", (b"", "empty.txt"))

    assert (large.status_code, errors(large)) == (413, {"scan": "size"})
    assert large.get_json()["status"] == 413
    assert (empty.status_code, errors(empty)) == (422, {"any": "empty"})


def test_a_body_that_is_not_multipart_is_415_and_one_without_a_file_part_422(app):
    client = api_client(app)
    record = document(app)
    url = f"/api/v1/document/{record['id']}/files/scan"
    headers = {"If-Match": f'"{record["version"]}"'}

    as_json = client.post(url, json={"file": "JVBERi0="}, headers=headers)
    no_part = client.post(url, data={"other": (io.BytesIO(PDF), "a.pdf")},
                          content_type="multipart/form-data", headers=headers)

    assert (as_json.status_code, errors(as_json)) == (415, {"Content-Type":
                                                            "unsupported_media_type"})
    assert (no_part.status_code, errors(no_part)) == (422, {"file": "required"})
    assert "other" in no_part.get_json()["errors"][0]["message"]


def test_a_multiple_field_adds_files_and_a_single_one_takes_one(app):
    client = api_client(app)
    record = document(app)

    first = upload(client, record, "photos", (PNG, "a.png"), (PNG, "b.png"))
    body = first.get_json()
    again = upload(client, body, "photos", (picture(8, "JPEG", (32, 32)), "c.jpg"))
    two = upload(client, again.get_json(), "scan", (PDF, "a.pdf"), (PDF, "b.pdf"))

    assert first.status_code == 201 and "Location" not in first.headers
    assert [f["name"] for f in again.get_json()["photos"]] == ["a.png", "b.png", "c.jpg"]
    assert [f["type"] for f in again.get_json()["photos"]][-1] == "image/jpeg"
    assert (two.status_code, errors(two)) == (422, {"scan": "invalid"})


def test_a_new_upload_replaces_the_file_of_a_single_field(app):
    client = api_client(app)
    first = upload(client, document(app), "any", (PDF, "one.pdf")).get_json()

    second = upload(client, first, "any", (PNG, "two.png")).get_json()

    assert [f["name"] for f in second["any"]] == ["two.png"]


def test_delete_takes_one_file_off_with_if_match(app):
    client = api_client(app)
    record = upload(client, document(app), "photos", (PNG, "a.png"),
                    (picture(9, "PNG", (20, 20)), "b.png")).get_json()
    first, second = record["photos"]

    missing = client.delete(first["url"])
    gone = client.delete(first["url"], headers={"If-Match": f'"{record["version"]}"'})
    unknown = client.delete(f"/api/v1/document/{record['id']}/files/photos/f_nothing",
                            headers={"If-Match": f'"{record["version"] + 1}"'})

    assert missing.status_code == 428
    assert gone.status_code == 200
    assert [f["id"] for f in gone.get_json()["photos"]] == [second["id"]]
    assert gone.headers["ETag"] == f'"{record["version"] + 1}"'
    assert unknown.status_code == 404
    assert client.get(first["url"]).status_code == 404


def test_an_svg_with_a_script_is_only_ever_downloaded(app):
    client = api_client(app)
    [item] = upload(client, document(app), "any", (SVG, "logo.svg")).get_json()["any"]

    got = client.get(item["url"])

    assert item["type"] == "image/svg+xml"
    assert got.data == SVG
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]


def test_what_the_caller_may_not_read_is_404_and_may_not_change_403(app):
    admin = api_client(app)
    theirs = upload(admin, document(app), "any", (PDF, "a.pdf")).get_json()
    url = theirs["any"][0]["url"]
    secret = upload(admin, theirs, "secret", (PDF, "s.pdf")).get_json()["secret"][0]["url"]
    sales, viewer = api_client(app, "sales"), api_client(app, "viewer")
    mine = sales.post("/api/v1/document", json={"title": "Mine"}).get_json()

    assert sales.get(url).status_code == 404                      # read: own
    assert upload(sales, theirs, "any", (PDF, "b.pdf")).status_code == 404
    assert viewer.get(url).status_code == 200
    assert upload(viewer, theirs, "any", (PDF, "b.pdf")).status_code == 403
    assert sales.get(secret.replace(f"/{theirs['id']}/", f"/{mine['id']}/")).status_code \
        == 404
    assert upload(sales, mine, "secret", (PDF, "b.pdf")).status_code == 404   # hidden field
    assert upload(sales, mine, "any", (PDF, "b.pdf")).status_code == 201
    assert admin.get(f"/api/v1/document/{theirs['id']}/files/title/x").status_code == 404
    assert admin.get(f"/api/v1/nothing/{theirs['id']}/files/any/x").status_code == 404


def test_a_refusal_is_said_in_the_callers_language(app):
    client = api_client(app)

    response = upload(client, document(app), "scan", (PNG, "a.png"), query="?lang=ja")

    message = response.get_json()["errors"][0]["message"]
    assert response.status_code == 422 and "image/png" in message
    assert any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in message), message


def test_the_openapi_document_has_the_file_operations_with_their_bodies(app):
    client = api_client(app)

    doc = client.get("/api/v1/openapi.json").get_json()

    post = doc["paths"]["/document/{id}/files/photos"]["post"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["file"]["type"] == "array"          # multiple
    scan = doc["paths"]["/document/{id}/files/scan"]["post"]
    assert scan["requestBody"]["content"]["multipart/form-data"]["schema"][
        "properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert {"201", "412", "413", "415", "422", "428"} <= set(scan["responses"])
    one = doc["paths"]["/document/{id}/files/scan/{file_id}"]
    assert set(one) >= {"get", "delete"}
    assert "application/pdf" in one["get"]["responses"]["200"]["content"]
    assert {"206", "304", "416", "404"} <= set(one["get"]["responses"])


def contracts(app) -> int:
    return app.extensions["karte"]["records"].count("contract")


def test_a_record_with_a_required_file_is_created_in_one_multipart_request(app):
    client = api_client(app)

    as_json = client.post("/api/v1/contract", json={"title": "Lease"})
    response = client.post("/api/v1/contract", content_type="multipart/form-data", data={
        "record": '{"title": "Lease 2026"}', "signed": (io.BytesIO(PDF), "lease.pdf"),
        "photos": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]})

    assert (as_json.status_code, errors(as_json)) == (422, {"signed": "required"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/contract/{body['id']}"
    assert body["title"] == "Lease 2026"
    assert [f["name"] for f in body["signed"]] == ["lease.pdf"]
    assert [f["name"] for f in body["photos"]] == ["a.png", "b.png"]
    assert client.get(body["signed"][0]["url"]).data == PDF


def test_a_multipart_create_refuses_like_the_upload_and_then_makes_nothing(app):
    client = api_client(app)

    def create(**parts):
        return client.post("/api/v1/contract", content_type="multipart/form-data",
                           data={"record": '{"title": "Lease"}', **parts})

    wrong = create(signed=(io.BytesIO(PNG), "lease.pdf"))
    two = create(signed=[(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PDF), "b.pdf")])
    stray = create(signed=(io.BytesIO(PDF), "a.pdf"), scan=(io.BytesIO(PDF), "b.pdf"))
    forged = client.post("/api/v1/contract", content_type="multipart/form-data", data={
        "record": '{"title": "Lease", "signed": [{"id": "f_x", "sha256": "00"}]}'})
    broken = client.post("/api/v1/contract", content_type="multipart/form-data",
                         data={"record": "{title"})

    assert (wrong.status_code, errors(wrong)) == (422, {"signed": "accept"})
    assert (two.status_code, errors(two)) == (422, {"signed": "invalid"})
    assert (stray.status_code, errors(stray)) == (422, {"scan": "unknown"})
    assert (forged.status_code, errors(forged)) == (422, {"signed": "read_only"})
    assert (broken.status_code, errors(broken)) == (400, {"record": "invalid_json"})
    assert contracts(app) == 0


def test_the_create_of_an_entity_with_files_documents_its_multipart_body(app):
    doc = api_client(app).get("/api/v1/openapi.json").get_json()

    content = doc["paths"]["/contract"]["post"]["requestBody"]["content"]
    multipart = content["multipart/form-data"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert multipart["schema"]["required"] == ["signed"]
    assert multipart["schema"]["properties"]["record"] == {
        "$ref": "#/components/schemas/contract.write"}
    assert multipart["encoding"]["record"]["contentType"] == "application/json"
    assert "multipart/form-data" not in doc["paths"]["/customer"]["post"]["requestBody"][
        "content"]


def test_the_apis_own_file_messages_are_translated(app):
    client = api_client(app)
    record = document(app)
    url = f"/api/v1/document/{record['id']}/files/scan?lang=ja"

    response = client.post(url, json={}, headers={"If-Match": f'"{record["version"]}"'})

    assert response.status_code == 415
    assert "パート" in response.get_json()["errors"][0]["message"]


def test_a_request_above_the_instances_limit_is_413_before_it_is_read(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "1")
    app = make_app(ENTITIES, pack=PACK)
    client = api_client(app)
    record = document(app)

    # encoded in memory: the test client would spool a body this big to a temporary file
    # that nobody closes when the app refuses it unread
    body, _length, boundary = stream_encode_multipart(
        {"file": FileStorage(io.BytesIO(PDF + b"%" + b"0" * 2_200_000), "big.pdf")},
        use_tempfile=False)
    response = client.post(f"/api/v1/document/{record['id']}/files/any", data=body.read(),
                           content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"If-Match": f'"{record["version"]}"'})

    assert (response.status_code, errors(response)) == (413, {"": "too_large"})
    assert client.get(f"/api/v1/document/{record['id']}").get_json()["any"] == []


def test_a_round_trip_through_an_s3_bucket_is_byte_for_byte(make_app, monkeypatch, s3_bucket):
    monkeypatch.setenv("KARTE_FILES_URL", f"s3://{s3_bucket}/api-{uuid.uuid4().hex}")
    app = make_app(ENTITIES, pack=PACK)
    client = api_client(app)
    photo = picture(11, "JPEG", (320, 240))

    created = client.post("/api/v1/contract", content_type="multipart/form-data", data={
        "record": '{"title": "Lease"}', "signed": (io.BytesIO(PDF), "リース契約.pdf"),
        "photos": (io.BytesIO(photo), "site.jpg")})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert client.get(body["signed"][0]["url"]).data == PDF
    assert client.get(body["photos"][0]["url"]).data == photo
    part = client.get(body["photos"][0]["url"], headers={"Range": "bytes=100-199"})
    assert (part.status_code, part.data) == (206, photo[100:200])
