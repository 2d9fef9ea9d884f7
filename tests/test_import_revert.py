"""Reverting an import batch (SPEC §14): what it created is soft-deleted, what it changed
gets its values back; refused, naming the records, when any was edited since — and the
batch itself: stored progress, background runs, a crash marking it failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from karte.auth.users import add_user, get_user
from karte.store import Records
from karte.store.migrate import migrate
from karte.transfer import import_background, imports
from karte.transfer.imports import ImportRefused, Plan
from karte.transfer.read import open_sheet
from karte.workflow.service import Workflows

ENTITIES = {
    "customer": {"name": "customer", "title_field": "name", "fields": {
        "name": {"type": "string", "required": True},
        "code": {"type": "string", "unique": True},
        "city": {"type": "string"}}},
    "deal": {"name": "deal", "title_field": "title", "fields": {
        "title": {"type": "string", "required": True},
        "customer": {"type": "link", "to": "customer"}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


@pytest.fixture
def services(engine, make_pack) -> Workflows:
    pack = make_pack(ENTITIES, {"pipeline": PIPELINE})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


@pytest.fixture
def admin(services):
    engine = services.records.engine
    return get_user(engine, add_user(engine, services.pack, "boss@example.com", "admin"))


def sheet(tmp_path: Path, text: str, name: str = "file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return open_sheet(path)


CODES = Plan("customer", {"code": "code", "name": "name", "city": "city"}, key="code")


def test_revert_deletes_what_the_batch_created_and_restores_what_it_changed(
        services, admin, tmp_path):
    records = services.records
    lyons = records.create("customer", {"name": "Lyons", "code": "C-1", "city": "Leeds"})
    file = sheet(tmp_path, "code,name,city\nC-1,Lyons,York\nC-2,Mori,Kobe\n")
    report = imports.run(services, file, CODES, admin)
    assert (report.created, report.updated) == (1, 1)

    reverted = imports.revert(services, report.batch, admin)

    assert reverted.state == "reverted"
    assert [(c["code"], c["city"]) for c in records.query("customer", sort="id")] == [
        ("C-1", "Leeds")]
    assert records.get("customer", lyons["id"])["version"] == 3
    assert records.history("customer", lyons["id"])[0]["changes"]["city"] == ["York", "Leeds"]
    with pytest.raises(ImportRefused, match="reverted already"):
        imports.revert(services, report.batch, admin)
    assert imports.remembered_mapping(services, "customer") == {}


def test_revert_is_refused_naming_records_edited_since_and_writes_nothing(
        services, admin, tmp_path):
    records = services.records
    file = sheet(tmp_path, "code,name,city\nC-1,Lyons,York\nC-2,Mori,Kobe\n")
    report = imports.run(services, file, CODES, admin)
    mori = records.query("customer", sort="id")[1]
    records.update("customer", mori["id"], {"city": "Nara"}, mori["version"])

    with pytest.raises(ImportRefused) as refused:
        imports.revert(services, report.batch, admin)

    assert refused.value.reasons[0] == ("Nothing was reverted: 1 record was changed since "
                                        "the import.")
    assert refused.value.reasons[1] == (f"#{mori['id']} Mori (line 3) was edited since the "
                                        "import (version 2 now, 1 after the import).")
    assert records.count("customer") == 2
    assert imports.report(services, report.batch).state == "done"


def test_revert_of_a_move_gives_the_stage_back_and_deleted_records_count_as_reverted(
        services, admin, tmp_path):
    records = services.records
    deal = records.create("deal", {"title": "Renewal"})
    file = sheet(tmp_path, f"id,title,stage\n{deal['id']},Renewal,won\n,Other,new\n")
    report = imports.run(services, file, Plan("deal", {"id": "id", "title": "title",
                                                       "stage": "stage"}, allow_moves=True),
                         admin)
    assert (report.updated, report.created) == (1, 1)
    other = records.query("deal", sort="id")[1]
    records.delete("deal", other["id"])

    imports.revert(services, report.batch, admin)

    assert [(d["title"], d["stage"]) for d in records.query("deal", sort="id")] == [
        ("Renewal", "new")]


def test_a_big_file_runs_in_the_background_and_its_report_survives(
        services, admin, tmp_path, monkeypatch):
    monkeypatch.setenv("KARTE_IMPORT_BACKGROUND_ROWS", "10")
    path = tmp_path / "big.csv"
    path.write_text("name,code\n" + "".join(f"N{n},C-{n}\n" for n in range(2500)),
                    encoding="utf-8")

    batch = imports.start(services, path, Plan("customer", {"name": "name", "code": "code"}),
                          admin, file_name="big.csv")
    assert import_background.wait(batch, timeout=120)

    report = imports.report(services, batch)
    assert (report.state, report.total, report.done, report.created) == \
        ("done", 2500, 2500, 2500)
    assert (report.file_name, report.actor, report.plan.mapping["code"]) == \
        ("big.csv", admin.id, "code")
    assert services.records.count("customer") == 2500


def test_a_small_file_is_imported_before_start_returns(services, admin, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("name\nOne\nTwo\n", encoding="utf-8")

    batch = imports.start(services, path, Plan("customer", {"name": "name"}), admin)

    assert imports.report(services, batch).created == 2


def test_a_crash_marks_the_batch_failed_with_the_reason_and_keeps_what_was_written(
        services, admin, tmp_path, monkeypatch):
    from karte.transfer import import_run

    monkeypatch.setattr(import_run, "CHUNK", 2)
    real = import_run.Run.chunk
    calls = []

    def crashing(self, conn, rows):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(self, conn, rows)

    monkeypatch.setattr(import_run.Run, "chunk", crashing)
    file = sheet(tmp_path, "name\nA\nB\nC\nD\n")

    report = imports.run(services, file, Plan("customer", {"name": "name"}), admin)

    stored = imports.report(services, report.batch)
    assert (stored.state, stored.reason, stored.created) == (
        "failed", "The import stopped: disk full", 2)
    imports.revert(services, report.batch, admin)
    assert services.records.count("customer") == 0


def test_reports_of_unknown_batches_are_a_lookup_error(services):
    with pytest.raises(LookupError):
        imports.report(services, 999)


def test_a_revert_stopped_by_a_refusal_keeps_what_it_did_and_goes_on_when_fixed(
        services, admin, tmp_path, monkeypatch):
    from karte.transfer import import_revert

    monkeypatch.setattr(import_revert, "CHUNK", 1)
    records = services.records
    report = imports.run(services, sheet(tmp_path, "name\nA\nB\nC\n"),
                         Plan("customer", {"name": "name"}), admin)
    first = records.query("customer", sort="id")[0]
    deal = records.create("deal", {"title": "Since", "customer": first["id"]})

    with pytest.raises(ImportRefused) as refused:
        imports.revert(services, report.batch, admin)

    assert refused.value.reasons[0] == ("The revert stopped: 1 record could not be reverted "
                                        "(2 were, and stay so: revert again when fixed).")
    assert f"#{first['id']} A (line 2)" in refused.value.reasons[1]
    assert [c["name"] for c in records.query("customer")] == ["A"]
    stopped = imports.report(services, report.batch)
    assert stopped.state == "done" and stopped.reason.startswith("The revert stopped")
    records.delete("deal", deal["id"])

    assert imports.revert(services, report.batch, admin).state == "reverted"
    assert records.count("customer") == 0


def test_a_big_revert_runs_in_the_background(services, admin, tmp_path, monkeypatch):
    from karte.transfer import import_revert

    monkeypatch.setenv("KARTE_IMPORT_BACKGROUND_ROWS", "2")
    report = imports.run(services, sheet(tmp_path, "name\nA\nB\nC\n"),
                         Plan("customer", {"name": "name"}), admin)

    started = imports.revert(services, report.batch, admin, background=True)

    assert started.state in ("reverting", "reverted")
    assert import_revert.wait(report.batch, timeout=60)
    assert imports.report(services, report.batch).state == "reverted"
    assert services.records.count("customer") == 0


def test_a_batch_left_running_by_a_stopped_server_is_reported_failed_and_can_be_reverted(
        services, admin, tmp_path):
    import datetime as dt

    from karte.store import imports as stored

    plan_ = Plan("customer", {"name": "name"})
    first = imports.run(services, sheet(tmp_path, "name\nA\nB\n"), plan_, admin)
    second = imports.run(services, sheet(tmp_path, "name\nC\n", "c.csv"), plan_, admin)
    long_ago = services.store.clock() - dt.timedelta(minutes=11)
    with services.records.transaction() as conn:
        for batch in (first.batch, second.batch):
            stored.update_batch(conn, batch, state="running", updated_at=long_ago)

    found = imports.report(services, first.batch)

    assert found.state == "failed"
    assert found.reason.startswith("The import stopped: no progress since ")
    assert imports.revert(services, first.batch, admin).state == "reverted"
    assert imports.revert(services, second.batch, admin).state == "reverted"
    assert services.records.count("customer") == 0


def test_a_running_batch_with_recent_progress_stays_running(services, admin, tmp_path):
    from karte.store import imports as stored

    report = imports.run(services, sheet(tmp_path, "name\nA\n"),
                         Plan("customer", {"name": "name"}), admin)
    with services.records.transaction() as conn:
        stored.update_batch(conn, report.batch, state="running")

    assert imports.report(services, report.batch).state == "running"
    with pytest.raises(ImportRefused, match="running"):
        imports.revert(services, report.batch, admin)
