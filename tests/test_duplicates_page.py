"""`/<entity>/duplicates` (SPEC §14, issue 13): the groups each duplicate rule finds across
the table, in SQL on keys normalised alike on both databases (NFKC, case, spaces), only
among live records the user may read, a page of groups at a time."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from karte.store import duplicate_keys
from karte.store.records import duplicate_groups

ENTITIES = {
    "customer": {
        "label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers"},
        "title_field": "name", "subtitle": ["city"],
        "fields": {"name": {"type": "string", "required": True},
                   "email": {"type": "email"},
                   "phone": {"type": "phone"},
                   "city": {"type": "string"},
                   "owner": {"type": "user"}},
        "duplicates": [{"fields": ["name"]}, {"fields": ["phone"]},
                       {"fields": ["name", "city"]}]},
    "product": {"title_field": "name", "fields": {"name": {"type": "string"}}},
}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": "own"}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, None, {"name": "t", "roles": ROLES, "country": "JP"})


@pytest.fixture
def records(app):
    return app.extensions["karte"]["records"]


def add(records, *names, **values):
    return [records.create("customer", {"name": name, **values})["id"] for name in names]


def groups(records, rule=0, **kw):
    found = records.duplicate_groups("customer", rule, **kw)
    return [sorted(r["id"] for r in g["records"]) for g in found["groups"]]


def test_text_keys_ignore_full_width_case_and_spaces():
    assert duplicate_keys.text_key("ＡＣＭＥ　Ltd") == duplicate_keys.text_key("acme ltd") \
        == duplicate_keys.text_key(" AcmeLtd") == "acmeltd"
    assert duplicate_keys.text_key("ｶﾌﾞｼｷｶﾞｲｼｬ") == duplicate_keys.text_key("カブシキガイシャ")
    assert duplicate_keys.text_key("   ") is None
    assert duplicate_keys.phone_key("０３-1234 (5678)") == "0312345678"


def test_the_database_groups_full_width_case_and_spaces_together(records):
    acme = add(records, "Acme Ltd", "ＡＣＭＥ　ＬＴＤ", "acmeltd", "  acme  ltd ")
    add(records, "Acme Limited", "Beta")
    kana = add(records, "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ", "カブシキガイシャ テスト")
    assert groups(records) == [sorted(acme), sorted(kana)]
    found = records.duplicate_groups("customer", 0)
    assert [g["count"] for g in found["groups"]] == [4, 2]
    assert found["groups"][0]["key"] == ("acmeltd",)


def test_each_rule_finds_its_own_groups(records):
    same_phone = [records.create("customer", {"name": n, "phone": p, "city": c})["id"]
                  for n, p, c in [("A", "03-1234-5678", "Osaka"),
                                  ("B", "0312345678", "Osaka"), ("A", None, "Kyoto")]]
    assert groups(records, 1) == [same_phone[:2]]
    assert groups(records, 0) == [[same_phone[0], same_phone[2]]]
    assert groups(records, 2) == []       # same name, other city


def test_deleted_records_and_records_the_user_cannot_read_are_left_out(app, records):
    rep = app.user("rep")
    mine = add(records, "Acme", "Acme", owner=rep)
    add(records, "Acme")                          # not the rep's
    gone = add(records, "Beta", "Beta")
    records.delete("customer", gone[0])
    assert groups(records) == [sorted(mine + [mine[-1] + 1])]
    page = BeautifulSoup(app.client("rep").get("/customer/duplicates").get_data(as_text=True),
                         "html.parser")
    shown = [int(box["value"]) for box in page.select(".dup-group input[name=ids]")]
    assert sorted(shown) == sorted(mine)
    assert "Beta" not in page.get_text()


def test_groups_are_paged(app, records, monkeypatch):
    for index in range(5):
        add(records, f"name {index}", f"NAME {index}")
    assert len(groups(records, limit=2, offset=0)) == 2
    assert records.duplicate_groups("customer", 0, limit=2, offset=4)["more"] is False
    monkeypatch.setattr("karte.web.duplicates.GROUPS_PER_PAGE", 2)
    client = app.client()
    first = BeautifulSoup(client.get("/customer/duplicates").get_data(as_text=True),
                          "html.parser")
    last = BeautifulSoup(client.get("/customer/duplicates?page=3").get_data(as_text=True),
                         "html.parser")
    assert len(first.select(".dup-group")) == 2 and first.select_one(".dup-pager a")
    assert len(last.select(".dup-group")) == 1
    assert [a.get_text() for a in last.select(".dup-pager a")] == ["Previous"]
    fragment = client.get("/customer/duplicates?page=2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert len(BeautifulSoup(fragment.get_data(as_text=True), "html.parser").select(
        ".dup-group")) == 2


def test_a_big_group_shows_its_first_members_and_the_count(records):
    add(records, *["Same"] * (duplicate_groups.MEMBERS + 3))
    [group] = records.duplicate_groups("customer", 0)["groups"]
    assert group["count"] == duplicate_groups.MEMBERS + 3
    assert len(group["records"]) == duplicate_groups.MEMBERS


def test_the_page_opens_the_merge_page_for_the_ticked_two(app, records):
    ids = add(records, "Acme", "ACME", "acme")
    client = app.client()
    listing = BeautifulSoup(client.get("/customer/").get_data(as_text=True), "html.parser")
    link = next(a for a in listing.select("a") if a.get_text(strip=True) == "Duplicates")
    page = BeautifulSoup(client.get(link["href"]).get_data(as_text=True), "html.parser")
    [form] = page.select("form.dup-group")
    ticked = [box["value"] for box in form.select("input[name=ids][checked]")]
    assert len(ticked) == 2
    response = client.get(form["action"], query_string=[("ids", i) for i in ticked])
    assert response.status_code == 200
    assert "Merge two Customers" in response.get_data(as_text=True)
    assert {int(i) for i in ticked} <= set(ids)


def test_an_entity_without_rules_has_no_link_and_says_so(app):
    client = app.client()
    listing = BeautifulSoup(client.get("/product/").get_data(as_text=True), "html.parser")
    assert not [a for a in listing.select("a") if a.get_text(strip=True) == "Duplicates"]
    page = client.get("/product/duplicates").get_data(as_text=True)
    assert "no duplicate rules" in page


def test_each_rule_has_an_index_the_migration_leaves_alone(app, records):
    engine = app.extensions["karte"]["engine"]
    names = {ix.name for ix in duplicate_keys.indexes(records.pack, engine.dialect.name)}
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            found = set(c.scalars(sa.text("SELECT name FROM sqlite_master WHERE type='index'")))
        else:
            found = set(c.scalars(sa.text("SELECT indexname FROM pg_indexes "
                                          "WHERE schemaname = current_schema()")))
    assert len(names) == 3 and names <= found
    from karte.store.migrate import plan
    assert not plan(engine, records.pack).steps


def test_a_type_change_of_a_rule_field_keeps_its_index(engine, make_pack):
    from karte.store import Records
    from karte.store.migrate import migrate

    def pack(kind: str):
        return make_pack({"item": {"title_field": "code", "fields": {"code": {"type": kind}},
                                   "duplicates": [{"fields": ["code"]}]}})

    migrate(engine, pack("string"))
    Records(engine, pack("string")).create_many("item", [{"code": c} for c in "1 1 2".split()])
    typed = pack("integer")
    done = migrate(engine, typed, apply_risky=True)
    assert not done.blocking
    records = Records(engine, typed)
    assert [g["key"] for g in records.duplicate_groups("item", 0)["groups"]] == [(1,)]
    [index] = duplicate_keys.indexes(typed, engine.dialect.name)
    with engine.connect() as c:
        names = {ix["name"] for ix in sa.inspect(c).get_indexes("item")} \
            if engine.dialect.name == "postgresql" else set(c.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'index'")))
    assert index.name in names


def test_the_save_time_warning_compares_by_the_same_keys(records):
    [acme] = add(records, "Acme Ltd", phone="03-1234-5678")
    assert [m["record"]["id"] for m in records.duplicates("customer",
                                                          {"name": "ＡＣＭＥ　ＬＴＤ"})] == [acme]
    assert [m["rule"] for m in records.duplicates("customer", {"phone": "0312345678"})] == \
        [["phone"]]
    assert records.duplicates("customer", {"name": "Acme Limited"}) == []
