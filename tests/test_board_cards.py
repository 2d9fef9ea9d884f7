"""Board cards and columns (issue 12, SPEC §3.7 `board.fields`): what a card shows — the
declared fields or the default (subtitle, money fields, owner) — with no lines for empty
values, days in stage, the overdue badge and the owner's initials; never a field hidden
from the viewer; final stages collapsed into drop targets opened by a link; the phone's
stage switcher; and no query per card."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from karte.web.board_cards import initials

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string", "required": True},
                            "city": {"type": "string"}},
                 "subtitle": ["city"]},
    "deal": {
        "label": "Deal", "plural": "Deals", "title_field": "title",
        "subtitle": ["customer", "owner"],
        "fields": {
            "title": {"type": "string", "required": True},
            "customer": {"type": "link", "to": "customer"},
            "amount": {"type": "money"},
            "cost": {"type": "money", "label": "Cost"},
            "close_on": {"type": "date", "label": "Close on"},
            "priority": {"type": "enum", "options": ["low", "high"]},
            "owner": {"type": "user"},
        },
        "list": {"columns": ["title", "customer", "stage", "amount", "owner"],
                 "search": ["title"], "sort": "title"},
    },
}
STAGES = [
    {"key": "new", "label": "New"},
    {"key": "contacted", "label": "Contacted", "max_days": 7},
    {"key": "won", "label": "Won", "final": "won"},
    {"key": "lost", "label": "Lost", "final": "lost"},
]
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
            "stages": STAGES}
DECLARED = {**PIPELINE, "board": {"fields": ["customer", "priority", "close_on", "owner"]}}
ROLES = {"name": "t", "currency": "USD", "roles": {
    "sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
              "deal": {"read": "all", "create": True, "update": "all", "delete": False,
                       "hidden": ["cost", "priority"]}},
}}


def services(app):
    return app.extensions["karte"]


def person(app, name: str, email: str) -> int:
    from karte.auth.users import add_user

    return add_user(services(app)["engine"], services(app)["pack"], email, "sales", None,
                    name=name)


def deal(app, title: str, stage: str = "new", **values) -> int:
    record = services(app)["records"].create("deal", {"title": title, **values})
    if stage != "new":
        services(app)["workflows"].move("deal", record["id"], stage)
    return record["id"]


def backdate(app, id: int, days: int) -> None:
    """The deal entered its stage (and was created) `days` ago."""
    tables = services(app)["records"].store.tables
    moves, deals = tables["karte_stage_move"], tables["deal"]
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=days, hours=1)
    with services(app)["engine"].begin() as conn:
        conn.execute(moves.update().where(moves.c.record_id == id,
                                          moves.c.entity == "deal").values(at=then))
        conn.execute(deals.update().where(deals.c.id == id).values(created_at=then,
                                                                   _stage_at=then))


def board(client, url: str = "/board/pipeline") -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def card_of(soup: BeautifulSoup, id: int):
    return soup.find(id=f"card-deal-{id}")


def fields(card) -> dict[str, str]:
    return {d.get_text(strip=True): v.get_text(strip=True)
            for d, v in zip(card.select(".card-fields dt"), card.select(".card-fields dd"),
                            strict=True)}


def column(soup: BeautifulSoup, stage: str):
    return soup.find("ol", attrs={"data-stage": stage}).find_parent("section")


# ---------------------------------------------------------------- what a card shows

def test_without_board_a_card_shows_subtitle_money_fields_and_the_owners_initials(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    ann = person(app, "Ann Lee", "ann@example.com")
    acme = services(app)["records"].create("customer", {"name": "Acme <Ltd>"})
    id = deal(app, "Alpha", customer=acme["id"], amount="5", cost="2", owner=ann,
              priority="high")

    card = card_of(board(app.client()), id)

    assert card.select_one(".card-title").get_text(strip=True) == "Alpha"
    assert card.select_one(".card-sub").get_text(strip=True) == "Acme <Ltd>"
    assert card.select_one(".card-sub a") is None   # the title is the card's one link
    assert fields(card) == {"Amount": "$5.00", "Cost": "$2.00"}   # priority: not default
    badge = card.select_one(".initials")
    assert badge.get_text(strip=True) == "AL"
    assert badge["title"] == "Ann Lee"
    assert badge["role"] == "img" and badge["aria-label"] == "Owner: Ann Lee"


def test_declared_board_fields_are_shown_in_order_and_the_owner_as_initials(make_app):
    app = make_app(ENTITIES, {"pipeline": DECLARED}, pack=ROLES)
    bo = person(app, "Bo", "bo@example.com")
    acme = services(app)["records"].create("customer", {"name": "Acme"})
    id = deal(app, "Alpha", customer=acme["id"], amount="5", owner=bo, priority="high",
              close_on="2030-01-31")

    card = card_of(board(app.client()), id)

    assert list(fields(card)) == ["Customer", "Priority", "Close on"]
    assert fields(card)["Customer"] == "Acme"
    assert "Amount" not in card.get_text()    # not declared: not shown
    assert card.select_one(".card-sub") is None
    assert card.select_one(".initials").get_text(strip=True) == "BO"


def test_empty_values_get_no_line(make_app):
    app = make_app(ENTITIES, {"pipeline": DECLARED}, pack=ROLES)
    id = deal(app, "Bare")

    card = card_of(board(app.client()), id)

    assert card.select(".card-fields") == []
    assert card.select_one(".initials") is None
    assert "—" not in card.get_text()
    assert [a.get_text(strip=True) for a in card.select("a")] == ["Bare"]


def test_empty_default_fields_get_no_line_either(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    id = deal(app, "Half", amount="7")

    card = card_of(board(app.client()), id)

    assert fields(card) == {"Amount": "$7.00"}
    assert card.select_one(".card-sub") is None
    assert "—" not in card.get_text()


def test_days_in_stage_and_the_overdue_badge(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    fresh = deal(app, "Fresh", "contacted")
    old = deal(app, "Old", "contacted")
    calm = deal(app, "Calm")
    backdate(app, old, 9)      # past the stage's max_days (7)
    backdate(app, calm, 30)    # "new" has no max_days: never overdue

    soup = board(app.client())

    assert card_of(soup, fresh).select_one(".card-days").get_text(strip=True) \
        .startswith("0 days")
    assert card_of(soup, fresh).select_one(".overdue") is None
    late = card_of(soup, old)
    assert late.select_one('.card-days [aria-hidden="true"]').get_text() == "9 days"
    assert late.select_one(".card-days")["title"] == "In this stage for 9 days"
    assert "is-late" in late["class"] and "is-late" in late.select_one(".card-days")["class"]
    assert late.select_one(".badge.overdue").get_text(strip=True) == "Overdue"
    assert card_of(soup, calm).select_one('.card-days [aria-hidden="true"]') \
        .get_text() == "30 days"
    assert card_of(soup, calm).select_one(".overdue") is None


def test_a_card_in_japanese(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    id = deal(app, "Alpha", "contacted")
    backdate(app, id, 3)

    card = card_of(board(app.client(), "/board/pipeline?lang=ja"), id)

    assert card.select_one('.card-days [aria-hidden="true"]').get_text() == "3日"


@pytest.mark.parametrize("name, expected", [
    ("Ann Lee", "AL"), ("ann van der lee", "AL"), ("Bo", "BO"), ("山田 太郎", "山太"),
    ("山田", "山田"), ("jo.smith@example.com", "JS"), ("", "?"),
])
def test_initials(name, expected):
    assert initials(name) == expected


# ---------------------------------------------------------------- rights

@pytest.mark.parametrize("workflow", [PIPELINE, DECLARED], ids=["default", "declared"])
def test_a_hidden_field_is_never_on_a_card(make_app, workflow):
    app = make_app(ENTITIES, {"pipeline": workflow}, pack=ROLES)
    id = deal(app, "Alpha", amount="5", cost="1234.56", priority="high")

    admin = card_of(board(app.client()), id)
    sales_page = app.client("sales").get("/board/pipeline").get_data(as_text=True)
    sales = card_of(BeautifulSoup(sales_page, "html.parser"), id)

    seen_by_admin = fields(admin)
    assert "Cost" in seen_by_admin or "Priority" in seen_by_admin
    assert "Cost" not in fields(sales) and "Priority" not in fields(sales)
    assert "1,234.56" not in sales_page and ">high<" not in sales_page


# ---------------------------------------------------------------- columns

def test_final_stages_are_collapsed_drop_targets_opened_by_a_link(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    won = deal(app, "Won one", "won", amount="10")
    client = app.client()

    soup = board(client)

    section = column(soup, "won")
    assert "is-collapsed" in section["class"]
    assert section.select(".board-card") == []                  # not even fetched
    assert section.select_one(".col-count").get_text(strip=True) == "1 card"
    assert section.select_one(".col-total").get_text(strip=True) == "$10.00"
    assert section.select_one("ol.board-list")["data-stage"] == "won"   # the drop target
    assert "is-collapsed" not in column(soup, "contacted")["class"]
    expand = section.select_one("a.col-expand")
    assert expand["href"] == "/board/pipeline?open=won"

    opened = board(client, expand["href"])
    assert "is-collapsed" not in column(opened, "won")["class"]
    assert card_of(opened, won) is not None
    assert "is-collapsed" in column(opened, "lost")["class"]
    assert column(opened, "won").select_one("a.col-collapse")["href"] == "/board/pipeline"

    cards = client.get(expand["data-cards"], headers={"HX-Request": "true"})
    assert cards.status_code == 200
    fragment = BeautifulSoup(cards.get_data(as_text=True), "html.parser")
    assert [li["id"] for li in fragment.select(".board-card")] == [f"card-deal-{won}"]


def test_the_phone_switcher_shows_one_stage_and_opens_a_final_one(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    deal(app, "Contacted one", "contacted")
    lost = deal(app, "Lost one", "lost")
    client = app.client()

    soup = board(client)
    links = soup.select(".stage-switch a")
    assert [a["data-stage"] for a in links] == ["new", "contacted", "won", "lost"]
    # the first stage with cards is current when the URL names none
    assert [a["data-stage"] for a in links if a.get("aria-current")] == ["contacted"]
    assert [s.select_one("ol")["data-stage"] for s in soup.select(".board-col.is-current")] \
        == ["contacted"]

    switched = board(client, links[3]["href"])
    assert "is-current" in column(switched, "lost")["class"]
    assert "is-collapsed" not in column(switched, "lost")["class"]
    assert card_of(switched, lost) is not None


def test_cards_cost_no_query_each(make_app):
    """Link titles, user names and days in stage are fetched per board, not per card."""
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)
    client = app.client()
    engine = services(app)["engine"]
    ann = person(app, "Ann Lee", "ann@example.com")

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            board(client)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(n: int) -> None:
        for i in range(n):
            customer = services(app)["records"].create("customer", {"name": f"C{i}"})
            deal(app, f"Deal {i}", "contacted" if i % 2 else "new",
                 customer=customer["id"], amount="1", owner=ann)

    add(2)
    few = statements()
    add(10)
    assert statements() == few
