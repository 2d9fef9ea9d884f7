"""Migrations (SPEC §6.3): safe steps applied, risky ones planned with a dry run, nothing lost.

Every test runs on SQLite, and on PostgreSQL when KARTE_TEST_DATABASE_URL is set. Rows are
written with plain SQLAlchemy Core, as an older version of the pack would have left them.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from karte.store.migrate import history, migrate, plan, purge

NOW = dt.datetime(2024, 5, 1, 9, 30)


def entity(name: str, fields: dict, **more) -> dict:
    return {"name": name, "fields": fields, **more}


def deal(**fields) -> dict:
    return {"deal": entity("deal", {"title": {"type": "string"}, **fields})}


def insert(engine, table: str, *rows: dict) -> list[int]:
    """Rows as a previous version of the pack would have stored them."""
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    ids = []
    with engine.begin() as conn:
        for row in rows:
            values = {"created_at": NOW, "updated_at": NOW, **row}
            ids.append(conn.execute(target.insert().values(values)).inserted_primary_key[0])
    return ids


def read(engine, table: str, column: str, key: str = "id") -> dict[int, object]:
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(target.c[key], target.c[column]).order_by(target.c[key]))
        return dict(rows.all())


def columns(engine, table: str) -> dict[str, sa.types.TypeEngine]:
    return {c["name"]: c["type"] for c in sa.inspect(engine).get_columns(table)}


def kinds(result) -> list[tuple[str, str | None]]:
    return [(s.kind, s.column) for s in result.steps]


EVERY_TYPE = {
    "customer": entity("customer", {
        "name": {"type": "string", "required": True, "unique": True, "max_length": 120},
        "notes": {"type": "text"},
        "employees": {"type": "integer", "index": True},
        "revenue": {"type": "decimal", "precision": 14, "scale": 3},
        "budget": {"type": "money"},
        "share": {"type": "percent"},
        "active": {"type": "boolean"},
        "since": {"type": "date"},
        "seen_at": {"type": "datetime"},
        "email": {"type": "email", "unique": True},
        "phone": {"type": "phone"},
        "site": {"type": "url"},
        "segment": {"type": "enum", "options": ["small", "large"]},
        "tags": {"type": "multi_enum", "options": ["vip", "new"]},
        "parent": {"type": "link", "to": "customer", "on_delete": "set_null"},
        "main_contact": {"type": "link", "to": "contact", "on_delete": "set_null"},
        "owner": {"type": "user"},
        "score": {"type": "formula", "formula": "budget * 2"},
        "logo": {"type": "file"},
    }),
    "contact": entity("contact", {
        "name": {"type": "string"},
        "customer": {"type": "link", "to": "customer", "on_delete": "cascade"},
        "colleagues": {"type": "links", "to": "contact"},
    }),
}


def test_empty_database_gets_every_table_and_a_second_run_finds_nothing(engine, make_pack):
    pack = make_pack(EVERY_TYPE)
    before = plan(engine, pack)
    assert sa.inspect(engine).get_table_names() == []  # planning changes nothing
    assert {s.table for s in before.steps if s.kind == "add_table"} == {
        "customer", "contact", "contact__colleagues", "karte_user", "karte_audit",
        "karte_stage_move", "karte_schema_history", "karte_note", "karte_session",
        "karte_series", "karte_stage_totals", "karte_list_view", "karte_merge",
        "karte_import", "karte_import_item", "karte_api_token"}
    assert not before.risky and not before.blocking

    done = migrate(engine, pack)

    assert done.applied == done.steps
    assert set(sa.inspect(engine).get_table_names()) >= {"customer", "contact__colleagues"}
    assert plan(engine, pack).steps == ()
    assert migrate(engine, pack).steps == ()
    assert len(history(engine)) == 1


def test_partial_unique_index_ignores_soft_deleted_rows(engine, make_pack):
    pack = make_pack(deal(code={"type": "string", "unique": True}))
    migrate(engine, pack)
    insert(engine, "deal", {"code": "A", "deleted_at": NOW}, {"code": "A"})
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, "deal", {"code": "A"})


def test_new_field_is_added_with_existing_rows_intact(engine, make_pack):
    migrate(engine, make_pack(deal()))
    ids = insert(engine, "deal", {"title": "Roof repair"}, {"title": "Solar panels"})

    result = migrate(engine, make_pack(deal(amount={"type": "money"})))

    assert ("add_column", "amount") in kinds(result) and not result.blocking
    titles = ["Roof repair", "Solar panels"]
    assert read(engine, "deal", "title") == dict(zip(ids, titles, strict=True))
    assert read(engine, "deal", "amount") == dict.fromkeys(ids)


def test_renamed_field_keeps_its_data(engine, make_pack):
    migrate(engine, make_pack(deal(notes={"type": "text", "index": True})))
    ids = insert(engine, "deal", {"title": "A", "notes": "call back monday"})
    renamed = make_pack(deal(remarks={"type": "text", "index": True, "renamed_from": "notes"}))

    planned = plan(engine, renamed)
    assert ("rename_column", "remarks") in kinds(planned)
    assert not {"retire_column", "add_column"} & {s.kind for s in planned.steps}
    migrate(engine, renamed)

    assert read(engine, "deal", "remarks") == {ids[0]: "call back monday"}
    assert "notes" not in columns(engine, "deal")
    assert plan(engine, renamed).steps == ()


def test_renamed_links_field_keeps_its_junction_rows(engine, make_pack):
    tags = {"tag": entity("tag", {"name": {"type": "string"}})}
    migrate(engine, make_pack({**tags, **deal(labels={"type": "links", "to": "tag"})}))
    deal_id, = insert(engine, "deal", {"title": "A"})
    tag_id, = insert(engine, "tag", {"name": "hot"})
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO deal__labels (source_id, target_id) VALUES (:s, :t)"),
                     {"s": deal_id, "t": tag_id})
    renamed = make_pack({**tags, **deal(tags={"type": "links", "to": "tag",
                                              "renamed_from": "labels"})})

    migrate(engine, renamed)

    assert read(engine, "deal__tags", "target_id", key="source_id") == {deal_id: tag_id}
    assert plan(engine, renamed).steps == ()


def test_removed_field_is_kept_and_reported_as_retired(engine, make_pack):
    migrate(engine, make_pack(deal(legacy_code={"type": "string", "index": True})))
    ids = insert(engine, "deal", {"title": "A", "legacy_code": "X-1"})

    result = migrate(engine, make_pack(deal()))

    retired = [s for s in result.steps if s.kind == "retire_column"]
    assert [(s.column, s.detail["values"]) for s in retired] == [("legacy_code", 1)]
    assert read(engine, "deal", "legacy_code") == {ids[0]: "X-1"}
    again = plan(engine, make_pack(deal()))
    assert [s.kind for s in again.steps] == ["retire_column"] and not again.changes
    assert "karte migrate --purge deal.legacy_code" in again.render()


def test_removed_entity_keeps_its_table(engine, make_pack):
    migrate(engine, make_pack({**deal(), "lead": entity("lead", {"name": {"type": "string"}})}))
    insert(engine, "lead", {"name": "Ms Ito"})

    result = migrate(engine, make_pack(deal()))

    assert [(s.kind, s.table, s.detail) for s in result.notes] == [
        ("retire_table", "lead", {"rows": 1})]
    assert read(engine, "lead", "name") == {1: "Ms Ito"}


def test_wider_string_is_applied_automatically(engine, make_pack):
    migrate(engine, make_pack(deal(code={"type": "string", "max_length": 10, "unique": True})))
    ids = insert(engine, "deal", {"title": "A", "code": "ABC"})
    wider = make_pack(deal(code={"type": "string", "max_length": 80, "unique": True}))

    result = migrate(engine, wider)

    assert kinds(result) == [("widen_column", "code")] and result.applied == result.steps
    assert columns(engine, "deal")["code"].length == 80
    assert read(engine, "deal", "code") == {ids[0]: "ABC"}
    assert plan(engine, wider).steps == ()


def test_narrower_string_is_risky_and_counts_values_too_long(engine, make_pack):
    migrate(engine, make_pack(deal()))
    ids = insert(engine, "deal", {"title": "short"}, {"title": "x" * 30}, {"title": "y" * 25})
    narrow = make_pack({"deal": entity("deal", {"title": {"type": "string", "max_length": 20}})})

    planned = plan(engine, narrow)
    step, = planned.risky
    assert (step.kind, step.detail["rows"], step.detail["would_not_convert"]) == (
        "change_type", 3, 2)
    assert step.detail["examples"] == ids[1:] and planned.refused == (step,)

    refused = migrate(engine, narrow, apply_risky=True)
    assert refused.blocking and columns(engine, "deal")["title"].length == 255

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE deal SET title = 'trimmed' WHERE id <> :id"), {"id": ids[0]})
    assert not migrate(engine, narrow, apply_risky=True).blocking
    assert columns(engine, "deal")["title"].length == 20


def test_string_to_integer_waits_for_apply_and_refuses_to_lose_data(engine, make_pack):
    migrate(engine, make_pack(deal(seats={"type": "string"})))
    ids = insert(engine, "deal", *({"title": t, "seats": s} for t, s in
                                   (("a", "12"), ("b", " 1,200 "), ("c", None), ("d", "many"))))
    typed = make_pack(deal(seats={"type": "integer"}))

    step, = plan(engine, typed).risky
    assert (step.kind, step.detail["rows"], step.detail["would_not_convert"],
            step.detail["examples"]) == ("change_type", 3, 1, [ids[3]])

    assert migrate(engine, typed).applied == ()
    refused = migrate(engine, typed, apply_risky=True)
    assert refused.blocking and refused.status(refused.risky[0]) == "refused"
    assert read(engine, "deal", "seats")[ids[3]] == "many"

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE deal SET seats = '3' WHERE id = :id"), {"id": ids[3]})
    waiting = migrate(engine, typed)  # convertible now, but waits for --apply
    assert waiting.blocking and waiting.status(waiting.risky[0]) == "waiting"
    assert columns(engine, "deal")["seats"].python_type is str
    done = migrate(engine, typed, apply_risky=True)

    assert not done.blocking and done.applied == done.steps
    assert read(engine, "deal", "seats") == dict(zip(ids, [12, 1200, None, 3], strict=True))
    assert columns(engine, "deal")["seats"].python_type is int
    assert plan(engine, typed).steps == ()


@pytest.mark.parametrize(("before", "after", "stored", "converted"), [
    ({"type": "string"}, {"type": "decimal"}, "12.5", Decimal("12.50")),
    ({"type": "string"}, {"type": "date"}, "2024-02-29", dt.date(2024, 2, 29)),
    ({"type": "integer"}, {"type": "string"}, 42, "42"),
    ({"type": "string"}, {"type": "boolean"}, "yes", True),
])
def test_type_changes_convert_like_user_input(engine, make_pack, before, after, stored,
                                              converted):
    migrate(engine, make_pack(deal(value=before, code={"type": "string", "unique": True})))
    ids = insert(engine, "deal", {"title": "A", "value": stored, "code": "K"})
    changed = make_pack(deal(value=after, code={"type": "string", "unique": True}))

    migrate(engine, changed, apply_risky=True)

    assert read(engine, "deal", "value") == {ids[0]: converted}
    assert read(engine, "deal", "code") == {ids[0]: "K"}
    assert plan(engine, changed).steps == ()


def test_required_field_with_empty_rows_is_reported_not_altered(engine, make_pack):
    migrate(engine, make_pack(deal(phone={"type": "phone"})))
    ids = insert(engine, "deal", {"title": "A", "phone": "+81312345678"}, {"title": "B"},
                 {"title": "C", "phone": "  "}, {"title": "D", "deleted_at": NOW})
    required = make_pack(deal(phone={"type": "phone", "required": True}))

    result = migrate(engine, required)

    assert [(s.kind, s.column, s.detail["count"]) for s in result.steps] == [
        ("required_on_empty", "phone", 2)]
    [note] = result.steps
    assert note.detail["examples"] == [ids[1], ids[2]]  # listed for clean-up
    assert f"ids {ids[1]}, {ids[2]};" in note.description
    assert not result.blocking  # a report alters no row; the definition change is recorded
    first, second = history(engine)
    assert [op["description"] for op in second.operations] == [
        "+ /entities/deal/fields/phone/required: true"]
    assert second.summary == "definitions changed (1 change): entity deal"


def test_new_link_field_references_an_existing_table(engine, make_pack):
    customer = {"customer": entity("customer", {"name": {"type": "string"}})}
    migrate(engine, make_pack({**customer, **deal()}))
    customer_id, = insert(engine, "customer", {"name": "Ito Farms"})

    migrate(engine, make_pack({**customer, **deal(customer={"type": "link", "to": "customer"})}))

    keys = sa.inspect(engine).get_foreign_keys("deal")
    assert {(k["constrained_columns"][0], k["referred_table"]) for k in keys} >= {
        ("customer", "customer")}
    insert(engine, "deal", {"title": "A", "customer": customer_id})
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, "deal", {"title": "B", "customer": customer_id + 100})


def test_new_entities_linking_each_other_are_created_together(engine, make_pack):
    migrate(engine, make_pack(deal()))
    pack = make_pack({
        **deal(customer={"type": "link", "to": "customer"}),
        "customer": entity("customer", {"name": {"type": "string"},
                                        "main_contact": {"type": "link", "to": "contact"}}),
        "contact": entity("contact", {"name": {"type": "string"},
                                      "customer": {"type": "link", "to": "customer"}}),
    })

    migrate(engine, pack)

    assert {"customer", "contact"} <= set(sa.inspect(engine).get_table_names())
    assert plan(engine, pack).steps == ()


def test_new_links_field_creates_its_junction_table(engine, make_pack):
    tags = {"tag": entity("tag", {"name": {"type": "string"}})}
    migrate(engine, make_pack({**tags, **deal()}))

    result = migrate(engine, make_pack({**tags, **deal(tags={"type": "links", "to": "tag"})}))

    assert ("add_table", None) in kinds(result)
    keys = sa.inspect(engine).get_foreign_keys("deal__tags")
    assert sorted(k["referred_table"] for k in keys) == ["deal", "tag"]


def test_unique_on_duplicated_values_is_refused_with_examples(engine, make_pack):
    migrate(engine, make_pack(deal(code={"type": "string"})))
    ids = insert(engine, "deal", {"title": "A", "code": "X"}, {"title": "B", "code": "X"},
                 {"title": "C", "code": "Y"})

    result = migrate(engine, make_pack(deal(code={"type": "string", "unique": True})),
                     apply_risky=True)

    step, = result.refused
    assert (step.kind, step.detail["duplicated"], step.detail["examples"]) == (
        "add_index", 1, ids[:2])
    assert result.blocking


def test_history_records_each_migration_that_changed_something(engine, make_pack):
    migrate(engine, make_pack(deal()))
    migrate(engine, make_pack(deal()))
    migrate(engine, make_pack(deal(amount={"type": "money", "required": True})))

    first, second = history(engine)

    assert first.id < second.id and first.applied_at <= second.applied_at
    assert first.applied_at.tzinfo is not None
    assert {"kind": "add_column", "table": "deal", "column": "amount"}.items() <= \
        second.operations[0].items()
    # a list column gets its sort index with it (store/tables.py, sort_fields)
    assert second.summary.startswith("add_column deal.amount, add_index deal.amount, id")
    fields = second.definitions["entities"]["deal"]["fields"]
    assert fields["amount"] == {"type": "money", "required": True, "currency": "USD"}


def test_purge_backs_up_a_retired_column_then_drops_it(engine, make_pack, tmp_path):
    migrate(engine, make_pack(deal(old_ref={"type": "link", "to": "deal"},
                                   legacy={"type": "multi_enum", "options": ["a", "b"]})))
    ids = insert(engine, "deal", {"title": "A", "legacy": ["a", "b"]}, {"title": "B"})
    insert(engine, "deal", {"title": "C", "old_ref": ids[0]})
    current = make_pack(deal())
    migrate(engine, current)
    assert [s.kind for s in plan(engine, current).steps] == ["retire_column"] * 2

    paths = purge(engine, current, ["deal.legacy", "deal.old_ref"], tmp_path / "instance")

    with paths[0].open(encoding="utf-8", newline="") as saved:
        assert list(csv.reader(saved)) == [["id", "legacy"], [str(ids[0]), '["a", "b"]']]
    assert paths[0].parent == tmp_path / "instance" / "backups"
    assert not {"legacy", "old_ref"} & set(columns(engine, "deal"))
    assert read(engine, "deal", "title") == {ids[0]: "A", ids[1]: "B", ids[1] + 1: "C"}
    assert plan(engine, current).steps == ()
    assert history(engine)[-1].operations[0]["kind"] == "purge_column"


def test_purge_refuses_columns_that_are_not_retired(engine, make_pack, tmp_path):
    pack = make_pack(deal())
    migrate(engine, pack)

    with pytest.raises(ValueError) as refused:
        purge(engine, pack, ["deal.title", "deal.nothing", "deal.id", "ghost.x", "title"],
              tmp_path)

    message = str(refused.value)
    for ref in ("deal.title", "deal.nothing", "deal.id", "ghost.x", "title"):
        assert f"  {ref}:" in message
    assert "title" in columns(engine, "deal") and not (tmp_path / "backups").exists()


def test_render_marks_what_runs_when(engine, make_pack):
    migrate(engine, make_pack(deal(seats={"type": "string"}, rank={"type": "string"},
                                   gone={"type": "text"})))
    insert(engine, "deal", {"title": "A", "seats": "many", "rank": "1"},
           {"title": "B", "seats": "2", "rank": "2"})
    changed = make_pack(deal(seats={"type": "integer"}, rank={"type": "integer"},
                             size={"type": "integer"}))

    lines = plan(engine, changed).render().splitlines()

    def line(kind: str, column: str) -> str:
        return next(t for t in lines if kind in t and f"deal.{column}" in t)

    assert line("add_column", "size").endswith("[applied automatically]")
    assert line("change_type", "rank").endswith("[waits for --apply]")
    assert "1 of 2 rows would not convert" in line("change_type", "seats")
    assert line("change_type", "seats").endswith("[refused: data would be lost]")
    assert line("retire_column", "gone").endswith("[reported only]")
    assert "`karte migrate --apply`" in lines[-3]


def test_changed_on_delete_replaces_the_foreign_key(engine, make_pack):
    customer = {"customer": entity("customer", {"name": {"type": "string"}})}
    migrate(engine, make_pack({**customer, **deal(customer={"type": "link", "to": "customer"})}))
    customer_id, = insert(engine, "customer", {"name": "Ito Farms"})
    insert(engine, "deal", {"title": "A", "customer": customer_id})
    cascade = make_pack({**customer, **deal(customer={"type": "link", "to": "customer",
                                                      "on_delete": "cascade"})})

    result = migrate(engine, cascade)

    assert [s.kind for s in result.steps] == ["drop_foreign_key", "add_foreign_key"]
    key, = (k for k in sa.inspect(engine).get_foreign_keys("deal")
            if k["constrained_columns"] == ["customer"])
    assert key["options"]["ondelete"] == "CASCADE"
    assert plan(engine, cascade).steps == ()


def test_link_to_another_entity_is_refused_while_ids_do_not_resolve(engine, make_pack):
    others = {"customer": entity("customer", {"name": {"type": "string"}}),
              "partner": entity("partner", {"name": {"type": "string"}})}
    migrate(engine, make_pack({**others, **deal(org={"type": "link", "to": "customer"})}))
    customer_id, = insert(engine, "customer", {"name": "Ito Farms"})
    deal_id, = insert(engine, "deal", {"title": "A", "org": customer_id})

    result = migrate(engine, make_pack({**others, **deal(org={"type": "link", "to": "partner"})}))

    step, = result.refused
    assert (step.kind, step.detail["orphans"], step.detail["examples"]) == (
        "add_foreign_key", 1, [deal_id])


def test_copying_a_table_keeps_the_rows_that_reference_it(engine, make_pack):
    def pack(code_type: str):
        return make_pack({
            "customer": entity("customer", {
                "name": {"type": "string", "unique": True}, "code": {"type": code_type},
                "parent": {"type": "link", "to": "customer", "on_delete": "cascade"}}),
            "contact": entity("contact", {
                "name": {"type": "string"},
                "customer": {"type": "link", "to": "customer", "on_delete": "cascade"}}),
        })
    migrate(engine, pack("string"))
    parent, = insert(engine, "customer", {"name": "Ito", "code": "7"})
    child, = insert(engine, "customer", {"name": "Ito West", "code": "8", "parent": parent})
    contacts = insert(engine, "contact", {"name": "Ms Ito", "customer": parent},
                      {"name": "Mr Ito", "customer": child})

    migrate(engine, pack("integer"), apply_risky=True)

    assert read(engine, "customer", "code") == {parent: 7, child: 8}
    assert read(engine, "customer", "parent") == {parent: None, child: parent}
    assert read(engine, "contact", "customer") == dict(zip(contacts, [parent, child],
                                                           strict=True))
    assert plan(engine, pack("integer")).steps == ()


def test_a_failing_migration_changes_nothing(engine, make_pack, monkeypatch):
    from karte.store.migrate import types as migrate_types

    migrate(engine, make_pack(deal(seats={"type": "string"})))
    insert(engine, "deal", {"title": "A", "seats": "3"})

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrate_types, "_copy_converted", broken)
    changed = make_pack({**deal(seats={"type": "integer"}, extra={"type": "text"}),
                         "lead": entity("lead", {"name": {"type": "string"}})})
    with pytest.raises(RuntimeError):
        migrate(engine, changed, apply_risky=True)

    assert "lead" not in sa.inspect(engine).get_table_names()
    assert set(columns(engine, "deal")) >= {"seats"} and "extra" not in columns(engine, "deal")
    assert not [c for c in columns(engine, "deal") if c.endswith("__karte_new")]
    assert read(engine, "deal", "seats") == {1: "3"} and len(history(engine)) == 1


def test_longest_names_fit_postgresql_identifiers(engine, make_pack):
    name, field = "e" * 40, "f" * 40
    pack = make_pack({name: entity(name, {
        field: {"type": "string", "unique": True},
        "g" * 21: {"type": "links", "to": name},  # junction name: 63 characters
    })})

    migrate(engine, pack)

    assert plan(engine, pack).steps == ()


def test_new_index_and_new_enum_option(engine, make_pack):
    def titled(**fields) -> dict:      # `size` is no list column: no sort index of its own
        return {"deal": entity("deal", {"title": {"type": "string"}, **fields},
                               list={"columns": ["title"]})}
    migrate(engine, make_pack(titled(source={"type": "enum", "options": ["web"]},
                                     size={"type": "decimal", "precision": 10, "scale": 2})))
    insert(engine, "deal", {"title": "A", "source": "web", "size": Decimal("12.00")})
    changed = make_pack(titled(source={"type": "enum", "options": ["web", "event"]},
                               size={"type": "integer", "index": True}))

    result = migrate(engine, changed, apply_risky=True)

    assert kinds(result) == [("change_type", "size"), ("add_index", "size")]
    assert read(engine, "deal", "size") == {1: 12}
    assert plan(engine, changed).steps == ()


def test_numbers_become_a_formula_field_with_their_values(engine, make_pack):
    migrate(engine, make_pack(deal(price={"type": "money"}, margin={"type": "integer"})))
    insert(engine, "deal", {"title": "A", "price": Decimal("10.00"), "margin": 3})
    formula = make_pack(deal(price={"type": "money"},
                             margin={"type": "formula", "formula": "price * 2"}))

    migrate(engine, formula, apply_risky=True)

    assert read(engine, "deal", "margin") == {1: Decimal("3.0000")}


def test_a_changed_formula_result_is_a_planned_type_change(engine, make_pack):
    migrate(engine, make_pack(deal(price={"type": "money"},
                                   share={"type": "formula", "formula": "price / 4"})))
    insert(engine, "deal", {"title": "A", "price": Decimal("12.00"), "share": Decimal("3")})
    typed = make_pack(deal(price={"type": "money"},
                           share={"type": "formula", "formula": "price / 4",
                                  "result": "integer"}))

    assert kinds(plan(engine, typed)) == [("change_type", "share")]
    migrate(engine, typed, apply_risky=True)

    assert isinstance(columns(engine, "deal")["share"], sa.BigInteger)
    assert read(engine, "deal", "share") == {1: 3}
    assert plan(engine, typed).steps == ()
