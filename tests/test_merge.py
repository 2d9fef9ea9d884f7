"""Merging two records (SPEC §14, issue 13): the survivor takes the chosen values through
the records service, every reference to the other is re-pointed in the same transaction,
the other is soft-deleted as merged and its URL leads to the survivor; rights, conflicts,
rollups and board counters hold — on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from click.testing import CliRunner

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Conflict, Forbidden, Refused
from karte.store.migrate import migrate
from karte.store.timeline import Timeline

ENTITIES = {
    "customer": {
        "label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers"},
        "title_field": "name", "subtitle": ["city"],
        "fields": {"name": {"type": "string", "required": True},
                   "email": {"type": "email", "unique": True},
                   "city": {"type": "string"},
                   "owner": {"type": "user"},
                   "deals": {"type": "rollup", "of": "deal.customer", "agg": "count"},
                   "pipeline": {"type": "rollup", "of": "deal.customer", "agg": "sum",
                                "field": "amount", "result": "money"},
                   "addresses": {"type": "lines", "of": "address", "max": 20},
                   "address_count": {"type": "rollup", "of": "addresses", "agg": "count"}},
        "duplicates": [{"fields": ["name"]}, {"fields": ["email"]}]},
    "address": {"part_of": "customer", "title_field": "street",
                "fields": {"street": {"type": "string", "required": True}}},
    "deal": {"title_field": "title",
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer", "on_delete": "cascade"},
                        "amount": {"type": "money"}}},
    "call": {"title_field": "summary",
             "timeline_item": {"at": "at", "summary": "summary"},
             "fields": {"summary": {"type": "string", "required": True},
                        "at": {"type": "date", "required": True},
                        "customer": {"type": "link", "to": "customer"}}},
    "campaign": {"title_field": "name",
                 "fields": {"name": {"type": "string", "required": True},
                            "customers": {"type": "links", "to": "customer"}}},
}
LIFECYCLE = {"entity": "customer", "field": "status",
             "stages": [{"key": "lead"}, {"key": "client", "final": "won"}]}
ROLES = {"editor": {"*": {"read": "all", "create": True, "update": "all", "delete": False}},
         "mine": {"*": {"read": "all", "create": True, "update": "own", "delete": "own"}}}


@pytest.fixture
def records(engine, make_pack):
    pack = make_pack(ENTITIES, {"lifecycle": LIFECYCLE}, {"name": "t", "roles": ROLES})
    migrate(engine, pack)
    return Records(engine, pack)


def person(records: Records, role: str) -> Actor:
    email = f"{role}@example.com"
    return Actor(add_user(records.engine, records.pack, email, role, name=role.title()),
                 email, name=role.title(), role=role)


@pytest.fixture
def pair(records):
    """Two Acme customers, each with deals, a call, lines, a campaign, a note."""
    keep = records.create("customer", {"name": "Acme", "city": "Osaka",
                                       "addresses": [{"street": "1 Keep St"}]})
    other = records.create("customer", {"name": "ACME ", "email": "buy@acme.example",
                                        "city": "Kyoto",
                                        "addresses": [{"street": "2 Other Rd"},
                                                      {"street": "3 Other Rd"}]})
    for title, owner, amount in [("k1", keep, 100), ("o1", other, 20), ("o2", other, 3)]:
        records.create("deal", {"title": title, "customer": owner["id"], "amount": amount})
    records.create("call", {"summary": "Rang them", "at": "2026-11-30",
                            "customer": other["id"]})
    both = records.create("campaign", {"name": "Both", "customers": [keep["id"], other["id"]]})
    only = records.create("campaign", {"name": "Only", "customers": [other["id"]]})
    Timeline(records).add_note("customer", other["id"], "Met at the fair")
    return {"keep": records.get("customer", keep["id"]),
            "other": records.get("customer", other["id"]), "both": both, "only": only}


def versions(pair) -> tuple[int, int]:
    return pair["keep"]["version"], pair["other"]["version"]


def test_the_preview_counts_every_kind_of_reference(records, pair):
    found = records.merge_preview("customer", pair["keep"]["id"], pair["other"]["id"])
    counts = {(p.kind, p.entity, p.field): p.count for p in found["pointing"]}
    assert counts == {("link", "deal", "customer"): 2, ("timeline", "call", "customer"): 1,
                      ("line", "address", "customer"): 2,
                      ("junction", "campaign", "customers"): 2, ("note", None, None): 1,
                      ("stage_move", None, None): 1}
    assert "email" in {f.name for f in found["fields"]}
    assert "deals" not in {f.name for f in found["fields"]}       # derived: not chosen


def test_a_merge_repoints_everything_and_keeps_totals_right(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    merged = records.merge("customer", keep, other, {"email": "buy@acme.example"},
                           versions=versions(pair))
    assert merged["email"] == "buy@acme.example" and merged["city"] == "Osaka"
    assert merged["deals"] == 3 and merged["pipeline"] == Decimal("123")
    assert merged["address_count"] == 3
    assert [a["street"] for a in merged["addresses"]] == ["1 Keep St", "2 Other Rd",
                                                           "3 Other Rd"]
    deals = records.query("deal", limit=10)
    assert {d["customer"] for d in deals} == {keep}
    [call] = records.query("call")
    assert call["customer"] == keep
    campaigns = {c["name"]: c["customers"] for c in records.query("campaign")}
    assert campaigns == {"Both": [keep], "Only": [keep]}         # no duplicate row
    gone = records.get("customer", other, include_deleted=True)
    assert gone["deleted_at"] is not None
    assert records.merged_into("customer", other) == keep
    notes = Timeline(records).entries("customer", keep, None).entries
    assert any(e.kind == "note" for e in notes)


def test_the_board_counters_and_stage_history_follow(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    records.merge("customer", keep, other, {}, versions=versions(pair))
    totals = records.store.tables["karte_stage_totals"]
    moves = records.store.tables["karte_stage_move"]
    with records.engine.connect() as c:
        lead = c.scalar(sa.select(totals.c.count).where(
            totals.c.entity == "customer", totals.c.stage == "lead", totals.c.measure == ""))
        history = c.scalars(sa.select(moves.c.record_id).where(
            moves.c.entity == "customer")).all()
    assert lead == records.count("customer") == 1
    assert sorted(history) == [keep, keep]


def test_both_histories_say_so_and_repointed_records_are_audited(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    records.merge("customer", keep, other, {}, versions=versions(pair))
    kept = records.history("customer", keep)
    assert kept[0]["action"] == "merge" and kept[0]["changes"]["merged_from"] == [None, other]
    gone = records.history("customer", other)
    assert {"merge", "delete"} <= {h["action"] for h in gone}
    assert next(h for h in gone if h["action"] == "merge")["changes"]["merged_into"] == \
        [None, keep]
    deal = next(d for d in records.query("deal") if d["title"] == "o1")
    assert records.history("deal", deal["id"])[0]["changes"]["customer"] == [other, keep]
    assert deal["version"] == 2


def test_a_stale_version_is_a_conflict_and_nothing_changes(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    records.update("customer", other, {"city": "Nara"}, pair["other"]["version"])
    with pytest.raises(Conflict):
        records.merge("customer", keep, other, {"city": "Kyoto"}, versions=versions(pair))
    assert records.get("customer", other)["city"] == "Nara"
    assert {d["customer"] for d in records.query("deal") if d["title"] != "k1"} == {other}
    assert records.merged_into("customer", other) is None


def test_an_invalid_choice_writes_nothing(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    with pytest.raises(Exception):   # noqa: B017 - ValidationFailed: name is required
        records.merge("customer", keep, other, {"name": ""}, versions=versions(pair))
    assert records.get("customer", other)["deleted_at"] is None
    assert records.get("customer", keep)["deals"] == 1


def test_refused_without_the_rights(records, pair):
    keep, other = pair["keep"]["id"], pair["other"]["id"]
    editor, mine = person(records, "editor"), person(records, "mine")
    with pytest.raises(Forbidden, match="may not delete"):
        records.merge("customer", keep, other, {}, editor)
    with pytest.raises(Forbidden):
        records.merge_preview("customer", keep, other, actor=editor)
    records.update("customer", keep, {"owner": mine.id}, pair["keep"]["version"])
    with pytest.raises(Forbidden, match="own"):      # may update keep, not other
        records.merge("customer", keep, other, {}, mine)
    with pytest.raises(Refused):
        records.merge("customer", keep, keep, {})
    assert records.get("customer", other)["deleted_at"] is None


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"lifecycle": LIFECYCLE}, {"name": "t", "roles": ROLES})


def test_the_merged_cards_url_redirects_to_the_survivor(app):
    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme"})
    other = records.create("customer", {"name": "Acme"})
    records.merge("customer", keep["id"], other["id"], {})
    client = app.client()
    response = client.get(f"/customer/{other['id']}")
    assert response.status_code in (301, 302, 303)
    assert response.headers["Location"].endswith(f"/customer/{keep['id']}")
    page = BeautifulSoup(client.get(response.headers["Location"]).get_data(as_text=True),
                         "html.parser")
    assert "merged" in " ".join(f.get_text() for f in page.select(".flash"))
    history = BeautifulSoup(client.get(f"/customer/{keep['id']}/history").get_data(
        as_text=True), "html.parser").get_text(" ")
    assert "Merged" in history and "Merged from record" in history


def test_the_merge_page_merges_with_the_chosen_values(app):
    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme", "city": "Osaka"})
    other = records.create("customer", {"name": "Acme", "city": "Kyoto",
                                        "email": "a@acme.example"})
    client = app.client()
    url = f"/customer/merge?ids={keep['id']},{other['id']}"
    page = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
    form = page.select_one("form.merge-form")
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    checked = {i["name"]: i["value"] for i in form.select("input[type=radio][checked]")}
    assert checked["take_email"] == "other" and checked["take_city"] == "keep"
    data.update(checked, take_city="other")
    response = client.send(form["action"], data)
    assert response.status_code == 303
    merged = records.get("customer", keep["id"])
    assert (merged["city"], merged["email"]) == ("Kyoto", "a@acme.example")


def test_the_merge_page_shows_a_conflict_and_keeps_the_choice(app):
    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme", "city": "Osaka"})
    other = records.create("customer", {"name": "Acme", "city": "Kyoto"})
    client = app.client()
    url = f"/customer/merge?ids={keep['id']},{other['id']}"
    form = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser").select_one(
        "form.merge-form")
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    records.update("customer", other["id"], {"city": "Nara"}, other["version"])
    response = client.send(form["action"], {**data, "take_city": "other"})
    assert response.status_code == 409
    assert "Nara" in response.get_data(as_text=True)
    assert records.get("customer", other["id"])["deleted_at"] is None


def test_karte_merge_prints_the_preview_and_merges(app, db_url, tmp_path, monkeypatch):
    from karte.cli import main

    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme", "city": "Osaka"})
    other = records.create("customer", {"name": "Acme", "city": "Kyoto"})
    records.create("deal", {"title": "d", "customer": other["id"]})
    pack = records.pack.root
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    runner = CliRunner()
    asked = runner.invoke(main, ["merge", "--pack", str(pack), "customer", str(keep["id"]),
                                 str(other["id"]), "--take", "city=other"], input="n\n")
    assert "1 deal" in asked.output and records.merged_into("customer", other["id"]) is None
    done = runner.invoke(main, ["merge", "--pack", str(pack), "customer", str(keep["id"]),
                                str(other["id"]), "--take", "city=other", "--yes"])
    assert done.exit_code == 0, done.output
    assert records.merged_into("customer", other["id"]) == keep["id"]
    assert records.get("customer", keep["id"])["city"] == "Kyoto"


def test_the_merge_page_refuses_a_role_that_may_not_delete(app):
    records = app.extensions["karte"]["records"]
    keep = records.create("customer", {"name": "Acme"})
    other = records.create("customer", {"name": "Acme"})
    client = app.client("editor")
    response = client.get(f"/customer/merge?ids={keep['id']},{other['id']}")
    assert response.status_code == 403
    assert "may not delete" in response.get_data(as_text=True)
    posted = client.send(f"/customer/merge?ids={keep['id']},{other['id']}",
                         {"keep_version": 1, "other_version": 1})
    assert posted.status_code == 403
    assert records.merged_into("customer", other["id"]) is None
