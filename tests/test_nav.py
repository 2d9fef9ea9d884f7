"""The main menu (SPEC §1 `nav`, issue 12): grouped as the pack declares, each user sees
the items they may open, the menu as before without `nav`, and on a phone the same menu
folds into a "Menu" button (a <details> that works without JavaScript)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"label": "Customer", "plural": "Customers",
                 "fields": {"name": {"type": "string", "required": True}}},
    "deal": {"label": "Deal", "plural": "Deals", "title_field": "title",
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer"}}},
    "ticket": {"label": "Ticket", "plural": "Tickets",
               "fields": {"subject": {"type": "string", "required": True}}},
    "memo": {"label": "Memo", "plural": "Memos",
             "fields": {"text": {"type": "string"}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
            "stages": [{"key": "new", "label": "New"},
                       {"key": "won", "label": "Won", "final": "won"}]}
NAV = [{"label": {"en": "Sales", "ja": "営業"},
        "items": ["customer", "deal", "board:pipeline"]},
       {"label": {"en": "Service", "ja": "サポート"}, "items": ["ticket"]}]
ROLES = {"support": {"*": {"read": "all"}, "deal": {"read": False}, "customer": {"read": False}}}


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def groups(soup: BeautifulSoup, where: str = ".mainnav") -> list[tuple[str, list[str]]]:
    found = []
    for group in soup.select(f"{where} .navgroup"):
        label = group.select_one(".navgroup-label")
        found.append((label.get_text(strip=True) if label else "",
                      [a.get_text(" ", strip=True).replace("▦ ", "")
                       for a in group.select("a")]))
    return found


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack={"name": "t", "nav": NAV,
                                                            "roles": ROLES})


def test_the_menu_is_grouped_as_the_pack_declares(app):
    soup = page(app.client().get("/"))
    assert groups(soup) == [("Sales", ["Customers", "Deals", "Pipeline"]),
                            ("Service", ["Tickets"])]
    assert "Memos" not in soup.select_one(".mainnav").get_text()   # not named: not in it
    assert soup.select_one(".mainnav .nav-home")["href"] == "/"
    group = soup.select_one(".mainnav .navgroup")
    assert soup.find(id=group["aria-labelledby"]).get_text(strip=True) == "Sales"


def test_group_labels_follow_the_language(app):
    soup = page(app.client().get("/?lang=ja"))
    assert [label for label, _ in groups(soup)] == ["営業", "サポート"]
    assert soup.select_one(".navmenu > summary").get_text(" ", strip=True).startswith(
        "☰ メニュー")


def test_a_user_sees_only_what_they_may_open_and_empty_groups_go(app):
    soup = page(app.client("support").get("/"))
    assert groups(soup) == [("Service", ["Tickets"])]


def test_the_current_page_is_marked_in_both_menus(app):
    soup = page(app.client().get("/deal/"))
    for where in (".mainnav", ".mobilenav"):
        current = soup.select(f"{where} a[aria-current=page]")
        assert [a.get_text(strip=True) for a in current] == ["Deals"], where
    summary = soup.select_one(".navmenu > summary").get_text(" ", strip=True)
    assert "Deals" in summary
    board = page(app.client().get("/board/pipeline"))
    assert board.select_one(".mainnav a[aria-current=page]")["href"] == "/board/pipeline"


def test_the_phone_menu_is_a_details_with_the_same_groups(app):
    soup = page(app.client().get("/"))
    menu = soup.select_one("details.navmenu")
    assert menu is not None and menu.select_one("summary") is not None
    assert groups(soup, ".mobilenav") == groups(soup)
    ids = [tag["id"] for tag in soup.select("[id]")]
    assert len(ids) == len(set(ids)), "the two menus' group headings have their own ids"


def test_without_nav_the_menu_is_every_readable_entity_then_the_boards(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack={"name": "t", "roles": ROLES})
    soup = page(app.client().get("/"))
    assert groups(soup) == [("", ["Customers", "Deals", "Memos", "Tickets", "Pipeline"])]
    assert soup.select_one(".mainnav .navgroup").get("role") is None
    assert groups(page(app.client("support").get("/"))) == [("", ["Memos", "Tickets"])]
