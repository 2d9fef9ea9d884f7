"""The 404 page for a record speaks the UI language and names the entity by its label,
never by its internal name — the same words for missing, deleted and unreadable records."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {"sales_deal": {"label": {"en": "Opportunity", "ja": "商談"},
                           "fields": {"title": {"type": "string"}}}}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "t", "roles": ROLES})


def message(response) -> str:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return soup.select_one(".error-page .problems").get_text(" ", strip=True)


def test_a_missing_record_is_named_by_the_entitys_label(app):
    response = app.client().get("/sales_deal/99")

    assert response.status_code == 404
    assert message(response) == "There is no opportunity #99 (it may have been deleted)."


def test_the_message_is_in_japanese_on_a_japanese_page(app):
    client = app.client()
    client.get("/?lang=ja")

    response = client.get("/sales_deal/99/history")

    assert response.status_code == 404
    assert message(response) == "商談 #99 は見つかりません（削除された可能性があります）。"
    assert "sales_deal" not in response.get_data(as_text=True).split("<main", 1)[-1]


def test_a_record_out_of_reach_says_the_same_as_a_missing_one(app):
    hidden = app.extensions["karte"]["records"].create("sales_deal", {"title": "Secret"})

    response = app.client("rep").get(f"/sales_deal/{hidden['id']}")

    assert response.status_code == 404
    assert message(response) == (f"There is no opportunity #{hidden['id']} (it may have "
                                 "been deleted).")
