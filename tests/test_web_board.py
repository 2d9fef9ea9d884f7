"""The kanban board: columns with counts and money totals, cards, filters, paging,
overdue badges — and only what the viewer's role may read (SPEC §3.4, §4, §11)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string", "required": True}}},
    "deal": {
        "label": "Deal", "plural": "Deals", "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True},
            "customer": {"type": "link", "to": "customer"},
            "amount": {"type": "money"},
            "invoice_no": {"type": "string"},
            "priority": {"type": "enum", "options": ["low", "high"]},
            "owner": {"type": "user"},
            "lost_reason": {"type": "text"},
        },
        "list": {"columns": ["title", "customer", "stage", "amount", "owner"],
                 "search": ["title"], "sort": "title"},
    },
}
PIPELINE = {
    "name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
    "stages": [
        {"key": "new", "label": "New"},
        {"key": "contacted", "label": "Contacted", "max_days": 7, "color": "#60a5fa"},
        {"key": "proposal", "label": "Proposal", "requires": ["amount"]},
        {"key": "invoiced", "label": "Invoiced", "requires": ["amount", "invoice_no"],
         "rules": [{"when": {"field": "amount", "op": ">", "value": 0},
                    "message": "An invoice needs a positive amount."}]},
        {"key": "won", "label": "Won", "final": "won"},
        {"key": "lost", "label": "Lost", "final": "lost", "requires": ["lost_reason"]},
    ],
    "transitions": [{"from": "invoiced", "to": "won", "roles": ["admin", "manager"]}],
}
ROLES = {"name": "t", "currency": "USD", "roles": {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False}},
    "manager": {"*": {"read": "all", "create": True, "update": "all", "delete": "all"}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)


def services(app):
    return app.extensions["karte"]


def add_deal(app, title: str, stage: str = "new", owner: int | None = None,
             **values) -> int:
    """A deal created by the system and moved (as the system) to `stage`."""
    record = services(app)["records"].create("deal", {"title": title, "owner": owner,
                                                      **values})
    if stage != "new":
        services(app)["workflows"].move("deal", record["id"], stage)
    return record["id"]


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def column(soup: BeautifulSoup, stage: str):
    return soup.find("ol", attrs={"data-stage": stage}).find_parent("section")


def titles(section) -> list[str]:
    return [a.get_text(strip=True) for a in section.select(".board-card .card-title")]


def numbers(section) -> tuple[str, str]:
    return (section.select_one(".col-count").get_text(strip=True),
            section.select_one(".col-total").get_text(strip=True))


def test_a_column_per_stage_in_order_with_count_and_money_total(app):
    client = app.client()
    add_deal(app, "Alpha", amount="100.50")
    add_deal(app, "Beta", amount="20")
    add_deal(app, "Gamma", "proposal", amount="1000")

    soup = page(client, "/board/pipeline")

    heads = [h.get_text(strip=True) for h in soup.select(".col-head h2")]
    assert heads == ["New", "Contacted", "Proposal", "Invoiced", "Won", "Lost"]
    assert numbers(column(soup, "new")) == ("2 cards", "$120.50")
    assert numbers(column(soup, "proposal")) == ("1 card", "$1,000.00")
    assert numbers(column(soup, "won")) == ("0 cards", "$0.00")
    assert titles(column(soup, "new")) == ["Alpha", "Beta"]
    assert "c-60a5fa" in column(soup, "contacted").select_one(".col-head")["class"]


def test_cards_show_money_fields_owner_and_link_to_the_card(app):
    client = app.client()
    owner = app.user("manager")
    acme = services(app)["records"].create("customer", {"name": "Acme <Ltd>"})
    id = add_deal(app, "Alpha", customer=acme["id"], amount="5", owner=owner)

    card = page(client, "/board/pipeline").select_one(".board-card")

    assert card.select_one(".card-title")["href"] == f"/deal/{id}"
    keys = {dt.get_text(strip=True): dd.get_text(strip=True)
            for dt, dd in zip(card.select("dt"), card.select("dd"), strict=True)}
    assert keys == {"Amount": "$5.00"}  # no subtitle declared: money fields (board_cards)
    assert card.select_one(".initials")["title"] == "Manager"


def test_an_own_role_sees_only_its_cards_and_counts(app):
    me = app.user("sales")
    sales = app.client("sales")
    other = app.user("manager")
    add_deal(app, "Mine", owner=me, amount="10")
    add_deal(app, "Theirs", owner=other, amount="990")
    add_deal(app, "Theirs too", "proposal", owner=other, amount="5")

    soup = page(sales, "/board/pipeline")

    assert titles(column(soup, "new")) == ["Mine"]
    assert numbers(column(soup, "new")) == ("1 card", "$10.00")
    assert numbers(column(soup, "proposal")) == ("0 cards", "$0.00")
    assert "Theirs" not in soup.get_text()


def test_filter_by_owner_and_search_stay_in_the_url(app):
    me = app.user("manager")
    other = app.user("sales")
    client = app.client("manager")
    add_deal(app, "Big apple", owner=me)
    add_deal(app, "Small apple", owner=other)
    add_deal(app, "Pear", owner=me)

    mine = page(client, "/board/pipeline?owner=me")
    assert titles(column(mine, "new")) == ["Big apple", "Pear"]
    assert mine.select_one("select[name=owner] option[selected]")["value"] == "me"

    theirs = page(client, f"/board/pipeline?owner={other}&q=APPLE")
    assert titles(column(theirs, "new")) == ["Small apple"]
    assert numbers(column(theirs, "new"))[0] == "1 card"
    assert theirs.select_one(".board-filters input[name=q]")["value"] == "APPLE"
    mover = theirs.select_one(".board-card")["data-move"]
    assert f"owner={other}" in mover and "q=APPLE" in mover


def test_a_long_column_loads_more_on_demand(app):
    client = app.client()
    services(app)["records"].create_many("deal", [{"title": f"Deal {n:02}"}
                                                  for n in range(45)])

    soup = page(client, "/board/pipeline")
    new = column(soup, "new")
    assert len(titles(new)) == 20
    more = new.select_one(".more a")
    assert more["hx-get"] == more["href"] == "/board/pipeline/new?offset=20"
    assert more["hx-swap"] == "outerHTML"

    fragment = client.get(more["hx-get"], headers={"HX-Request": "true"})
    part = BeautifulSoup(fragment.get_data(as_text=True), "html.parser")
    assert part.find("html") is None
    assert titles(part) == [f"Deal {n:02}" for n in range(20, 40)]
    assert part.select_one(".more a")["href"] == "/board/pipeline/new?offset=40"

    last = BeautifulSoup(client.get("/board/pipeline/new?offset=40",
                                    headers={"HX-Request": "true"}).get_data(as_text=True),
                         "html.parser")
    assert titles(last) == [f"Deal {n:02}" for n in range(40, 45)]
    assert last.select_one(".more") is None


def test_the_full_column_page_works_without_javascript(app):
    client = app.client()
    services(app)["records"].create_many("deal", [{"title": f"Deal {n:02}"}
                                                  for n in range(60)])

    soup = page(client, "/board/pipeline/new?offset=5")

    assert soup.select_one("h1").get_text(" ", strip=True) == "Pipeline › New"
    assert titles(soup)[:2] == ["Deal 05", "Deal 06"]
    assert len(titles(soup)) == 50
    assert soup.select_one(".more a")["href"] == "/board/pipeline/new?offset=55"


def test_overdue_cards_carry_a_badge_and_the_column_counts_them(app):
    client = app.client()
    late = add_deal(app, "Late", "contacted")
    add_deal(app, "Fresh", "contacted")
    store = services(app)["records"].store
    moves, deals = store.tables["karte_stage_move"], store.table("deal")
    eight_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    with services(app)["engine"].begin() as conn:   # entered the stage eight days ago
        conn.execute(moves.update().where(moves.c.record_id == late).values(at=eight_days_ago))
        conn.execute(deals.update().where(deals.c.id == late).values(_stage_at=eight_days_ago))

    contacted = column(page(client, "/board/pipeline"), "contacted")

    badges = {c.select_one(".card-title").get_text(strip=True):
              c.select_one(".badge.overdue") is not None
              for c in contacted.select(".board-card")}
    assert badges == {"Fresh": False, "Late": True}
    assert contacted.select_one(".col-head .overdue").get_text(strip=True) == "1 overdue"


def test_unknown_boards_and_stages_are_not_found_and_unreadable_ones_forbidden(make_app):
    roles = {**ROLES, "roles": {**ROLES["roles"], "blind": {"*": {"read": False}}}}
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=roles)
    client = app.client()
    assert client.get("/board/nope").status_code == 404
    assert client.get("/board/pipeline/nope").status_code == 404
    assert app.client("blind").get("/board/pipeline").status_code == 403


def test_the_board_offers_a_move_form_that_works_without_javascript(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    form = page(client, "/board/pipeline").select_one(".board-card form")
    data = {i["name"]: i.get("value", "") for i in form.select("input")}
    assert [o["value"] for o in form.select("select[name=to] option")] == [
        "contacted", "proposal", "invoiced", "won", "lost"]

    response = client.post(form["action"], data={**data, "to": "contacted"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/board/pipeline"
    assert services(app)["records"].get("deal", id)["stage"] == "contacted"


def test_a_viewer_gets_no_move_forms(app):
    add_deal(app, "Alpha")
    soup = page(app.client("viewer"), "/board/pipeline")
    assert titles(column(soup, "new")) == ["Alpha"]
    assert soup.select(".card-move") == []


def test_stage_counts_are_limited_to_what_the_actor_may_read(app):
    me = app.user("sales")
    add_deal(app, "Mine", owner=me, amount="1")
    add_deal(app, "Theirs", amount="2")
    flows = services(app)["workflows"]
    sales = _actor(app, me)

    assert flows.stage_counts("pipeline", actor=sales)["new"]["count"] == 1
    assert flows.stage_counts("pipeline")["new"]["count"] == 2


def _actor(app, id: int):
    from karte.auth.users import get_user

    return get_user(services(app)["engine"], id)


def test_a_board_needs_sign_in(app):
    response = app.test_client().get("/board/pipeline")
    assert response.status_code in (302, 303)
