"""The files service (karte.files.service) on both databases: what an upload must pass,
attaching and removing through the records service (version, rights, field rights, audit),
references nobody can forge, reads under the record's read scope and the field's
visibility, pending uploads, required file fields and merges."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from karte.auth.users import add_user
from karte.fields import file_ref
from karte.files.checks import FileRefused
from karte.files.local import LocalStorage
from karte.files.service import Files
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Conflict, Forbidden, NotFound, ValidationFailed
from karte.store.migrate import migrate
from tests import files_s3

s3_bucket = files_s3.s3_bucket  # the fixtures: a moto S3 server and a prefix per test
s3_storage = files_s3.s3_storage

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + \
    b"PE\x00\x00" + b"\x00" * 200
ENTITIES = {
    "customer": {
        "name": "customer", "title_field": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "contract": {"type": "file", "accept": ["application/pdf"], "max_mb": 1},
            "photos": {"type": "file", "multiple": True, "accept": ["image/*"]},
            "scan": {"type": "file", "multiple": True},
        },
        "permissions": {"support": {"hidden": ["contract"]},
                        "clerk": {"read_only": ["scan"]}},
    },
    "permit": {
        "name": "permit", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "paper": {"type": "file", "required": True}},
    },
}
ROLES = {
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False}},
    "support": {"*": {"read": "all", "create": True, "update": "all", "delete": False}},
    "clerk": {"*": {"read": "all", "create": True, "update": "all", "delete": False}},
}


def png(width: int = 2, height: int = 2) -> bytes:
    """A PNG of that size (only the header is real for huge sizes: enough to judge it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(min(height, 4)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def files(engine, make_pack, tmp_path) -> Files:
    pack = make_pack(ENTITIES, None, {"roles": ROLES})
    migrate(engine, pack)
    return Files(Records(engine, pack), LocalStorage(tmp_path / "files"), 20, "test secret")


def person(files: Files, role: str) -> Actor:
    email = f"{role}@example.com"
    return Actor(add_user(files.records.engine, files.records.pack, email, role), email,
                 role=role)


def customer(files: Files, actor: Actor | None = None) -> dict:
    return files.records.create("customer", {"name": "Acme"}, actor)


def upload(files: Files, data: bytes = PDF, name: str = "契約書 2026.pdf",
           field: str = "contract", actor: Actor | None = None) -> dict:
    return files.receive("customer", field, io.BytesIO(data), name, actor)


def read(files: Files, ref: dict) -> bytes:
    return b"".join(files.open(ref))


# ---------------------------------------------------------------- receive


def test_a_received_file_is_stored_and_described_by_a_well_formed_reference(files):
    admin = person(files, "admin")
    ref = upload(files, actor=admin)

    assert file_ref(ref) == ref                       # the shape the records service takes
    assert ref["name"] == "契約書 2026.pdf" and ref["type"] == "application/pdf"
    assert ref["size"] == len(PDF) and ref["uploaded_by"] == admin.id
    assert ref["uploaded_at"].endswith("+00:00")
    assert read(files, ref) == PDF
    assert upload(files)["id"] != ref["id"]           # each upload its own id, one blob
    assert list(files.storage.names()) == [ref["sha256"]]


def test_a_file_the_stream_gives_in_small_pieces_is_stored_whole(files):
    class Trickle(io.RawIOBase):
        """A non-seekable stream giving at most 1000 bytes per read."""

        def __init__(self, data: bytes):
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), 1000, len(self.data))
            buffer[:n], self.data = self.data[:n], self.data[n:]
            return n

    data = PDF + b"%" + b"x" * 300_000 + b"\n"
    ref = files.receive("customer", "contract", Trickle(data), "big.pdf", None)

    assert ref["size"] == len(data) and read(files, ref) == data


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_upload_attach_and_read_back_byte_for_byte_on_both_storages(request, files, kind):
    if kind == "s3":
        files = Files(files.records, request.getfixturevalue("s3_storage"), 20, "s")
    data = PDF + b"%" + bytes(range(256)) * 40_000 + b"\n"      # 10 MB, every byte value
    made = customer(files)
    ref = upload(files, data, "見積書 (最終版).pdf", "scan")
    photo = upload(files, png(300, 200), "写真.png", "photos")
    saved = files.attach("customer", made["id"], "scan", [ref], 1, None)
    files.attach("customer", made["id"], "photos", [photo], saved["version"], None)

    found = files.find("customer", made["id"], "scan", ref["id"], None)

    assert found["name"] == "見積書 (最終版).pdf" and found["type"] == "application/pdf"
    assert read(files, found) == data
    assert b"".join(files.open(found, 5, 1029)) == data[5:1029]
    assert files.thumbnail(photo)[:4] == b"RIFF" and files.thumbnail(found) is None


def test_a_large_spreadsheet_is_judged_whole_even_from_a_stream_read_once(files):
    from tests.test_files_checks import LARGE_XLS

    class Once(io.RawIOBase):
        def __init__(self, data: bytes):
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), len(self.data))
            buffer[:n], self.data = self.data[:n], self.data[n:]
            return n

    for stream in (io.BytesIO(LARGE_XLS), Once(LARGE_XLS)):
        ref = files.receive("customer", "scan", stream, "売上.xls", None)
        assert ref["type"] == "application/vnd.ms-excel" and read(files, ref) == LARGE_XLS


def test_demo_data_may_create_many_records_with_stored_files(files):
    refs = [upload(files, b"one", "a.txt", "scan"), upload(files, b"two", "b.txt", "scan")]
    ids = files.records.create_many("customer", [{"name": "A", "scan": [refs[0]]},
                                                 {"name": "B", "scan": [refs[1]]}],
                                    files=True)
    assert [files.records.get("customer", id)["scan"] for id in ids] == [[r] for r in refs]


def test_names_are_made_safe_to_show(files):
    assert upload(files, name="../../etc/passwd\x00.pdf")["name"] == "passwd.pdf"
    assert upload(files, name="")["name"] == "file"


@pytest.mark.parametrize(("data", "name", "field", "code"), [
    (b"", "empty.pdf", "contract", "empty"),
    (EXE, "invoice.pdf", "contract", "accept"),            # a renamed .exe is no PDF
    (PDF, "photo.png", "photos", "accept"),
    (PDF + b"%" + b"x" * (1024 * 1024) + b"\n", "big.pdf", "contract", "size"),  # max_mb 1
    (png(20_000, 20_000), "bomb.png", "photos", "image"),  # 400 megapixels
])
def test_an_upload_that_fails_a_check_is_refused_and_not_stored(files, data, name, field,
                                                                code):
    with pytest.raises(FileRefused) as refused:
        upload(files, data, name, field)

    assert refused.value.code == code
    assert list(files.storage.names()) == []


def test_the_limit_is_the_fields_own_never_above_the_instances(files):
    assert files.limit("customer", "contract") == 1024 * 1024
    assert files.limit("customer", "scan") == 20 * 1024 * 1024
    small = Files(files.records, files.storage, 1, "s")
    assert small.limit("customer", "scan") == 1024 * 1024


def test_only_file_fields_take_files(files):
    with pytest.raises(NotFound):
        upload(files, field="name")
    with pytest.raises(NotFound):
        files.receive("nothing", "contract", io.BytesIO(PDF), "a.pdf", None)


# ---------------------------------------------------------------- attach and remove


def test_attach_replaces_a_single_fields_file_and_adds_to_a_multiple_one(files):
    made = customer(files)
    first, second = upload(files, name="v1.pdf"), upload(files, name="v2.pdf")

    saved = files.attach("customer", made["id"], "contract", [first], made["version"], None)
    assert saved["contract"] == [first] and saved["version"] == 2
    saved = files.attach("customer", made["id"], "contract", [second], 2, None)
    assert saved["contract"] == [second]

    a, b = upload(files, png(), "a.png", "photos"), upload(files, png(3, 3), "b.png", "photos")
    saved = files.attach("customer", made["id"], "photos", [a], saved["version"], None)
    saved = files.attach("customer", made["id"], "photos", [b], saved["version"], None)
    assert [ref["name"] for ref in saved["photos"]] == ["a.png", "b.png"]
    assert files.records.get("customer", made["id"])["photos"] == saved["photos"]


def test_a_single_field_takes_one_file_at_a_time(files):
    made = customer(files)
    with pytest.raises(ValidationFailed) as error:
        files.attach("customer", made["id"], "contract", [upload(files), upload(files)], 1,
                     None)
    assert error.value.by_field() == {"contract": ["This field holds one file; attach a "
                                                   "single file."]}


def test_remove_takes_one_file_off_and_keeps_its_bytes(files):
    made = customer(files)
    a, b = upload(files, b"one", "a.txt", "scan"), upload(files, b"two", "b.txt", "scan")
    saved = files.attach("customer", made["id"], "scan", [a, b], 1, None)

    saved = files.remove("customer", made["id"], "scan", a["id"], saved["version"], None)

    assert saved["scan"] == [b]
    assert read(files, a) == b"one"                   # until `karte files prune`
    with pytest.raises(NotFound):
        files.remove("customer", made["id"], "scan", a["id"], saved["version"], None)
    saved = files.remove("customer", made["id"], "scan", b["id"], saved["version"], None)
    assert not saved["scan"]


def test_a_stale_version_is_a_conflict_and_writes_nothing(files):
    made = customer(files)
    files.attach("customer", made["id"], "scan", [upload(files, b"one", "a.txt", "scan")], 1,
                 None)
    with pytest.raises(Conflict) as conflict:
        files.attach("customer", made["id"], "scan", [upload(files, b"2", "b.txt", "scan")],
                     1, None)
    assert len(files.records.get("customer", made["id"])["scan"]) == 1
    assert conflict.value.by_field()["scan"] == ["Scan was changed meanwhile; it is now "
                                                 "a.txt."]


def test_attach_and_remove_are_in_the_audit_as_field_changes(files):
    made = customer(files)
    ref = upload(files, b"one", "a.txt", "scan")
    files.attach("customer", made["id"], "scan", [ref], 1, None)
    files.remove("customer", made["id"], "scan", ref["id"], 2, None)

    removed, attached = files.records.history("customer", made["id"])[:2]
    assert attached["changes"]["scan"] == [None, [ref]]
    assert removed["changes"]["scan"] == [[ref], None]


# ---------------------------------------------------------------- forged references


def test_no_ordinary_write_sets_a_file_field(files):
    records = files.records
    ref = upload(files)
    message = {"contract": ["Attach files through the upload form or the files endpoint."]}
    with pytest.raises(ValidationFailed) as error:
        records.create("customer", {"name": "Acme", "contract": [ref]})
    assert error.value.by_field() == message
    made = customer(files)
    with pytest.raises(ValidationFailed) as error:
        records.update("customer", made["id"], {"contract": []}, 1)
    assert error.value.by_field() == message
    with pytest.raises(ValidationFailed) as error:
        records.create_many("customer", [{"name": "A"}, {"name": "B", "contract": [ref]}])
    assert error.value.by_field() == {f"row 2: {k}": v for k, v in message.items()}
    ids, refused = records.create_each("customer", [{"name": "C", "contract": [ref]}])
    assert ids == [None] and [p.where for p in refused[0]] == ["contract"]
    assert set(records.update_many("customer", [made["id"]], {"contract": [ref]})) == \
        {made["id"]}
    assert records.count("customer") == 1 and not records.get("customer", made["id"])["contract"]


@pytest.mark.parametrize("forged", [
    {"name": "a.pdf"},                                            # the old loose shape
    {"sha256": "../../etc/passwd"},
    {"sha256": "A" * 64},                                         # not lower-case hex
    {"id": "1"},
    {"size": "10"},
    {"size": True},
    {"uploaded_at": "yesterday"},
    {"uploaded_at": "2026-12-02T04:40:00"},                       # no offset
    {"extra": 1},
])
def test_the_records_service_checks_every_reference_even_with_the_flag(files, forged):
    ref = upload(files)
    bad = {"name": "a.pdf"} if forged == {"name": "a.pdf"} else {**ref, **forged}
    with pytest.raises(ValidationFailed) as error:
        files.records.create("customer", {"name": "Acme", "contract": [bad]}, files=True)
    assert list(error.value.by_field()) == ["contract"]


def test_attach_refuses_a_reference_to_bytes_the_storage_does_not_hold(files):
    made = customer(files)
    ref = {**upload(files), "sha256": "0" * 64}
    with pytest.raises(ValidationFailed):
        files.attach("customer", made["id"], "contract", [ref], 1, None)
    with pytest.raises(ValidationFailed):
        files.attach("customer", made["id"], "contract", [{**upload(files), "size": 1}], 1,
                     None)


def test_no_file_reaches_a_line(engine, make_pack, tmp_path):
    pack = make_pack({
        "visit": {"name": "visit", "title_field": "title", "fields": {
            "title": {"type": "string"}, "stops": {"type": "lines", "of": "stop"}}},
        "stop": {"name": "stop", "part_of": "visit", "title_field": "place", "fields": {
            "place": {"type": "string"}, "photo": {"type": "file"}}}})
    migrate(engine, pack)
    files = Files(Records(engine, pack), LocalStorage(tmp_path / "files"), 20, "s")
    with pytest.raises(NotFound):                     # no upload to a line's field
        files.receive("stop", "photo", io.BytesIO(PDF), "a.pdf", None)
    ref = {"id": "f_" + "A" * 22, "name": "a.pdf", "size": 1, "type": "application/pdf",
           "sha256": "0" * 64, "uploaded_by": None, "uploaded_at": "2026-12-02T04:40:00+00:00"}

    with pytest.raises(ValidationFailed) as error:
        files.records.create("visit", {"title": "Tour", "stops": [{"place": "Kobe",
                                                                     "photo": [ref]}]},
                             files=True)
    assert error.value.by_field() == {"stops[1].photo": [
        "Attach files through the upload form or the files endpoint."]}
    made = files.records.create("visit", {"title": "Tour", "stops": [{"place": "Kobe"}]})
    line = dict(made["stops"][0])                      # a line sent back as read
    saved = files.records.update("visit", made["id"], {"stops": [line]}, made["version"])
    assert saved["stops"][0]["place"] == "Kobe"


# ---------------------------------------------------------------- permissions


def test_a_file_of_a_record_the_actor_cannot_read_is_not_found(files):
    other = customer(files, person(files, "admin"))
    ref = upload(files)
    saved = files.attach("customer", other["id"], "contract", [ref], 1, None)
    sales = person(files, "sales")

    assert files.find("customer", other["id"], "contract", ref["id"], None) == ref
    with pytest.raises(NotFound):
        files.find("customer", other["id"], "contract", ref["id"], sales)
    with pytest.raises(NotFound):
        files.attach("customer", other["id"], "contract", [upload(files)], saved["version"],
                     sales)
    with pytest.raises(NotFound):
        files.find("customer", other["id"], "contract", "f_" + "x" * 22, None)
    files.records.delete("customer", other["id"])
    with pytest.raises(NotFound):
        files.find("customer", other["id"], "contract", ref["id"], None)


def test_a_file_of_a_hidden_field_is_not_found(files):
    made = customer(files)
    ref = upload(files)
    files.attach("customer", made["id"], "contract", [ref], 1, None)
    support = person(files, "support")

    with pytest.raises(NotFound):
        files.find("customer", made["id"], "contract", ref["id"], support)
    with pytest.raises(NotFound):
        upload(files, actor=support)
    with pytest.raises(Forbidden):
        files.attach("customer", made["id"], "contract", [ref], 2, support)


def test_a_role_that_may_not_write_cannot_attach_or_remove(files):
    made = customer(files)
    ref = upload(files, b"one", "a.txt", "scan")
    files.attach("customer", made["id"], "scan", [ref], 1, None)
    viewer, clerk = person(files, "viewer"), person(files, "clerk")

    assert files.find("customer", made["id"], "scan", ref["id"], viewer) == ref
    with pytest.raises(Forbidden):                    # no upload from who cannot attach it
        upload(files, b"2", "b.txt", "scan", viewer)
    with pytest.raises(Forbidden):
        files.attach("customer", made["id"], "scan", [upload(files, b"2", "b.txt", "scan")],
                     2, viewer)
    with pytest.raises(Forbidden):
        files.remove("customer", made["id"], "scan", ref["id"], 2, viewer)
    with pytest.raises(Forbidden):                    # scan is read-only for the clerk
        upload(files, b"2", "b.txt", "scan", clerk)
    with pytest.raises(Forbidden):
        files.remove("customer", made["id"], "scan", ref["id"], 2, clerk)
    assert files.records.get("customer", made["id"])["scan"] == [ref]


# ---------------------------------------------------------------- pending uploads


def test_a_pending_upload_comes_back_only_to_its_uploader_entity_and_field(files):
    ann, bob = person(files, "admin"), person(files, "clerk")
    ref = upload(files, actor=ann)
    token = files.pending(ref, ann, "customer", "contract")

    assert files.unpending(token, ann, "customer", "contract") == ref
    assert files.unpending(token, bob, "customer", "contract") is None
    assert files.unpending(token, ann, "customer", "scan") is None
    assert files.unpending(token, ann, "permit", "contract") is None
    assert files.unpending(token[:-2] + "xx", ann, "customer", "contract") is None
    assert files.unpending("junk", ann, "customer", "contract") is None
    other = Files(files.records, files.storage, 20, "another secret")
    assert other.unpending(token, ann, "customer", "contract") is None
    files.storage.delete(ref["sha256"])               # pruned meanwhile: nothing to attach
    assert files.unpending(token, ann, "customer", "contract") is None


def test_a_pending_upload_expires_after_a_day(files, monkeypatch):
    ref = upload(files)
    token = files.pending(ref, None, "customer", "contract")
    import time
    later = time.time() + 24 * 60 * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert files.unpending(token, None, "customer", "contract") is None


# ---------------------------------------------------------------- required, merge


def test_a_required_file_field_is_met_by_a_file_given_with_the_create(files):
    records = files.records
    with pytest.raises(ValidationFailed) as error:
        records.create("permit", {"title": "Road works"})
    assert list(error.value.by_field()) == ["paper"]
    ref = files.receive("permit", "paper", io.BytesIO(PDF), "permit.pdf", None)

    made = records.create("permit", {"title": "Road works", "paper": [ref]}, files=True)

    assert made["paper"] == [ref]
    from karte.store.timeline import Timeline
    [created] = Timeline(records).entries("permit", made["id"]).entries
    assert created.details["action"] == "create" and created.details["files"] == {
        "paper": {"added": [ref], "removed": []}}
    with pytest.raises(ValidationFailed) as error:
        files.remove("permit", made["id"], "paper", ref["id"], 1, None)
    assert list(error.value.by_field()) == ["paper"]


def test_a_merge_keeps_both_sides_files_of_a_multiple_field_and_the_chosen_one(files):
    records = files.records
    keep, other = customer(files), records.create("customer", {"name": "Acme Ltd"})
    a, b = upload(files, b"one", "a.txt", "scan"), upload(files, b"two", "b.txt", "scan")
    kept_pdf, other_pdf = upload(files, name="kept.pdf"), upload(files, name="other.pdf")
    files.attach("customer", keep["id"], "scan", [a], 1, None)
    files.attach("customer", keep["id"], "contract", [kept_pdf], 2, None)
    files.attach("customer", other["id"], "scan", [b, a], 1, None)
    files.attach("customer", other["id"], "contract", [other_pdf], 2, None)

    preview = records.merge_preview("customer", keep["id"], other["id"])
    assert {f.name for f in preview["fields"]} >= {"scan", "contract"}
    merged = records.merge("customer", keep["id"], other["id"],
                           {"contract": [{"forged": True}]}, versions=(3, 3))

    assert merged["scan"] == [a, b]
    assert merged["contract"] == [other_pdf]          # the stored one, not the sent value
    merged = records.get("customer", keep["id"])
    assert merged["scan"] == [a, b] and merged["contract"] == [other_pdf]


def test_a_merge_without_choosing_keeps_the_survivors_single_file(files):
    records = files.records
    keep, other = customer(files), records.create("customer", {"name": "Acme Ltd"})
    kept_pdf, other_pdf = upload(files, name="kept.pdf"), upload(files, name="other.pdf")
    files.attach("customer", keep["id"], "contract", [kept_pdf], 1, None)
    files.attach("customer", other["id"], "contract", [other_pdf], 1, None)

    merged = records.merge("customer", keep["id"], other["id"], {"name": "Acme Ltd"},
                           versions=(2, 2))

    assert merged["contract"] == [kept_pdf] and merged["name"] == "Acme Ltd"


def test_referenced_counts_deleted_records_and_audit_rows(files):
    records = files.records
    made, gone = customer(files), customer(files)
    live, removed, deleted = (upload(files, b"live", "a.txt", "scan"),
                              upload(files, b"removed", "b.txt", "scan"),
                              upload(files, b"deleted", "c.txt", "scan"))
    stray = upload(files, b"never attached", "d.txt", "scan")
    files.attach("customer", made["id"], "scan", [live, removed], 1, None)
    files.remove("customer", made["id"], "scan", removed["id"], 2, None)
    files.attach("customer", gone["id"], "scan", [deleted], 1, None)
    records.delete("customer", gone["id"])

    found = files.referenced()

    assert {live["sha256"], removed["sha256"], deleted["sha256"]} <= found
    assert stray["sha256"] not in found
    with records.transaction() as conn:              # the records alone, without history
        conn.execute(records.store.audit.delete())
    assert files.referenced() == {live["sha256"], deleted["sha256"]}


# ---------------------------------------------------------------- the app's files service


def test_the_app_keeps_files_where_KARTE_FILES_URL_says(make_app, monkeypatch, tmp_path):
    from karte import web

    monkeypatch.setenv("KARTE_FILES_URL", str(tmp_path / "kept"))
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "5")
    app = make_app(ENTITIES, pack={"roles": ROLES})
    service = app.extensions["karte"]["files"]
    with app.test_request_context():
        assert web.files() is service
    assert service.records is app.extensions["karte"]["records"]
    assert service.limit("customer", "scan") == 5 * 1024 * 1024

    ref = service.receive("customer", "scan", io.BytesIO(b"kept"), "a.txt", None)

    assert (tmp_path / "kept" / ref["sha256"][:2] / ref["sha256"][2:4] / ref["sha256"]
            ).read_bytes() == b"kept"


def test_a_files_url_naming_no_storage_stops_the_start(make_app, monkeypatch):
    from karte import StartupRefused

    monkeypatch.setenv("KARTE_FILES_URL", "ftp://files.example.com/karte")
    with pytest.raises(StartupRefused, match="KARTE_FILES_URL"):
        make_app(ENTITIES, pack={"roles": ROLES})


# ---------------------------------------------------------------- timeline and history


def test_the_timeline_entry_names_the_files_uploaded_and_removed(files):
    from karte.store.timeline import Timeline

    made = customer(files)
    a, b = upload(files, b"one", "a.txt", "scan"), upload(files, b"two", "b.txt", "scan")
    files.attach("customer", made["id"], "scan", [a, b], 1, None)
    files.remove("customer", made["id"], "scan", a["id"], 2, None)

    removal, upload_entry = [e for e in Timeline(files.records).entries(
        "customer", made["id"]).entries if e.kind == "change"][:2]

    assert upload_entry.details["files"] == {"scan": {"added": [a, b], "removed": []}}
    assert removal.details["files"] == {"scan": {"added": [], "removed": [a]}}


def test_card_and_history_say_uploaded_and_removed_with_the_name(make_app):
    from bs4 import BeautifulSoup

    app = make_app(ENTITIES, pack={"roles": ROLES})
    service = app.extensions["karte"]["files"]
    made = service.records.create("customer", {"name": "Acme"})
    odd = upload(service, b"one", "<i>見積書.txt", "scan")
    kept = upload(service, b"two", "写真.txt", "scan")
    service.attach("customer", made["id"], "scan", [odd, kept], 1, None)
    service.remove("customer", made["id"], "scan", odd["id"], 2, None)
    client = app.client()

    for url, where in ((f"/customer/{made['id']}", "ol.timeline"),
                       (f"/customer/{made['id']}/history", "table.history")):
        html = client.get(url).get_data(as_text=True)
        said = [li.get_text(" ", strip=True) for li in
                BeautifulSoup(html, "html.parser").select(f"{where} ul.changes li")]
        assert "Scan: Removed <i>見積書.txt" in said, said
        assert "Scan: Uploaded <i>見積書.txt , Uploaded 写真.txt" in said, said
        assert "<i>見積書" not in html                # the name is text, never markup
        assert "sha256" not in html
    client.get("/?lang=ja")
    html = client.get(f"/customer/{made['id']}/history").get_data(as_text=True)
    assert "写真.txt をアップロード" in html and "を削除" in html


def test_every_message_of_the_service_has_a_japanese_translation():
    """Pages and the API translate the service's refusals by their English template."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    import karte.files.service as service
    from karte.fields import FILE_MESSAGE
    from karte.store.records.write import ATTACH

    root = Path(service.__file__).parents[1]
    with (root / "translations/ja/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = read_po(po)
    found = [message for _line, message, _comments, _context
             in extract_from_file("python", service.__file__)]
    found += [ATTACH, FILE_MESSAGE, service.ONE, "The same file is attached twice.",
              "Uploaded %(name)s", "Removed %(name)s"]
    assert len(found) >= 8
    assert [m for m in found if not (catalogue.get(m) and catalogue.get(m).string)] == []


def test_files_of_a_field_no_longer_multiple_can_still_be_taken_off(files, make_pack):
    made = customer(files)
    refs = [upload(files, bytes([n]), f"{n}.txt", "scan") for n in range(3)]
    files.attach("customer", made["id"], "scan", refs, 1, None)
    single = {**ENTITIES["customer"], "fields": {**ENTITIES["customer"]["fields"],
                                                  "scan": {"type": "file"}}}
    pack = make_pack({**ENTITIES, "customer": single}, None, {"roles": ROLES})
    migrate(files.records.engine, pack)
    now = Files(Records(files.records.engine, pack), files.storage, 20, "s")

    saved = now.remove("customer", made["id"], "scan", refs[0]["id"], 2, None)

    assert saved["scan"] == refs[1:]
    with pytest.raises(ValidationFailed) as error:    # but nothing is added to them
        now.records.update("customer", made["id"], {"scan": refs}, 3, files=True)
    assert error.value.by_field() == {"scan": ["This field holds one file; attach a "
                                               "single file."]}
    saved = now.attach("customer", made["id"], "scan", [refs[0]], 3, None)
    assert saved["scan"] == [refs[0]]                 # an upload replaces them all
