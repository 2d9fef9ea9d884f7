"""Finding things as you type (issue 12): the top search's suggestions grouped by entity
with subtitles, link pickers as comboboxes over SELECT_MAX targets with each option's
subtitle, role scopes, Japanese text, and the no-JavaScript search-then-pick page that
posts the whole form back with every value typed so far."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

CUSTOMER = {"label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers", "ja": "顧客"},
            "subtitle": ["city", "owner"],
            "list": {"search": ["name", "city"], "columns": ["name", "city"]},
            "fields": {"name": {"type": "string", "required": True},
                       "city": {"type": "string"},
                       "owner": {"type": "user", "default": "$me"}}}
CONTACT = {"label": {"en": "Contact"}, "plural": {"en": "Contacts"},
           "subtitle": ["customer", "job"],
           "list": {"search": ["name"], "columns": ["name"]},
           "fields": {"name": {"type": "string", "required": True},
                      "job": {"type": "string"},
                      "customer": {"type": "link", "to": "customer"},
                      "owner": {"type": "user", "default": "$me"}}}
DEAL = {"label": {"en": "Deal"}, "plural": {"en": "Deals"}, "subtitle": ["customer"],
        "list": {"search": ["title"], "columns": ["title"]},
        "fields": {"title": {"type": "string", "required": True},
                   "amount": {"type": "money"},
                   "customer": {"type": "link", "to": "customer"},
                   "contacts": {"type": "links", "to": "contact"},
                   "owner": {"type": "user", "default": "$me"}},
        "duplicates": [{"fields": ["title"]}]}
ENTITIES = {"customer": CUSTOMER, "contact": CONTACT, "deal": DEAL}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "find", "roles": ROLES, "currency": "USD"})


@pytest.fixture
def crowded(monkeypatch):
    """More targets than a <select> lists: every picker is a combobox."""
    from karte.web import form_model

    monkeypatch.setattr(form_model, "SELECT_MAX", 2)


def services(app):
    return app.extensions["karte"]["records"]


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def twins(app, owner=None):
    """Two "Lyons Ltd" in different cities, and a third customer."""
    make = services(app).create
    extra = {"owner": owner or app.user()}
    return (make("customer", {"name": "Lyons Ltd", "city": "Lyon", **extra})["id"],
            make("customer", {"name": "Lyons Ltd", "city": "Leeds", **extra})["id"],
            make("customer", {"name": "Globex", "city": "Osaka", **extra})["id"])


HX = {"HX-Request": "true"}


def test_the_top_search_suggests_records_grouped_by_entity_with_subtitles(app):
    lyon, leeds, _globex = twins(app)
    services(app).create("contact", {"name": "Lyons, Pat", "job": "Buyer", "customer": lyon})
    client = app.client()
    found = soup(client.get("/search/suggest?q=lyons", headers=HX))
    groups = found.select('[role="group"]')
    assert [found.find(id=g["aria-labelledby"]).get_text(strip=True) for g in groups] == [
        "Contacts", "Customers"]
    customers = groups[1].select('[role="option"]')
    assert sorted(o["href"] for o in customers) == sorted([f"/customer/{lyon}",
                                                            f"/customer/{leeds}"])
    subs = {o["href"]: o.select_one(".ta-sub").get_text() for o in customers}
    assert subs == {f"/customer/{lyon}": "Lyon · Admin", f"/customer/{leeds}": "Leeds · Admin"}
    contact = groups[0].select_one('[role="option"] .ta-sub').get_text()
    assert contact == "Lyons Ltd · Buyer"         # a link subtitle shows the target's title
    everything = found.select('[role="option"]')[-1]
    assert everything["href"] == "/search?q=lyons"
    assert len({o["id"] for o in found.select('[role="option"]')}) == 4   # ids for a-d


def test_the_top_search_limits_each_entity_and_is_the_search_page_without_htmx(app):
    for n in range(7):
        services(app).create("customer", {"name": f"Acme {n}"})
    client = app.client()
    found = soup(client.get("/search/suggest?q=acme", headers=HX))
    assert len(found.select('[role="group"] [role="option"]')) == 4
    plain = client.get("/search/suggest?q=acme")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/search?q=acme")
    assert soup(client.get("/search/suggest?q=", headers=HX)).select('[role="option"]') == []
    layout = soup(client.get("/")).find("input", id="quick-search")
    assert layout["role"] == "combobox" and layout["aria-controls"] == "quick-search-options"
    assert layout["hx-get"] == "/search/suggest" and "delay:250ms" in layout["hx-trigger"]
    assert layout.find_parent("form")["action"] == "/search"     # no script: the page


def test_suggestions_and_options_never_offer_a_record_the_user_may_not_read(app, crowded):
    rep, boss = app.user("rep"), app.user()
    services(app).create("customer", {"name": "Acme mine", "city": "Kobe", "owner": rep})
    services(app).create("customer", {"name": "Acme theirs", "city": "Nara", "owner": boss})
    client = app.client("rep")
    found = soup(client.get("/search/suggest?q=acme", headers=HX)).get_text(" ")
    assert "Acme mine" in found and "Acme theirs" not in found
    options = soup(client.get("/customer/pick?q=acme", headers=HX))
    assert [o["data-title"] for o in options.select('[role="option"].pick')] == ["Acme mine"]
    assert options.select_one(".ta-sub").get_text() == "Kobe · Rep"
    page = client.send("/deal/form/choose", {"title": "T", "_pick": "customer",
                                              "_q.customer": "acme", "customer": ""})
    assert "Acme theirs" not in page.get_data(as_text=True)


def test_japanese_text_is_found_as_typed(app, crowded):
    me = app.user()
    services(app).create("customer", {"name": "株式会社山田商事", "city": "東京都", "owner": me})
    services(app).create("customer", {"name": "山田電機合同会社", "city": "大阪府", "owner": me})
    client = app.client()
    client.get("/?lang=ja")
    found = soup(client.get("/search/suggest?q=山田", headers=HX))
    assert found.find(id="qs-g-customer").get_text(strip=True) == "顧客"
    subs = sorted(o.get_text(" ", strip=True)
                  for o in found.select('[role="group"] [role="option"]'))
    assert subs == ["山田電機合同会社 大阪府 · Admin", "株式会社山田商事 東京都 · Admin"]
    options = soup(client.get("/customer/pick?q=山田", headers=HX))
    assert {o["data-subtitle"] for o in options.select('[role="option"].pick')} == {
        "東京都 · Admin", "大阪府 · Admin"}
    plain = client.get("/search/suggest?q=山田")
    assert plain.status_code == 303 and "/search?q=%E5%B1%B1%E7%94%B0" in plain.headers["Location"]


def test_a_crowded_link_is_a_combobox_and_a_small_one_a_select_with_subtitles(app, crowded):
    lyon, leeds, _globex = twins(app)
    client = app.client()
    form = soup(client.get(f"/deal/new?customer={lyon}"))
    box = form.find("input", attrs={"name": "_q.customer"})
    assert box["role"] == "combobox" and box["aria-expanded"] == "false"
    # only its own text is sent: a live form's inherited hx-include="closest form" would
    # send every other picker's text too, and the first `_q.` would be searched
    assert box["hx-include"] == "this"
    listbox = form.find(id=box["aria-controls"])
    assert listbox["role"] == "listbox"
    assert box["value"] == "Lyons Ltd"
    assert form.select_one(".picker .picker-sub").get_text() == "Lyon · Admin"
    assert form.find("select", attrs={"name": "customer"}) is None
    find = form.find("button", attrs={"name": "_pick", "value": "customer"})
    assert find["formaction"] == "/deal/form/choose" and "no-script" in find["class"]
    # the form's first submit button saves (Enter in a field), not a picker's "Find…"
    first = form.find("form", id="record-form").find("button", attrs={"type": "submit"})
    assert first.get("name") is None and "default-submit" in first["class"]
    options = soup(client.get("/customer/pick?q=lyons", headers=HX))
    assert sorted(o["data-subtitle"] for o in options.select('[role="option"].pick')) == [
        "Leeds · Admin", "Lyon · Admin"]
    assert {o["data-id"] for o in options.select('[role="option"].pick')} == {str(lyon), str(leeds)}


def test_a_small_target_keeps_a_select_whose_options_show_the_subtitle(app):
    lyon, leeds, globex = twins(app)
    select = soup(app.client().get("/deal/new")).find("select", attrs={"name": "customer"})
    labels = {o["value"]: o.get_text() for o in select.find_all("option")}
    assert labels == {"": "—", str(lyon): "Lyons Ltd — Lyon · Admin",
                      str(leeds): "Lyons Ltd — Leeds · Admin",
                      str(globex): "Globex — Osaka · Admin"}


def test_a_crowded_links_field_shows_the_chosen_records_as_removable_chips(app, crowded):
    lyon, _leeds, _globex = twins(app)
    make = services(app).create
    pat = make("contact", {"name": "Pat", "job": "Buyer", "customer": lyon})["id"]
    kim = make("contact", {"name": "Kim", "customer": lyon})["id"]
    make("contact", {"name": "Lee"})
    deal = make("deal", {"title": "D", "contacts": [pat, kim]})
    form = soup(app.client().get(f"/deal/{deal['id']}/edit"))
    chips = form.select(".picker-chosen .chip")
    assert [c.select_one(".ta-title").get_text() for c in chips] == ["Pat", "Kim"]
    assert [c.select_one(".ta-sub").get_text() for c in chips] == [
        "Lyons Ltd · Buyer", "Lyons Ltd"]
    assert [c.find("input")["value"] for c in chips] == [str(pat), str(kim)]
    assert all(c.find("input").has_attr("checked") for c in chips)
    assert chips[0].find("button", class_="chip-remove")["aria-label"] == "Remove Pat"
    assert form.select('.checks.scroll input[name="contacts"]') == []   # no checkbox wall


def test_the_no_script_pick_page_returns_to_the_form_keeping_every_value(app, crowded):
    lyon, leeds, _globex = twins(app)
    client = app.client()
    typed = {"title": "Big deal", "amount": "1200", "_q.customer": "lyons", "customer": "",
             "contacts": "", "_pick": "customer"}
    page = soup(client.send("/deal/form/choose", typed))
    form = page.select_one("form.pick-flow")
    kept = {i["name"]: i["value"] for i in form.find_all("input", attrs={"type": "hidden"})}
    assert kept["title"] == "Big deal" and kept["amount"] == "1200"
    assert "_q.customer" not in kept and "customer" not in kept
    choices = form.select("button.pick-choice")
    assert {b.select_one(".ta-sub").get_text() for b in choices} == {"Lyon · Admin",
                                                                       "Leeds · Admin"}
    chosen = next(b for b in choices if b["value"] == str(leeds))
    assert chosen["name"] == "customer" and chosen["formaction"] == "/deal/form"
    # the browser posts the page's form with the button pressed: back in the form
    back = {**{k: v for k, v in kept.items()}, "_find": "lyons", "customer": str(leeds)}
    again = soup(client.send("/deal/form", back))
    assert again.find("input", attrs={"name": "title"})["value"] == "Big deal"
    assert again.find("input", attrs={"name": "amount"})["value"] == "1200"
    assert again.find("input", attrs={"name": "customer", "type": "hidden"})["value"] == str(leeds)
    assert again.find("input", attrs={"name": "_q.customer"})["value"] == "Lyons Ltd"
    assert again.select_one(".picker .picker-sub").get_text() == "Leeds · Admin"
    assert again.find("form", id="record-form")["action"] == "/deal/new"
    saved = client.send("/deal/new", {"title": "Big deal", "amount": "1200",
                                      "customer": str(leeds), "_q.customer": "Lyons Ltd"})
    assert saved.status_code == 303
    assert services(app).query("deal")[0]["customer"] == leeds


def test_the_pick_page_searches_again_and_adds_to_a_links_field(app, crowded):
    lyon, _leeds, _globex = twins(app)
    pat = services(app).create("contact", {"name": "Pat", "customer": lyon})["id"]
    kim = services(app).create("contact", {"name": "Kim"})["id"]
    services(app).create("contact", {"name": "Lee"})
    client = app.client()
    page = soup(client.send("/deal/form/choose", {"title": "T", "contacts": ["", str(pat)],
                                                  "_pick": "contacts", "_find": "ki"}))
    kept = [(i["name"], i["value"]) for i in page.select("form.pick-flow input[type=hidden]")]
    assert ("contacts", str(pat)) in kept and ("_pick", "contacts") in kept
    assert [b["value"] for b in page.select("button.pick-choice")] == [str(kim)]
    again = soup(client.send("/deal/form", {"title": "T", "contacts": ["", str(pat), str(kim)]}))
    assert [c.find("input")["value"] for c in again.select(".picker-chosen .chip")] == [
        str(pat), str(kim)]


def test_the_pick_page_refuses_what_is_not_a_picker_or_not_writable(app, crowded):
    client = app.client()
    assert client.send("/deal/form/choose", {"_pick": "title"}).status_code == 404
    assert client.send("/deal/form/choose", {"_pick": "nothing"}).status_code == 404
    services(app).create("deal", {"title": "Theirs", "owner": app.user()})
    viewer = app.client("rep")
    [deal] = services(app).query("deal")
    assert viewer.send("/deal/form/choose", {"_id": str(deal["id"]), "_pick": "customer"}
                       ).status_code in (403, 404)


def test_the_search_page_and_duplicate_warnings_show_subtitles(app):
    lyon, leeds, _globex = twins(app)
    client = app.client()
    page = soup(client.get("/search?q=lyons"))
    assert sorted(s.get_text() for s in page.select(".found .ta-sub")) == [
        "Leeds · Admin", "Lyon · Admin"]
    services(app).create("deal", {"title": "Renewal", "customer": lyon})
    warned = soup(client.send("/deal/new", {"title": "Renewal", "customer": str(leeds)}))
    assert warned.select_one("#duplicates .ta-sub").get_text() == "Lyons Ltd"


def test_subtitle_fields_hidden_from_the_role_are_left_out(make_app):
    roles = {"rep": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
                     "customer": {"hidden": ["city"]}}}
    app = make_app(ENTITIES, pack={"name": "find2", "roles": roles, "currency": "USD"})
    services(app).create("customer", {"name": "Lyons Ltd", "city": "Lyon", "owner": app.user()})
    found = soup(app.client("rep").get("/search/suggest?q=lyons", headers=HX))
    assert found.select_one(".ta-sub").get_text() == "Admin"


def test_the_pick_page_of_an_edit_form_returns_to_the_same_record_and_version(app, crowded):
    lyon, leeds, _globex = twins(app)
    deal = services(app).create("deal", {"title": "Old", "customer": lyon})
    client = app.client()
    page = soup(client.send("/deal/form/choose", {
        "_id": str(deal["id"]), "version": str(deal["version"]), "title": "Renamed",
        "customer": str(lyon), "_q.customer": "lyons", "_pick": "customer"}))
    kept = {i["name"]: i["value"] for i in page.select("form.pick-flow input[type=hidden]")}
    assert kept["_id"] == str(deal["id"]) and kept["version"] == str(deal["version"])
    back = page.find("button", string="Back to the form without choosing")
    assert (back["name"], back["value"]) == ("customer", str(lyon))   # as it was
    again = soup(client.send("/deal/form", {**kept, "customer": str(leeds)}))
    assert again.find("form", id="record-form")["action"] == f"/deal/{deal['id']}/edit"
    assert again.find("input", attrs={"name": "version"})["value"] == str(deal["version"])
    assert again.find("input", attrs={"name": "title"})["value"] == "Renamed"
    assert again.find("input", attrs={"name": "customer", "type": "hidden"})["value"] == str(leeds)
