"""The card hides a field whose `visible_if` does not hold, as the form does (SPEC §3.1):
"Reason lost" belongs to lost deals only, whatever the field happens to hold."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"fields": {
        "name": {"type": "string", "required": True},
        "kind": {"type": "enum", "options": ["company", "person"]}}},
    "deal": {
        "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True},
            "customer": {"type": "link", "to": "customer"},
            "lost_reason": {"type": "text", "label": "Reason lost",
                            "visible_if": {"field": "stage", "op": "=", "value": "lost"}},
            "company_no": {"type": "string", "label": "Company number",
                           "visible_if": {"field": "customer.kind", "op": "=",
                                          "value": "company"}}},
        "card": {"sections": [{"label": "Deal", "fields": ["title", "customer"]},
                              {"label": "Closing", "fields": ["lost_reason"]},
                              {"label": "Company", "fields": ["company_no"]}]}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "meeting"},
                       {"key": "won", "final": "won"}, {"key": "lost", "final": "lost"}]}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE})


def card(app, id: int) -> dict[str, dict[str, str]]:
    """{section heading: {label: shown value}} of the deal's card."""
    response = app.client().get(f"/deal/{id}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return {section.h2.get_text(strip=True): {
        div.dt.get_text(strip=True): div.dd.get_text(" ", strip=True)
        for div in section.select("dl.fields > div")}
        for section in soup.select("section.section")}


def test_a_filled_field_whose_condition_fails_is_hidden_until_it_holds(app):
    records = app.extensions["karte"]["records"]
    flows = app.extensions["karte"]["workflows"]
    deal = records.create("deal", {"title": "Big deal", "lost_reason": "Too expensive"})
    flows.move("deal", deal["id"], "meeting")

    assert "Closing" not in card(app, deal["id"])

    flows.move("deal", deal["id"], "lost")
    assert card(app, deal["id"])["Closing"] == {"Reason lost": "Too expensive"}


def test_a_condition_through_a_link_is_judged_on_the_linked_record(app):
    records = app.extensions["karte"]["records"]
    person = records.create("customer", {"name": "Ann", "kind": "person"})
    firm = records.create("customer", {"name": "Acme", "kind": "company"})
    for_person = records.create("deal", {"title": "A", "customer": person["id"],
                                         "company_no": "X-1"})
    for_firm = records.create("deal", {"title": "B", "customer": firm["id"]})

    assert "Company" not in card(app, for_person["id"])
    assert card(app, for_firm["id"])["Company"] == {"Company number": "—"}
