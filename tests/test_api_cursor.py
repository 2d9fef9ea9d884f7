"""Keyset pages of the list endpoint (SPEC §11.1 `cursor`): walking every page gives every
row once in the list's order, rows inserted or deleted between pages never make an existing
row repeat or go missing, and a cursor is refused when tampered with or used for another
query — on both databases."""

from __future__ import annotations

import random

import pytest
from itsdangerous import URLSafeSerializer

from tests import api_read_pack as pack
from tests.api_live import api_client


@pytest.fixture
def app(make_app):
    return pack.make(make_app)


def walk(client, query: str, limit: int, between=None) -> list[dict]:
    """Every record of the query, page by page (`between(page_number)` runs between)."""
    seen, url, number = [], f"/api/v1/customer?{query}&limit={limit}", 0
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.json
        assert page.json["limit"] == limit and len(page.json["data"]) <= limit
        seen += page.json["data"]
        if page.json["next"] is None:
            return seen
        number += 1
        if between is not None:
            between(number)
        url = f"/api/v1/customer?{query}&limit={limit}&cursor={page.json['next']}"


def customers(app, count: int, seed: int = 7) -> list[int]:
    """Customers with repeated and empty revenues, tiers and dates (ties and empty keys
    in every sort)."""
    chance = random.Random(seed)
    rows = [{"name": f"Firm {chance.randrange(40):02d}",
             "revenue": chance.choice([None, "10", "20.5", str(chance.randrange(1000))]),
             "tier": chance.choice([None, "bronze", "gold"]),
             "since": chance.choice([None, "2026-01-01", f"2025-0{chance.randrange(1, 10)}-15"])}
            for _ in range(count)]
    records, _flows = pack.services(app)
    return records.create_many("customer", rows)


@pytest.mark.parametrize("sort", ["", "name", "-revenue", "revenue", "tier", "-since", "id",
                                  "-created_at"])
def test_walking_every_page_gives_every_row_once_in_the_list_order(app, sort):
    customers(app, 83)
    client = api_client(app)
    query = f"sort={sort}" if sort else ""
    walked = [row["id"] for row in walk(client, query, 10)]
    whole = [row["id"] for row in client.get(f"/api/v1/customer?{query}&limit=500").json["data"]]
    assert walked == whole and len(whole) == 83
    records, _flows = pack.services(app)
    listed = [r["id"] for r in records.query("customer", sort=sort or None, limit=500)]
    assert walked == listed                                  # the list page's own order


def test_a_filtered_search_pages_through_its_own_rows_only(app):
    customers(app, 60)
    client = api_client(app)
    query = "q=firm%200&f.tier=gold&sort=-revenue"
    walked = [row["id"] for row in walk(client, query, 3)]
    whole = [row["id"] for row in client.get(f"/api/v1/customer?{query}&limit=500").json["data"]]
    assert walked == whole and whole


@pytest.mark.parametrize("sort", ["name", "-revenue", "since"])
def test_rows_inserted_or_deleted_between_pages_never_make_existing_rows_repeat_or_vanish(
        app, sort):
    existing = set(customers(app, 50))
    records, _flows = pack.services(app)
    chance = random.Random(3)
    removed: set[int] = set()

    def meanwhile(number: int) -> None:
        records.create_many("customer", [
            {"name": f"Firm {chance.randrange(40):02d}", "revenue": str(chance.randrange(1000)),
             "since": "2025-05-15"} for _ in range(4)])
        victim = chance.choice(sorted(existing - removed))
        records.delete("customer", victim)
        removed.add(victim)

    walked = [row["id"] for row in walk(api_client(app), f"sort={sort}", 7, meanwhile)]
    assert len(walked) == len(set(walked))                              # nothing twice
    assert existing - removed <= set(walked)                            # nothing missed


def test_a_tampered_cursor_is_a_400(app):
    customers(app, 12)
    client = api_client(app)
    cursor = client.get("/api/v1/customer?limit=5").json["next"]
    for forged in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
                   URLSafeSerializer("not the key", salt="karte.api.cursor").dumps(
                       ["x", 1, "Firm", 1])):
        refused = client.get(f"/api/v1/customer?limit=5&cursor={forged}")
        assert refused.status_code == 400
        assert refused.json["errors"][0]["field"] == "cursor"


def test_a_cursor_used_with_another_sort_or_filter_is_a_400(app):
    customers(app, 12)
    client = api_client(app)
    cursor = client.get("/api/v1/customer?limit=5&sort=name").json["next"]
    assert client.get(f"/api/v1/customer?limit=5&sort=name&cursor={cursor}").status_code == 200
    assert client.get(f"/api/v1/customer?limit=9&sort=name&cursor={cursor}").status_code == 200
    for other in ("sort=-name", "sort=name&f.tier=gold", "sort=name&q=firm", ""):
        refused = client.get(f"/api/v1/customer?limit=5&{other}&cursor={cursor}")
        assert refused.status_code == 400, other
        assert refused.json["errors"][0]["code"] == "cursor"
