"""Stages and options removed while records hold them (SPEC §4, §6.3): never a silent loss.

A removed stage or option is found in the rows and the plan is refused with the count per
value until `retired` maps it; `--apply` then rewrites the rows (stage changes as system
moves, every change audited); a stage's `renamed_from` renames rows and stage history.
"""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from karte.cli import main
from karte.store.migrate import history, migrate
from tests.conftest import write_pack

STAGES = [{"key": "new"}, {"key": "returned"}, {"key": "preparing"},
          {"key": "done", "final": "won"}]
ENTITIES = {"shipment": {"fields": {
    "title": {"type": "string"},
    "kind": {"type": "enum", "options": ["road", "sea", "air"]},
    "tags": {"type": "multi_enum", "options": ["fragile", "cold", "urgent"]},
    "eta": {"type": "date"}}}}


def flow(stages=STAGES, **more) -> dict:
    return {"shipping": {"entity": "shipment", "field": "stage", "stages": stages, **more}}


def without(key: str, **changes) -> list[dict]:
    return [{**s, **changes.get(s["key"], {})} for s in STAGES if s["key"] != key]


def seeded(make_pack, engine):
    """Three shipments: two in "returned", one in "new"; kinds and tags of every sort."""
    from karte.store import Records
    from karte.workflow.service import Workflows

    pack = make_pack(ENTITIES, flow())
    migrate(engine, pack)
    records = Records(engine, pack)
    moves = Workflows(records)
    made = [records.create("shipment", {"title": t, "kind": k, "tags": tags})
            for t, k, tags in (("A", "sea", ["cold", "fragile"]), ("B", "air", ["cold"]),
                               ("C", "road", []))]
    for shipment in made[:2]:
        moves.move("shipment", shipment["id"], "returned")
    return [m["id"] for m in made]


def rows(engine, *columns):
    table = sa.Table("shipment", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        found = conn.execute(sa.select(table.c.id, *(table.c[c] for c in columns))
                             .order_by(table.c.id))
        return [tuple(r) for r in found]


def moves_of(engine, record_id):
    table = sa.Table("karte_stage_move", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        found = conn.execute(sa.select(table.c.from_stage, table.c.to_stage, table.c.user_id)
                             .where(table.c.record_id == record_id).order_by(table.c.id))
        return [tuple(r) for r in found]


def test_a_removed_stage_is_refused_with_its_count_until_mapped(make_pack, engine):
    ids = seeded(make_pack, engine)

    result = migrate(engine, make_pack(ENTITIES, flow(without("returned"))),
                     apply_risky=True)

    [step] = [s for s in result.steps if s.kind == "retire_value"]
    assert step.refused and step.detail["rows"] == 2 and step.detail["ids"] == ids[:2]
    assert '2 shipment records hold stage "returned"' in step.description
    assert '"retired": {"returned": "new"}' in step.description
    assert result.blocking and step not in result.applied
    assert [r[1] for r in rows(engine, "stage")] == ["returned", "returned", "new"]
    again = migrate(engine, make_pack(ENTITIES, flow(without("returned"))))
    assert [s.kind for s in again.steps] == ["retire_value"]  # still found the next time


def test_retired_stage_moves_records_as_system_moves_on_apply(make_pack, engine):
    ids = seeded(make_pack, engine)
    mapped = make_pack(ENTITIES, flow(without("returned"), retired={"returned": "preparing"}))

    waiting = migrate(engine, mapped)
    assert waiting.blocking and [r[1] for r in rows(engine, "stage")][:2] == ["returned"] * 2

    applied = migrate(engine, mapped, apply_risky=True)

    assert not applied.blocking
    assert rows(engine, "stage", "version") == [(ids[0], "preparing", 3),
                                                (ids[1], "preparing", 3), (ids[2], "new", 1)]
    assert moves_of(engine, ids[0])[-1] == ("returned", "preparing", None)  # by the system
    from karte.store import Records

    [latest, *_] = Records(engine, mapped).history("shipment", ids[0])
    assert latest["action"] == "move" and latest["changes"] == {
        "stage": ["returned", "preparing"]}
    assert migrate(engine, mapped).steps == ()


def test_the_plan_says_when_moved_records_lack_what_the_new_stage_requires(make_pack, engine):
    seeded(make_pack, engine)
    strict = without("returned", preparing={"requires": ["eta", "title"]})
    mapped = make_pack(ENTITIES, flow(strict, retired={"returned": "preparing"}))

    [step] = migrate(engine, mapped).steps

    assert step.detail["unready"] == {"rows": 2, "fields": ["eta", "title"]}
    assert step.description.endswith("; 2 of them lack what that stage requires (eta, "
                                     "title): fill them in after the move")
    migrate(engine, mapped, apply_risky=True)  # a move by the system is not refused
    assert [r[1] for r in rows(engine, "stage")] == ["preparing", "preparing", "new"]


def test_renamed_stage_renames_rows_and_stage_history(make_pack, engine):
    ids = seeded(make_pack, engine)
    renamed = without("returned") + [{"key": "sent_back", "renamed_from": "returned"}]

    result = migrate(engine, make_pack(ENTITIES, flow(renamed)))

    assert [s.kind for s in result.applied] == ["rename_value"] and not result.blocking
    assert [r[1] for r in rows(engine, "stage")] == ["sent_back", "sent_back", "new"]
    assert moves_of(engine, ids[0]) == [(None, "new", None), ("new", "sent_back", None)]


def test_retired_options_rewrite_enum_and_multi_enum_values(make_pack, engine):
    ids = seeded(make_pack, engine)
    fields = {**ENTITIES["shipment"]["fields"],
              "kind": {"type": "enum", "options": ["road", "sea"], "retired": {"air": "road"}},
              "tags": {"type": "multi_enum", "options": ["fragile", "urgent", "chilled"],
                       "retired": {"cold": "chilled"}}}
    changed = make_pack({"shipment": {"fields": fields}}, flow())

    planned = migrate(engine, changed)
    assert sorted((s.column, s.detail["from"], s.detail["rows"]) for s in planned.steps) == [
        ("kind", "air", 1), ("tags", "cold", 2)]
    migrate(engine, changed, apply_risky=True)

    assert rows(engine, "kind", "tags") == [(ids[0], "sea", ["fragile", "chilled"]),
                                            (ids[1], "road", ["chilled"]), (ids[2], "road", None)]


def test_unmapped_option_is_refused_by_name(make_pack, engine):
    seeded(make_pack, engine)
    fields = {**ENTITIES["shipment"]["fields"], "kind": {"type": "enum",
                                                         "options": ["road", "sea"]}}
    result = migrate(engine, make_pack({"shipment": {"fields": fields}}, flow()))

    [step] = result.refused
    assert step.column == "kind" and step.detail == {
        "from": "air", "rows": 1, "workflow": None, "ids": [2], "refused": step.refused}
    assert step.refused.startswith('1 shipment record holds option "air"')
    assert '"retired" on the field kind in entity_defs/shipment.json' in step.refused


def test_definition_only_changes_are_recorded_and_shown(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", ENTITIES, flow())
    run = CliRunner().invoke
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0
    stages = STAGES + [{"key": "lost", "final": "lost", "requires": ["title"]}]
    write_pack(pack, ENTITIES, flow(stages))

    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0
    listed = run(main, ["history", "--pack", str(pack)])
    shown = run(main, ["history", "--show", "2", "--pack", str(pack)])

    assert "#2" in listed.output and "definitions changed (1 change): workflow shipping" \
        in listed.output
    assert shown.exit_code == 0, shown.output
    assert ('+ /workflows/shipping/stages/lost: {"final": "lost", "key": "lost", '
            '"requires": ["title"]}') in shown.output
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0
    assert len(history_of(db_url)) == 2  # nothing changed: nothing recorded
    missing = run(main, ["history", "--show", "9", "--pack", str(pack)])
    assert missing.exit_code == 1 and "no history entry #9" in missing.output


def history_of(db_url):
    from karte.store.db import make_engine

    engine = make_engine(db_url)
    try:
        return history(engine)
    finally:
        engine.dispose()


def test_migrate_exit_codes_say_in_sync_problems_or_waiting(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", {"deal": {"fields": {"seats": {"type": "string"}}}})
    run = CliRunner().invoke
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0
    from karte.store.db import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO deal (seats, version, created_at, updated_at) "
                             "VALUES ('3', 1, '2024-01-01', '2024-01-01'), "
                             "('three', 1, '2024-01-01', '2024-01-01')"))
    engine.dispose()
    write_pack(pack, {"deal": {"fields": {"seats": {"type": "integer"}}}})

    waiting = run(main, ["migrate", "--pack", str(pack), "--apply"])
    assert waiting.exit_code == 2, waiting.output
    assert 'id and value: 2 "three"' in waiting.output  # the offending value, not just ids
    write_pack(pack, {"deal": {"fields": {"seats": {"type": "integre"}}}})
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 1


def test_purge_takes_several_columns_after_one_flag(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    fields = {"title": {"type": "string"}, "a": {"type": "string"}, "b": {"type": "integer"}}
    pack = write_pack(tmp_path / "pack", {"deal": {"fields": fields}})
    run = CliRunner().invoke
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0
    write_pack(pack, {"deal": {"fields": {"title": {"type": "string"}}}})
    assert run(main, ["migrate", "--pack", str(pack)]).exit_code == 0

    result = run(main, ["migrate", "--pack", str(pack), "--purge", "deal.a", "deal.b"])

    assert result.exit_code == 0, result.output
    assert result.output.count("Backed up to") == 2
    from karte.store.db import make_engine

    engine = make_engine(db_url)
    assert {c["name"] for c in sa.inspect(engine).get_columns("deal")} >= {"title"}
    assert not {"a", "b"} & {c["name"] for c in sa.inspect(engine).get_columns("deal")}
    engine.dispose()
    assert run(main, ["migrate", "--pack", str(pack), "deal.a"]).exit_code == 2  # usage


def test_app_starts_while_a_type_change_waits_and_admins_can_fix_the_rows(make_app):
    from bs4 import BeautifulSoup

    roles = {"roles": {"sales": {"*": {"read": "all", "create": True, "update": "all"}}}}
    seats = {"deal": {"fields": {"title": {"type": "string"}, "seats": {"type": "string"}}}}
    before = make_app(seats, pack=roles)
    records = before.extensions["karte"]["records"]
    bad = records.create("deal", {"title": "Bad", "seats": "three"})
    good = records.create("deal", {"title": "Good", "seats": "3"})

    app = make_app({"deal": {"fields": {"title": {"type": "string"},
                                        "seats": {"type": "integer"}}}}, pack=roles)
    admin, sales = app.client("admin"), app.client("sales")

    page = BeautifulSoup(admin.get("/deal/").get_data(as_text=True), "html.parser")
    banner = page.select_one(".migration-banner")
    assert banner is not None and "deal.seats" in banner.get_text()
    assert '"three"' in banner.get_text()
    link = banner.find("a")["href"]
    listed = BeautifulSoup(admin.get(link).get_data(as_text=True), "html.parser")
    assert [a.get_text(strip=True) for a in listed.select("tbody a")][:1] == ["Bad"]
    assert BeautifulSoup(sales.get("/deal/").get_data(as_text=True),
                         "html.parser").select_one(".migration-banner") is None

    card = admin.get(f"/deal/{bad['id']}/edit")
    assert card.status_code == 200 and "three" in card.get_data(as_text=True)
    saved = admin.send(f"/deal/{bad['id']}/edit", {"title": "Bad", "seats": "3",
                                                   "version": "1"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:300]
    assert app.extensions["karte"]["records"].get("deal", good["id"])["seats"] == "3"

    from karte.store.migrate import migrate

    result = migrate(app.extensions["karte"]["engine"], _registry_of(app), apply_risky=True)
    assert not result.blocking and [s.kind for s in result.applied] == ["change_type"]


def _registry_of(app):
    from karte.meta.load import load_pack

    return load_pack(app.extensions["karte"]["pack"].root)
