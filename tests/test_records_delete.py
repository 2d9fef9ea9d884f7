"""Records service: soft delete with restrict / cascade / set_null, and restore."""

from __future__ import annotations

import pytest

from karte.store import Records
from karte.store.errors import Conflict, NotFound, Refused
from karte.store.migrate import migrate

ENTITIES = {
    "customer": {"name": "customer", "fields": {"name": {"type": "string"}}},
    "deal": {"name": "deal", "plural": "Deals", "fields": {
        "title": {"type": "string"},
        "customer": {"type": "link", "to": "customer", "on_delete": "restrict"},
        "contact": {"type": "link", "to": "contact", "on_delete": "set_null"}}},
    "contact": {"name": "contact", "fields": {
        "name": {"type": "string"},
        "customer": {"type": "link", "to": "customer", "on_delete": "cascade"}}},
    "task": {"name": "task", "fields": {
        "title": {"type": "string"},
        "contact": {"type": "link", "to": "contact", "on_delete": "cascade"}}},
}


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES)
    migrate(engine, pack)
    return Records(engine, pack)


def test_delete_is_soft_and_the_record_can_be_restored(service):
    acme = service.create("customer", {"name": "Acme"})

    assert service.delete("customer", acme["id"]) == {"customer": [acme["id"]]}

    with pytest.raises(NotFound):
        service.get("customer", acme["id"])
    gone = service.get("customer", acme["id"], include_deleted=True)
    assert gone["deleted_at"] is not None and gone["version"] == 2
    assert service.query("customer") == []
    back = service.restore("customer", acme["id"])
    assert back["deleted_at"] is None and back["version"] == 3


def test_restrict_refuses_while_live_records_point_here(service):
    acme = service.create("customer", {"name": "Acme"})
    deals = [service.create("deal", {"title": t, "customer": acme["id"]}) for t in "ABC"]

    with pytest.raises(Refused) as error:
        service.delete("customer", acme["id"])

    assert [p.message for p in error.value.problems] == [
        "3 deals still point at this customer; delete or move them first."]
    assert service.get("customer", acme["id"])["version"] == 1
    for deal in deals:
        service.delete("deal", deal["id"])
    service.delete("customer", acme["id"])


def test_cascade_deletes_along_recursively_and_audited(service):
    acme = service.create("customer", {"name": "Acme"})
    ann = service.create("contact", {"name": "Ann", "customer": acme["id"]})
    call = service.create("task", {"title": "Call", "contact": ann["id"]})

    deleted = service.delete("customer", acme["id"])

    assert deleted == {"customer": [acme["id"]], "contact": [ann["id"]], "task": [call["id"]]}
    assert service.count("contact") == 0 and service.count("task") == 0
    assert service.history("task", call["id"])[0]["action"] == "delete"


def test_a_restrict_link_below_a_cascade_blocks_the_whole_delete(service):
    acme = service.create("customer", {"name": "Acme"})
    ann = service.create("contact", {"name": "Ann", "customer": acme["id"]})
    other = service.create("customer", {"name": "Other"})
    service.create("deal", {"title": "D", "customer": other["id"], "contact": ann["id"]})
    service.create("deal", {"title": "E", "customer": acme["id"]})

    with pytest.raises(Refused) as error:
        service.delete("customer", acme["id"])

    assert error.value.problems[0].message.startswith("1 deal still points at this customer")
    assert service.count("contact") == 1


def test_set_null_clears_the_link_and_records_the_change(service):
    acme = service.create("customer", {"name": "Acme"})
    other = service.create("customer", {"name": "Other"})
    ann = service.create("contact", {"name": "Ann", "customer": other["id"]})
    deal = service.create("deal", {"title": "D", "customer": acme["id"],
                                   "contact": ann["id"]})

    service.delete("contact", ann["id"])

    cleared = service.get("deal", deal["id"])
    assert cleared["contact"] is None and cleared["version"] == 2
    assert service.history("deal", deal["id"])[0]["changes"] == {"contact": [ann["id"], None]}


def test_deleted_records_do_not_keep_a_target_alive(service):
    acme = service.create("customer", {"name": "Acme"})
    deal = service.create("deal", {"title": "D", "customer": acme["id"]})
    service.delete("deal", deal["id"])

    service.delete("customer", acme["id"])

    with pytest.raises(Refused) as error:
        service.restore("deal", deal["id"])
    assert error.value.by_field() == {
        "customer": [f"Restore customer {acme['id']} first: this deal points at it."]}


def test_delete_with_a_stale_version_is_a_conflict(service):
    acme = service.create("customer", {"name": "Acme"})
    service.update("customer", acme["id"], {"name": "Acme Inc"}, 1)

    with pytest.raises(Conflict) as error:
        service.delete("customer", acme["id"], version=1)

    assert error.value.changed == {"name": ("Acme Inc", "Acme")}
    assert service.get("customer", acme["id"])["deleted_at"] is None
