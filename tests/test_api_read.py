"""Reading records through /api/v1 (SPEC §11.1): the JSON shapes of the field types, lines,
links and `expand`, sparse `fields`, filters and search exactly as the list page gives
them, the 400s of a bad query, 403 and 404 — for a token's user, on both databases."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from tests import api_read_pack as pack
from tests.api_live import api_client


@pytest.fixture
def app(make_app):
    return pack.make(make_app)


@pytest.fixture
def acme(app):
    records, _flows = pack.services(app)
    owner = app.user("sales")
    products = [records.create("product", {"name": n, "price": "2"})["id"] for n in "AB"]
    return records.create("customer", {**pack.ACME, "owner": owner, "products": products})


def test_a_record_reads_in_declaration_order_each_type_in_its_json_shape(app, acme):
    response = api_client(app).get(f"/api/v1/customer/{acme['id']}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert list(body) == ["id", "version", "created_at", "updated_at", "created_by",
                          "updated_by", *pack.CUSTOMER["fields"]]
    assert {k: v for k, v in body.items() if k in pack.CUSTOMER["fields"]} == {
        "name": "Acme", "email": "info@acme.example", "phone": "+81312345678",
        "site": "https://acme.example", "revenue": "1234.50", "share": "12.50",
        "score": 7, "since": "2026-12-01", "last_contact": "2026-12-01T09:30:00+00:00",
        "tier": "gold", "tags": ["vip", "new"], "active": True, "notes": "two\nlines",
        "owner": acme["owner"], "products": acme["products"], "double": "2469.00",
        "secret": "hush"}
    assert body["id"] == acme["id"] and body["version"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", body["created_at"])
    assert body["created_by"] is None                     # made by the system


def test_lines_are_nested_under_their_field_without_the_fields_the_role_may_not_see(app):
    records, _flows = pack.services(app)
    product = records.create("product", {"name": "Cement"})["id"]
    quote = records.create("quote", {"title": "Q1", "lines": [
        {"product": product, "quantity": "2", "unit_price": "10", "unit_cost": "7"},
        {"product": product, "quantity": "1.5", "unit_price": "4", "unit_cost": "3"}]})
    admin = api_client(app).get(f"/api/v1/quote/{quote['id']}").json
    assert [line["amount"] for line in admin["lines"]] == ["20.00", "6.00"]
    assert list(admin["lines"][0]) == ["id", "product", "quantity", "unit_price",
                                       "unit_cost", "amount"]
    sales = api_client(app, "sales").get(f"/api/v1/quote/{quote['id']}").json
    assert [line["quantity"] for line in sales["lines"]] == ["2.00", "1.50"]
    assert all("unit_cost" not in line for line in sales["lines"])
    listed = api_client(app, "sales").get("/api/v1/quote").json["data"]
    assert listed[0]["lines"] == sales["lines"]


def test_a_field_hidden_from_the_role_never_appears_and_cannot_be_asked_for(app, acme):
    sales = api_client(app, "sales")
    assert "secret" not in sales.get(f"/api/v1/customer/{acme['id']}").json
    assert "secret" not in sales.get("/api/v1/customer").json["data"][0]
    for query in ("fields=name,secret", "f.secret=hush", "sort=secret"):
        refused = sales.get(f"/api/v1/customer?{query}")
        assert refused.status_code == 400, query
        assert refused.json["errors"][0]["field"] in ("fields", "f.secret", "sort")
        message = refused.json["errors"][0]["message"]
        for typed in ("f.secret", "“secret”", '"secret"'):
            message = message.replace(typed, "")
        assert "secret" not in message, query      # not among the names offered


def test_sparse_fields_return_those_named_with_the_id_and_version(app, acme):
    client = api_client(app)
    one = client.get(f"/api/v1/customer/{acme['id']}?fields=email,revenue").json
    assert one == {"id": acme["id"], "version": 1, "email": "info@acme.example",
                   "revenue": "1234.50"}
    listed = client.get("/api/v1/customer?fields=name&fields=tier").json["data"]
    assert listed == [{"id": acme["id"], "version": 1, "name": "Acme", "tier": "gold"}]


def test_links_are_ids_and_expand_gives_id_and_title(app, acme):
    records, _flows = pack.services(app)
    deal = records.create("deal", {"title": "Big", "customer": acme["id"]})
    client = api_client(app)
    assert client.get(f"/api/v1/deal/{deal['id']}").json["customer"] == acme["id"]
    expanded = client.get(f"/api/v1/deal/{deal['id']}?expand=customer").json
    assert expanded["customer"] == {"id": acme["id"], "title": "Acme"}
    assert list(expanded) == list(client.get(f"/api/v1/deal/{deal['id']}").json)
    sparse = client.get(f"/api/v1/deal/{deal['id']}?expand=customer&fields=amount,customer")
    assert list(sparse.json) == ["id", "version", "customer", "amount"]     # declared order
    products = client.get(f"/api/v1/customer/{acme['id']}?expand=products").json["products"]
    assert products == [{"id": acme["products"][0], "title": "A"},
                        {"id": acme["products"][1], "title": "B"}]
    assert client.get("/api/v1/deal?expand=title").status_code == 400


def test_expanded_titles_are_one_query_per_linked_entity_whatever_the_page_size(app):
    records, _flows = pack.services(app)
    firms = records.create_many("customer", [{"name": f"Firm {i}"} for i in range(20)])
    records.create_many("deal", [{"title": f"Deal {i}", "customer": firms[i % 20]}
                                 for i in range(60)])
    client = api_client(app)
    client.get("/api/v1/deal?limit=1")           # the token's first use is noted once

    def statements(limit: int) -> int:
        seen: list[str] = []
        engine = app.extensions["karte"]["engine"]
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listen)
        try:
            page = client.get(f"/api/v1/deal?limit={limit}&expand=customer")
        finally:
            sa.event.remove(engine, "before_cursor_execute", listen)
        assert page.status_code == 200
        assert all(isinstance(d["customer"]["title"], str) for d in page.json["data"])
        return len(seen)

    assert statements(50) == statements(5)


def list_page_ids(app, entity: str, query: str) -> list[int]:
    """The ids of the records the list page shows for this query string, top to bottom."""
    page = app.client().get(f"/{entity}/?{query}")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    found = []
    for row in soup.select("table.list-table tbody tr"):
        link = row.select_one(f"td a[href^='/{entity}/']")
        found.append(int(link["href"].rsplit("/", 1)[1]))
    return found


@pytest.mark.parametrize("query", [
    "", "q=acme", "q=EXAMPLE", "f.tier=gold", "f.tier.in=gold,bronze", "f.revenue.gte=100",
    "f.revenue.lt=100&sort=-revenue", "f.tier.empty=1", "sort=-name", "sort=tier",
    "f.tags=vip", "f.since.gte=2026-06-01&q=a", "f.owner=me",
])
def test_filters_search_and_sort_select_what_the_list_page_shows(app, query):
    records, _flows = pack.services(app)
    admin = app.user("admin")
    rows = [{"name": "Acme", "email": "a@acme.example", "revenue": "1500", "tier": "gold",
             "tags": ["vip"], "since": "2026-07-01", "owner": admin},
            {"name": "Beta", "email": "b@beta.example", "revenue": "50", "tier": "bronze",
             "since": "2026-01-01"},
            {"name": "Acme West", "revenue": "99.99", "tags": ["new", "vip"], "owner": admin},
            {"name": "Gamma", "email": "g@example.com", "tier": "gold"},
            {"name": "delta", "revenue": "100", "since": "2026-06-01"}]
    records.create_many("customer", rows)
    api = api_client(app).get(f"/api/v1/customer?{query}")
    assert api.status_code == 200, api.json
    assert [r["id"] for r in api.json["data"]] == list_page_ids(app, "customer", query)


@pytest.mark.parametrize(("query", "field", "code"), [
    ("page=2", "page", "unknown_parameter"),
    ("f.nothing=1", "f.nothing", "filter"),
    ("f.revenue.gte=lots", "f.revenue.gte", None),
    ("f.tier.gte=gold", "f.tier.gte", "filter"),
    ("sort=nothing", "sort", "sort"),
    ("limit=0", "limit", "limit"),
    ("limit=501", "limit", "limit"),
    ("limit=ten", "limit", "limit"),
    ("fields=name,nothing", "fields", "unknown_field"),
    ("expand=tier", "expand", "unknown_field"),
    ("cursor=nonsense", "cursor", "cursor"),
])
def test_a_query_that_cannot_be_answered_is_a_400_naming_its_parameter(app, query, field,
                                                                        code):
    refused = api_client(app).get(f"/api/v1/customer?{query}")
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    first = refused.json["errors"][0]
    assert first["field"] == field and first["message"]
    assert code is None or first["code"] == code


def test_limit_sizes_the_page_up_to_500(app):
    records, _flows = pack.services(app)
    records.create_many("product", [{"name": f"P{i:03d}"} for i in range(520)])
    client = api_client(app)
    assert client.get("/api/v1/product").json["limit"] == 50
    assert len(client.get("/api/v1/product").json["data"]) == 50
    full = client.get("/api/v1/product?limit=500").json
    assert len(full["data"]) == 500 and full["limit"] == 500 and full["next"]


def test_unknown_entities_and_parts_are_404_and_an_unreadable_entity_403(app, acme):
    guest = api_client(app, "guest")
    assert guest.get("/api/v1/product").status_code == 200
    refused = guest.get("/api/v1/customer")
    assert refused.status_code == 403
    assert refused.json["errors"][0]["code"] == "forbidden"
    assert app.client("guest").get("/customer/").status_code == 403    # as the list page
    for url in (f"/api/v1/customer/{acme['id']}", f"/api/v1/customer/{acme['id']}/history"):
        hidden = guest.get(url)       # a record of it is not revealed: 404, as its card
        assert hidden.status_code == 404, url
        assert hidden.json["errors"][0]["code"] == "not_found"
    assert app.client("guest").get(f"/customer/{acme['id']}").status_code == 404
    admin = api_client(app)
    for url in ("/api/v1/nothing", "/api/v1/quote_line", "/api/v1/quote_line/1",
                "/api/v1/customer/999999", "/api/v1/customer/abc"):
        assert admin.get(url).status_code == 404, url


def test_a_deleted_record_or_one_outside_the_read_scope_is_404(make_app):
    roles = {"mine": {"*": {"read": "own", "create": True, "update": "own"}}}
    app = make_app({"customer": pack.CUSTOMER, "product": pack.PRODUCT},
                   pack={"name": "t", "roles": roles})
    records, _flows = pack.services(app)
    theirs = records.create("customer", {"name": "Theirs"})
    gone = records.create("customer", {"name": "Gone"})
    records.delete("customer", gone["id"])
    client = api_client(app, "mine")
    assert client.get(f"/api/v1/customer/{theirs['id']}").status_code == 404
    assert api_client(app).get(f"/api/v1/customer/{gone['id']}").status_code == 404
    assert client.get("/api/v1/customer").json["data"] == []


def test_history_lists_moves_and_changes_newest_first_without_hidden_fields(app, acme):
    records, flows = pack.services(app)
    user = app.user("sales")
    customer = records.update("customer", acme["id"], {"secret": "told", "score": 8}, 1)
    records.update("customer", acme["id"], {"secret": "again"}, customer["version"])
    deal = records.create("deal", {"title": "Big", "amount": "10"})
    deal = records.update("deal", deal["id"], {"amount": "12.5"}, deal["version"])
    flows.move("deal", deal["id"], "won", values={"amount": "13"})
    history = api_client(app, "sales").get(f"/api/v1/deal/{deal['id']}/history").json
    kinds = [(e["kind"], e.get("action")) for e in history["data"]]
    assert kinds == [("move", None), ("change", "move"), ("change", "update"),
                     ("change", "create")]
    move, saved, update = history["data"][:3]
    assert (move["workflow"], move["from"], move["to"]) == ("deal_flow", "new", "won")
    assert saved["changes"] == {"amount": {"old": "12.50", "new": "13.00"}}
    assert update["changes"] == {"amount": {"old": "10.00", "new": "12.50"}}
    assert re.fullmatch(r".+\+00:00", move["at"])
    theirs = api_client(app, "sales").get(f"/api/v1/customer/{acme['id']}/history").json
    assert [e["action"] for e in theirs["data"]] == ["update", "create"]
    assert theirs["data"][0]["changes"] == {"score": {"old": 7, "new": 8}}
    assert user


def test_history_hides_line_changes_of_fields_the_role_may_not_see(app):
    records, _flows = pack.services(app)
    product = records.create("product", {"name": "Cement"})["id"]
    quote = records.create("quote", {"title": "Q1", "lines": [
        {"product": product, "quantity": "2", "unit_price": "10", "unit_cost": "7"}]})
    line = quote["lines"][0]["id"]
    records.update("quote", quote["id"], {"lines": [
        {"id": line, "product": product, "quantity": "3", "unit_price": "10",
         "unit_cost": "8"}]}, quote["version"])
    admin = api_client(app).get(f"/api/v1/quote/{quote['id']}/history").json["data"][0]
    sales = api_client(app, "sales").get(f"/api/v1/quote/{quote['id']}/history").json
    assert any(name.endswith(".unit_cost") for name in admin["changes"])
    assert not any(name.endswith(".unit_cost") for name in sales["data"][0]["changes"])
    assert any(name.endswith(".quantity") for name in sales["data"][0]["changes"])
    timeline = app.client("sales").get(f"/quote/{quote['id']}").get_data(as_text=True)
    assert "8.00" not in timeline and "7.00" not in timeline   # the card agrees (no leak)
    assert "8.00" in app.client().get(f"/quote/{quote['id']}").get_data(as_text=True)


def test_history_pages_by_limit(app, acme):
    records, _flows = pack.services(app)
    version = 1
    for score in range(5):
        version = records.update("customer", acme["id"], {"score": score}, version)["version"]
    client = api_client(app)
    first = client.get(f"/api/v1/customer/{acme['id']}/history?limit=4").json
    assert len(first["data"]) == 4 and first["next"]
    rest = client.get(f"/api/v1/customer/{acme['id']}/history?limit=4&cursor={first['next']}")
    assert len(rest.json["data"]) == 2 and rest.json["next"] is None
    other = client.get(f"/api/v1/deal/1/history?cursor={first['next']}")
    assert other.status_code in (400, 404)
