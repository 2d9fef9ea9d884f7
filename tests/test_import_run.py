"""The import engine (SPEC §14): rows created and upserted through the records service,
links resolved by id, unique field and title, users by email, options by label, lines as
rows carrying the parent's key, series numbers kept, duplicates reported, role scopes and
stage rules applied — on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user, get_user
from karte.store import Records
from karte.store.migrate import migrate
from karte.transfer import imports
from karte.transfer.imports import Plan
from karte.transfer.read import open_sheet
from karte.workflow.service import Workflows

ENTITIES = {
    "customer": {"name": "customer", "title_field": "name", "fields": {
        "name": {"type": "string", "required": True},
        "code": {"type": "string", "unique": True},
        "email": {"type": "email"},
        "city": {"type": "string"},
        "since": {"type": "date"},
        "tier": {"type": "enum", "options": [
            {"key": "gold", "label": {"en": "Gold", "ja": "ゴールド"}},
            {"key": "silver", "label": {"en": "Silver", "ja": "シルバー"}}]},
        "owner": {"type": "user"}},
        "duplicates": [{"fields": ["email"]}, {"fields": ["name", "city"]}]},
    "deal": {"name": "deal", "title_field": "title", "fields": {
        "title": {"type": "string", "required": True},
        "customer": {"type": "link", "to": "customer", "required": True},
        "partners": {"type": "links", "to": "customer"},
        "amount": {"type": "money"},
        "lost_reason": {"type": "text"}}},
    "product": {"name": "product", "title_field": "name", "fields": {
        "name": {"type": "string", "required": True, "unique": True}}},
    "quote": {"name": "quote", "title_field": "title", "fields": {
        "title": {"type": "string", "required": True, "unique": True},
        "number": {"type": "string", "series": "Q-{####}"},
        "lines": {"type": "lines", "of": "quote_line"}}},
    "quote_line": {"name": "quote_line", "part_of": "quote", "title_field": "product",
                   "fields": {"product": {"type": "link", "to": "product", "required": True},
                              "quantity": {"type": "decimal", "required": True, "min": 0}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "offer"},
                       {"key": "won", "final": "won"},
                       {"key": "lost", "final": "lost", "requires": ["lost_reason"]}]}
PACK = {"name": "t", "timezone": "Asia/Tokyo", "roles": {
    "sales": {"*": {"read": "all", "create": True, "update": "own", "delete": False},
              "customer": {"read": "all", "create": True, "update": "own", "delete": False,
                           "read_only": ["code"]}}}}


@pytest.fixture
def services(engine, make_pack) -> Workflows:
    pack = make_pack(ENTITIES, {"pipeline": PIPELINE}, PACK)
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


@pytest.fixture
def admin(services):
    records = services.records
    return get_user(records.engine, add_user(records.engine, services.pack,
                                             "boss@example.com", "admin", name="Boss"))


def sheet(tmp_path: Path, text: str, name: str = "file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return open_sheet(path)


def plan(entity: str, columns: str, **options) -> Plan:
    mapping = {}
    for pair in columns.split(","):
        column, _, field = pair.partition("=")
        mapping[column] = field or column
    return Plan(entity, mapping, **options)


def all_of(services, entity: str, sort: str = "id") -> list[dict]:
    return services.records.query(entity, sort=sort, limit=1000)


# ---------------------------------------------------------------- create

def test_rows_are_created_with_values_read_as_people_write_them(services, admin, tmp_path):
    file = sheet(tmp_path, "Name,Mail,Tier,Since,Owner\n"
                           "Lyons Ltd,INFO@LYONS.EXAMPLE,Gold,2026/11/30,boss@example.com\n"
                           "Tanaka Shoji,tanaka@example.jp,シルバー,2026年1月5日,\n")
    report = imports.run(services, file, plan("customer", "Name=name,Mail=email,Tier=tier,"
                                                          "Since=since,Owner=owner"), admin)

    assert (report.state, report.created, report.failed, report.problems) == \
        ("done", 2, 0, [])
    lyons, tanaka = all_of(services, "customer")
    assert (lyons["email"], lyons["tier"], str(lyons["since"]), lyons["owner"]) == \
        ("info@lyons.example", "gold", "2026-11-30", admin.id)
    assert (tanaka["tier"], str(tanaka["since"]), tanaka["owner"]) == \
        ("silver", "2026-01-05", None)
    history = services.records.history("customer", lyons["id"])
    assert history[0]["action"] == "create" and history[0]["user_id"] == admin.id


def test_failed_rows_name_line_column_and_value_and_good_rows_are_imported(
        services, admin, tmp_path):
    file = sheet(tmp_path, "Name,Since,Owner\n"
                           "Good One,2026-01-01,\n"
                           ",2026-01-02,\n"
                           "Bad Date,someday,\n"
                           "\n"
                           "Ghost Owner,,nobody@example.com\n"
                           "Good Two,,\n")
    report = imports.run(services, file, plan("customer", "Name=name,Since=since,Owner=owner"),
                         admin)

    assert (report.created, report.failed) == (2, 3)
    said = [(p.line, p.column, p.value) for p in report.problems]
    assert said == [(3, "Name", ""), (4, "Since", "someday"),
                    (6, "Owner", "nobody@example.com")]
    assert [p.code for p in report.problems] == ["record.required", "import.date",
                                                 "import.user"]
    assert str(report.problems[1]).startswith('line 4, column "Since": Cannot read "someday"')
    assert [c["name"] for c in all_of(services, "customer")] == ["Good One", "Good Two"]
    rows = list(imports.failed_rows(services, report.batch))
    assert rows[0] == ["Name", "Since", "Owner", "problem"]
    assert [r[:3] for r in rows[1:]] == [["", "2026-01-02", ""], ["Bad Date", "someday", ""],
                                         ["Ghost Owner", "", "nobody@example.com"]]
    assert rows[2][3].startswith('column "Since": Cannot read "someday"')


# ---------------------------------------------------------------- upsert

def test_a_key_updates_matching_records_counts_unchanged_ones_and_creates_the_rest(
        services, admin, tmp_path):
    records = services.records
    first = records.create("customer", {"name": "Lyons", "code": "C-1", "city": "Leeds"})
    records.create("customer", {"name": "Tanaka", "code": "C-2", "city": "Osaka"})
    file = sheet(tmp_path, "code,name,city\nC-1,Lyons,York\nC-2,Tanaka,Osaka\nC-3,Mori,Kobe\n")

    report = imports.run(services, file, plan("customer", "code,name,city", key="code"), admin)

    assert (report.created, report.updated, report.unchanged, report.failed) == (1, 1, 1, 0)
    assert [(c["code"], c["city"], c["version"]) for c in all_of(services, "customer")] == \
        [("C-1", "York", 2), ("C-2", "Osaka", 1), ("C-3", "Kobe", 1)]
    assert records.history("customer", first["id"])[0]["changes"]["city"] == ["Leeds", "York"]
    again = imports.run(services, sheet(tmp_path, file.path.read_text(), "again.csv"),
                        plan("customer", "code,name,city", key="code"), admin)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_matching_by_id_updates_and_an_unknown_id_is_a_row_problem(services, admin, tmp_path):
    made = services.records.create("customer", {"name": "Lyons"})
    file = sheet(tmp_path, f"ID,Name\n{made['id']},Lyons Ltd\n#999,Nobody\n,New One\n")

    report = imports.run(services, file, plan("customer", "ID=id,Name=name"), admin)

    assert (report.updated, report.created, report.failed) == (1, 1, 1)
    assert report.problems[0].line == 3 and report.problems[0].column == "ID"
    assert services.records.get("customer", made["id"])["name"] == "Lyons Ltd"


def test_a_key_that_is_not_unique_is_a_plan_problem_and_nothing_is_imported(
        services, admin, tmp_path):
    file = sheet(tmp_path, "name,city\nLyons,York\n")

    report = imports.run(services, file, plan("customer", "name,city", key="city"), admin)

    assert report.state == "failed" and report.created == 0
    assert [(p.line, p.code) for p in report.problems] == [(0, "import.plan.key")]
    assert imports.report(services, report.batch).state == "failed"
    assert all_of(services, "customer") == []


# ---------------------------------------------------------------- links

def test_links_resolve_by_id_unique_field_and_title_and_ambiguous_titles_name_candidates(
        services, admin, tmp_path):
    records = services.records
    lyons = records.create("customer", {"name": "Lyons Ltd", "code": "C-1"})
    mori = records.create("customer", {"name": "Mori", "code": "C-2"})
    one = records.create("customer", {"name": "Tanaka", "city": "Osaka"})
    two = records.create("customer", {"name": "Tanaka", "city": "Kobe"})
    file = sheet(tmp_path, "title,customer,partners\n"
                           f"By id,#{lyons['id']},\n"
                           "By code,C-2,lyons ltd; C-1\n"
                           "By title,LYONS LTD,\n"
                           "Ambiguous,Tanaka,\n"
                           "Nothing,Lyon,\n")

    report = imports.run(services, file, plan("deal", "title,customer,partners"), admin)

    assert (report.created, report.failed) == (3, 2)
    deals = all_of(services, "deal")
    assert [(d["title"], d["customer"], d["partners"]) for d in deals] == [
        ("By id", lyons["id"], []), ("By code", mori["id"], [lyons["id"]]),
        ("By title", lyons["id"], [])]
    ambiguous, nothing = report.problems
    assert (ambiguous.line, ambiguous.column, ambiguous.code) == (5, "customer",
                                                                   "import.ambiguous")
    assert ambiguous.message == (f'"Tanaka" matches 2 customers: #{one["id"]} Tanaka, '
                                 f'#{two["id"]} Tanaka — use the id.')
    assert nothing.code == "import.link" and f"did you mean #{lyons['id']} Lyons Ltd" in \
        nothing.message


# ---------------------------------------------------------------- lines, series

def test_lines_are_rows_carrying_the_parents_key(services, admin, tmp_path):
    records = services.records
    cement = records.create("product", {"name": "Cement"})
    sand = records.create("product", {"name": "Sand"})
    file = sheet(tmp_path, "Quote,Product,Qty\n"
                           "Harbour,Cement,2\nHarbour,Sand,1.5\n"
                           "Bridge,Sand,3\n"
                           "Broken,Cement,-1\nBroken,Sand,1\n")

    report = imports.run(services, file, plan("quote", "Quote=title,Product=lines.product,"
                                                       "Qty=lines.quantity", key="title"),
                         admin)

    assert (report.created, report.failed) == (2, 1)
    harbour = records.get("quote", all_of(services, "quote")[0]["id"])
    assert [(line["product"], line["quantity"]) for line in harbour["lines"]] == [
        (cement["id"], Decimal("2")), (sand["id"], Decimal("1.5"))]
    [problem] = report.problems
    assert (problem.line, problem.column, problem.field) == (5, "Qty", "quantity")
    rows = list(imports.failed_rows(services, report.batch))
    assert [r[:3] for r in rows[1:]] == [["Broken", "Cement", "-1"], ["Broken", "Sand", "1"]]


def test_a_stored_records_lines_are_updated_by_position_and_a_revert_gives_them_back(
        services, admin, tmp_path):
    records = services.records
    records.create("product", {"name": "Cement"})
    records.create("product", {"name": "Sand"})
    lines_plan = plan("quote", "Quote=title,Product=lines.product,Qty=lines.quantity",
                      key="title")
    imports.run(services, sheet(tmp_path, "Quote,Product,Qty\nHarbour,Cement,2\n"
                                          "Harbour,Sand,1\n"), lines_plan, admin)
    [quote] = all_of(services, "quote")

    report = imports.run(services, sheet(tmp_path, "Quote,Product,Qty\nHarbour,Cement,5\n",
                                         "fewer.csv"), lines_plan, admin)

    assert (report.updated, report.unchanged) == (1, 0)
    changed = records.get("quote", quote["id"])
    assert [line["quantity"] for line in changed["lines"]] == [Decimal("5")]
    imports.revert(services, report.batch, admin)
    restored = records.get("quote", quote["id"])
    assert [(line["quantity"], line["position"]) for line in restored["lines"]] == [
        (Decimal("2"), 1), (Decimal("1"), 2)]


def test_series_numbers_in_the_file_are_kept_and_the_counter_moves_past_them(
        services, admin, tmp_path):
    file = sheet(tmp_path, "title,number\nOld,Q-0042\nNew,\n")

    report = imports.run(services, file, plan("quote", "title,number"), admin)

    assert report.created == 2
    assert [q["number"] for q in all_of(services, "quote")] == ["Q-0042", "Q-0043"]
    assert services.records.create("quote", {"title": "Next"})["number"] == "Q-0044"


# ---------------------------------------------------------------- duplicates

def test_duplicates_within_the_file_and_against_stored_records_are_reported_not_merged(
        services, admin, tmp_path):
    stored = services.records.create("customer", {"name": "Lyons", "email": "a@example.com"})
    file = sheet(tmp_path, "name,email,city\n"
                           "Mori,A@Example.com,\n"
                           "Tanaka,t@example.com,Osaka\n"
                           "tanaka ,,Osaka\n")

    report = imports.run(services, file, plan("customer", "name,email,city"), admin)

    assert report.created == 3
    found = [(d.line, d.rule, d.lines, [r["id"] for r in d.records]) for d in report.duplicates]
    assert found == [(2, ["email"], [], [stored["id"]]), (4, ["name", "city"], [3], [])]
    assert imports.report(services, report.batch).duplicates[1].lines == [3]


# ---------------------------------------------------------------- rights, stages

def test_role_scopes_refuse_rows_the_actor_may_not_update_and_fields_they_may_not_set(
        services, tmp_path):
    engine = services.records.engine
    sales = get_user(engine, add_user(engine, services.pack, "s@example.com", "sales"))
    theirs = services.records.create("customer", {"name": "Others", "code": "C-1"})
    mine = services.records.create("customer", {"name": "Mine", "owner": sales.id,
                                                "code": "C-2"})

    file = sheet(tmp_path, "id,city\n" f"{theirs['id']},York\n{mine['id']},Leeds\n")
    report = imports.run(services, file, plan("customer", "id,city"), sales)

    assert (report.updated, report.failed) == (1, 1)
    assert report.problems[0].line == 2 and report.problems[0].code == "record.forbidden"
    assert "may only update your own customers" in report.problems[0].message
    code_file = sheet(tmp_path, "name,code\nNew,C-9\n", "codes.csv")
    refused = imports.run(services, code_file, plan("customer", "name,code"), sales)
    assert [(p.code, p.column) for p in refused.problems] == [("import.plan.forbidden",
                                                               "code")]
    assert services.records.count("customer") == 2


def test_a_stage_column_needs_allow_moves_and_then_moves_through_the_workflow(
        services, admin, tmp_path):
    customer = services.records.create("customer", {"name": "Lyons"})
    deal = services.records.create("deal", {"title": "Old", "customer": customer["id"]})
    text = f"id,title,customer,stage\n{deal['id']},Old,{customer['id']},won\n" \
           f",New,{customer['id']},offer\n,Lost one,{customer['id']},lost\n"

    refused = imports.run(services, sheet(tmp_path, text), plan("deal", "id,title,customer,"
                                                                        "stage"), admin)
    assert [p.code for p in refused.problems] == ["import.plan.stage"]

    report = imports.run(services, sheet(tmp_path, text, "again.csv"),
                         plan("deal", "id,title,customer,stage", allow_moves=True), admin)

    assert (report.updated, report.created, report.failed) == (1, 1, 1)
    assert [(d["title"], d["stage"]) for d in all_of(services, "deal")] == [
        ("Old", "won"), ("New", "offer")]
    assert services.history("deal", deal["id"])[0]["to_stage"] == "won"
    assert report.problems[0].line == 4


# ---------------------------------------------------------------- dry run

def test_a_dry_run_writes_nothing_and_previews_rows_as_they_would_be_stored(
        services, admin, tmp_path):
    file = sheet(tmp_path, "Name,Tier,Owner\nLyons,Gold,boss@example.com\nBad,Bronze,\n")

    report = imports.dry_run(services, file, plan("customer", "Name=name,Tier=tier,"
                                                              "Owner=owner"), admin)

    assert (report.dry_run, report.state, report.created, report.failed) == \
        (True, "planned", 1, 1)
    assert report.problems[0].code == "import.enum" and report.problems[0].line == 3
    [row] = report.preview
    assert (row["name"], row["tier"], row["owner"]) == ("Lyons", "Gold", "boss@example.com")
    assert services.records.count("customer") == 0
    assert imports.remembered_mapping(services, "customer") == {}
    imports.run(services, file, plan("customer", "Name=name,Tier=tier,Owner=owner"), admin)
    assert imports.remembered_mapping(services, "customer") == {
        "Name": "name", "Tier": "tier", "Owner": "owner"}


# ---------------------------------------------------------------- storage, service

def test_an_existing_database_gains_the_batch_tables(services, admin, tmp_path):
    engine = services.records.engine
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE karte_import_item"))
        conn.execute(sa.text("DROP TABLE karte_import"))

    steps = migrate(engine, services.pack).applied

    assert {s.table for s in steps if s.kind == "add_table"} == {"karte_import",
                                                                  "karte_import_item"}
    report = imports.run(services, sheet(tmp_path, "name\nLyons\n"),
                         plan("customer", "name"), admin)
    assert report.created == 1


def test_create_each_creates_the_good_rows_and_returns_the_problems_of_the_others(services):
    records = services.records
    seen: dict = {}
    ids, refused = records.create_each("customer", [
        {"name": "A", "code": "C-1"}, {"name": ""}, {"name": "B", "code": "C-1"},
        {"name": "C"}], seen=seen)

    assert ids[0] is not None and ids[1:3] == [None, None] and ids[3] is not None
    assert {i: [p.where for p in found] for i, found in refused.items()} == {
        1: ["name"], 2: ["code"]}
    assert [c["name"] for c in all_of(services, "customer")] == ["A", "C"]
    later, clash = records.create_each("customer", [{"name": "D", "code": "C-1"}], seen=seen)
    assert later == [None] and clash[0][0].code == "unique"


def test_a_dry_run_tries_chunk_by_chunk_and_still_sees_the_whole_file(
        services, admin, tmp_path, monkeypatch):
    from karte.transfer import import_run

    monkeypatch.setattr(import_run, "CHUNK", 2)
    file = sheet(tmp_path, "name,code\n,C-0\nA,C-1\nB,C-1\nC,C-2\n")

    report = imports.dry_run(services, file, plan("customer", "name,code"), admin)

    assert (report.created, report.failed) == (2, 2)
    assert [(p.line, p.column, p.code) for p in report.problems] == [
        (2, "name", "record.required"), (4, "code", "record.unique")]
    assert [row["name"] for row in report.preview] == ["A", "C"]
    assert services.records.count("customer") == 0


@pytest.mark.parametrize("address", [
    "a@example.com", "Ab.C+d@Exa-mple.co.jp", "o'neil@example.ie", "x{y}|z~@a.b.example",
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@localhost", "a@b.test",
    "a@-x.com", "a@x_y.com", "a@x.123", "a@123.com", "a b@example.com", "a@b@example.com",
    "\"quoted\"@example.com", "ünï@example.com", "a@bücher.example", "@example.com", "a@",
    "x" * 65 + "@example.com", "a@" + "b" * 64 + ".com", "a@" + ("b" * 60 + ".") * 4 + "com"])
def test_email_addresses_are_checked_as_email_validator_checks_them(address):
    """Imports check each address's domain once (karte.fields._valid_domain): the outcome
    must be the library's for every address."""
    import email_validator

    from karte.fields import normalise
    from karte.meta.model import Field, Text

    try:
        expected = email_validator.validate_email(address, check_deliverability=False)
        wanted: object = expected.normalized.lower()
    except email_validator.EmailNotValidError:
        wanted = ValueError
    field = Field("email", "email", Text({"en": "Email"}))
    try:
        got: object = normalise(field, address)
    except ValueError:
        got = ValueError
    assert got == wanted
