"""The import wizard through HTTP (SPEC §14, §11.2): upload → mapping → dry run → run →
report → failed rows → revert, on both databases. Each step is driven the way a browser
without JavaScript drives it: the form read from the page, posted with its own fields."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import threading

import pytest
from bs4 import BeautifulSoup

CUSTOMER = {
    "label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers", "ja": "顧客"},
    "fields": {
        "name": {"type": "string", "required": True, "max_length": 80,
                 "label": {"en": "Name", "ja": "名前"}},
        "email": {"type": "email", "unique": True, "label": {"en": "Email", "ja": "メール"}},
        "since": {"type": "date", "label": {"en": "Customer since", "ja": "取引開始日"}},
        "vip": {"type": "boolean", "label": {"en": "VIP"}},
        "kind": {"type": "enum", "label": {"en": "Kind", "ja": "種別"},
                 "options": [{"key": "company", "label": {"en": "Company", "ja": "法人"}},
                             {"key": "person", "label": {"en": "Person", "ja": "個人"}}]},
        "owner": {"type": "user", "default": "$me"}},
    "duplicates": [{"fields": ["name"]}]}
ROLES = {"viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
         "sales": {"*": {"read": "all", "create": True, "update": "own", "delete": "own"}}}

GOOD = "Name,Email,Customer since,VIP,Kind,Notes\n" \
       "Acme,info@acme.example,2026-11-30,yes,company,first\n" \
       "Lyons,lyons@example.com,2026/11/01,no,Person,second\n"
BAD = GOOD + "Broken,broken@example.com,31.31.2026,maybe,company,third\n"


@pytest.fixture
def app(make_app):
    return make_app({"customer": CUSTOMER}, pack={"name": "imports", "roles": ROLES})


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def form_data(page: BeautifulSoup, selector: str) -> dict[str, str]:
    """What a browser sends for the form: inputs (checked boxes only) and selected options."""
    form = page.select_one(selector)
    assert form is not None, f"no form {selector}"
    data: dict[str, str] = {}
    for field in form.select("input[name], select[name]"):
        if field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            data[field["name"]] = chosen.get("value", "") if chosen else ""
        elif field.get("type") == "checkbox":
            if field.has_attr("checked"):
                data[field["name"]] = field.get("value", "on")
        elif field.get("type") != "file":
            data[field["name"]] = field.get("value", "")
    return data


def upload(client, content: bytes | str, name: str = "customers.csv", encoding: str = "",
           entity: str = "customer"):
    body = content.encode("utf-8") if isinstance(content, str) else content
    return client.send(f"/{entity}/import", {"file": (io.BytesIO(body), name),
                                             "encoding": encoding})


def mapped(client, content: bytes | str, **kwargs) -> tuple[str, BeautifulSoup]:
    """Upload a file; the mapping page's URL and its HTML."""
    response = upload(client, content, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    url = response.headers["Location"]
    page = client.get(url)
    assert page.status_code == 200
    return url, soup(page)


def checked(client, content: bytes | str, changes: dict | None = None, **kwargs):
    """Upload, take the mapping as the page fills it (plus `changes`), run the dry run."""
    _url, page = mapped(client, content, **kwargs)
    data = {**form_data(page, "#import-mapping"), **(changes or {})}
    return client.post(page.select_one("#import-mapping")["action"], data=data)


def count(app) -> int:
    return app.extensions["karte"]["records"].count("customer")


def choice(page: BeautifulSoup, header: str) -> str:
    """The field chosen for the column named `header` on the mapping page."""
    for row in page.select(".import-columns tbody tr"):
        if row.select_one("th").get_text(strip=True) == header:
            chosen = row.select_one("option[selected]")
            return chosen["value"] if chosen else ""
    raise AssertionError(f"no column {header}")


# ---------------------------------------------------------------- rights


def test_only_users_who_may_create_see_and_open_the_wizard(app):
    admin, viewer, sales = app.client(), app.client("viewer"), app.client("sales")
    assert soup(admin.get("/customer/")).select_one("a.list-import")["href"] == \
        "/customer/import"
    assert soup(sales.get("/customer/")).select_one("a.list-import") is not None
    assert soup(viewer.get("/customer/")).select_one("a.list-import") is None
    assert viewer.get("/customer/import").status_code == 403
    assert upload(viewer, GOOD).status_code == 403
    assert admin.get("/nothing/import").status_code == 404
    assert count(app) == 0


def test_an_upload_is_its_owners_only(app):
    url, _page = mapped(app.client(), GOOD)
    assert app.client("sales").get(url).status_code == 404
    assert app.client().get(url.replace("/file/", "/file/x")).status_code == 404


def test_every_post_needs_the_csrf_token(app):
    client = app.client()
    response = client.post("/customer/import",
                           data={"file": (io.BytesIO(GOOD.encode()), "c.csv")})
    assert response.status_code == 400
    url, page = mapped(client, GOOD)
    data = form_data(page, "#import-mapping")
    del data["csrf_token"]
    assert client.post(page.select_one("#import-mapping")["action"],
                       data=data).status_code == 400


# ---------------------------------------------------------------- upload


def test_the_upload_step_offers_a_file_and_an_encoding(app):
    page = soup(app.client().get("/customer/import"))
    form = page.select_one("form.import-upload")
    assert form["enctype"] == "multipart/form-data"
    assert form.select_one("input[type=file][name=file]") is not None
    offered = [o["value"] for o in form.select("select[name=encoding] option")]
    assert offered[:3] == ["", "utf-8", "cp932"]
    assert "MB" in form.get_text()


def test_a_bad_file_comes_back_to_the_upload_step_with_the_reason(app):
    client = app.client()
    response = upload(client, b"PK\x03\x04 not really a workbook", name="broken.xlsx",
                      encoding="cp932")
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#import-error").get_text(strip=True)
    assert page.select_one("form.import-upload") is not None
    assert page.select_one("select[name=encoding] option[selected]")["value"] == "cp932"
    missing = client.send("/customer/import", {"encoding": ""})
    assert missing.status_code == 422
    assert soup(missing).select_one("#import-error") is not None


def test_the_upload_is_kept_under_a_random_name(app):
    client = app.client()
    url, _page = mapped(client, GOOD, name="../../etc/passwd.csv")
    token = url.rsplit("/", 1)[1]
    names = os.listdir(os.path.join(app.instance_path, "imports"))
    assert f"{token}.upload" in names
    assert not any("passwd" in n for n in names)


def test_a_file_above_the_size_limit_is_refused_with_the_limit(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "1")
    app = make_app({"customer": CUSTOMER}, pack={"name": "imports", "roles": ROLES})
    client = app.client()
    boundary = "wizardboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{client.token()}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="big.csv"\r\n\r\nName\n{"x" * (2 * 1024 * 1024)}\r\n'
            f"--{boundary}--\r\n").encode()
    response = client.post("/customer/import", input_stream=io.BytesIO(body),
                           content_length=len(body),
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    page = soup(response)
    assert "1 MB" in page.select_one("#import-error").get_text()
    assert page.select_one("form.import-upload") is not None


# ---------------------------------------------------------------- mapping


def test_columns_are_matched_and_show_their_first_values(app):
    _url, page = mapped(app.client(), GOOD)
    assert choice(page, "Name") == "name"
    assert choice(page, "Customer since") == "since"
    assert choice(page, "Kind") == "kind"
    assert choice(page, "Notes") == ""                     # no such field: ignored
    row = page.select(".import-columns tbody tr")[0]
    assert [s.get_text() for s in row.select(".import-sample")] == ["Acme", "Lyons"]
    options = [o["value"] for o in row.select("option")]
    assert options[0] == "" and "id" in options and "owner" in options
    assert [o["value"] for o in page.select("select[name=key] option")] == \
        ["", "id", "email"]


def test_japanese_headers_in_shift_jis_are_read_and_matched(app):
    text = ("名前,メール,取引開始日,種別\r\n"
            "山田商事,yamada@example.jp,２０２６年１１月３０日,法人\r\n")
    _url, page = mapped(app.client(), text.encode("cp932"), name="顧客.csv")
    assert choice(page, "名前") == "name"
    assert choice(page, "種別") == "kind"
    assert "山田商事" in page.select_one(".import-columns").get_text()


def test_an_unknown_field_in_a_posted_mapping_is_refused_with_the_mapping_kept(app):
    client = app.client()
    _url, page = mapped(client, GOOD)
    data = form_data(page, "#import-mapping")
    data["map.0"] = "no_such_field"
    data["map.5"] = "kind"          # Notes → kind, which column Kind already has
    response = client.post(page.select_one("#import-mapping")["action"], data=data)
    assert response.status_code == 422
    again = soup(response)
    assert again.select_one("select[name='map.0'] option[selected]")["value"] == \
        "no_such_field"
    assert again.select_one("select[name='map.0'][aria-invalid=true]") is not None
    assert again.select_one("select[name='map.1'] option[selected]")["value"] == "email"
    assert "Kind" in again.select_one("#import-map\\.5-error").get_text()
    assert count(app) == 0


def test_a_key_must_be_a_mapped_unique_field(app):
    response = checked(app.client(), GOOD, {"map.1": "", "key": "email"})
    assert response.status_code == 422
    assert soup(response).select_one("#import-key-error") is not None


# ---------------------------------------------------------------- dry run, run, report


def test_the_dry_run_lists_every_problem_and_saves_nothing(app):
    response = checked(app.client(), BAD)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    page = soup(response)
    counts = {dd["data-count"]: dd.get_text(strip=True) for dd in page.select("dd")}
    assert counts["created"] == "2" and counts["failed"] == "1"
    rows = [[td.get_text(strip=True) for td in tr.select("td")]
            for tr in page.select(".import-problems tbody tr")]
    assert ["4", "Customer since", "31.31.2026"] in [r[:3] for r in rows]
    assert ["4", "VIP", "maybe"] in [r[:3] for r in rows]
    preview = page.select_one(".import-preview")
    assert "Acme" in preview.get_text() and "info@acme.example" in preview.get_text()
    assert page.select_one("form.import-run button[type=submit]").get_text(strip=True) == \
        "Import 2 rows"
    assert count(app) == 0


def test_a_run_reports_its_counts_and_the_failed_rows_can_be_reimported(app):
    client = app.client()
    page = soup(checked(client, BAD))
    run = page.select_one("form.import-run")
    response = client.post(run["action"], data=form_data(page, "form.import-run"))
    assert response.status_code == 303
    report_url = response.headers["Location"]
    assert re.fullmatch(r"/customer/import/\d+", report_url)
    report = soup(client.get(report_url))
    counts = {dd["data-count"]: dd.get_text(strip=True) for dd in report.select("dd")}
    assert counts == {"created": "2", "updated": "0", "unchanged": "0", "failed": "1"}
    assert count(app) == 2
    again = client.post(run["action"], data=form_data(page, "form.import-run"))
    assert again.headers["Location"] == report_url and count(app) == 2   # not twice

    download = client.get(report.select_one("a[href$='failed.csv']")["href"])
    assert download.status_code == 200 and download.mimetype == "text/csv"
    text = download.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][-1] == "problem" and rows[1][0] == "Broken" and rows[1][-1]
    rows[1][2], rows[1][3] = "2026-12-31", "no"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rows)
    again = soup(checked(client, fixed.getvalue(), name="fixed.csv"))
    assert not again.select(".import-problems tbody tr")
    response = client.post(again.select_one("form.import-run")["action"],
                           data=form_data(again, "form.import-run"))
    assert response.status_code == 303
    assert count(app) == 3


def test_an_update_by_key_and_the_remembered_mapping(app):
    client = app.client()
    own_words = GOOD.replace("Name,", "Company,", 1)
    _url, first = mapped(client, own_words)
    assert choice(first, "Company") == ""               # no field is called so
    page = soup(checked(client, own_words, {"map.0": "name"}))
    client.post(page.select_one("form.import-run")["action"],
                data=form_data(page, "form.import-run"))
    _url, mapping = mapped(client, own_words.replace("Acme,", "Acme Corp,"))
    assert choice(mapping, "Company") == "name"         # remembered for the entity
    data = {**form_data(mapping, "#import-mapping"), "key": "email"}
    dry = soup(client.post(mapping.select_one("#import-mapping")["action"], data=data))
    counts = {dd["data-count"]: dd.get_text(strip=True) for dd in dry.select("dd")}
    assert counts["updated"] == "1" and counts["unchanged"] == "1"
    assert counts["created"] == "0"


def test_revert_asks_first_then_undoes_the_import(app):
    client = app.client()
    page = soup(checked(client, GOOD))
    report_url = client.post(page.select_one("form.import-run")["action"],
                             data=form_data(page, "form.import-run")).headers["Location"]
    assert count(app) == 2
    link = soup(client.get(report_url)).select_one("a.import-revert")
    confirm = client.get(link["href"])
    assert confirm.status_code == 200 and count(app) == 2
    form = soup(confirm).select_one("form.import-revert-form")
    done = client.post(form["action"], data=form_data(soup(confirm),
                                                      "form.import-revert-form"))
    assert done.status_code == 303
    assert count(app) == 0
    report = soup(client.get(report_url))
    assert report.select_one("#import-step")["data-state"] == "reverted"
    assert report.select_one("a.import-revert") is None


def test_a_report_is_only_its_entity_and_users(app):
    client = app.client()
    page = soup(checked(client, GOOD))
    report_url = client.post(page.select_one("form.import-run")["action"],
                             data=form_data(page, "form.import-run")).headers["Location"]
    assert app.client("sales").get(report_url).status_code == 404
    assert client.get("/customer/import/999999").status_code == 404


def test_the_wizard_speaks_japanese(app):
    client = app.client()
    page = soup(client.get("/customer/import?lang=ja"))
    assert page.select_one("h1").get_text(strip=True) == "顧客のインポート"
    broken = upload(client, b"PK\x03\x04 not really a workbook", name="broken.xlsx")
    assert "壊れています" in soup(broken).select_one("#import-error").get_text()
    dry = soup(checked(client, BAD))
    messages = [tr.select("td")[3].get_text() for tr in dry.select(".import-problems tbody tr")]
    assert any("日付" in m for m in messages), messages
    preview = dry.select_one(".import-preview").get_text()
    assert "法人" in preview and "個人" in preview and "はい" in preview
    assert "Company" not in preview


def test_a_large_import_runs_in_the_background_and_its_report_follows_it(app, monkeypatch):
    from karte.transfer import import_background

    gate = threading.Event()
    real = import_background.execute

    def held(*args, **kwargs):
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setenv("KARTE_IMPORT_BACKGROUND_ROWS", "1")
    monkeypatch.setattr(import_background, "execute", held)
    client = app.client()
    page = soup(checked(client, GOOD))
    report_url = client.post(page.select_one("form.import-run")["action"],
                             data=form_data(page, "form.import-run")).headers["Location"]
    batch = int(report_url.rsplit("/", 1)[1])
    waiting = soup(client.get(report_url))
    step = waiting.select_one("#import-step")
    assert step["data-state"] in ("planned", "running")
    assert step["hx-trigger"] == "every 1s" and step["hx-get"] == report_url
    assert waiting.select_one("progress")["max"] == "2"
    assert waiting.select_one("a.import-refresh")["href"] == report_url
    assert waiting.select_one("a.import-revert") is None

    gate.set()
    assert import_background.wait(batch, 30)
    fragment = client.get(report_url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    done = soup(fragment).select_one("#import-step")
    assert done["data-state"] == "done" and not done.has_attr("hx-trigger")
    assert done.select_one("dd[data-count=created]").get_text(strip=True) == "2"
    assert count(app) == 2


def test_htmx_steps_arrive_as_fragments_and_move_on_by_hx_location(app):
    client = app.client()
    token = client.token()
    response = client.post("/customer/import", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "file": (io.BytesIO(GOOD.encode()), "c.csv"), "encoding": ""})
    assert response.status_code == 204
    location = json.loads(response.headers["HX-Location"])
    assert location["target"] == "#import-step"
    step = client.get(location["path"], headers={"HX-Request": "true"})
    assert "<html" not in step.get_data(as_text=True)
    assert soup(step).select_one("#import-step #import-mapping") is not None


def test_a_revert_refused_says_why_and_changes_nothing(app):
    client = app.client()
    page = soup(checked(client, GOOD))
    report_url = client.post(page.select_one("form.import-run")["action"],
                             data=form_data(page, "form.import-run")).headers["Location"]
    services = app.extensions["karte"]["records"]
    acme = services.query("customer", search="Acme")[0]
    services.update("customer", acme["id"], {"name": "Acme edited"}, acme["version"])
    confirm = soup(client.get(f"{report_url}/revert"))
    response = client.post(f"{report_url}/revert",
                           data=form_data(confirm, "form.import-revert-form"))
    assert response.status_code == 409
    reasons = soup(response).select("#import-error li")
    assert any("Acme edited" in li.get_text() for li in reasons)
    assert count(app) == 2


DEAL = {"label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
        "fields": {"title": {"type": "string", "required": True, "label": {"en": "Title"}}}}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new", "label": {"en": "New"}},
                       {"key": "won", "label": {"en": "Won"}, "final": "won"}]}
MOVERS = {"rep": {"*": {"read": "all", "create": True, "update": False, "delete": False}}}


def test_stage_columns_need_moves_allowed_and_only_movers_may_allow_them(make_app):
    app = make_app({"deal": DEAL}, {"pipeline": PIPELINE},
                   pack={"name": "moves", "roles": MOVERS})
    deals = "Title,Stage\nBig one,won\n"
    admin = app.client()
    _url, page = mapped(admin, deals, entity="deal")
    assert choice(page, "Stage") == "stage"
    assert page.select_one("input[name=allow_moves]") is not None
    _url, rep_page = mapped(app.client("rep"), deals, entity="deal")
    assert rep_page.select_one("input[name=allow_moves]") is None

    action = page.select_one("#import-mapping")["action"]
    refused = soup(admin.post(action, data=form_data(page, "#import-mapping")))
    rows = [[td.get_text(strip=True) for td in tr.select("td")]
            for tr in refused.select(".import-problems tbody tr")]
    assert rows and rows[0][0] == "—" and rows[0][1] == "Stage"
    assert "allow stage moves" in rows[0][3]
    allowed = soup(admin.post(action, data={**form_data(page, "#import-mapping"),
                                            "allow_moves": "1"}))
    assert not allowed.select(".import-problems tbody tr")
    assert allowed.select_one("dd[data-count=created]").get_text(strip=True) == "1"


def test_xlsx_dates_and_the_date_order_of_the_packs_country(make_app, tmp_path):
    from openpyxl import Workbook

    app = make_app({"customer": CUSTOMER},
                   pack={"name": "uk", "roles": ROLES, "locale": "en", "country": "GB"})
    book = Workbook()
    book.active.append(["Name", "Customer since"])
    book.active.append(["Cell date", dt.date(2026, 11, 30)])
    book.active.append(["Typed date", "03/04/2026"])
    path = tmp_path / "customers.xlsx"
    book.save(path)
    client = app.client()
    _url, page = mapped(client, path.read_bytes(), name="customers.xlsx")
    assert page.select_one("select[name=day_first] option[selected]")["value"] == "1"
    dry = soup(client.post(page.select_one("#import-mapping")["action"],
                           data=form_data(page, "#import-mapping")))
    assert not dry.select(".import-problems tbody tr")
    run = client.post(dry.select_one("form.import-run")["action"],
                      data=form_data(dry, "form.import-run"))
    assert run.status_code == 303
    stored = {r["name"]: r["since"] for r in
              app.extensions["karte"]["records"].query("customer")}
    assert stored == {"Cell date": dt.date(2026, 11, 30), "Typed date": dt.date(2026, 4, 3)}


QUOTES = {
    "product": {"label": {"en": "Product"}, "plural": {"en": "Products"},
                "title_field": "name",
                "fields": {"name": {"type": "string", "required": True, "unique": True}}},
    "quote": {"label": {"en": "Quote"}, "plural": {"en": "Quotes"}, "title_field": "title",
              "fields": {"title": {"type": "string", "required": True, "unique": True},
                         "lines": {"type": "lines", "of": "quote_line",
                                   "label": {"en": "Lines"}}}},
    "quote_line": {"label": {"en": "Quote line"}, "plural": {"en": "Quote lines"},
                   "part_of": "quote", "title_field": "product",
                   "fields": {"product": {"type": "link", "to": "product", "required": True,
                                          "label": {"en": "Product"}},
                              "quantity": {"type": "decimal", "required": True,
                                           "label": {"en": "Quantity"}}}},
}


def test_lines_are_mapped_as_rows_carrying_the_parents_key(make_app):
    app = make_app(QUOTES, pack={"name": "quotes"})
    services = app.extensions["karte"]["records"]
    services.create("product", {"name": "Cement"})
    client = app.client()
    assert client.get("/quote_line/import").status_code == 404
    _url, page = mapped(client, "Title,Product,Quantity\nHarbour,Cement,2\nHarbour,Cement,3\n",
                        entity="quote")
    assert choice(page, "Product") == "lines.product"
    assert choice(page, "Quantity") == "lines.quantity"
    labels = [o.get_text() for o in page.select("select[name='map.1'] option")]
    assert "Lines › Product" in labels
    data = {**form_data(page, "#import-mapping"), "key": "title"}
    dry = soup(client.post(page.select_one("#import-mapping")["action"], data=data))
    assert not dry.select(".import-problems tbody tr")
    client.post(dry.select_one("form.import-run")["action"],
                data=form_data(dry, "form.import-run"))
    [quote] = services.query("quote")
    assert [line["quantity"] for line in services.get("quote", quote["id"])["lines"]] == \
        [2, 3]


def test_an_htmx_check_leaves_an_address_that_brings_the_choices_back(app):
    client = app.client()
    _url, page = mapped(client, GOOD)
    data = {**form_data(page, "#import-mapping"), "map.5": "name", "map.0": ""}
    response = client.post(page.select_one("#import-mapping")["action"], data=data,
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    again = soup(client.get(response.headers["HX-Replace-Url"]))
    assert choice(again, "Name") == "" and choice(again, "Notes") == "name"


def test_a_large_revert_runs_in_the_background_and_its_report_follows_it(app, monkeypatch):
    from karte.transfer import import_background, import_revert

    client = app.client()
    page = soup(checked(client, GOOD))
    report_url = client.post(page.select_one("form.import-run")["action"],
                             data=form_data(page, "form.import-run")).headers["Location"]
    batch = int(report_url.rsplit("/", 1)[1])
    gate = threading.Event()
    real = import_revert._undo

    def held(*args, **kwargs):
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(import_revert, "_undo", held)
    monkeypatch.setenv("KARTE_IMPORT_BACKGROUND_ROWS", "1")
    assert import_background.threshold() == 1
    confirm = soup(client.get(f"{report_url}/revert"))
    answer = client.post(f"{report_url}/revert",
                         data=form_data(confirm, "form.import-revert-form"))
    assert answer.status_code == 303
    reverting = soup(client.get(report_url)).select_one("#import-step")
    assert reverting["data-state"] == "reverting" and reverting["hx-trigger"] == "every 1s"
    assert reverting.select_one("a.import-refresh") is not None
    assert reverting.select_one("a.import-revert") is None
    gate.set()
    assert import_revert.wait(batch, 30)
    done = soup(client.get(report_url)).select_one("#import-step")
    assert done["data-state"] == "reverted" and not done.has_attr("hx-trigger")
    assert count(app) == 0


def test_the_dry_run_names_duplicates_in_the_file_and_among_stored_records(app):
    stored = app.extensions["karte"]["records"].create("customer", {"name": "Acme"})
    file = GOOD + "Lyons,other@example.com,,,company,again\n"
    page = soup(checked(app.client(), file))
    section = page.select_one(".import-duplicates")
    assert section is not None
    items = [li.get_text(" ", strip=True) for li in section.select("li")]
    assert any(i.startswith("Line 2") for i in items), items
    assert any(i.startswith("Line 4") and "line 3" in i for i in items), items
    assert section.select_one(f"a[href='/customer/{stored['id']}']").get_text() == "Acme"


def test_a_row_that_cannot_be_read_sends_back_to_the_upload_step(app):
    rows = "".join(f"Customer {i},c{i}@example.com\r\n" for i in range(3000))
    text = ("Name,Email\r\n" + rows).encode("utf-8") + b"\xff\xfe\xfa,broken\r\n"
    response = checked(app.client(), text, encoding="utf-8")
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("form.import-upload") is not None
    assert "Row 3002" in page.select_one("#import-error").get_text()
    assert count(app) == 0
