"""Records service: optimistic versions, conflicts, audit history and unique values."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

import karte.store.records.service as records_module
from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Conflict, ValidationFailed
from karte.store.migrate import migrate

CUSTOMER = {"name": "customer", "fields": {
    "name": {"type": "string", "required": True},
    "email": {"type": "email", "unique": True},
    "segment": {"type": "enum", "options": ["smb", "enterprise"]},
    "revenue": {"type": "money"}}}


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack({"customer": CUSTOMER})
    migrate(engine, pack)
    return Records(engine, pack)


def audit_count(service: Records) -> int:
    with service.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(service.store.audit))


def test_update_changes_only_the_fields_given_and_bumps_the_version(service):
    made = service.create("customer", {"name": "Acme", "segment": "smb"})

    changed = service.update("customer", made["id"], {"revenue": "1000"}, 1)

    assert changed["version"] == 2
    assert changed["revenue"] == Decimal("1000.00")
    assert changed["name"] == "Acme" and changed["segment"] == "smb"
    assert changed["updated_at"] > made["updated_at"]


def test_an_update_that_changes_nothing_writes_nothing(service):
    made = service.create("customer", {"name": "Acme", "revenue": 5})
    before = audit_count(service)

    same = service.update("customer", made["id"], {"name": " Acme ", "revenue": "5.00"}, 1)

    assert same["version"] == 1 and same["updated_at"] == made["updated_at"]
    assert audit_count(service) == before


def test_a_stale_version_is_a_conflict_naming_what_changed_and_nothing_is_written(service):
    made = service.create("customer", {"name": "Acme", "segment": "smb"})
    service.update("customer", made["id"], {"segment": "enterprise"}, 1)
    service.update("customer", made["id"], {"revenue": 10}, 2)
    before = audit_count(service)

    with pytest.raises(Conflict) as error:
        service.update("customer", made["id"], {"segment": "smb", "name": "Acme Inc"}, 1)

    conflict = error.value
    assert conflict.status == 409
    assert conflict.changed == {"segment": ("enterprise", "smb"),
                                "revenue": (Decimal("10.00"), None)}
    assert conflict.current["version"] == 3
    assert [p.where for p in conflict.problems] == ["", "segment", "revenue"]
    assert "version 1" in conflict.problems[0].message
    assert conflict.problems[1].message == "Segment was changed meanwhile; it is now enterprise."
    stored = service.get("customer", made["id"])
    assert stored["name"] == "Acme" and stored["version"] == 3
    assert audit_count(service) == before


def test_a_version_that_is_not_a_number_is_a_problem(service):
    made = service.create("customer", {"name": "Acme"})

    with pytest.raises(ValidationFailed) as error:
        service.update("customer", made["id"], {"name": "B"}, "abc")

    assert [p.where for p in error.value.problems] == ["version"]


def test_history_shows_who_did_what_newest_first(service):
    user = add_user(service.engine, service.pack, "ann@example.com", "admin", name="Ann")
    ann = Actor(user, "ann@example.com", "Ann")
    made = service.create("customer", {"name": "Acme", "revenue": "12.5"}, ann)
    service.update("customer", made["id"], {"name": "Acme Inc", "segment": "smb"}, 1, ann)
    service.delete("customer", made["id"], ann)
    service.restore("customer", made["id"])

    history = service.history("customer", made["id"])

    assert [(h["action"], h["version"], h["user"]) for h in history] == [
        ("restore", 4, None), ("delete", 3, "Ann"), ("update", 2, "Ann"),
        ("create", 1, "Ann")]
    assert history[3]["changes"] == {"name": [None, "Acme"], "revenue": [None, "12.50"]}
    assert history[2]["changes"] == {"name": ["Acme", "Acme Inc"], "segment": [None, "smb"]}
    assert list(history[1]["changes"]) == ["deleted_at"]
    assert history[0]["changes"]["deleted_at"][1] is None


def test_unique_values_are_refused_with_a_message_naming_the_field_and_record(service):
    service.create("customer", {"name": "A", "email": "ann@example.com"})

    with pytest.raises(ValidationFailed) as error:
        service.create("customer", {"name": "B", "email": "ANN@example.com"})

    assert error.value.by_field() == {
        "email": ['Another customer already has this email: "A" (#1).']}


def test_a_record_may_keep_its_own_unique_value(service):
    made = service.create("customer", {"name": "A", "email": "ann@example.com"})

    changed = service.update("customer", made["id"], {"name": "B",
                                                       "email": "ann@example.com"}, 1)

    assert changed["name"] == "B"


def test_a_soft_deleted_record_does_not_block_its_unique_value(service):
    old = service.create("customer", {"name": "A", "email": "ann@example.com"})
    service.delete("customer", old["id"])

    again = service.create("customer", {"name": "B", "email": "ann@example.com"})

    assert again["email"] == "ann@example.com"
    with pytest.raises(ValidationFailed) as error:
        service.restore("customer", old["id"])
    assert error.value.by_field() == {
        "email": [f'Another customer already has this email: "B" (#{again["id"]}).']}


def test_the_database_index_backs_up_the_unique_check(service, monkeypatch):
    service.create("customer", {"name": "A", "email": "ann@example.com"})
    monkeypatch.setattr(records_module, "unique_problems", lambda *args: [])

    with pytest.raises(ValidationFailed) as error:
        service.create("customer", {"name": "B", "email": "ann@example.com"})

    assert error.value.by_field() == {"email": ["Another customer already has this email."]}
    assert service.count("customer") == 1
