"""Record forms through HTTP: create, edit, delete, live conditions, pickers, duplicate
warnings and stale-version conflicts (SPEC §3, §5, §11). Pages are read by parsing their
HTML; a form is submitted the way a browser would submit it (`submitted`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from karte.fields import TYPES
from karte.store.errors import NotFound

CUSTOMER = {"label": {"en": "Customer"}, "plural": {"en": "Customers"},
            "fields": {"name": {"type": "string", "required": True, "max_length": 80},
                       "owner": {"type": "user", "default": "$me"}}}
DEAL = {"label": {"en": "Deal"}, "plural": {"en": "Deals"},
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 80},
            "customer": {"type": "link", "to": "customer", "on_delete": "restrict"},
            "amount": {"type": "money"},
            "kind": {"type": "enum", "options": ["new", "renewal", "lost"]},
            "reason": {"type": "text", "label": {"en": "Reason lost"},
                       "visible_if": {"field": "kind", "op": "=", "value": "lost"}},
            "po_number": {"type": "string", "label": {"en": "PO number"},
                          "required_if": {"field": "amount", "op": ">", "value": 1000}},
            "meeting_at": {"type": "datetime"},
            "owner": {"type": "user", "default": "$me"}},
        "duplicates": [{"fields": ["title", "customer"]}]}
ENTITIES = {"customer": CUSTOMER, "deal": DEAL}
ROLES = {"viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
         "sales": {"*": {"read": "all", "create": True, "update": "own", "delete": "own"}},
         "rep": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "forms", "roles": ROLES})


def services(app):
    return app.extensions["karte"]["records"]


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def field(soup: BeautifulSoup, name: str):
    """The visible block of one field (label, control, errors, help), or None."""
    return soup.select_one(f'.field[data-field="{name}"]')


def submitted(soup: BeautifulSoup, form_id: str = "record-form") -> dict[str, list[str]]:
    """What a browser sends for the form: inputs in document order, checked boxes only,
    the selected option, textarea text (minus the newline after the start tag)."""
    data: dict[str, list[str]] = {}
    for element in soup.find("form", id=form_id).find_all(["input", "select", "textarea"]):
        name, kind = element.get("name"), element.get("type", "text")
        if not name or kind in ("submit", "button"):
            continue
        if element.name == "select":
            options = element.find_all("option")
            chosen = [o for o in options if o.has_attr("selected")] or options[:1]
            value = chosen[0].get("value", "") if chosen else ""
        elif element.name == "textarea":
            value = element.get_text().removeprefix("\n")
        elif kind == "checkbox" and not element.has_attr("checked"):
            continue
        else:
            value = element.get("value", "")
        data.setdefault(name, []).append(value)
    return data


def errors_of(soup: BeautifulSoup, name: str) -> list[str]:
    block = field(soup, name)
    return [li.get_text(" ", strip=True) for li in block.select(".field-errors li")]


def count(app, entity: str) -> int:
    return services(app).count(entity)


# ---------------------------------------------------------------- a widget per type

def _spec(kind: str) -> dict:
    extra = {"link": {"to": "customer"}, "links": {"to": "customer"},
             "enum": {"options": ["a", "b"]}, "multi_enum": {"options": ["a", "b"]},
             "formula": {"formula": "f_integer * 2"},
             "rollup": {"of": "thing.parent", "agg": "count"}}
    return {"type": kind, **extra.get(kind, {})}


EVERY = {"customer": CUSTOMER,
         "thing": {"fields": {**{f"f_{kind}": _spec(kind) for kind in TYPES if kind != "lines"},
                              "parent": {"type": "link", "to": "thing"}}}}
STORED = {"string": "Acme", "text": "line one\nline two", "integer": 42, "decimal": "12.5",
          "money": "1200", "percent": "7.25", "boolean": True, "date": "2024-05-01",
          "datetime": "2024-05-01T10:30:00+00:00", "email": "Ann@Example.com",
          "phone": "+81 3 1234 5678", "url": "https://example.com/a?b=1", "enum": "b",
          "multi_enum": ["b", "a"],
          "file": [{"id": "f_" + "A" * 22, "name": "contract.pdf", "size": 10,
                    "type": "application/pdf", "sha256": "0" * 64, "uploaded_by": None,
                    "uploaded_at": "2026-12-02T04:40:00+00:00"}]}
SHOWN = {"string": ["Acme"], "text": ["line one\nline two"], "integer": ["42"],
         "decimal": ["12.50"], "money": ["1200.00"], "percent": ["7.25"],
         "boolean": ["0", "1"], "date": ["2024-05-01"], "datetime": ["2024-05-01T10:30"],
         "email": ["ann@example.com"], "phone": ["+81312345678"],
         "url": ["https://example.com/a?b=1"], "enum": ["b"], "multi_enum": ["", "a", "b"]}


@pytest.fixture
def thing(make_app):
    """An entity with one field of every type, and one stored record filling them all."""
    app = make_app(EVERY)
    me = app.user()
    client = app.client()
    acme = services(app).create("customer", {"name": "Acme"})
    values = {f"f_{kind}": value for kind, value in STORED.items()}
    values.update(f_link=acme["id"], f_links=[acme["id"]], f_user=me)
    record = services(app).create("thing", values, moving=True, files=True)
    return app, client, record, acme


@pytest.mark.parametrize("kind", sorted(set(TYPES) - {"lines"}))   # lines: test_web_lines.py
def test_every_field_type_has_a_widget_showing_the_stored_value(thing, kind):
    app, client, record, acme = thing
    soup = page(client.get(f"/thing/{record['id']}/edit"))
    block = field(soup, f"f_{kind}")
    assert block is not None, f"no widget for {kind}"
    assert block.select_one(".label, label").get_text(strip=True).startswith(
        f"F {kind.replace('_', ' ')}")
    sent = submitted(soup).get(f"f_{kind}")
    expected = {**SHOWN, "link": [str(acme["id"])], "links": ["", str(acme["id"])],
                "user": [str(record["f_user"])]}
    if kind == "file":       # the attached file, a tick to remove it, an input for more
        assert block.select_one("input[type=file]")["name"] == f"f_{kind}"
        assert block.select_one(".file-name").get_text(strip=True) == "contract.pdf"
        assert block.select_one("input[type=checkbox]")["name"] == f"_remove.f_{kind}"
    elif kind in ("formula", "rollup"):
        assert sent is None and "is-readonly" in block["class"]
        shown = block.select_one(".readonly").get_text(strip=True)
        assert shown == {"formula": "84", "rollup": "0"}[kind]
        assert block.select_one(".note").get_text(strip=True)
    else:
        assert sent == expected[kind]


def test_numbers_are_text_inputs_so_typed_formats_survive(thing):
    app, client, record, acme = thing
    soup = page(client.get("/thing/new"))
    for kind in ("integer", "decimal", "money", "percent"):
        box = soup.find("input", attrs={"name": f"f_{kind}"})
        assert box["type"] == "text" and box["inputmode"] in ("numeric", "decimal")
    assert "USD" in field(soup, "f_money").get_text()
    assert soup.find("input", attrs={"name": "f_string"})["maxlength"] == "255"
    assert soup.find("input", attrs={"name": "f_date"})["type"] == "date"
    assert soup.find("input", attrs={"name": "f_datetime"})["type"] == "datetime-local"
    assert soup.find("textarea", attrs={"name": "f_text"}) is not None


def test_saving_an_untouched_form_changes_nothing(thing):
    app, client, record, acme = thing
    soup = page(client.get(f"/thing/{record['id']}/edit"))
    response = client.send(f"/thing/{record['id']}/edit", submitted(soup))
    assert response.status_code == 303
    assert services(app).get("thing", record["id"])["version"] == record["version"]


# ---------------------------------------------------------------- create and edit

def test_new_form_creates_the_record_and_goes_to_its_card(app):
    client = app.client()
    acme = services(app).create("customer", {"name": "Acme"})
    soup = page(client.get("/deal/new"))
    data = {**submitted(soup), "title": ["Big deal"], "customer": [str(acme["id"])],
            "amount": ["1,200.50"], "po_number": ["PO-1"]}
    response = client.send("/deal/new", data)
    assert response.status_code == 303
    [deal] = services(app).query("deal")
    assert response.headers["Location"].endswith(f"/deal/{deal['id']}")
    assert (deal["title"], deal["customer"], deal["amount"]) == (
        "Big deal", acme["id"], Decimal("1200.50"))
    assert deal["owner"] == deal["created_by"], "the $me default is pre-selected"


def test_invalid_input_is_422_with_each_message_next_to_its_field_and_text_kept(app):
    client = app.client()
    response = client.send("/deal/new", {"title": "", "amount": "12abc",
                                         "meeting_at": "2024-05-01T10:00"})
    assert response.status_code == 422
    soup = page(response)
    assert errors_of(soup, "title") == ["Title is required."]
    assert errors_of(soup, "amount") and "number" in errors_of(soup, "amount")[0]
    assert soup.find("input", attrs={"name": "amount"})["value"] == "12abc"
    assert soup.find("input", attrs={"name": "amount"})["aria-invalid"] == "true"
    assert soup.find("input", attrs={"name": "meeting_at"})["value"] == "2024-05-01T10:00"
    assert count(app, "deal") == 0


def test_a_script_typed_into_a_field_comes_back_as_text(app):
    client = app.client()
    payload = '"><script>alert(1)</script>'
    response = client.send("/deal/new", {"title": payload, "amount": "x"})
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.get_data(as_text=True)
    soup = page(response)
    assert soup.find("input", attrs={"name": "title"})["value"] == payload
    assert not [s for s in soup.find_all("script") if "alert" in s.get_text()]


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(app):
    client = app.client()
    response = client.post("/deal/new", data={"title": "Sneaky"})
    assert response.status_code == 400
    assert count(app, "deal") == 0


def test_names_not_on_the_form_are_ignored(app):
    client = app.client()
    other = app.user("sales")
    response = client.send("/deal/new", {"title": "Plain", "created_by": str(other),
                                         "id": "99", "nonsense": "x", "_q.title": "y"})
    assert response.status_code == 303
    [deal] = services(app).query("deal")
    assert deal["id"] != 99 and deal["created_by"] != other and deal["title"] == "Plain"


def test_edit_form_is_filled_and_saves_a_change(app):
    client = app.client()
    deal = services(app).create("deal", {"title": "Old", "amount": "10"})
    soup = page(client.get(f"/deal/{deal['id']}/edit"))
    data = submitted(soup)
    assert data["title"] == ["Old"] and data["amount"] == ["10.00"]
    assert data["version"] == [str(deal["version"])]
    response = client.send(f"/deal/{deal['id']}/edit", {**data, "title": ["New"]})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/deal/{deal['id']}")
    assert services(app).get("deal", deal["id"])["title"] == "New"


def test_new_form_is_prefilled_from_the_query_string(app):
    client = app.client()
    acme = services(app).create("customer", {"name": "Acme"})
    soup = page(client.get(f"/deal/new?customer={acme['id']}&title=From+card&bogus=1"))
    data = submitted(soup)
    assert data["customer"] == [str(acme["id"])] and data["title"] == ["From card"]
    assert "bogus" not in data


def test_datetime_is_typed_and_shown_in_the_users_timezone(app):
    client = app.client()
    users = app.extensions["karte"]["records"].store.users
    with app.extensions["karte"]["engine"].begin() as conn:
        conn.execute(sa.update(users).values(timezone="Asia/Tokyo"))
    response = client.send("/deal/new", {"title": "Tokyo", "meeting_at": "2024-05-01T10:00"})
    assert response.status_code == 303
    [deal] = services(app).query("deal")
    assert deal["meeting_at"] == dt.datetime(2024, 5, 1, 1, 0, tzinfo=dt.UTC)
    soup = page(client.get(f"/deal/{deal['id']}/edit"))
    assert submitted(soup)["meeting_at"] == ["2024-05-01T10:00"]
    assert "Asia/Tokyo" in field(soup, "meeting_at").get_text()


# ---------------------------------------------------------------- conditions

def test_visible_if_hides_a_field_and_the_live_form_shows_it_when_it_applies(app):
    client = app.client()
    soup = page(client.get("/deal/new"))
    assert field(soup, "reason") is None
    assert submitted(soup)["reason"] == [""], "kept as a hidden input"
    kind = field(soup, "kind")
    assert kind["hx-post"] == "/deal/form" and kind["hx-trigger"] == "change"
    data = {**submitted(soup), "kind": ["lost"], "reason": ["Too dear"]}
    fragment = client.send("/deal/form", data, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    shown = page(fragment)
    assert shown.find("form") is None and shown.select_one("#form-fields")
    assert shown.find("textarea", attrs={"name": "reason"}).get_text() == "\nToo dear"
    assert count(app, "deal") == 0, "the live form writes nothing"
    whole = page(client.send("/deal/form", data))
    assert whole.find("form", id="record-form")["action"] == "/deal/new"
    assert field(whole, "reason") is not None


def test_text_of_a_field_hidden_again_is_kept(app):
    client = app.client()
    data = {"title": ["T"], "kind": ["new"], "reason": ["typed before"]}
    soup = page(client.send("/deal/form", data, headers={"HX-Request": "true"}))
    assert field(soup, "reason") is None
    assert soup.find("input", attrs={"name": "reason"})["value"] == "typed before"


def test_required_if_marks_the_field_and_the_service_refuses_it_empty(app):
    client = app.client()
    live = page(client.send("/deal/form", {"title": "T", "amount": "5000"},
                            headers={"HX-Request": "true"}))
    assert field(live, "po_number").select_one("abbr.req") is not None
    response = client.send("/deal/new", {"title": "T", "amount": "5000", "po_number": ""})
    assert response.status_code == 422
    assert errors_of(page(response), "po_number") == ["PO number is required."]
    assert count(app, "deal") == 0


def test_read_only_if_locks_the_field_on_a_record_that_meets_it(make_app):
    entities = {"memo": {"fields": {
        "title": {"type": "string"},
        "locked": {"type": "boolean"},
        "body": {"type": "text",
                 "read_only_if": {"field": "locked", "op": "=", "value": True}}}}}
    app = make_app(entities)
    client = app.client()
    memo = services(app).create("memo", {"title": "m", "locked": True, "body": "Fixed"})
    soup = page(client.get(f"/memo/{memo['id']}/edit"))
    assert soup.find("textarea", attrs={"name": "body"}) is None
    assert field(soup, "body").select_one(".readonly").get_text(strip=True) == "Fixed"
    response = client.send(f"/memo/{memo['id']}/edit", {**submitted(soup), "body": "Hack"})
    assert response.status_code == 303
    assert services(app).get("memo", memo["id"])["body"] == "Fixed"


def test_a_stage_field_is_shown_but_changes_only_through_a_move(make_app):
    flow = {"entity": "deal", "field": "stage",
            "stages": [{"key": "open"}, {"key": "won", "final": "won"}]}
    app = make_app(ENTITIES, {"flow": flow})
    client = app.client()
    response = client.send("/deal/new", {"title": "T", "stage": "won"})
    assert response.status_code == 303
    [deal] = services(app).query("deal")
    assert deal["stage"] == "open"
    soup = page(client.get(f"/deal/{deal['id']}/edit"))
    assert "stage" not in submitted(soup)


# ---------------------------------------------------------------- duplicates, conflicts

def test_a_duplicate_is_a_warning_and_save_anyway_saves(app):
    client = app.client()
    acme = services(app).create("customer", {"name": "Acme"})
    first = services(app).create("deal", {"title": "Renewal", "customer": acme["id"]})
    data = {"title": "renewal ", "customer": str(acme["id"])}
    warned = client.send("/deal/new", data)
    assert warned.status_code == 200
    soup = page(warned)
    box = soup.select_one("#duplicates")
    assert box.find("a")["href"] == f"/deal/{first['id']}"
    assert "Title, Customer" in box.get_text()
    assert count(app, "deal") == 1
    again = submitted(soup)
    assert again["title"] == ["renewal "]
    button = box.find("button")
    assert button["form"] == "record-form"
    saved = client.send("/deal/new", {**again, button["name"]: button["value"]})
    assert saved.status_code == 303 and count(app, "deal") == 2


def test_editing_other_fields_of_a_lookalike_does_not_warn_again(app):
    client = app.client()
    services(app).create("deal", {"title": "Same"})
    twin = services(app).create("deal", {"title": "Same", "customer": None})
    soup = page(client.get(f"/deal/{twin['id']}/edit"))
    response = client.send(f"/deal/{twin['id']}/edit", {**submitted(soup), "amount": "5"})
    assert response.status_code == 303


def test_a_stale_version_shows_what_changed_and_reapplying_saves_my_values(app):
    client = app.client()
    deal = services(app).create("deal", {"title": "Mine", "amount": "100"})
    mine = submitted(page(client.get(f"/deal/{deal['id']}/edit")))
    services(app).update("deal", deal["id"], {"amount": "250", "po_number": "PO-9"},
                         deal["version"])
    mine.update(title=["My title"], amount=["300"])
    response = client.send(f"/deal/{deal['id']}/edit", mine)
    assert response.status_code == 409
    soup = page(response)
    rows = {tr.th.get_text(strip=True): (tr.select_one(".theirs").get_text(strip=True),
                                         tr.select_one(".yours").get_text(strip=True))
            for tr in soup.select("#conflict table.changes tbody tr")}
    assert rows == {"Amount": ("$250.00", "$300.00"),
                    "PO number": ("PO-9", "not changed by you: theirs is kept")}
    again = submitted(soup)
    assert again["title"] == ["My title"] and again["amount"] == ["300"]
    assert again["po_number"] == ["PO-9"], "their change is kept where I typed nothing"
    assert again["version"] == [str(deal["version"] + 1)]
    assert soup.find("a", string="Discard my edits")["href"] == f"/deal/{deal['id']}"
    assert services(app).get("deal", deal["id"])["title"] == "Mine", "nothing saved yet"
    reapplied = client.send(f"/deal/{deal['id']}/edit", again)
    assert reapplied.status_code == 303
    stored = services(app).get("deal", deal["id"])
    assert (stored["title"], stored["amount"], stored["po_number"]) == (
        "My title", Decimal("300"), "PO-9")


# ---------------------------------------------------------------- delete

def test_delete_is_soft_and_goes_to_the_list(app):
    client = app.client()
    deal = services(app).create("deal", {"title": "Gone"})
    response = client.send(f"/deal/{deal['id']}/delete", {"version": deal["version"]})
    assert response.status_code == 303 and response.headers["Location"].endswith("/deal/")
    with pytest.raises(NotFound):
        services(app).get("deal", deal["id"])
    assert services(app).get("deal", deal["id"], include_deleted=True)["deleted_at"]


def test_a_delete_blocked_by_a_restrict_link_is_409_with_the_reason(app):
    client = app.client()
    acme = services(app).create("customer", {"name": "Acme"})
    services(app).create("deal", {"title": "Open", "customer": acme["id"]})
    response = client.send(f"/customer/{acme['id']}/delete", {"version": acme["version"]})
    assert response.status_code == 409
    assert "deal" in page(response).select_one(".problems").get_text()
    assert services(app).get("customer", acme["id"])["deleted_at"] is None


# ---------------------------------------------------------------- permissions, pickers

def test_a_role_without_create_gets_403_and_writes_nothing(app):
    client = app.client("viewer")
    assert client.get("/deal/new").status_code == 403
    assert client.send("/deal/new", {"title": "No"}).status_code == 403
    assert client.send("/deal/form", {"title": "No"}).status_code == 403
    assert count(app, "deal") == 0


def test_own_roles_may_edit_their_records_only(app):
    boss, seller = app.user(), app.user("sales")
    theirs = services(app).create("deal", {"title": "Theirs", "owner": boss})
    mine = services(app).create("deal", {"title": "Mine", "owner": seller})
    sales, rep = app.client("sales"), app.client("rep")
    assert sales.get(f"/deal/{theirs['id']}/edit").status_code == 403
    assert sales.send(f"/deal/{theirs['id']}/edit",
                      {"title": "X", "version": "1"}).status_code == 403
    assert rep.get(f"/deal/{theirs['id']}/edit").status_code == 404
    assert sales.get(f"/deal/{mine['id']}/edit").status_code == 200
    assert services(app).get("deal", theirs["id"])["title"] == "Theirs"
    assert sales.get("/deal/999/edit").status_code == 404


def test_link_pickers_offer_only_records_the_user_may_read(app):
    me, boss = app.user("rep"), app.user()
    services(app).create("customer", {"name": "Acme mine", "owner": me})
    services(app).create("customer", {"name": "Acme theirs", "owner": boss})
    rep = app.client("rep")
    options = page(rep.get("/customer/pick?q=acme", headers={"HX-Request": "true"}))
    assert [b["data-title"] for b in options.select("[role=option].pick")] == ["Acme mine"]
    whole = page(rep.get("/customer/pick?q=acme"))
    assert [a.get_text() for a in whole.select(".pick-results a")] == ["Acme mine"]
    select = page(rep.get("/deal/new")).find("select", attrs={"name": "customer"})
    assert [o.get_text() for o in select.find_all("option")] == ["—", "Acme mine"]


@pytest.fixture
def crowded(app, monkeypatch):
    """More customers than a <select> lists: the link picker searches instead."""
    from karte.web import form_model

    monkeypatch.setattr(form_model, "SELECT_MAX", 2)
    ids = {name: services(app).create("customer", {"name": name})["id"]
           for name in ("Globex", "Initech", "Acme Japan", "Acme")}
    return app, ids


def test_many_targets_give_a_search_box_with_htmx_suggestions(crowded):
    app, ids = crowded
    client = app.client()
    soup = page(client.get(f"/deal/new?customer={ids['Initech']}"))
    box = soup.find("input", attrs={"name": "_q.customer"})
    assert box["hx-get"] == "/customer/pick" and "delay:250ms" in box["hx-trigger"]
    assert box["value"] == "Initech"
    assert soup.find("input", attrs={"name": "customer", "type": "hidden"})["value"] == str(
        ids["Initech"])
    options = page(client.get("/customer/pick?_q.customer=acme",
                              headers={"HX-Request": "true"}))
    assert [b["data-id"] for b in options.select("[role=option].pick")] == [
        str(ids["Acme"]), str(ids["Acme Japan"])]


@pytest.mark.parametrize(("typed", "chosen", "expected"), [
    ("Globex", "", "Globex"),            # typed without script: found by title
    ("acme", "", "Acme"),                # the exact title wins over "Acme Japan"
    ("Acme Japan", "Initech", "Acme Japan"),   # typed over an earlier choice
    ("Initech", "Initech", "Initech"),   # chosen by script, title unchanged
])
def test_a_title_typed_into_a_picker_finds_its_record(crowded, typed, chosen, expected):
    app, ids = crowded
    client = app.client()
    response = client.send("/deal/new", {"title": "T", "_q.customer": typed,
                                         "customer": str(ids.get(chosen, ""))})
    assert response.status_code == 303
    [deal] = services(app).query("deal")
    assert deal["customer"] == ids[expected]


@pytest.mark.parametrize(("typed", "message"), [
    ("Umbrella", 'No customer matches "Umbrella".'),
    ("Ac", '2 customers match "Ac"'),
])
def test_a_picker_title_matching_none_or_several_asks_again(crowded, typed, message):
    app, ids = crowded
    response = app.client().send("/deal/new", {"title": "T", "_q.customer": typed,
                                               "customer": ""})
    assert response.status_code == 422
    soup = page(response)
    assert errors_of(soup, "customer")[0].startswith(message)
    assert soup.find("input", attrs={"name": "_q.customer"})["value"] == typed
    assert count(app, "deal") == 0


def test_validation_messages_follow_the_ui_language(make_app):
    app = make_app({"deal": {"label": {"en": "Deal", "ja": "商談"}, "fields": {
        "title": {"type": "string", "required": True, "label": {"en": "Title", "ja": "件名"}},
        "amount": {"type": "money"}}}})
    client = app.client()
    client.get("/deal/new?lang=ja")
    response = client.send("/deal/new", {"amount": "abc"})
    assert response.status_code == 422
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    errors = [li.get_text(strip=True) for li in soup.select(".field-errors li")]
    assert "件名を入力してください。" in errors and "数値を入力してください。" in errors
