"""Quick-add on the card (issue 12, fast logging): the item's defaults pre-filled, its choice
list and notes offered, the card's record AND its customer linked, the timeline swapped
in place with htmx (a refusal keeps what was typed, in place), a plain post without."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"label": "Customer", "title_field": "name",
                 "fields": {"name": {"type": "string", "required": True}}},
    "contact": {"label": "Contact", "title_field": "name",
                "fields": {"name": {"type": "string", "required": True},
                           "customer": {"type": "link", "to": "customer"}}},
    "deal": {"label": "Deal", "title_field": "title",
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer", "label": "Customer"},
                        "contact": {"type": "link", "to": "contact", "label": "Contact"}}},
    "interaction": {
        "label": "Interaction", "title_field": "subject",
        "fields": {
            "kind": {"type": "enum", "required": True, "default": "call", "label": "Type",
                     "options": [{"key": "call", "label": "Call"},
                                 {"key": "email", "label": "Email"},
                                 {"key": "meeting", "label": "Meeting"},
                                 {"key": "note", "label": "Note"}]},
            "subject": {"type": "string", "required": True, "max_length": 30,
                        "label": "Subject"},
            "happened_at": {"type": "datetime", "required": True, "default": "$now",
                            "label": "When"},
            "direction": {"type": "enum", "options": ["in", "out"],
                          "visible_if": {"field": "kind", "op": "=", "value": "call"}},
            "customer": {"type": "link", "to": "customer", "label": "Customer"},
            "contact": {"type": "link", "to": "contact", "label": "Contact"},
            "deal": {"type": "link", "to": "deal", "label": "Deal"},
            "body": {"type": "text", "label": "Details"},
            "owner": {"type": "user", "default": "$me"}},
        "timeline_item": {"at": "happened_at", "summary": "subject"}},
    "task": {
        "label": "Task", "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True, "label": "Task"},
            "due_on": {"type": "date", "default": "$today", "label": "Due"},
            "priority": {"type": "enum", "default": "normal", "label": "Priority",
                         "options": ["low", "normal", "high"]},
            "deal": {"type": "link", "to": "deal"},
            "customer": {"type": "link", "to": "customer"},
            "notes": {"type": "text", "label": "Notes"}},
        "timeline_item": {"at": "due_on", "summary": "title"}},
}
ROLES = {"name": "t", "timezone": "UTC", "roles": {
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack=ROLES)


def records(app):
    return app.extensions["karte"]["records"]


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def acme_deal(app):
    acme = records(app).create("customer", {"name": "Acme"})
    ann = records(app).create("contact", {"name": "Ann", "customer": acme["id"]})
    return records(app).create("deal", {"title": "Big", "customer": acme["id"],
                                        "contact": ann["id"]})


def form_of(soup: BeautifulSoup, deal: dict, child: str):
    return soup.select_one(f'form[action="/deal/{deal["id"]}/quick-add/{child}"]')


def test_the_form_offers_the_kind_the_summary_the_date_and_the_notes_with_defaults(
        app, acme_deal):
    soup = soup_of(app.client().get(f"/deal/{acme_deal['id']}"))
    call = form_of(soup, acme_deal, "interaction")

    asked = [e["name"] for e in call.select("input:not([type=hidden]), select, textarea")]
    assert asked == ["kind", "subject", "happened_at", "body"]     # no visible_if field
    assert [o["value"] for o in call.select("select[name=kind] option")] == \
        ["call", "email", "meeting", "note"]
    assert call.select_one("select[name=kind] option[selected]")["value"] == "call"
    when = call.select_one("input[name=happened_at]")
    assert when["type"] == "datetime-local"
    typed = dt.datetime.fromisoformat(when["value"]).replace(tzinfo=dt.UTC)
    assert abs(typed - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)   # $now
    assert call.select_one("textarea[name=body]") is not None
    assert "Linked to this Deal and its Customer, Contact." in call.get_text(" ", strip=True)

    task = form_of(soup, acme_deal, "task")
    assert task.select_one("input[name=due_on]")["value"] == dt.date.today().isoformat()
    assert task.select_one("select[name=priority] option[selected]")["value"] == "normal"


def test_an_item_is_linked_to_the_record_and_its_customer_and_contact(app, acme_deal):
    client = app.client()
    response = client.send(f"/deal/{acme_deal['id']}/quick-add/interaction",
                           {"kind": "email", "subject": "Sent the quote", "body": "PDF",
                            "happened_at": ""})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/deal/{acme_deal['id']}#timeline")
    [item] = records(app).query("interaction")
    assert (item["deal"], item["customer"], item["contact"]) == \
        (acme_deal["id"], acme_deal["customer"], acme_deal["contact"])
    assert (item["kind"], item["body"]) == ("email", "PDF")
    assert item["happened_at"] is not None and item["owner"] is not None   # $now, $me


def test_a_record_without_a_customer_links_only_itself(app):
    lone = records(app).create("deal", {"title": "Lone"})
    client = app.client()
    soup = soup_of(client.get(f"/deal/{lone['id']}"))
    assert "Linked to this Deal." in form_of(soup, lone, "task").get_text(" ", strip=True)
    client.send(f"/deal/{lone['id']}/quick-add/task", {"title": "Call back"})
    [task] = records(app).query("task")
    assert (task["deal"], task["customer"]) == (lone["id"], None)


def test_with_htmx_the_timeline_panel_is_swapped_in_place(app, acme_deal):
    response = app.client().send(f"/deal/{acme_deal['id']}/quick-add/interaction",
                                 {"kind": "call", "subject": "Rang them"},
                                 headers={"HX-Request": "true"})

    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.select_one("html") is None and soup.select_one("#timeline-panel")
    assert soup.select_one(".quick-added").get_text(strip=True) == \
        "Added: Interaction “Rang them”."
    entries = [a.get_text() for a in soup.select(".timeline .entry-item a")]
    assert entries == ["Rang them"]
    fresh = form_of(soup, acme_deal, "interaction")
    assert fresh.select_one("input[name=subject]")["value"] == ""       # ready for the next
    assert fresh["hx-target"] == "#timeline-panel"


def test_a_refusal_keeps_what_was_typed_and_says_what_is_wrong_in_place(app, acme_deal):
    typed = "A subject much too long for this field"
    response = app.client().send(f"/deal/{acme_deal['id']}/quick-add/interaction",
                                 {"kind": "meeting", "subject": typed, "body": "Notes kept",
                                  "happened_at": "2030-01-02T10:30"},
                                 headers={"HX-Request": "true"})

    assert response.status_code == 422
    form = form_of(soup_of(response), acme_deal, "interaction")
    assert form.find_parent("details").has_attr("open")
    subject = form.select_one("input[name=subject]")
    assert subject["value"] == typed and subject["aria-invalid"] == "true"
    assert form.select_one(f"#{subject['aria-describedby']}").get_text(strip=True)
    assert form.select_one("select[name=kind] option[selected]")["value"] == "meeting"
    assert form.select_one("input[name=happened_at]")["value"] == "2030-01-02T10:30"
    assert form.select_one("textarea[name=body]").get_text() == "Notes kept"
    assert records(app).query("interaction") == []


def test_a_plain_refusal_shows_the_card_with_the_typed_text(app, acme_deal):
    response = app.client().send(f"/deal/{acme_deal['id']}/quick-add/task",
                                 {"title": "", "notes": "keep me"})
    assert response.status_code == 422
    form = form_of(soup_of(response), acme_deal, "task")
    assert form.select_one("textarea[name=notes]").get_text() == "keep me"
    assert form.select_one("p.error")


def test_a_role_that_may_not_create_gets_no_form_and_a_refusal(app, acme_deal):
    viewer = app.client("viewer")
    soup = soup_of(viewer.get(f"/deal/{acme_deal['id']}"))
    assert soup.select("details.quick-add") == []
    refused = viewer.send(f"/deal/{acme_deal['id']}/quick-add/task", {"title": "x"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert records(app).query("task") == []


def test_an_item_that_requires_a_file_is_not_offered_a_form_that_could_never_save(make_app):
    entities = {**ENTITIES, "task": {**ENTITIES["task"], "fields": {
        **ENTITIES["task"]["fields"], "proof": {"type": "file", "required": True}}}}
    app = make_app(entities, pack=ROLES)
    acme = records(app).create("customer", {"name": "Acme"})
    deal = records(app).create("deal", {"title": "Big", "customer": acme["id"]})
    soup = soup_of(app.client().get(f"/deal/{deal['id']}"))
    assert form_of(soup, deal, "interaction") is not None
    assert form_of(soup, deal, "task") is None
    refused = app.client().send(f"/deal/{deal['id']}/quick-add/task", {"title": "x"})
    assert refused.status_code == 404 and records(app).query("task") == []
