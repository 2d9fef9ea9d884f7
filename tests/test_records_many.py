"""Records service: create_many for demo data and imports — validated per row, batched,
all or nothing."""

from __future__ import annotations

import pytest

from karte.store import Records
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate

ENTITIES = {
    "customer": {"name": "customer", "fields": {
        "name": {"type": "string", "required": True},
        "email": {"type": "email", "unique": True},
        "tier": {"type": "enum", "options": ["a", "b"], "default": "a"}}},
    "deal": {"name": "deal", "fields": {
        "title": {"type": "string"},
        "customer": {"type": "link", "to": "customer"},
        "tags": {"type": "links", "to": "customer"}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, {"pipeline": PIPELINE})
    migrate(engine, pack)
    return Records(engine, pack)


def test_rows_are_created_in_batches_with_defaults_stages_links_and_audit(service):
    customers = service.create_many(
        "customer", ({"name": f"C{i}", "email": f"c{i}@example.com"} for i in range(25)),
        batch_size=10)
    deals = service.create_many("deal", [{"title": "D", "customer": customers[3],
                                          "tags": [customers[1], customers[0]]}])

    assert len(customers) == 25 and customers == sorted(customers)
    assert service.count("customer") == 25
    first = service.get("customer", customers[0])
    assert first["name"] == "C0" and first["tier"] == "a" and first["version"] == 1
    deal = service.get("deal", deals[0])
    assert deal["stage"] == "new" and deal["tags"] == sorted(customers[:2])
    assert service.history("customer", customers[24])[0]["action"] == "create"


def test_problems_name_the_row_and_nothing_is_written(service):
    rows = [{"name": "A", "email": "a@example.com"},
            {"name": "", "email": "not-an-email"},
            {"name": "C", "email": "A@example.com"},
            {"name": "D", "emial": "d@example.com"}]

    with pytest.raises(ValidationFailed) as error:
        service.create_many("customer", rows, batch_size=2)

    assert [p.where for p in error.value.problems] == [
        "row 2: email", "row 2: name", "row 3: email", "row 4: emial"]
    assert error.value.problems[2].message == "Another customer already has this email."
    assert service.count("customer") == 0


def test_link_targets_are_checked_for_the_whole_batch(service):
    [live] = service.create_many("customer", [{"name": "A"}])

    with pytest.raises(ValidationFailed) as error:
        service.create_many("deal", [{"customer": live}, {"customer": 4242}])

    assert [p.where for p in error.value.problems] == ["row 2: customer"]


def test_no_rows_create_nothing(service):
    assert service.create_many("customer", []) == []
