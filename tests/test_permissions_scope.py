"""What "own" means, and how rights meet links, duplicates and delete rules (SPEC §3.4).

The pack: a `lead` is owned by its `owner` user field, a `card` by whoever created it;
reps read every lead but only their own cards, and may change only their own.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Forbidden, NotFound, Refused, ValidationFailed
from karte.store.migrate import migrate
from karte.workflow import Workflows

ENTITIES = {
    "lead": {"name": "lead", "plural": "Leads", "fields": {
        "name": {"type": "string"}, "email": {"type": "email"}, "owner": {"type": "user"}},
        "duplicates": [{"fields": ["email"]}]},
    "card": {"name": "card", "plural": "Cards", "fields": {
        "name": {"type": "string"}, "email": {"type": "email"},
        "lead": {"type": "link", "to": "lead", "on_delete": "cascade"}},
        "duplicates": [{"fields": ["email"]}]},
    "visit": {"name": "visit", "fields": {
        "card": {"type": "link", "to": "card", "on_delete": "restrict"},
        "cards": {"type": "links", "to": "card"},
        "lead": {"type": "link", "to": "lead", "on_delete": "set_null"}}},
}
ROLES = {"rep": {"*": {"read": "all", "create": True, "update": "own", "delete": "own"},
                 "card": {"read": "own"}}}


@pytest.fixture
def records(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, None, {"roles": ROLES})
    migrate(engine, pack)
    return Records(engine, pack)


def rep(records: Records, name: str) -> Actor:
    email = f"{name}@example.com"
    return Actor(add_user(records.engine, records.pack, email, "rep"), email, role="rep")


def field_error(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as error:
        call()
    return error.value.by_field()


# ---------------------------------------------------------------- own: owner field or creator

def test_own_follows_the_owner_field_not_the_creator(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    handed = records.create("lead", {"name": "Handed to Bob", "owner": bob.id}, ann)

    with pytest.raises(Forbidden):
        records.update("lead", handed["id"], {"name": "x"}, handed["version"], ann)
    assert records.update("lead", handed["id"], {"name": "Bob's"}, handed["version"],
                          bob)["name"] == "Bob's"


def test_a_lead_without_an_owner_is_nobodys_even_for_its_creator(records):
    ann = rep(records, "ann")
    orphan = records.create("lead", {"name": "Orphan", "owner": None}, ann)

    with pytest.raises(Forbidden):
        records.delete("lead", orphan["id"], ann)


def test_without_an_owner_field_own_is_what_the_actor_created(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    anns = records.create("card", {"name": "Ann's"}, ann)
    bobs = records.create("card", {"name": "Bob's"}, bob)

    assert [c["name"] for c in records.query("card", actor=ann)] == ["Ann's"]
    assert records.update("card", anns["id"], {"name": "Mine"}, 1, ann)["name"] == "Mine"
    with pytest.raises(NotFound):
        records.update("card", bobs["id"], {"name": "Mine"}, 1, ann)


def test_own_is_judged_on_the_record_as_stored_not_on_the_values_sent(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    bobs = records.create("lead", {"name": "Bob's", "owner": bob.id}, bob)
    anns = records.create("lead", {"name": "Ann's", "owner": ann.id}, ann)

    with pytest.raises(Forbidden):
        records.update("lead", bobs["id"], {"owner": ann.id}, bobs["version"], ann)
    given = records.update("lead", anns["id"], {"owner": bob.id}, anns["version"], ann)
    with pytest.raises(Forbidden):
        records.update("lead", anns["id"], {"owner": ann.id}, given["version"], ann)
    assert records.get("lead", anns["id"])["owner"] == bob.id


# ---------------------------------------------------------------- links and duplicates

def test_linking_a_record_one_may_not_read_reads_like_linking_a_missing_one(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    hidden = records.create("card", {"name": "Bob's"}, bob)

    unreadable = field_error(lambda: records.create("visit", {
        "card": hidden["id"], "cards": [hidden["id"]]}, ann))
    records.delete("card", hidden["id"])
    missing = field_error(lambda: records.create("visit", {
        "card": hidden["id"], "cards": [hidden["id"]]}, ann))

    assert unreadable == missing == {
        "card": [f"There is no card with id {hidden['id']} (it may have been deleted)."],
        "cards": [f"There is no card with id {hidden['id']} (it may have been deleted)."]}


def test_an_update_may_not_link_what_the_actor_cannot_read(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    hidden, own = (records.create("card", {"name": n}, who) for n, who in
                   (("Bob's", bob), ("Ann's", ann)))
    visit = records.create("visit", {"card": own["id"]}, ann)

    assert "card" in field_error(lambda: records.update("visit", visit["id"], {
        "card": hidden["id"]}, visit["version"], ann))
    assert records.update("visit", visit["id"], {"card": hidden["id"]},
                          visit["version"])["card"] == hidden["id"]


def test_duplicates_do_not_reveal_records_the_actor_cannot_read(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    records.create("card", {"name": "Bob's", "email": "x@example.com"}, bob)

    assert records.duplicates("card", {"email": "X@example.com"}, actor=ann) == []
    assert len(records.duplicates("card", {"email": "X@example.com"}, actor=bob)) == 1
    assert len(records.duplicates("card", {"email": "X@example.com"})) == 1


# ---------------------------------------------------------------- delete rules

def test_a_cascade_deletes_children_the_actor_could_not_delete_or_read(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    lead = records.create("lead", {"name": "Ann's", "owner": ann.id}, ann)
    card = records.create("card", {"name": "Bob's", "lead": lead["id"]}, bob)
    visit = records.create("visit", {"lead": lead["id"]}, bob)

    assert records.delete("lead", lead["id"], ann) == {"lead": [lead["id"]],
                                                        "card": [card["id"]]}
    assert records.get("card", card["id"], include_deleted=True)["deleted_at"] is not None
    assert records.get("visit", visit["id"])["lead"] is None


def test_a_restrict_refusal_counts_hidden_blockers_without_naming_them(records):
    ann, bob = rep(records, "ann"), rep(records, "bob")
    card = records.create("card", {"name": "Ann's"}, ann)
    records.create("visit", {"card": card["id"]})

    with pytest.raises(Refused) as error:
        records.delete("card", card["id"], ann)

    assert [p.message for p in error.value.problems] == [
        "1 visit still points at this card; delete or move them first."]
    with pytest.raises(NotFound):
        records.delete("card", card["id"], bob)


def test_stage_history_of_an_unreadable_record_is_not_found(engine, make_pack):
    flow = {"name": "card_flow", "entity": "card", "field": "stage",
            "stages": [{"key": "new"}, {"key": "done", "final": "won"}]}
    pack = make_pack(ENTITIES, {"card_flow": flow}, {"roles": ROLES})
    migrate(engine, pack)
    flows = Workflows(Records(engine, pack))
    ann, bob = rep(flows.records, "ann"), rep(flows.records, "bob")
    card = flows.records.create("card", {"name": "Ann's"}, ann)

    assert len(flows.history("card", card["id"], actor=ann)) == 1
    with pytest.raises(NotFound):
        flows.history("card", card["id"], actor=bob)
    with pytest.raises(NotFound):
        flows.move("card", card["id"], "done", bob)
    assert flows.move("card", card["id"], "done", ann)["stage"] == "done"


def test_a_refusal_speaks_the_actors_language(make_pack):
    from karte.store.actor import Actor
    from karte.store.permissions import forbidden

    pack = make_pack({"deal": {"label": {"en": "Deal", "ja": "商談"}, "plural": "Deals",
                               "fields": {"title": {"type": "string"}}}})
    deal = pack.entities["deal"]
    english = forbidden(deal, Actor(1, "a@example.com", role="viewer"), "create")
    japanese = forbidden(deal, Actor(1, "a@example.com", role="viewer", locale="ja"), "update",
                         own=True)
    assert english.problems[0].message == "Your role (viewer) may not create deals."
    assert japanese.problems[0].message == "ロール（viewer）は自分の商談のみ変更できます。"


def test_allows_judges_own_on_the_record_in_hand(make_pack):
    from karte.store.actor import Actor
    from karte.store.permissions import allows
    from karte.store.records.store import Store

    pack = make_pack({"note": {"fields": {"title": {"type": "string"},
                                          "owner": {"type": "user"}}}},
                     pack={"roles": {"clerk": {"*": {"read": "all", "update": "own",
                                                     "delete": False}}}})
    # an engine that is never connected: the record in hand is all `allows` reads
    store, note = Store(sa.create_engine("sqlite://"), pack), pack.entities["note"]
    clerk = Actor(7, "c@example.com", role="clerk")
    assert allows(store, note, clerk, "update", {"owner": 7})
    assert not allows(store, note, clerk, "update", {"owner": 8, "created_by": 7})
    assert not allows(store, note, clerk, "delete", {"owner": 7})
    assert allows(store, note, None, "delete", {"owner": 8}), "the system may do anything"
