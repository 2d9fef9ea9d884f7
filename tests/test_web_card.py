"""The card page (SPEC §3.3, §11): sections, values, stage bar, related lists, timeline,
notes, quick-add and the per-record history — as a signed-in user of each role sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from karte.auth.users import add_user
from karte.store.actor import Actor
from karte.store.timeline import Timeline

ENTITIES = {
    "customer": {
        "label": "Customer", "plural": "Customers", "title_field": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "segment": {"type": "enum", "label": "Segment", "options": [
                {"key": "smb", "label": "Small business", "color": "#16a34a"},
                {"key": "ent", "label": "Enterprise"}]},
            "email": {"type": "email", "label": "Email"},
            "website": {"type": "url", "label": "Website"},
            "phone": {"type": "phone", "label": "Phone"},
            "founded": {"type": "date", "label": "Founded"},
            "owner": {"type": "user", "label": "Owner", "default": "$me"}},
        "card": {"sections": [{"label": "Basics", "fields": ["name", "segment"]}]}},
    "deal": {
        "label": "Deal", "plural": "Deals", "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True, "label": "Title"},
            "customer": {"type": "link", "to": "customer", "label": "Customer"},
            "amount": {"type": "money", "label": "Amount"},
            "partners": {"type": "links", "to": "customer", "label": "Partners"},
            "owner": {"type": "user", "label": "Owner", "default": "$me"}},
        "list": {"columns": ["title", "customer", "amount"]}},
    "task": {
        "label": "Task", "plural": "Tasks", "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True, "max_length": 20, "label": "Task"},
            "due_on": {"type": "date", "label": "Due"},
            "customer": {"type": "link", "to": "customer", "label": "Customer"},
            "deal": {"type": "link", "to": "deal", "label": "Deal"},
            "owner": {"type": "user", "label": "Owner", "default": "$me"}},
        "list": {"columns": ["title", "due_on", "customer", "owner"], "sort": "title"},
        "timeline_item": {"at": "due_on", "summary": "title"}},
}
PIPELINE = {"entity": "deal", "field": "stage", "label": "Pipeline",
            "stages": [{"key": "new", "label": "New"},
                       {"key": "qualified", "label": "Qualified", "max_days": 7},
                       {"key": "proposal", "label": "Proposal"},
                       {"key": "won", "label": "Won", "final": "won"}],
            "moves": {"skip": False},
            "transitions": [{"from": "new", "to": "won", "roles": ["manager"]}]}
ROLES = {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False}},
    "manager": {"*": {"read": "all", "create": True, "update": "all", "delete": "all"}},
    "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, {"name": "t", "roles": ROLES})


def services(app):
    return app.extensions["karte"]["records"], app.extensions["karte"]["workflows"]


def actor_for(app, role: str) -> Actor:
    """The user behind `app.client(role)` as a service actor (created on first use; an
    existing user keeps their password, so signed-in clients stay signed in)."""
    services = app.extensions["karte"]
    email = f"{role}@example.com"
    id = add_user(services["engine"], services["pack"], email, role, name=role.title())
    return Actor(id, email, name=role.title(), role=role)


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def sections(soup: BeautifulSoup) -> dict[str, dict[str, str]]:
    """{section heading: {field label: shown value}} of the card's field sections."""
    found = {}
    for section in soup.select("section.section"):
        found[section.h2.get_text(strip=True)] = {
            div.dt.get_text(strip=True): div.dd.get_text(" ", strip=True)
            for div in section.select("dl.fields > div")}
    return found


def timeline_kinds(soup: BeautifulSoup) -> list[str]:
    return [next(c for c in li["class"] if c.startswith("entry-"))[6:]
            for li in soup.select("ol.timeline li.entry")]


# ---------------------------------------------------------------- fields


def test_card_shows_sections_with_every_field_rendered_by_type(app):
    client = app.client()
    records, _ = services(app)
    acme = records.create("customer", {
        "name": "Acme", "segment": "smb", "email": "Sales@Acme.example",
        "website": "https://acme.example", "phone": "+1 415 555 0100",
        "founded": "1999-04-01"}, actor_for(app, "admin"))

    soup = page(client.get(f"/customer/{acme['id']}"))

    assert soup.h1.get_text(strip=True) == "Acme"
    shown = sections(soup)
    assert list(shown) == ["Basics", "More"]
    assert shown["Basics"] == {"Name": "Acme", "Segment": "Small business"}
    last = list(shown.values())[-1]
    assert set(last) == {"Email", "Website", "Phone", "Founded", "Owner"}
    assert last["Founded"] == "Apr 1, 1999" and last["Owner"] == "Admin"
    assert soup.select_one('a[href="mailto:sales@acme.example"]')
    assert soup.select_one('a[href="https://acme.example"]')
    assert soup.select_one('a[href^="tel:+1415"]')
    badge = soup.select_one("section.section dd .badge")
    assert "c-16a34a" in badge["class"]
    system = soup.select_one("p.system").get_text(" ", strip=True)
    assert "Admin" in system and "Version 1" in system


def test_money_shows_with_currency_and_links_show_the_target_title(app):
    client = app.client()
    records, _ = services(app)
    acme = records.create("customer", {"name": "Acme & Sons"})
    deal = records.create("deal", {"title": "Renewal", "customer": acme["id"],
                                   "amount": "1234567.5"})

    soup = page(client.get(f"/deal/{deal['id']}"))

    values = list(sections(soup).values())[-1]
    assert values["Amount"] == "$1,234,567.50"
    link = soup.select_one(f'dd a[href="/customer/{acme["id"]}"]')
    assert link.get_text() == "Acme & Sons"


def test_edit_and_delete_buttons_follow_the_role(app):
    records, _ = services(app)
    mine = records.create("deal", {"title": "Mine"}, actor_for(app, "sales"))

    def buttons(role):
        soup = page(app.client(role).get(f"/deal/{mine['id']}"))
        return {"edit": bool(soup.select_one('a[href$="/edit"]')),
                "delete": bool(soup.select_one('form[action$="/delete"]')),
                "history": bool(soup.select_one('a[href$="/history"]'))}

    assert buttons("sales") == {"edit": True, "delete": False, "history": True}
    assert buttons("manager") == {"edit": True, "delete": True, "history": True}
    assert buttons("viewer") == {"edit": False, "delete": False, "history": True}
    delete = page(app.client("manager").get(f"/deal/{mine['id']}")).select_one(
        'form[action$="/delete"]')
    assert delete.get("data-confirm") and delete.select_one('input[name="version"]')["value"] \
        == "1"


# ---------------------------------------------------------------- stage bar


def stage_bar(soup: BeautifulSoup) -> dict:
    bar = soup.select_one("section.stage-bar")
    return {"current": bar.select_one('[aria-current="step"]').get_text(" ", strip=True),
            "buttons": [b["value"] for b in bar.select('button[name="to"]')],
            "steps": [li.get_text(" ", strip=True) for li in bar.select("li.step")],
            "final": [li.get_text(" ", strip=True) for li in bar.select("li.final")],
            "form": bar.form, "overdue": bool(bar.select_one(".badge.overdue"))}


def test_stage_bar_offers_only_the_moves_the_role_may_make(app):
    records, _ = services(app)
    deal = records.create("deal", {"title": "D"}, actor_for(app, "sales"))
    url = f"/deal/{deal['id']}"

    sales, manager = stage_bar(page(app.client("sales").get(url))), \
        stage_bar(page(app.client("manager").get(url)))
    viewer = stage_bar(page(app.client("viewer").get(url)))

    assert sales["current"] == "New" and len(sales["steps"]) == 4
    assert sales["buttons"] == ["qualified"]
    assert manager["buttons"] == ["qualified", "won"]
    assert viewer["buttons"] == []
    assert sales["final"] == ["Won ✓ final"]
    form = manager["form"]
    assert form["action"] == f"/deal/{deal['id']}/move" and form["method"] == "post"
    assert {i["name"]: i["value"] for i in form.select('input[type="hidden"]')
            if i["name"] != "csrf_token"} == {"workflow": "pipeline", "version": "1"}
    assert form.select_one('input[name="csrf_token"]')["value"]


def test_stage_bar_marks_a_record_overdue_in_its_stage(app):
    records, flows = services(app)
    deal = records.create("deal", {"title": "Slow"})
    flows.move("deal", deal["id"], "qualified")
    client = app.client()
    assert not stage_bar(page(client.get(f"/deal/{deal['id']}")))["overdue"]

    moves, deals = records.store.tables["karte_stage_move"], records.store.table("deal")
    ten_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    with records.engine.begin() as conn:   # entered the stage ten days ago
        conn.execute(moves.update().where(moves.c.to_stage == "qualified")
                     .values(at=ten_days_ago))
        conn.execute(deals.update().where(deals.c.id == deal["id"])
                     .values(_stage_at=ten_days_ago))

    bar = stage_bar(page(client.get(f"/deal/{deal['id']}")))
    assert bar["overdue"] and bar["current"] == "Qualified"


# ---------------------------------------------------------------- related lists


def related(soup: BeautifulSoup, child: str, field: str):
    return soup.select_one(f"section#related-{child}-{field}")


def test_related_lists_show_only_readable_children_without_the_link_back(app):
    records, _ = services(app)
    sales, other = actor_for(app, "sales"), actor_for(app, "manager")
    acme = records.create("customer", {"name": "Acme", "owner": sales.id})
    records.create("task", {"title": "Mine", "customer": acme["id"]}, sales)
    records.create("task", {"title": "Not mine", "customer": acme["id"]}, other)

    soup = page(app.client("sales").get(f"/customer/{acme['id']}"))

    tasks = related(soup, "task", "customer")
    assert [a.get_text() for a in tasks.select("tbody tr td:first-child a")] == ["Mine"]
    assert tasks.select_one(".count").get_text() == "1"
    assert [th.get_text() for th in tasks.select("th")] == ["Task", "Due", "Owner"]
    everyone = related(page(app.client("manager").get(f"/customer/{acme['id']}")),
                       "task", "customer")
    assert len(everyone.select("tbody tr")) == 2


def test_many_to_many_links_show_as_a_related_list_too(app):
    records, _ = services(app)
    acme, beta = (records.create("customer", {"name": n}) for n in ("Acme", "Beta"))
    records.create("deal", {"title": "Joint bid", "customer": beta["id"],
                            "partners": [acme["id"], beta["id"]]})
    records.create("deal", {"title": "Solo", "customer": acme["id"]})

    soup = page(app.client().get(f"/customer/{acme['id']}"))

    partners = related(soup, "deal", "partners")
    assert partners.h2.get_text(" ", strip=True).startswith("Deals · Partners")
    assert [a.get_text() for a in partners.select("tbody td:first-child a")] == ["Joint bid"]
    own = related(soup, "deal", "customer")
    assert [a.get_text() for a in own.select("tbody td:first-child a")] == ["Solo"]


def test_related_lists_page_by_ten_as_fragment_and_as_page(app):
    records, _ = services(app)
    acme = records.create("customer", {"name": "Acme"})
    for index in range(12):
        records.create("task", {"title": f"Task {index:02}", "customer": acme["id"]})
    client = app.client()

    tasks = related(page(client.get(f"/customer/{acme['id']}")), "task", "customer")
    assert len(tasks.select("tbody tr")) == 10
    assert tasks.select_one(".count").get_text() == "12"
    more = tasks.select_one("nav.pager a")
    assert more["href"] == f"/customer/{acme['id']}/related/task/customer?page=2"

    fragment = client.get(more["href"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    rows = page(fragment).select("tbody tr td:first-child a")
    assert [a.get_text() for a in rows] == ["Task 10", "Task 11"]
    full = page(client.get(more["href"]))
    assert full.title and full.select_one("main h1").get_text() == "Tasks"
    assert client.get(f"/customer/{acme['id']}/related/task/owner").status_code == 404


# ---------------------------------------------------------------- timeline and notes


def test_timeline_shows_items_notes_changes_and_moves_newest_first(app):
    records, flows = services(app)
    client = app.client()
    deal = records.create("deal", {"title": "Big"})
    task = records.create("task", {"title": "Follow up", "due_on": "2001-02-03",
                                   "deal": deal["id"]})
    assert client.send(f"/deal/{deal['id']}/notes", {"body": "Met them"}).status_code == 303
    changed = records.update("deal", deal["id"], {"amount": "50"}, deal["version"])
    flows.move("deal", deal["id"], "qualified", version=changed["version"])

    soup = page(client.get(f"/deal/{deal['id']}"))

    assert timeline_kinds(soup) == ["move", "change", "note", "change", "item"]
    entries = soup.select("ol.timeline li.entry")
    assert entries[0].select_one(".move-line").get_text(" ", strip=True).startswith(
        "New → Qualified")
    assert "Amount: — → $50.00" in entries[1].get_text(" ", strip=True)
    assert entries[2].select_one(".who").get_text() == "Admin"
    item = entries[4]
    assert item.select_one(f'a[href="/task/{task["id"]}"]').get_text() == "Follow up"
    assert item.select_one(".when").get_text(strip=True) == "Feb 3, 2001"


def test_notes_keep_their_text_escaped_with_newlines(app):
    records, _ = services(app)
    client = app.client()
    deal = records.create("deal", {"title": "D"})
    body = "<script>alert(1)</script>\nsecond line"

    response = client.send(f"/deal/{deal['id']}/notes", {"body": body})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/deal/{deal['id']}#timeline")

    html = client.get(f"/deal/{deal['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    note = BeautifulSoup(html, "html.parser").select_one(".entry-note .note-body")
    assert note.get_text() == body and "text" in note["class"]
    assert note.find("script") is None


def test_an_empty_note_is_refused_in_place(app):
    records, _ = services(app)
    deal = records.create("deal", {"title": "D"})
    client = app.client()

    response = client.send(f"/deal/{deal['id']}/notes", {"body": "   "})

    assert response.status_code == 422
    form = page(response).select_one("form.note-form")
    assert form.select_one("p.error").get_text() == "Write the note before saving it."
    assert form.textarea["aria-invalid"] == "true"
    assert timeline_kinds(page(response)) == ["change"]
    assert client.post(f"/deal/{deal['id']}/notes", data={"body": "x"}).status_code == 400


def test_the_older_link_pages_the_timeline_as_fragment_and_page(app):
    records, _ = services(app)
    deal = records.create("deal", {"title": "Chatty"})
    timeline = Timeline(records)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for index in range(35):
        timeline.add_note("deal", deal["id"], f"note {index}",
                          now=start + dt.timedelta(hours=index))
    client = app.client()

    soup = page(client.get(f"/deal/{deal['id']}"))
    assert len(soup.select("li.entry")) == 30
    older = soup.select_one("li.older a")
    assert older["hx-get"] == older["href"]

    fragment = page(client.get(older["href"], headers={"HX-Request": "true"}))
    assert fragment.find("html") is None
    assert [p.get_text() for p in fragment.select(".note-body")] == \
        [f"note {i}" for i in range(5, -1, -1)]
    full = page(client.get(older["href"]))
    assert full.select_one("main h1").get_text() == "Timeline"
    assert len(full.select("li.entry")) == 6 and not full.select("li.older")


# ---------------------------------------------------------------- quick add


def test_quick_add_creates_a_linked_task_that_joins_the_timeline(app):
    records, _ = services(app)
    acme = records.create("customer", {"name": "Acme"})
    client = app.client()
    soup = page(client.get(f"/customer/{acme['id']}"))
    form = soup.select_one(f'form[action="/customer/{acme["id"]}/quick-add/task"]')
    assert form.select_one('input[name="customer"]')["value"] == str(acme["id"])
    assert form.select_one('input[name="due_on"]')["type"] == "date"

    response = client.send(f"/customer/{acme['id']}/quick-add/task",
                           {"title": "Send quote", "due_on": "2030-01-02",
                            "customer": "999"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customer/{acme['id']}#timeline")
    [task] = records.query("task")
    assert task["customer"] == acme["id"] and task["title"] == "Send quote"
    card = page(client.get(f"/customer/{acme['id']}"))
    assert timeline_kinds(card)[0] == "item"
    assert card.select_one(".entry-item a").get_text() == "Send quote"


def test_quick_add_refusal_keeps_what_was_typed(app):
    records, _ = services(app)
    acme = records.create("customer", {"name": "Acme"})
    typed = "A title far too long for a task"

    response = app.client().send(f"/customer/{acme['id']}/quick-add/task",
                                 {"title": typed, "due_on": "2030-01-02"})

    assert response.status_code == 422
    form = page(response).select_one(f'form[action="/customer/{acme["id"]}/quick-add/task"]')
    assert form.select_one('input[name="title"]')["value"] == typed
    assert form.select_one('input[name="due_on"]')["value"] == "2030-01-02"
    assert form.select_one("p.error")
    assert records.query("task") == []


def test_quick_add_is_offered_only_to_roles_that_may_create(app):
    records, _ = services(app)
    acme = records.create("customer", {"name": "Acme"})
    soup = page(app.client("viewer").get(f"/customer/{acme['id']}"))
    assert soup.select("details.quick-add") == [] and soup.select("form.note-form") == []
    viewer = app.client("viewer")
    assert viewer.send(f"/customer/{acme['id']}/quick-add/task", {"title": "x"}).status_code \
        == 403
    assert viewer.send(f"/customer/{acme['id']}/quick-add/deal", {"title": "x"}).status_code \
        == 404
    assert records.query("task") == []


# ---------------------------------------------------------------- history


def test_history_lists_who_changed_what_old_to_new(app):
    records, _ = services(app)
    admin = actor_for(app, "admin")
    acme = records.create("customer", {"name": "Acme", "segment": "smb"}, admin)
    records.update("customer", acme["id"], {"segment": "ent", "name": "Acme Corp"},
                   acme["version"], admin)

    soup = page(app.client().get(f"/customer/{acme['id']}/history"))

    first = soup.select("table.history tbody tr")[0]
    cells = [td.get_text(" ", strip=True) for td in first.select("td")]
    assert cells[1:3] == ["Admin", "Changed"] and cells[4] == "2"
    changes = [li.get_text(" ", strip=True) for li in first.select("ul.changes li")]
    assert sorted(changes) == ["Name: Acme → Acme Corp",
                               "Segment: Small business → Enterprise"]
    assert len(soup.select("table.history tbody tr")) == 2


# ---------------------------------------------------------------- what a role may not see


def test_records_the_role_may_not_read_are_not_found_everywhere(app):
    records, _ = services(app)
    theirs = records.create("deal", {"title": "Secret"}, actor_for(app, "manager"))
    client = app.client("sales")
    base = f"/deal/{theirs['id']}"

    for url in (base, f"{base}/history", f"{base}/timeline"):
        assert client.get(url).status_code == 404, url
    assert client.send(f"{base}/notes", {"body": "peek"}).status_code == 404
    assert app.client().get("/deal/999").status_code == 404
    assert app.client().get("/nothing/1").status_code == 404
    records.delete("deal", theirs["id"])
    assert app.client("manager").get(base).status_code == 404


def test_formulas_show_as_their_result_type(make_app):
    app = make_app({"order": {"name": "order", "title_field": "title", "fields": {
        "title": {"type": "string"}, "amount": {"type": "money"},
        "signed": {"type": "date"},
        "net": {"type": "formula", "formula": "amount * 0.9", "result": "money",
                "label": "Net"},
        "share": {"type": "formula", "formula": "amount / 10", "result": "percent",
                  "label": "Share"},
        "due": {"type": "formula", "formula": "add_days(signed, 30)", "result": "date",
                "label": "Due"},
        "big": {"type": "formula", "formula": "amount > 100", "result": "boolean",
                "label": "Big"}},
        "list": {"filters": ["due", "big"]}}}, pack={"currency": "EUR"})
    records, _ = services(app)
    order = records.create("order", {"title": "A", "amount": "250", "signed": "2026-03-01"})

    values = list(sections(page(app.client().get(f"/order/{order['id']}"))).values())[-1]

    assert values["Net"] == "€225.00"
    assert values["Share"].replace("\xa0", "") == "25%"
    assert "2026" in values["Due"] and "31" in values["Due"]
    assert values["Big"] == "Yes"
    client = app.client()
    found = page(client.get("/order/?f.due.gte=2026-03-31&f.big=1"))
    assert found.select_one('input[name="f.due.gte"]')["type"] == "date"
    assert found.find("a", string="A") is not None
    assert page(client.get("/order/?f.due.gte=2026-04-01")).find("a", string="A") is None
    body = client.get("/order/export.csv").get_data().decode("utf-8")
    assert "2026-03-31" in body and "225.00" in body
