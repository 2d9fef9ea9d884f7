"""Home as a work queue (issue 12, docs/home.md): my open to-dos bucketed overdue / today /
next 7 days in the pack's timezone, ticked done in place and undone through the records
service; my records that need action; what other people changed on my records; every
"and N more" opening the list filtered to exactly the section's records; each section's
query read from an index (EXPLAIN, both databases)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

import karte.web.work_queue as work_queue
from karte.auth.users import get_user
from karte.store import stage_times
from karte.store.records.query import filtered, order_by
from karte.workflow import queue
from tests.test_home_boards_scale import plan

TASK = {"label": "Task", "plural": "Tasks", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "due_on": {"type": "date"},
                   "done": {"type": "boolean", "default": False},
                   "owner": {"type": "user"},
                   "deal": {"type": "link", "to": "deal", "on_delete": "cascade"}},
        "timeline_item": {"at": "due_on", "summary": "title", "done": "done"},
        "list": {"columns": ["title", "due_on", "done", "deal"], "search": ["title"],
                 "page_size": 50}}
DEAL = {"label": "Deal", "plural": "Deals", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "amount": {"type": "money"},
                   "owner": {"type": "user"}},
        "list": {"columns": ["title", "stage", "amount"], "search": ["title"],
                 "page_size": 50}}
FLOW = {"name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
        "stages": [{"key": "new", "label": "New"},
                   {"key": "contacted", "label": "Contacted", "max_days": 7},
                   {"key": "won", "label": "Won", "final": "won"}],
        "moves": {"skip": True, "back": True, "reopen": True}}
PACK = {"name": "t", "currency": "USD", "timezone": "Asia/Tokyo", "roles": {
    "sales": {"*": {"read": "own", "create": True, "update": "own", "delete": False}},
    "manager": {"*": {"read": "all", "create": True, "update": "all", "delete": "all"}},
}}
# 15:30 UTC on the 10th is 00:30 on the 11th in Tokyo: "today" is the 11th there.
NOW = dt.datetime(2030, 1, 10, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setattr(work_queue, "now", lambda: NOW)
    return make_app({"task": TASK, "deal": DEAL}, {"pipeline": FLOW}, pack=PACK)


def services(app):
    return app.extensions["karte"]


def as_user(app, id: int):
    return get_user(services(app)["engine"], id)


def task(app, title: str, due: str | None, owner: int | None, done: bool = False,
         by: int | None = None) -> dict:
    return services(app)["records"].create(
        "task", {"title": title, "due_on": due, "owner": owner, "done": done},
        as_user(app, by) if by else None)


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def buckets(soup: BeautifulSoup) -> dict[str, list[tuple[str, str]]]:
    """{bucket: [(title, its overdue badge or date)]} of home's to-dos."""
    found: dict[str, list[tuple[str, str]]] = {}
    for row in soup.select(".home-todos .todo-row"):
        key = next(c for c in row["class"] if c.startswith("bucket-"))[len("bucket-"):]
        badge = row.select_one(".badge.overdue")
        found.setdefault(key, []).append((row.select_one(".todo-main > a").get_text(strip=True),
                                          badge.get_text(strip=True) if badge else ""))
    return found


def list_total(client, url: str) -> int:
    """How many records the list page at `url` shows (all on one page here)."""
    soup = page(client, url)
    return len(soup.select("#list-rows tbody tr")) or len(soup.select("#list-rows tr")) - 1


# ------------------------------------------------------------------ to-dos


def test_todos_are_mine_open_and_bucketed_by_the_packs_day(app):
    me, other = app.user("sales"), app.user("manager")
    client = app.client("sales")
    task(app, "Two days late", "2030-01-09", me)
    task(app, "Yesterday in Tokyo", "2030-01-10", me)       # today in UTC, not in Tokyo
    task(app, "Today", "2030-01-11", me)
    task(app, "In a week", "2030-01-18", me)
    task(app, "Too far", "2030-01-19", me)
    task(app, "Already done", "2030-01-09", me, done=True)
    task(app, "Undated", None, me)
    task(app, "Theirs", "2030-01-11", other)

    found = buckets(page(client, "/"))

    assert found == {"overdue": [("Two days late", "2 days overdue"),
                                 ("Yesterday in Tokyo", "1 day overdue")],
                     "today": [("Today", "")],
                     "week": [("In a week", "")]}


def test_a_manager_who_reads_everything_sees_only_their_own_todos(app):
    me, other = app.user("manager"), app.user("sales")
    client = app.client("manager")
    task(app, "Mine", "2030-01-11", me)
    task(app, "The salesperson's", "2030-01-11", other)

    assert buckets(page(client, "/")) == {"today": [("Mine", "")]}


def test_tick_done_and_undo_go_through_the_records_service(app):
    me = app.user("sales")
    client = app.client("sales")
    made = task(app, "Call back", "2030-01-11", me, by=me)
    records = services(app)["records"]

    ticked = client.send(f"/task/{made['id']}/done",
                         {"done": "1", "version": made["version"], "next": "/"},
                         headers={"HX-Request": "true"})
    assert ticked.status_code == 200
    control = BeautifulSoup(ticked.get_data(as_text=True), "html.parser")
    assert control.select_one(".tick")["aria-checked"] == "true"
    assert control.select_one("button.undo").get_text(strip=True) == "Undo"
    now = records.get("task", made["id"])
    assert now["done"] is True
    assert control.select_one("input[name=version]")["value"] == str(now["version"])
    assert control.select_one("input[name=done]")["value"] == "0"
    assert "Call back" not in str(page(client, "/").select_one(".home-todos"))

    undone = client.send(f"/task/{made['id']}/done",
                         {"done": "0", "version": now["version"], "next": "/?x=1"})
    assert undone.status_code == 303 and undone.headers["Location"] == "/?x=1"
    assert records.get("task", made["id"])["done"] is False
    history = records.history("task", made["id"])
    assert [h["changes"].get("done") for h in history if h["action"] == "update"][:2] == \
        [[True, False], [False, True]]
    assert buckets(page(client, "/")) == {"today": [("Call back", "")]}


def test_a_stale_tick_changes_nothing(app):
    me = app.user("sales")
    client = app.client("sales")
    made = task(app, "Call back", "2030-01-11", me, by=me)
    services(app)["records"].update("task", made["id"], {"title": "Call back soon"},
                                    made["version"], as_user(app, me))

    plain = client.send(f"/task/{made['id']}/done", {"done": "1", "version": made["version"]})
    assert plain.status_code == 409
    swapped = client.send(f"/task/{made['id']}/done", {"done": "1", "version": made["version"]},
                          headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and "Changed meanwhile" in swapped.get_data(as_text=True)
    assert services(app)["records"].get("task", made["id"])["done"] is False


def test_another_users_todo_cannot_be_ticked(app):
    me, other = app.user("sales"), app.user("sales", "other@example.com")
    client = app.client("sales")
    theirs = task(app, "Theirs", "2030-01-11", other)

    response = client.send(f"/task/{theirs['id']}/done", {"done": "1",
                                                          "version": theirs["version"]})
    assert response.status_code == 404
    assert services(app)["records"].get("task", theirs["id"])["done"] is False
    assert me != other


def test_the_tick_is_only_for_todo_entities_and_posts_only(app):
    client = app.client("manager")
    deal = services(app)["records"].create("deal", {"title": "D"})
    assert client.send(f"/deal/{deal['id']}/done", {"done": "1", "version": 1}).status_code \
        == 404
    assert client.get("/task/1/done").status_code == 405


def test_the_list_and_the_card_timeline_tick_too(app):
    me = app.user("sales")
    client = app.client("sales")
    deal = services(app)["records"].create("deal", {"title": "Big one", "owner": me},
                                           as_user(app, me))
    made = services(app)["records"].create(
        "task", {"title": "Send offer", "due_on": "2030-01-12", "owner": me,
                 "deal": deal["id"]}, as_user(app, me))

    row = page(client, "/task/").select_one("#list-rows .todo-tick .tick")
    assert row["formaction"].startswith(f"/task/{made['id']}/done?")
    assert "version=1" in row["formaction"] and row["aria-checked"] == "false"
    item = page(client, f"/deal/{deal['id']}").select_one(".timeline form.todo-tick")
    assert item["action"] == f"/task/{made['id']}/done"
    assert item.select_one("input[name=version]")["value"] == "1"
    response = client.send(row["formaction"], {})
    assert response.status_code == 303 and response.headers["Location"].startswith("/task/")
    assert services(app)["records"].get("task", made["id"])["done"] is True


# ------------------------------------------------------------------ "and N more"


def real_clock(monkeypatch) -> dt.date:
    """The real clock (records are stamped with it), and today in Tokyo."""
    monkeypatch.setattr(work_queue, "now", lambda: dt.datetime.now(dt.UTC))
    return work_queue.now().astimezone(ZoneInfo("Asia/Tokyo")).date()


def test_more_links_open_the_list_of_exactly_those_records(app, monkeypatch):
    me, other = app.user("sales"), app.user("manager")
    client = app.client("sales")
    today = real_clock(monkeypatch)
    for i in range(18):
        task(app, f"Due {i}", (today + dt.timedelta(days=i % 10 - 2)).isoformat(), me)
    task(app, "Later", (today + dt.timedelta(days=8)).isoformat(), me)
    task(app, "Done", today.isoformat(), me, done=True)
    task(app, "Theirs", today.isoformat(), other)
    records = services(app)["records"]
    for i in range(11):
        deal = records.create("deal", {"title": f"Deal {i}", "owner": me})
        if i < 10:
            records.update("deal", deal["id"], {"amount": i + 1}, deal["version"],
                           as_user(app, other))
    closed = records.create("deal", {"title": "Closed", "owner": me})
    services(app)["workflows"].move("deal", closed["id"], "won")

    soup = page(client, "/")
    todo_more = soup.select_one(".home-todos .more a")
    assert todo_more.get_text(strip=True) == "and 3 more"
    assert list_total(client, todo_more["href"]) == 18
    waiting = soup.select_one(".record-group")
    assert waiting.select_one(".more a").get_text(strip=True) == "and 3 more"
    assert list_total(client, waiting.select_one(".more a")["href"]) == 11
    changed = soup.select_one(".changed-group")
    assert len(changed.select(".recent > li")) == 8
    assert changed.select_one(".more a").get_text(strip=True) == "and 2 more"
    assert list_total(client, changed.select_one(".more a")["href"]) == 10


# ------------------------------------------------------------------ needs action, changes


def _back_date(app, deal_id: int, days: int) -> None:
    from karte.store.tables import engine_table

    moves, table = engine_table("karte_stage_move"), services(app)["records"].store.table(
        services(app)["records"].pack.entities["deal"])
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with services(app)["engine"].begin() as conn:
        conn.execute(moves.update().where(moves.c.record_id == deal_id).values(at=then))
        conn.execute(table.update().where(table.c.id == deal_id).values(
            {"created_at": then, stage_times.column_name("stage"): then}))


def test_records_too_long_in_their_stage_and_waiting_on_me(app, monkeypatch):
    me, other = app.user("sales"), app.user("manager")
    client = app.client("sales")
    real_clock(monkeypatch)
    records, flows = services(app)["records"], services(app)["workflows"]
    late = records.create("deal", {"title": "Stuck", "owner": me})
    flows.move("deal", late["id"], "contacted")
    _back_date(app, late["id"], 10)
    fresh = records.create("deal", {"title": "Fresh", "owner": me})
    flows.move("deal", fresh["id"], "contacted")
    theirs = records.create("deal", {"title": "Their stuck", "owner": other})
    flows.move("deal", theirs["id"], "contacted")
    _back_date(app, theirs["id"], 10)
    won = records.create("deal", {"title": "Won", "owner": me})
    flows.move("deal", won["id"], "won")

    soup = page(client, "/")
    late_group = soup.select_one(".late-group")
    assert [a.get_text(strip=True) for a in late_group.select("li > a")] == ["Stuck"]
    # its link opens the list filtered to exactly those records (late=<workflow>)
    listed = page(client, late_group.select_one("h3 a")["href"])
    assert [a.get_text(strip=True) for a in listed.select("tbody td.title a")] == ["Stuck"]
    assert listed.select_one(".list-late .badge.overdue") is not None
    everyone = page(app.client(), "/deal/?late=" + late_group.select_one("h3 a")["href"]
                    .split("late=")[1].split("&")[0])      # an admin: every owner's
    assert sorted(a.get_text(strip=True) for a in everyone.select("tbody td.title a")) \
        == ["Stuck", "Their stuck"]
    refused = client.get("/deal/?late=nope")
    assert refused.status_code == 400 and "late" in refused.get_data(as_text=True)
    waiting = soup.select_one(".record-group")
    assert sorted(a.get_text(strip=True) for a in waiting.select("tbody tr td:first-child a")) \
        == ["Fresh", "Stuck"]


def test_changes_by_others_on_my_records_grouped_by_record(app, monkeypatch):
    me, other = app.user("sales"), app.user("manager")
    client = app.client("sales")
    real_clock(monkeypatch)
    records = services(app)["records"]
    mine = records.create("deal", {"title": "Mine", "owner": me})       # by the system
    touched = records.update("deal", mine["id"], {"amount": 5}, mine["version"],
                             as_user(app, other))
    records.update("deal", mine["id"], {"title": "Mine!"}, touched["version"],
                   as_user(app, other))
    self_made = records.create("deal", {"title": "Self", "owner": me}, as_user(app, me))
    records.update("deal", self_made["id"], {"amount": 1}, self_made["version"],
                   as_user(app, me))
    theirs = records.create("deal", {"title": "Theirs", "owner": other}, as_user(app, other))
    records.update("deal", theirs["id"], {"amount": 2}, theirs["version"], as_user(app, other))
    records.create("deal", {"title": "Demo", "owner": me})

    changed = page(client, "/").select(".changed-group .recent > li")
    assert len(changed) == 1
    said = [s.get_text(" ", strip=True) for s in changed[0].select(".what")]
    assert changed[0].find("a").get_text(strip=True) == "Mine!"
    assert len(said) == 2, said
    assert said[0].startswith("Manager changed Title "), said
    assert said[1].startswith("Manager changed Amount "), said


# ------------------------------------------------------------------ EXPLAIN


def test_each_section_reads_an_owner_index(app):
    me = app.user("sales")
    owners = [me] + [app.user("sales", f"s{i}@example.com") for i in range(5)]
    records = services(app)["records"]
    for i in range(240):
        owner = owners[i % len(owners)]
        records.create("task", {"title": f"t{i}", "due_on": f"2030-01-{1 + i % 28:02d}",
                                "owner": owner, "done": i % 3 == 0})
        records.create("deal", {"title": f"d{i}", "owner": owner})
    store = records.store
    task_entity, deal = store.entity("task"), store.entity("deal")
    with app.test_request_context("/"):
        todo = work_queue.condition(task_entity, work_queue.todo_params(
            task_entity, dt.date(2030, 1, 18)))
        waiting = work_queue.condition(deal, work_queue.waiting_params(
            deal, records.pack.workflows["pipeline"]))
        changed = work_queue.condition(deal, work_queue.changed_params(
            deal, dt.date.today() - dt.timedelta(days=14)))
        changed_tasks = work_queue.condition(task_entity, work_queue.changed_params(
            task_entity, dt.date.today() - dt.timedelta(days=14)))
    mine = {"$me": me}

    def query(entity, where, sort):
        return (filtered(store, entity, _bind(where, me))
                .order_by(*order_by(store, entity, sort)).limit(15))

    with records.engine.begin() as conn:
        plans = {"todo": plan(conn, query(task_entity, todo, "due_on")),
                 "waiting": plan(conn, query(deal, waiting, "updated_at")),
                 "changed": plan(conn, query(deal, changed, "-updated_at")),
                 "changed tasks": plan(conn, query(task_entity, changed_tasks, "-updated_at"))}
    assert mine
    for name, found in plans.items():
        assert "Seq Scan" not in found and not re.search(r"SCAN (task|deal)\b(?! USING)", found), \
            (name, found)
    assert re.search(r"ix_task_owner__(todo|home)", plans["todo"]), plans["todo"]
    assert "ix_deal_owner__home" in plans["waiting"], plans["waiting"]
    # my records someone changed, newest first: the partial index of rows a user wrote
    # last, so records the system wrote last (a demo load) are never walked
    assert "ix_deal_owner__changed" in plans["changed"], plans["changed"]
    assert "ix_task_owner__changed" in plans["changed tasks"], plans["changed tasks"]


def test_open_todos_read_two_ranges_of_the_todo_index(app):
    me = app.user("sales")
    owners = [me] + [app.user("sales", f"s{i}@example.com") for i in range(5)]
    records = services(app)["records"]
    for i in range(240):
        records.create("task", {"title": f"t{i}", "due_on": f"2030-01-{1 + i % 28:02d}",
                                "owner": owners[i % len(owners)], "done": i % 3 == 0})
    table = records.store.table(records.store.entity("task"))
    with records.engine.begin() as conn:     # a few items never said done or not
        conn.execute(table.update().where(table.c.id % 7 == 0).values(done=None))
    query = queue.open_todos(records.store, records.store.entity("task"), "owner",
                             as_user(app, me), dt.date(2030, 1, 18), "Asia/Tokyo", 15)
    with records.engine.begin() as conn:
        found = plan(conn, query)
    # done = false from the to-do index; done empty (a few rows: on a small table
    # PostgreSQL may as well read them from the (owner, due_on) index) from an owner index
    assert "ix_task_owner__todo" in found, found
    assert found.count("ix_task_owner__todo") + found.count("ix_task_owner__home") == 2, found
    assert "Seq Scan" not in found and not re.search(r"SCAN task\b(?! USING)", found), found


def _bind(where, me: int):
    """The condition with `$me` replaced by the user's id (plans compile literal values)."""
    if isinstance(where, dict):
        return {k: (me if v == "$me" else _bind(v, me)) for k, v in where.items()}
    if isinstance(where, list):
        return [_bind(v, me) for v in where]
    return where
