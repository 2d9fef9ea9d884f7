"""A unique value another record holds is a 422 on that field, naming (and on a page
linking) that record when the user may read it (SPEC §3.3) — from the records service for
every caller, before any duplicate warning on a form, and for a race the database catches."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

import karte.store.records.service as records_module
from karte.auth.users import add_user
from karte.store.actor import Actor
from karte.store.errors import ValidationFailed

CONTACT = {"label": {"en": "Contact", "ja": "担当者"},
           "fields": {"name": {"type": "string", "required": True},
                      "email": {"type": "email", "unique": True,
                                "label": {"en": "Email", "ja": "メール"}},
                      "owner": {"type": "user", "default": "$me"}},
           "duplicates": [{"fields": ["email"]}, {"fields": ["name"]}]}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}


@pytest.fixture
def app(make_app):
    return make_app({"contact": CONTACT}, pack={"name": "t", "roles": ROLES})


def service(app):
    return app.extensions["karte"]["records"]


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def errors_of(soup: BeautifulSoup, name: str):
    return soup.select_one(f'.field[data-field="{name}"] .field-errors')


# ---------------------------------------------------------------- the records service

def test_the_service_refuses_the_value_naming_the_record_that_holds_it(app):
    ann = service(app).create("contact", {"name": "Ann", "email": "ann@example.com"})

    with pytest.raises(ValidationFailed) as error:
        service(app).create("contact", {"name": "Bob", "email": " ANN@example.com"})

    [problem] = error.value.problems
    assert (problem.where, problem.code, problem.record) == ("email", "unique", ann["id"])
    assert problem.message == f'Another contact already has this email: "Ann" (#{ann["id"]}).'


def test_a_record_the_actor_may_not_read_is_not_named(app):
    service(app).create("contact", {"name": "Secret", "email": "ann@example.com"})
    rep = Actor(add_user(service(app).engine, service(app).pack, "rep@example.com", "rep"),
                "rep@example.com", role="rep")

    with pytest.raises(ValidationFailed) as error:
        service(app).create("contact", {"name": "Bob", "email": "ann@example.com"}, rep)

    assert error.value.by_field() == {"email": ["Another contact already has this email."]}
    assert error.value.problems[0].record is None


def test_a_race_the_database_catches_is_the_same_problem_on_the_field(app, monkeypatch):
    service(app).create("contact", {"name": "Ann", "email": "ann@example.com"})
    bob = service(app).create("contact", {"name": "Bob"})
    monkeypatch.setattr(records_module, "unique_problems", lambda *args: [])

    for write in (lambda: service(app).create("contact", {"name": "Cy",
                                                          "email": "ann@example.com"}),
                  lambda: service(app).update("contact", bob["id"],
                                              {"email": "ann@example.com"}, 1)):
        with pytest.raises(ValidationFailed) as error:
            write()
        assert [(p.where, p.code) for p in error.value.problems] == [("email", "unique")]
    assert service(app).count("contact") == 2


# ---------------------------------------------------------------- forms

def test_the_form_shows_the_clash_next_to_the_field_not_a_duplicate_warning(app):
    ann = service(app).create("contact", {"name": "Ann", "email": "ann@example.com"})
    client = app.client()

    response = client.send("/contact/new", {"name": "Ann B.", "email": "Ann@Example.com"})

    assert response.status_code == 422
    soup = page(response)
    assert soup.select_one("#duplicates") is None
    assert soup.find("button", string="Save anyway") is None
    errors = errors_of(soup, "email")
    assert errors.get_text(" ", strip=True) == "Another contact already has this email: Ann ."
    assert errors.find("a")["href"] == f"/contact/{ann['id']}"
    assert soup.find("input", attrs={"name": "email"})["value"] == "Ann@Example.com"
    assert soup.find("input", attrs={"name": "email"})["aria-invalid"] == "true"
    assert soup.find("input", attrs={"name": "name"})["value"] == "Ann B."
    assert service(app).count("contact") == 1


def test_editing_into_a_clash_is_refused_and_keeping_ones_own_value_is_not(app):
    service(app).create("contact", {"name": "Ann", "email": "ann@example.com"})
    bob = service(app).create("contact", {"name": "Bob", "email": "bob@example.com"})
    client = app.client()

    clash = client.send(f"/contact/{bob['id']}/edit", {"name": "Bob", "version": "1",
                                                       "email": "ann@example.com"})
    same = client.send(f"/contact/{bob['id']}/edit", {"name": "Bobby", "version": "1",
                                                      "email": "bob@example.com"})

    assert clash.status_code == 422 and errors_of(page(clash), "email").find("a")
    assert same.status_code == 303


def test_the_form_names_no_record_the_user_may_not_read(app):
    service(app).create("contact", {"name": "Secret", "email": "ann@example.com"})

    response = app.client("rep").send("/contact/new", {"name": "Bob",
                                                       "email": "ann@example.com"})

    assert response.status_code == 422
    errors = errors_of(page(response), "email")
    assert errors.get_text(strip=True) == "Another contact already has this email."
    assert errors.find("a") is None


def test_the_clash_is_said_in_the_ui_language(app):
    ann = service(app).create("contact", {"name": "Ann", "email": "ann@example.com"})
    client = app.client()
    client.get("/?lang=ja")

    response = client.send("/contact/new", {"name": "Bob", "email": "ann@example.com"})

    errors = errors_of(page(response), "email")
    assert errors.get_text(strip=True) == "このメールは別の担当者（Ann）ですでに使われています。"
    assert errors.find("a")["href"] == f"/contact/{ann['id']}"
