"""Input a person (or a script) can send that the database cannot take: numbers beyond 64
bits, dates off the calendar, NUL characters, bodies of any size. Each gets a 4xx that says
what is wrong — never a 500 — and nothing is written (SPEC §9, §11)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from karte import StartupRefused
from karte.fields import TEXT_LIMIT

HUGE = "99999999999999999999"           # 20 digits: beyond a 64-bit key
CUSTOMER = {"label": {"en": "Customer"}, "plural": {"en": "Customers"},
            "fields": {"name": {"type": "string", "required": True}},
            "card": {"related": ["deal.customer"]}}
DEAL = {"label": {"en": "Deal"}, "plural": {"en": "Deals"},
        "fields": {"title": {"type": "string", "required": True},
                   "customer": {"type": "link", "to": "customer"},
                   "contacts": {"type": "links", "to": "customer"},
                   "description": {"type": "text"},
                   "summary": {"type": "text", "max_length": 10},
                   "meeting_at": {"type": "datetime"}}}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


@pytest.fixture
def app(make_app):
    return make_app({"customer": CUSTOMER, "deal": DEAL}, {"pipeline": PIPELINE},
                    {"name": "input"})


def records(app):
    return app.extensions["karte"]["records"]


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def field_errors(response, name: str) -> list[str]:
    block = soup(response).select_one(f'.field[data-field="{name}"]')
    return [li.get_text(" ", strip=True) for li in block.select(".field-errors li")]


def problems(response) -> list[str]:
    """The reasons an error page (or a list page's problem box) gives."""
    found = soup(response).select(".problems li, .list-problems li")
    return [li.get_text("", strip=True) for li in found]


@pytest.fixture
def deal(app):
    acme = records(app).create("customer", {"name": "Acme"})
    return records(app).create("deal", {"title": "First", "customer": acme["id"]})


# ---------------------------------------------------------------- numbers beyond 64 bits

@pytest.mark.parametrize("path", ["/deal/{id}", "/deal/{id}/edit", "/deal/{id}/timeline",
                                  "/deal/{id}/history", "/deal/{id}/move?to=won",
                                  "/customer/{id}/related/deal/customer"])
def test_an_id_beyond_64_bits_in_the_address_is_404(app, path):
    assert app.client().get(path.format(id=HUGE)).status_code == 404


def test_writes_to_an_id_beyond_64_bits_are_404(app, deal):
    client = app.client()
    for path in (f"/deal/{HUGE}/delete", f"/deal/{HUGE}/notes", f"/deal/{HUGE}/move"):
        assert client.send(path, {"body": "x", "to": "won"}).status_code == 404, path
    assert client.send("/deal/form", {"_id": HUGE}).status_code == 404


def test_page_numbers_too_long_for_any_database_are_refused_or_clamped(app, deal):
    client = app.client()
    for page in ("9999999999999999999999", "9" * 5000):
        response = client.get(f"/deal/?page={page}")
        assert response.status_code == 400
        assert problems(response)[0].startswith("page")
    related = client.get(f"/customer/{deal['customer']}/related/deal/customer?page={HUGE}")
    assert related.status_code == 200


@pytest.mark.parametrize("values", [{"customer": HUGE}, {"contacts": HUGE},
                                    {"customer": "", "_q.customer": "#" + HUGE}])
def test_a_link_to_an_id_beyond_64_bits_is_422_on_the_field(app, deal, values):
    client = app.client()
    name = "contacts" if "contacts" in values else "customer"
    created = client.send("/deal/new", {"title": "Second", **values})
    assert created.status_code == 422
    assert field_errors(created, name)
    edited = client.send(f"/deal/{deal['id']}/edit", {"title": "First", "version": "1",
                                                      **values})
    assert edited.status_code == 422
    assert field_errors(edited, name)
    assert records(app).count("deal") == 1
    assert records(app).get("deal", deal["id"])["version"] == 1


def test_a_chosen_id_beyond_64_bits_with_its_title_typed_is_422(app, deal):
    response = app.client().send("/deal/new", {"title": "Second", "customer": HUGE,
                                               "_q.customer": "Nobody"})
    assert response.status_code == 422
    assert field_errors(response, "customer")
    assert records(app).count("deal") == 1


def test_bulk_delete_of_an_id_beyond_64_bits_is_400_and_deletes_nothing(app, deal):
    response = app.client().send("/deal/bulk-delete", {"ids": [str(deal["id"]), HUGE]})
    assert response.status_code == 400
    assert HUGE in problems(response)[0]
    assert records(app).count("deal") == 1


# ---------------------------------------------------------------- dates off the calendar

def test_a_datetime_filter_on_the_calendars_last_day_takes_in_everything(app, deal):
    client = app.client()
    for query in ("f.created_at.lte=9999-12-31", "f.created_at=9999-12-31",
                  "f.created_at.gt=9999-12-31"):
        response = client.get(f"/deal/?{query}")
        assert response.status_code == 200, query
    shown = soup(client.get("/deal/?f.created_at.lte=9999-12-31")).select("tbody tr")
    assert len(shown) == 1
    assert not soup(client.get("/deal/?f.created_at.gt=9999-12-31")).select("tbody tr td a")


def test_a_datetime_before_year_1_in_utc_is_400_naming_the_parameter(app, deal):
    response = app.client().get("/deal/?f.meeting_at.lte=0001-01-01T00:00:00%2B14:00")
    assert response.status_code == 400
    assert problems(response)[0].startswith("f.meeting_at.lte")
    assert "outside the calendar" in problems(response)[0]


def test_a_timeline_cursor_before_year_1_is_400_naming_before(app, deal):
    response = app.client().get(f"/deal/{deal['id']}/timeline"
                                "?before=0001-01-01T00:00:00%2B14:00")
    assert response.status_code == 400
    assert problems(response)[0].startswith("before")


def test_a_typed_datetime_off_the_calendar_is_422_on_the_field(app, deal):
    response = app.client().send("/deal/new", {"title": "Second",
                                               "meeting_at": "0001-01-01T00:00+14:00"})
    assert response.status_code == 422
    assert field_errors(response, "meeting_at") == [
        "This date is outside the calendar (years 1 to 9999)."]


# ---------------------------------------------------------------- NUL characters

@pytest.mark.parametrize("name", ["title", "description"])
def test_text_with_a_nul_character_is_422_on_the_field_and_not_stored(app, deal, name):
    client = app.client()
    values = {"title": "Second", name: "a\x00b"}
    created = client.send("/deal/new", values)
    assert created.status_code == 422
    assert field_errors(created, name) == [
        "Remove the invisible NUL character from this text; it cannot be saved."]
    edited = client.send(f"/deal/{deal['id']}/edit", {**values, "version": "1"})
    assert edited.status_code == 422
    assert records(app).count("deal") == 1
    assert records(app).get("deal", deal["id"])["version"] == 1


def test_a_nul_character_typed_into_a_link_picker_is_422_on_the_field(app, deal):
    response = app.client().send("/deal/new", {"title": "Second", "customer": "",
                                               "_q.customer": "Ac\x00me"})
    assert response.status_code == 422
    assert field_errors(response, "customer") == [
        "Remove the invisible NUL character from this text; it cannot be saved."]
    assert records(app).count("deal") == 1


@pytest.mark.parametrize("path", ["/deal/?q=a%00b", "/search?q=a%00b", "/deal/pick?q=a%00b",
                                  "/deal/?f.title.contains=a%00b", "/deal/?q%00=x"])
def test_a_nul_character_in_a_query_parameter_is_400_naming_it(app, path):
    response = app.client().get(path)
    assert response.status_code == 400
    assert problems(response)[0].split(":")[0] in ("q", "f.title.contains", "q\\0")


def test_the_same_refusal_in_japanese(app):
    client = app.client()
    client.get("/?lang=ja")
    response = client.get("/deal/?q=a%00b")
    assert response.status_code == 400
    assert "NUL 文字" in problems(response)[0]


def test_a_note_with_a_nul_character_is_422_next_to_the_note(app, deal):
    response = app.client().send(f"/deal/{deal['id']}/notes", {"body": "a\x00b"})
    assert response.status_code == 422
    assert [p.get_text(strip=True) for p in soup(response).select("#note-error")] == [
        "Remove the invisible NUL character from this text; it cannot be saved."]


def test_any_other_text_with_a_nul_character_is_refused_before_the_database(app):
    """The user admin page has no field check of its own for NUL: the engine refuses it
    the same way on SQLite and PostgreSQL, and no user is added."""
    response = app.client().send("/admin/users", {"email": "ann@example.com",
                                                  "name": "A\x00nn", "role": "admin",
                                                  "password": "initial secret"})
    assert response.status_code == 422
    assert "NUL" in problems(response)[0]
    assert "ann@example.com" not in app.client().get("/admin/users").get_data(as_text=True)


# ---------------------------------------------------------------- next after sign-in

@pytest.mark.parametrize("target", ["/deal/%0d%0aSet-Cookie:%20x=1", "/deal/%09", "/%7f"])
def test_a_next_with_control_characters_goes_home(app, target):
    client = app.client()
    response = client.get(f"/login?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers or "x=1" not in response.headers["Set-Cookie"]


def test_signing_in_with_a_crlf_next_goes_home(app):
    app.user("admin")
    client = app.test_client()
    page = soup(client.get("/login"))
    token = page.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/login", data={"email": "admin@example.com",
                                           "password": "correct horse battery",
                                           "next": "/deal/\r\nX-Evil: 1",
                                           "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# ---------------------------------------------------------------- sizes

def test_a_body_over_the_upload_limit_is_413_with_the_error_page(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "1")
    app = make_app({"customer": CUSTOMER, "deal": DEAL}, pack={"name": "input"})
    client = app.client()
    response = client.send("/deal/new", {"title": "Big", "description": "x" * 2_200_000})
    assert response.status_code == 413
    page = soup(response).select_one(".error-page")
    assert page.h1.get_text(strip=True) == "Too large"
    assert "1 MB at most" in page.get_text(" ", strip=True)
    assert records(app).count("deal") == 0
    client.get("/?lang=ja")
    japanese = client.send("/deal/new", {"title": "Big", "description": "x" * 2_200_000})
    assert "何も保存されていません" in soup(japanese).select_one(".error-page").get_text()


def test_the_upload_limit_is_20_mb_unless_set_and_a_body_has_one_more_for_the_form(app):
    assert app.config["KARTE_MAX_UPLOAD_MB"] == 20
    assert app.config["MAX_CONTENT_LENGTH"] == 21 * 1024 * 1024


def test_an_upload_limit_that_is_not_a_number_stops_the_start(make_app, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "lots")
    with pytest.raises(StartupRefused, match="KARTE_MAX_UPLOAD_MB"):
        make_app({"customer": CUSTOMER}, pack={"name": "input"})


def test_text_without_max_length_holds_100000_characters(app):
    client = app.client()
    response = client.send("/deal/new", {"title": "Long", "description": "x" * (TEXT_LIMIT + 1)})
    assert response.status_code == 422
    assert field_errors(response, "description") == [
        f"Use at most {TEXT_LIMIT} characters (this has {TEXT_LIMIT + 1})."]
    assert records(app).count("deal") == 0
    assert client.send("/deal/new", {"title": "Long", "description": "x" * TEXT_LIMIT}
                       ).status_code == 303


def test_a_text_fields_own_max_length_wins(app):
    response = app.client().send("/deal/new", {"title": "Short", "summary": "x" * 11})
    assert response.status_code == 422
    assert field_errors(response, "summary") == ["Use at most 10 characters (this has 11)."]


# ---------------------------------------------------------------- the move address

def test_the_move_address_without_a_stage_goes_to_the_card(app, deal):
    response = app.client().get(f"/deal/{deal['id']}/move")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/deal/{deal['id']}"
