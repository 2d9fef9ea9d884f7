"""Parts and lines (SPEC §3.5): the meta checks, and the records service writing a parent
with its lines — validation named `lines[N].field`, one transaction, one version bump,
audit on the parent, rights following the parent, conditions and stage `requires`."""

from __future__ import annotations

import copy
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.auth.users import add_user
from karte.cli import main
from karte.meta.conditions import Context, evaluate, parse
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.actor import Actor
from karte.store.db import make_engine
from karte.store.errors import Conflict, NotFound, Refused, ValidationFailed
from karte.store.migrate import migrate, plan
from karte.store.records.lines import describe, lines_of
from karte.workflow.errors import MoveRefused
from karte.workflow.service import Workflows
from tests.conftest import write_pack

PRODUCT = {"name": "product", "fields": {"name": {"type": "string", "required": True},
                                         "price": {"type": "money"}}}
QUOTE = {"name": "quote", "fields": {
    "title": {"type": "string", "required": True},
    "owner": {"type": "user"},
    "lines": {"type": "lines", "of": "quote_line", "max": 5}}}
QUOTE_LINE = {"name": "quote_line", "part_of": "quote", "title_field": "product", "fields": {
    "product": {"type": "link", "to": "product", "required": True},
    "quantity": {"type": "decimal", "required": True, "min": 0},
    "unit_price": {"type": "money"},
    "amount": {"type": "formula", "formula": "quantity * unit_price", "result": "money"}}}
FLOW = {"name": "quote_flow", "entity": "quote", "field": "stage",
        "stages": [{"key": "draft"}, {"key": "sent", "requires": ["lines"]},
                   {"key": "won", "final": "won"}]}


def entities(**changes):
    found = {"product": copy.deepcopy(PRODUCT), "quote": copy.deepcopy(QUOTE),
             "quote_line": copy.deepcopy(QUOTE_LINE)}
    for name, body in changes.items():
        if body is None:
            found.pop(name)
        else:
            found[name] = body
    return found


@pytest.fixture
def service(engine, make_pack):
    pack = make_pack(entities(), {"quote_flow": FLOW},
                     {"name": "t", "roles": {"sales": {"quote": {"read": "own", "create": True,
                                                                 "update": "own"},
                                                       "product": {"read": "all"}}}})
    migrate(engine, pack)
    records = Records(engine, pack)
    records.products = [records.create("product", {"name": n, "price": p})["id"]
                        for n, p in (("Cement", "10"), ("Sand", "2.5"))]
    return records


def quote(service, lines, **values):
    return service.create("quote", {"title": "Q", "lines": lines, **values})


def lines(record):
    return [(line["position"], line["product"], line["quantity"]) for line in record["lines"]]


# ---------------------------------------------------------------- the Registry


def test_the_engine_adds_the_parent_link_and_position_to_a_part(make_pack):
    pack = make_pack(entities())
    part = pack.entity("quote_line")
    link, position = part.fields["quote"], part.fields["position"]
    assert part.part_of == "quote"
    assert (link.type, link.to, link.required, link.on_delete, link.declared) == \
        ("link", "quote", True, "cascade", False)
    assert (position.type, position.declared) == ("integer", False)
    lines_field = pack.entity("quote").fields["lines"]
    assert (lines_field.type, lines_field.of, lines_field.max) == ("lines", "quote_line", 5)
    assert "quote_line.quote" not in pack.entity("quote").card.related   # shown as lines
    assert part.list.columns[:2] == ("product", "quote")   # whose line each row is


def test_the_part_table_has_the_parent_key_and_the_parent_no_lines_column(engine, service):
    inspector = sa.inspect(engine)
    assert "lines" not in {c["name"] for c in inspector.get_columns("quote")}
    assert {"quote", "position"} <= {c["name"] for c in inspector.get_columns("quote_line")}
    [key] = [k for k in inspector.get_foreign_keys("quote_line")
             if k["referred_table"] == "quote"]
    assert key["options"].get("ondelete") == "CASCADE"
    indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("quote_line")}
    assert ("quote", "position") in indexes


def test_a_part_added_to_an_existing_database_is_migrated(engine, make_pack):
    before = make_pack(entities(quote={"name": "quote", "fields": {"title": {"type": "string"}}},
                                quote_line=None))
    migrate(engine, before)
    Records(engine, before).create("quote", {"title": "old"})
    after = make_pack(entities())
    migrate(engine, after)
    service = Records(engine, after)
    product = service.create("product", {"name": "Cement"})["id"]
    [old] = service.query("quote")
    saved = service.update("quote", old["id"], {"lines": [{"product": product, "quantity": 1}]},
                           old["version"])
    assert lines(saved) == [(1, product, Decimal("1.00"))]


def test_a_migrated_pack_with_parts_has_nothing_left_to_do(engine, service):
    assert [step.kind for step in plan(engine, service.pack).steps] == []


def test_an_entity_made_a_part_gets_its_parent_key_and_notes_its_old_rows(engine, make_pack):
    alone = copy.deepcopy(QUOTE_LINE)
    del alone["part_of"]
    alone["fields"]["product"]["required"] = False
    before = make_pack(entities(quote={"name": "quote", "fields": {"title": {"type": "string"}}},
                                quote_line=alone))
    migrate(engine, before)
    Records(engine, before).create("quote_line", {"quantity": 1})
    done = migrate(engine, make_pack(entities()), apply_risky=True)
    assert {"add_column", "add_index"} <= {step.kind for step in done.applied}
    columns = {c["name"] for c in sa.inspect(engine).get_columns("quote_line")}
    assert {"quote", "position"} <= columns
    assert "required_on_empty" in {step.kind for step in done.steps}


# ---------------------------------------------------------------- create, get, update


def test_create_saves_the_lines_in_order_with_formulas(service):
    cement, sand = service.products
    created = quote(service, [{"product": cement, "quantity": "2", "unit_price": "10"},
                              {"product": sand, "quantity": 3}])
    assert lines(created) == [(1, cement, Decimal("2.00")), (2, sand, Decimal("3.00"))]
    assert created["lines"][0]["amount"] == Decimal("20.00")
    assert all(line["quote"] == created["id"] and line["version"] == 1
               for line in created["lines"])
    assert service.get("quote", created["id"])["lines"] == created["lines"]


def test_listing_parents_does_not_load_lines(service):
    quote(service, [{"product": service.products[0], "quantity": 1}])
    assert "lines" not in service.query("quote")[0]


def test_every_line_is_validated_and_problems_name_the_row(service):
    cement, _ = service.products
    with pytest.raises(ValidationFailed) as error:
        quote(service, [{"product": cement, "quantity": 1},
                        {"quantity": "-1", "colour": "red"},
                        {"product": 999999, "quantity": "x"}], title="")
    assert error.value.by_field().keys() == {
        "title", "lines[2].quantity", "lines[2].colour", "lines[2].product",
        "lines[3].quantity", "lines[3].product"}
    assert "at least 0" in error.value.by_field()["lines[2].quantity"][0]
    assert service.query("quote") == []
    with service.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from quote_line")).scalar() == 0


def test_min_and_max_count_the_lines(engine, make_pack):
    body = copy.deepcopy(QUOTE)
    body["fields"]["lines"].update(min=1, max=2)
    pack = make_pack(entities(quote=body))
    migrate(engine, pack)
    service = Records(engine, pack)
    product = service.create("product", {"name": "Cement"})["id"]
    with pytest.raises(ValidationFailed) as error:
        service.create("quote", {"title": "Q"})
    assert error.value.by_field() == {"lines": ["A quote needs at least 1 line (it has 0)."]}
    [problem] = error.value.problems
    assert (problem.code, problem.details) == ("lines_min",
                                               {"thing": "quote", "count": 0, "limit": 1})
    with pytest.raises(ValidationFailed) as error:
        service.create("quote", {"title": "Q", "lines": [{"product": product}] * 3})
    assert "at most 2 lines" in error.value.by_field()["lines"][0]


def test_update_changes_adds_removes_and_reorders_lines_in_one_version(service):
    cement, sand = service.products
    created = quote(service, [{"product": cement, "quantity": 1},
                              {"product": sand, "quantity": 2},
                              {"product": sand, "quantity": 3}])
    first, second, third = created["lines"]
    saved = service.update("quote", created["id"], {"lines": [
        {"id": third["id"], "quantity": 5},
        {"id": first["id"]},
        {"product": cement, "quantity": 7}]}, created["version"])
    assert saved["version"] == created["version"] + 1
    assert lines(saved) == [(1, sand, Decimal("5.00")), (2, cement, Decimal("1.00")),
                            (3, cement, Decimal("7.00"))]
    assert [line["id"] for line in saved["lines"][:2]] == [third["id"], first["id"]]
    assert saved["lines"][0]["version"] == 2
    with service.engine.connect() as conn:
        removed = conn.execute(sa.text("select deleted_at from quote_line where id = :id"),
                               {"id": second["id"]}).scalar()
    assert removed is not None


def test_a_read_record_can_be_posted_back_unchanged(service):
    created = quote(service, [{"product": service.products[0], "quantity": 1}])
    same = service.update("quote", created["id"], {"lines": created["lines"]},
                          created["version"])
    assert same["version"] == created["version"]
    assert len(service.history("quote", created["id"])) == 1


def test_only_a_line_change_bumps_the_parent_and_is_audited_on_it(service):
    cement, sand = service.products
    created = quote(service, [{"product": cement, "quantity": 2},
                              {"product": sand, "quantity": 1}])
    one, two = created["lines"]
    saved = service.update("quote", created["id"], {"lines": [
        {"id": one["id"], "quantity": 5}, {"product": sand, "quantity": 1}]},
        created["version"])
    assert saved["version"] == 2
    entry = service.history("quote", created["id"])[0]
    assert entry["version"] == 2
    assert entry["changes"] == {"lines[1].quantity": ["2.00", "5.00"],
                                "lines[2]": ["product: Sand", "product: Sand"]}
    created_entry = service.history("quote", created["id"])[-1]
    assert created_entry["changes"]["lines[1]"] == [None, "product: Cement"]
    quote_entity, parts = service.pack.entity("quote"), service.pack.entities
    assert describe(quote_entity, parts, "lines[1].quantity", "2.00", "5.00") == \
        "line 1 quantity: 2.00 → 5.00"
    assert describe(quote_entity, parts, "lines[4]", None, "product: Cement") == \
        "line 4 added (product: Cement)"
    assert describe(quote_entity, parts, "lines[2]", "product: Sand", None) == \
        "line 2 removed (product: Sand)"
    assert describe(quote_entity, parts, "title", "a", "b") is None


def test_a_stale_version_writes_no_line(service):
    created = quote(service, [{"product": service.products[0], "quantity": 1}])
    service.update("quote", created["id"], {"title": "new"}, created["version"])
    with pytest.raises(Conflict):
        service.update("quote", created["id"], {"lines": []}, created["version"])
    assert len(service.get("quote", created["id"])["lines"]) == 1
    current = service.get("quote", created["id"])
    service.update("quote", created["id"], {"lines": []}, current["version"])
    with pytest.raises(Conflict) as error:
        service.update("quote", created["id"], {"title": "mine"}, current["version"])
    assert "lines" not in error.value.changed
    assert error.value.by_field()["lines"] == ["Lines were changed meanwhile; there are now 0."]


def test_a_line_of_another_parent_cannot_be_taken(service):
    cement, _ = service.products
    one = quote(service, [{"product": cement, "quantity": 1}])
    two = quote(service, [{"product": cement, "quantity": 1}])
    with pytest.raises(ValidationFailed) as error:
        service.update("quote", two["id"], {"lines": [{"id": one["lines"][0]["id"]}]},
                       two["version"])
    assert list(error.value.by_field()) == ["lines[1].id"]


def test_a_unique_combination_on_the_part_holds_within_each_parent(engine, make_pack):
    part = copy.deepcopy(QUOTE_LINE)
    part["unique"] = [["quote", "product"]]
    pack = make_pack(entities(quote_line=part))
    migrate(engine, pack)
    service = Records(engine, pack)
    cement = service.create("product", {"name": "Cement"})["id"]
    sand = service.create("product", {"name": "Sand"})["id"]
    with pytest.raises(ValidationFailed) as error:
        quote(service, [{"product": cement, "quantity": 1}, {"product": cement, "quantity": 2}])
    assert set(error.value.by_field()) == {"lines[2].product", "lines[2].quote"}
    one = quote(service, [{"product": cement, "quantity": 1}, {"product": sand, "quantity": 2}])
    quote(service, [{"product": cement, "quantity": 1}])        # another quote may
    first, second = one["lines"]
    swapped = service.update("quote", one["id"], {"lines": [
        {"id": second["id"]}, {"product": cement, "quantity": 3}]}, one["version"])
    assert [line["product"] for line in swapped["lines"]] == [sand, cement]
    with pytest.raises(ValidationFailed) as error:
        service.update("quote", one["id"], {"lines": [
            {"id": second["id"]}, {"id": swapped["lines"][1]["id"]},
            {"product": sand, "quantity": 1}]}, swapped["version"])
    assert "lines[3].product" in error.value.by_field()


def test_lines_of_reads_many_parents_in_order(service):
    cement, sand = service.products
    one = quote(service, [{"product": sand, "quantity": 1}, {"product": cement, "quantity": 2}])
    two = quote(service, [])
    with service.engine.connect() as conn:
        found = lines_of(service.store, conn, service.pack.entity("quote"),
                         [one["id"], two["id"]])
    assert [line["product"] for line in found["lines"][one["id"]]] == [sand, cement]
    assert two["id"] not in found["lines"]
    mine = Actor(add_user(service.engine, service.pack, "ann@example.com", "sales"),
                 "ann@example.com", role="sales")
    own = quote(service, [{"product": cement, "quantity": 1}], owner=mine.id)
    seen = service.lines_of("quote", [one["id"], own["id"]], actor=mine)
    assert list(seen["lines"]) == [own["id"]]


# ---------------------------------------------------------------- delete, restore, parts alone


def test_deleting_the_parent_deletes_its_lines_and_restore_brings_them_back(service):
    cement, sand = service.products
    created = quote(service, [{"product": cement, "quantity": 1},
                              {"product": sand, "quantity": 2}])
    saved = service.update("quote", created["id"], {"lines": [
        {"id": created["lines"][0]["id"]}]}, created["version"])       # line 2 removed
    deleted = service.delete("quote", created["id"])
    assert deleted["quote_line"] == [created["lines"][0]["id"]]
    assert service.query("quote_line") == []
    assert [line["id"] for line in service.get("quote", created["id"], include_deleted=True)
            ["lines"]] == [created["lines"][0]["id"]]
    restored = service.restore("quote", created["id"])
    assert [line["id"] for line in restored["lines"]] == [line["id"] for line in saved["lines"]]
    assert len(service.query("quote_line")) == 1


def test_removing_a_parent_for_good_removes_its_lines_by_the_foreign_key(service):
    created = quote(service, [{"product": service.products[0], "quantity": 1}])
    with service.engine.begin() as conn:
        conn.execute(sa.text("delete from quote where id = :id"), {"id": created["id"]})
    with service.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from quote_line")).scalar() == 0


def test_a_part_is_not_written_on_its_own(service):
    created = quote(service, [{"product": service.products[0], "quantity": 1}])
    line = created["lines"][0]
    for attempt in (lambda: service.create("quote_line", {"quote": created["id"]}),
                    lambda: service.create_many("quote_line", [{"quote": created["id"]}]),
                    lambda: service.update("quote_line", line["id"], {"quantity": 2}, 1),
                    lambda: service.delete("quote_line", line["id"]),
                    lambda: service.restore("quote_line", line["id"])):
        with pytest.raises(Refused, match="Quote lines are edited on their quote"):
            attempt()


def test_create_many_writes_parents_with_their_lines(service):
    cement, sand = service.products
    ids = service.create_many("quote", [
        {"title": "a", "lines": [{"product": cement, "quantity": 1}]},
        {"title": "b", "lines": [{"product": sand, "quantity": 2},
                                 {"product": cement, "quantity": 3}]}])
    assert [len(service.get("quote", id)["lines"]) for id in ids] == [1, 2]
    with pytest.raises(ValidationFailed) as error:
        service.create_many("quote", [{"title": "c", "lines": [{"quantity": 1}]}])
    assert list(error.value.by_field()) == ["row 1: lines[1].product"]


# ---------------------------------------------------------------- rights


def test_lines_are_read_as_their_parent_is(service):
    ann = Actor(add_user(service.engine, service.pack, "ann@example.com", "sales"),
                "ann@example.com", role="sales")
    bob = Actor(add_user(service.engine, service.pack, "bob@example.com", "sales"),
                "bob@example.com", role="sales")
    cement, _ = service.products
    mine = service.create("quote", {"title": "ann's", "owner": ann.id,
                                    "lines": [{"product": cement, "quantity": 1}]}, ann)
    quote(service, [{"product": cement, "quantity": 2}], owner=bob.id)
    assert [line["quote"] for line in service.query("quote_line", actor=ann)] == [mine["id"]]
    assert service.count("quote_line", actor=bob) == 1
    assert service.count("quote_line") == 2
    with pytest.raises(NotFound):
        service.get("quote_line", mine["lines"][0]["id"], actor=bob)
    assert service.get("quote_line", mine["lines"][0]["id"], actor=ann)["quantity"] == 1


def test_a_line_may_not_point_at_a_record_the_actor_cannot_read(engine, make_pack):
    pack = make_pack(entities(), pack={"name": "t", "roles": {"sales": {
        "quote": {"read": "all", "create": True, "update": "all"},
        "product": {"read": "own"}}}})
    migrate(engine, pack)
    service = Records(engine, pack)
    hidden = service.create("product", {"name": "Secret"})["id"]
    ann = Actor(add_user(engine, pack, "ann@example.com", "sales"), "ann@example.com",
                role="sales")
    with pytest.raises(ValidationFailed) as error:
        service.create("quote", {"title": "Q", "lines": [{"product": hidden, "quantity": 1}]},
                       ann)
    assert list(error.value.by_field()) == ["lines[1].product"]


# ---------------------------------------------------------------- conditions and requires


def test_lines_in_conditions_agree_in_python_and_sql(service):
    cement, _ = service.products
    full = quote(service, [{"product": cement, "quantity": 1}])
    empty = quote(service, [])
    gone = quote(service, [{"product": cement, "quantity": 1}])
    service.update("quote", gone["id"], {"lines": []}, gone["version"])
    for op, expected in (("empty", {empty["id"], gone["id"]}), ("not_empty", {full["id"]})):
        where = {"field": "lines", "op": op}
        assert {r["id"] for r in service.query("quote", where)} == expected
        condition, problems = parse(where, service.pack.entity("quote"), service.pack.entities,
                                    "test", "")
        assert problems == []
        judged = {id for id in (full["id"], empty["id"], gone["id"])
                  if evaluate(condition, service.get("quote", id), Context.current(None),
                                   lambda *_: None)}
        assert judged == expected


def test_a_stage_that_requires_lines_refuses_a_quote_without_them(service):
    flows = Workflows(service)
    empty = quote(service, [])
    with pytest.raises(MoveRefused):
        flows.move("quote", empty["id"], "sent")
    full = quote(service, [{"product": service.products[0], "quantity": 1}])
    listed = {r["id"]: r for r in service.query("quote")}      # rows of a list: no lines
    assert flows.can_move("quote", listed[full["id"]], "sent") == []
    assert flows.can_move("quote", listed[empty["id"]], "sent") != []
    moved = flows.move("quote", full["id"], "sent")
    assert moved["stage"] == "sent"
    with pytest.raises(ValidationFailed) as error:
        service.update("quote", full["id"], {"lines": []}, moved["version"])
    assert "while the quote is in Sent" in error.value.by_field()["lines"][0]


# ---------------------------------------------------------------- karte demo


def _demo(tmp_path, db_url, name, quote_body):
    root = write_pack(tmp_path / name, entities(quote=quote_body), {"quote_flow": FLOW},
                      {"name": "mini", "roles": {"sales": {"*": {"read": "all"}}}})
    result = CliRunner().invoke(main, ["demo", "--pack", str(root), "--seed", "3",
                                       "--size", "80"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    try:
        service = Records(engine, load_pack(root))
        found = {q["id"]: (q["stage"], len(service.get("quote", q["id"])["lines"]))
                 for q in service.query("quote", limit=500)}
        line = service.query("quote_line", limit=1)[0]
        assert service.get("product", line["product"])["name"]
        return found
    finally:
        engine.dispose()


def test_demo_gives_parents_lines_within_their_limits(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    body = copy.deepcopy(QUOTE)
    body["fields"]["lines"].update(min=2, max=3)
    first = _demo(tmp_path, db_url, "min", body)
    counts = [count for _, count in first.values()]
    assert counts and min(counts) >= 2 and max(counts) <= 3
    again = _demo(tmp_path, db_url, "requires", copy.deepcopy(QUOTE))   # same database
    staged = [found for id, found in again.items() if id not in first]
    assert {count for stage, count in staged if stage == "draft"} == {0}
    assert all(1 <= count <= 5 for stage, count in staged if stage != "draft")
    assert {stage for stage, _ in staged} > {"draft"}


def test_a_line_gets_defaults_and_its_own_conditions(engine, make_pack):
    part = copy.deepcopy(QUOTE_LINE)
    part["fields"].update({
        "unit": {"type": "enum", "options": ["bag", "tonne"], "default": "bag"},
        "note": {"type": "string", "required_if": {"field": "unit", "op": "=",
                                                   "value": "tonne"}},
        "checked": {"type": "boolean", "read_only": True}})
    pack = make_pack(entities(quote_line=part))
    migrate(engine, pack)
    service = Records(engine, pack)
    cement = service.create("product", {"name": "Cement"})["id"]
    with pytest.raises(ValidationFailed) as error:
        quote(service, [{"product": cement, "quantity": 1},
                        {"product": cement, "quantity": 1, "unit": "tonne"},
                        {"product": cement, "quantity": 1, "checked": True}])
    assert set(error.value.by_field()) == {"lines[2].note", "lines[3].checked"}
    saved = quote(service, [{"product": cement, "quantity": 1}])
    assert saved["lines"][0]["unit"] == "bag"


def test_random_edits_keep_lines_in_order_and_the_version_in_step(service):
    """A seeded sequence of edits (change, add, remove, reorder): after each, the stored
    lines are the list sent, positions run 1..n, and the version rose by one exactly when
    something changed."""
    rng = random.Random(10)
    cement, sand = service.products
    record = quote(service, [{"product": cement, "quantity": 1}])
    for _ in range(25):
        sent = [{"id": line["id"], "quantity": line["quantity"]} for line in record["lines"]]
        rng.shuffle(sent)
        if sent and rng.random() < 0.3:
            sent.pop(rng.randrange(len(sent)))
        if sent and rng.random() < 0.5:
            sent[rng.randrange(len(sent))]["quantity"] = Decimal(rng.randint(1, 9))
        while len(sent) < 5 and rng.random() < 0.4:
            sent.insert(rng.randint(0, len(sent)),
                        {"product": rng.choice([cement, sand]),
                         "quantity": Decimal(rng.randint(1, 9))})
        before = [(line["id"], line["quantity"]) for line in record["lines"]]
        saved = service.update("quote", record["id"], {"lines": sent}, record["version"])
        after = [(line["id"], line["quantity"]) for line in saved["lines"]]
        assert [line["position"] for line in saved["lines"]] == list(range(1, len(sent) + 1))
        assert [q for _, q in after] == [line["quantity"] for line in sent]
        assert [i for i, _ in after if i in {s.get("id") for s in sent}] == \
            [s["id"] for s in sent if s.get("id")]
        assert saved["version"] == record["version"] + (after != before)
        assert saved == service.get("quote", record["id"])
        record = saved
