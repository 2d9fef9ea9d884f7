"""`/<entity>/export.xlsx` and raw exports (SPEC §14 "Export"): the list's view as a
workbook of typed cells under a bold frozen header — opened again with openpyxl — values as
shown (labels in the UI language, titles, names, the user's timezone) or raw (`?raw=1`:
keys, ids, emails, ISO dates), with the role's read scope and hidden fields applied."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

ENTITIES = {
    "maker": {"label": {"en": "Maker", "ja": "メーカー"}, "title_field": "name",
              "fields": {"name": {"type": "string"}}},
    "item": {
        "label": {"en": "Item", "ja": "品目"}, "plural": {"en": "Items", "ja": "品目"},
        "title_field": "name",
        "fields": {
            "name": {"type": "string", "label": {"en": "Name", "ja": "名前"}},
            "size": {"type": "integer"},
            "price": {"type": "money"},
            "ratio": {"type": "decimal", "scale": 3},
            "share": {"type": "percent"},
            "due": {"type": "date"},
            "seen_at": {"type": "datetime"},
            "ok": {"type": "boolean"},
            "level": {"type": "enum", "options": [
                {"key": "low", "label": {"en": "Low", "ja": "低"}},
                {"key": "high", "label": {"en": "High", "ja": "高"}}]},
            "tags": {"type": "multi_enum", "options": ["red", "blue"]},
            "maker": {"type": "link", "to": "maker"},
            "owner": {"type": "user"},
            "secret": {"type": "string"}},
        "list": {"columns": ["name", "size", "level"], "sort": "name", "search": ["name"],
                 "filters": ["level", "size"]},
        "permissions": {"sales": {"hidden": ["secret"]}}},
}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own", "delete": "own"}}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "t", "roles": ROLES, "timezone": "Asia/Tokyo"},
                    config={"KARTE_EXPORT_BATCH": 2})


@pytest.fixture
def items(app):
    records = app.extensions["karte"]["records"]
    admin, sales = app.user("admin"), app.user("sales")
    acme = records.create("maker", {"name": "Acme 株式会社"})["id"]
    rows = [
        {"name": "alpha", "size": 3, "price": "1200.5", "ratio": "0.125", "share": "12.5",
         "due": "2026-03-31", "seen_at": "2026-01-01T15:30:00+00:00", "ok": True,
         "level": "high", "tags": ["red", "blue"], "maker": acme, "owner": sales,
         "secret": "hush-a"},
        {"name": "=HYPERLINK(\"x\")", "size": -4, "ok": False, "level": "low",
         "owner": admin, "secret": "hush-b"},
        {"name": "日本語の品目", "size": 7, "owner": sales, "secret": "hush-c"},
    ]
    made = [records.create("item", row) for row in rows]
    return {"admin": admin, "sales": sales, "acme": acme, "ids": [m["id"] for m in made]}


def book(response) -> tuple[list[str], list[list]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return rows[0], rows[1:]


def by_name(header: list[str], rows: list[list], name: str) -> dict:
    found = [dict(zip(header, row, strict=True)) for row in rows]
    return next(row for row in found if name in (row.get("Name"), row.get("name"),
                                                 row.get("名前")))


def test_typed_cells_under_a_bold_frozen_header(app, items):
    response = app.client().get("/item/export.xlsx?sort=-size")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="item-')
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "Items"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    header = [cell.value for cell in sheet[1]]
    assert header == ["ID", "Name", "Size", "Price", "Ratio", "Share", "Due", "Seen at", "Ok",
                      "Level", "Tags", "Maker", "Owner", "Secret", "Created", "Updated"]
    assert sheet.column_dimensions["B"].width >= 2 * len("日本語の品目")   # full-width: 2
    cells = {name: cell for name, cell in zip(header, sheet[3], strict=True)}
    assert cells["Name"].value == "alpha"
    assert cells["ID"].value == items["ids"][0] and cells["ID"].data_type == "n"
    assert cells["Size"].value == 3
    assert cells["Price"].value == 1200.5 and cells["Price"].number_format == "#,##0.00"
    assert cells["Ratio"].value == 0.125 and cells["Ratio"].number_format == "#,##0.000"
    assert cells["Share"].value == pytest.approx(0.125)
    assert cells["Share"].number_format == "0.00%"
    assert cells["Due"].value == dt.datetime(2026, 3, 31)
    assert cells["Due"].is_date and cells["Due"].number_format == "yyyy-mm-dd"
    # the pack's timezone (Asia/Tokyo): 15:30 UTC is 00:30 the next day
    assert cells["Seen at"].value == dt.datetime(2026, 1, 2, 0, 30)
    assert cells["Seen at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert (cells["Ok"].value, cells["Level"].value, cells["Tags"].value) == \
        ("Yes", "High", "Red; Blue")
    assert (cells["Maker"].value, cells["Owner"].value) == ("Acme 株式会社", "Sales")
    assert isinstance(cells["Created"].value, dt.datetime)


def test_text_is_never_a_formula_and_empty_cells_stay_empty(app, items):
    sheet = openpyxl.load_workbook(io.BytesIO(
        app.client().get("/item/export.xlsx?sort=-size").get_data())).active
    header = [cell.value for cell in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[4], strict=True)}
    assert row["Name"].value == '=HYPERLINK("x")' and row["Name"].data_type == "s"
    assert row["Size"].value == -4 and row["Ok"].value == "No"
    assert row["Price"].value is None and row["Due"].value is None
    assert row["Tags"].value is None and row["Maker"].value is None


def test_the_view_and_the_users_timezone_and_language(app, items):
    engine = app.extensions["karte"]["engine"]
    client = app.client()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE karte_user SET timezone = 'America/New_York' "
                             "WHERE email = 'admin@example.com'"))
    header, rows = book(client.get("/item/export.xlsx?f.size.gte=0&sort=-size&lang=ja"))
    assert header[:3] == ["ID", "名前", "Size"]
    assert [row[1] for row in rows] == ["日本語の品目", "alpha"]
    alpha = dict(zip(header, rows[1], strict=True))
    assert (alpha["Level"], alpha["Ok"]) == ("高", "はい")
    assert alpha["Seen at"] == dt.datetime(2026, 1, 1, 10, 30)      # New York
    _header, found = book(client.get("/item/export.xlsx?q=日本"))
    assert [row[1] for row in found] == ["日本語の品目"]


def test_raw_values_are_keys_ids_emails_and_iso_dates(app, items):
    for url in ("/item/export.xlsx?raw=1", "/item/export.csv?raw=1"):
        response = app.client().get(url + "&sort=name")
        if url.endswith(".csv?raw=1"):
            text = response.get_data().decode("utf-8")
            table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
            header, rows = table[0], table[1:]
        else:
            header, rows = book(response)
        assert header[:3] == ["id", "name", "size"] and "created_at" in header
        alpha = by_name(header, rows, "alpha")
        assert alpha["level"] == "high" and alpha["tags"] == "red; blue"
        assert alpha["owner"] == "sales@example.com"
        assert alpha["due"] == "2026-03-31"
        assert alpha["seen_at"] == "2026-01-01T15:30:00+00:00"
        if url.endswith(".csv?raw=1"):
            assert (alpha["maker"], alpha["price"], alpha["ok"]) == \
                (str(items["acme"]), "1200.50", "true")
            assert alpha["share"] == "12.50"
        else:
            assert (alpha["maker"], alpha["price"], alpha["ok"]) == (items["acme"], 1200.5, True)
            assert alpha["share"] == 12.5


def test_the_roles_scope_and_hidden_fields_apply(app, items):
    for raw in ("", "&raw=1"):
        header, rows = book(app.client("sales").get(f"/item/export.xlsx?sort=name{raw}"))
        assert "Secret" not in header and "secret" not in header
        assert not any("hush" in str(cell) for row in rows for cell in row)
        names = [row[1] for row in rows]
        assert sorted(names) == ["alpha", "日本語の品目"]       # their own, not the admin's
    header, rows = book(app.client().get("/item/export.xlsx"))
    assert "Secret" in header and len(rows) == 3
    assert app.client("sales").get("/item/export.xlsx?f.secret=hush-a").status_code == 400


def test_a_bad_view_is_a_400_page_and_no_file(app, items):
    response = app.client().get("/item/export.xlsx?sort=nope")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert 'cannot be sorted by &#34;nope&#34;' in response.get_data(as_text=True)


def test_a_link_the_user_may_not_read_is_not_named(app, items):
    engine = app.extensions["karte"]["engine"]
    with engine.begin() as conn:      # the maker belongs to nobody the sales role reads
        conn.execute(sa.text("UPDATE maker SET created_by = NULL"))
    header, rows = book(app.client("sales").get("/item/export.xlsx"))
    alpha = by_name(header, rows, "alpha")
    assert alpha["Maker"] == "(no access)"


def test_the_list_offers_csv_and_xlsx_as_shown_and_raw(app, items):
    page = app.client().get("/item/?f.level=high&lang=ja").get_data(as_text=True)
    for href in ("/item/export.csv?f.level=high", "/item/export.xlsx?f.level=high",
                 "/item/export.csv?f.level=high&amp;raw=1",
                 "/item/export.xlsx?f.level=high&amp;raw=1"):
        assert f'href="{href}"' in page
    assert "XLSX" in page


def test_many_batches_every_row_once_in_order(app, items):
    records = app.extensions["karte"]["records"]
    for n in range(7):
        records.create("item", {"name": f"z{n}", "size": 100 + n,
                                "price": Decimal("0.01") * n})
    header, rows = book(app.client().get("/item/export.xlsx?sort=size"))
    sizes = [row[2] for row in rows]
    assert sizes == [-4, 3, 7, *range(100, 107)]


def test_rows_written_while_exporting_never_repeat_or_lose_a_row(app, items):
    """The export's own rows (karte.transfer.export), in batches of one, while other rows
    are created between batches before, after and among the exported ones."""
    from karte.transfer import export as rows_of

    records = app.extensions["karte"]["records"]
    for n in range(6):
        records.create("item", {"name": f"m{n}", "size": 10 * n})
    entity = records.store.entity("item")
    before = [row["id"] for row in records.query("item", sort="size", limit=100)]
    rows = rows_of.open_rows(records, entity, look=rows_of.Look(raw=True), sort="size",
                             batch=1)
    seen = []
    made = []
    for n, batch in enumerate(rows.batches):
        seen += [row[0] for row in batch]
        if n < 4:                      # (every batch adding rows ahead would never end)
            made += [records.create("item", {"name": f"new {n}", "size": size})["id"]
                     for size in (-100, 1000 + n, 5, n, None)]
    assert len(seen) == len(set(seen)) and rows.count == len(seen)
    assert [id for id in seen if id in set(before)] == before
    assert set(made) & set(seen)       # some rows written ahead were exported, once
