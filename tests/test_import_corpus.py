"""The corpus of messy files (tests/import_files/README.md) imported into the standard pack
through the whole engine, each with exact expectations: counts, stored values, problems —
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from karte.auth.users import add_user, get_user
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.migrate import migrate
from karte.transfer import imports
from karte.transfer.mapping import match_columns
from karte.transfer.read import open_sheet
from karte.workflow.service import Workflows

FILES = REPO_ROOT / "tests" / "import_files"


@pytest.fixture(scope="module")
def standard():
    return load_pack(REPO_ROOT)


@pytest.fixture
def corpus(engine, standard):
    """corpus(file, entity, **plan options) -> the report of importing it as the admin."""
    migrate(engine, standard)
    services = Workflows(Records(engine, standard))
    admin = get_user(engine, add_user(engine, standard, "boss@example.com", "admin"))

    def run(name: str, entity: str, mapping: dict | None = None, **options):
        sheet = open_sheet(FILES / name)
        plan = imports.Plan(entity, mapping or match_columns(standard.entities[entity],
                                                             sheet.columns, pack=standard),
                            **options)
        return imports.run(services, sheet, plan, admin, file_name=name)

    run.services, run.admin = services, admin
    return run


def counts(report) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.failed


def stored(corpus, entity: str, *names: str) -> list[tuple]:
    rows = corpus.services.records.query(entity, sort="id", limit=500)
    return [tuple(row[name] for name in names) for row in rows]


def test_products_in_shift_jis_with_yen_signs_and_japanese_yes_no(corpus):
    report = corpus("products_sjis.csv", "product")

    assert (report.state, counts(report), report.problems) == ("done", (5, 0, 0, 0), [])
    assert stored(corpus, "product", "sku", "name", "category", "price", "cost", "active") == [
        ("SKU-001", "クラウド会計", "subscription", Decimal("1200.00"), Decimal("400.00"), True),
        ("SKU-002", "導入支援", "service", Decimal("15000.00"), Decimal("8000.00"), True),
        ("SKU-003", "旧型ルーター", "hardware", Decimal("9800.00"), Decimal("6500.00"), False),
        ("SKU-004", "操作研修", "training", Decimal("50000.00"), None, True),
        ("SKU-005", "保守パック", "support", Decimal("120000.00"), Decimal("30000.00"), False)]


def test_customers_in_shift_jis_bom_utf8_and_utf16(corpus):
    sjis = corpus("customers_sjis.csv", "customer")
    bom = corpus("customers_bom.csv", "customer")
    utf16 = corpus("customers_utf16.tsv", "customer")

    assert [counts(r) for r in (sjis, bom, utf16)] == [(5, 0, 0, 0), (3, 0, 0, 0),
                                                       (2, 0, 0, 0)]
    found = stored(corpus, "customer", "name", "kind", "industry", "employees", "email",
                   "tags")
    assert found[:2] == [
        ("㈱山田製作所", "company", "manufacturing", 1200, "info@yamada.example.jp",
         ["vip", "partner"]),
        ("佐藤商店", "company", "retail", 12, "sato@example.jp", None)]
    assert found[5:] == [
        ("Lyons Ltd", "company", "retail", 1250, "info@lyons.example.com",
         ["vip", "newsletter"]),
        ("Müller GmbH", "company", "manufacturing", 300, "kontakt@mueller.example.de",
         ["partner"]),
        ("Ana Souza", "person", None, None, "ana@example.com", None),
        ("北海物産", "company", None, None, None, None),
        ("Blue Fin Inc", "company", None, None, None, None)]
    sato = corpus.services.records.query("customer", sort="id")[1]
    assert sato["notes"] == "本店：大阪\n支店：神戸"
    lyons = corpus.services.records.query("customer", sort="id")[5]
    assert (lyons["phone"], lyons["website"]) == ("+442079460000",
                                                  "https://www.lyons.example.com")


def test_contacts_deals_and_tasks_link_by_title_and_read_dates_as_written(corpus):
    corpus("customers_sjis.csv", "customer")
    corpus("customers_bom.csv", "customer")
    customers = {name: id for id, name in stored(corpus, "customer", "id", "name")}

    contacts = corpus("contacts.tsv", "contact")
    deals = corpus("deals.xlsx", "deal")
    tasks = corpus("tasks_semicolon.csv", "task", day_first=True)

    assert [counts(r) for r in (contacts, deals, tasks)] == [(3, 0, 0, 0), (3, 0, 0, 0),
                                                             (4, 0, 0, 0)]
    assert stored(corpus, "contact", "last_name", "customer", "is_primary") == [
        ("Lyons", customers["Lyons Ltd"], True), ("Müller", customers["Müller GmbH"], False),
        ("山田", customers["㈱山田製作所"], True)]
    assert stored(corpus, "deal", "title", "customer", "amount", "probability", "source",
                  "close_on", "stage") == [
        ("Renewal 2027", customers["Lyons Ltd"], Decimal("12000.00"), Decimal("60.00"),
         "referral", dt.date(2026, 11, 30), "new"),
        ("Plant line", customers["Müller GmbH"], Decimal("250000.50"), Decimal("25.00"),
         "event", dt.date(2027, 1, 15), "new"),
        ("会計導入", customers["㈱山田製作所"], Decimal("1200000.00"), Decimal("40.00"),
         "referral", dt.date(2026, 12, 24), "new")]
    assert stored(corpus, "task", "title", "due_on", "priority", "done") == [
        ("Call back; about the renewal", dt.date(2026, 11, 30), "high", True),
        ("Send the quote", dt.date(2026, 12, 1), "normal", False),
        ("Visit the plant", dt.date(2026, 12, 15), "low", True),
        ("Close the year", dt.date(2026, 12, 31), "high", True)]
    admin = corpus.admin.id
    assert {row[0] for row in stored(corpus, "deal", "owner")} == {admin}


def test_files_with_five_percent_bad_rows_import_the_rest_and_name_each_problem(corpus):
    tasks = corpus("tasks_bad.csv", "task")
    customers = corpus("customers_bad.csv", "customer")

    assert [counts(r) for r in (tasks, customers)] == [(38, 0, 0, 2), (38, 0, 0, 2)]
    assert [(p.line, p.column, p.code, p.value) for p in tasks.problems] == [
        (9, "Due on", "import.date", "2026/13/01"), (28, "Priority", "import.enum", "urgent")]
    assert [(p.line, p.column, p.code, p.value) for p in customers.problems] == [
        (12, "Email", "import.email", "batch11@@example"),
        (32, "Kind", "import.enum", "corporation")]
    failed = list(imports.failed_rows(corpus.services, customers.batch))
    assert failed[0] == ["Name", "Kind", "Email", "Employees", "problem"]
    assert [row[:4] for row in failed[1:]] == [
        ["Batch Customer 11", "company", "batch11@@example", "110"],
        ["Batch Customer 31", "corporation", "batch31@example.com", "310"]]
    assert corpus.services.records.count("customer") == 38


def test_quote_lines_as_rows_carrying_the_quote_number(corpus):
    corpus("products_sjis.csv", "product")
    corpus("customers_sjis.csv", "customer")
    corpus("customers_bom.csv", "customer")

    report = corpus("quotes_lines.csv", "quote", key="number")

    assert report.plan.mapping == {
        "Quote number": "number", "Customer": "customer", "Valid until": "valid_until",
        "Product": "lines.product", "Quantity": "lines.quantity",
        "Unit price": "lines.unit_price"}
    assert (counts(report), report.problems) == ((2, 0, 0, 0), [])
    records = corpus.services.records
    first, second = (records.get("quote", q["id"]) for q in records.query("quote", sort="id"))
    assert (first["number"], first["total"], second["number"], second["total"]) == (
        "Q-2026-9001", Decimal("72000.00"), "Q-2026-9002", Decimal("293600.00"))
    assert [(line["quantity"], line["unit_price"]) for line in second["lines"]] == [
        (Decimal("1.00"), Decimal("50000.00")), (Decimal("2.00"), Decimal("120000.00")),
        (Decimal("3.00"), Decimal("1200.00"))]     # the empty price fetched from SKU-001
    again = corpus("quotes_lines.csv", "quote", key="number")
    assert counts(again) == (0, 0, 2, 0)
    customer = second["customer"]
    assert records.create("quote", {"customer": customer})["number"] == "Q-2026-9003"
