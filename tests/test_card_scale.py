"""The card page flat in the number of related records (issue 11): the statements a card
runs do not grow with how many records link to it nor with how many link targets its
related lists show (one title lookup per target entity for the whole card, no count for
a related list that fits its page), every statement reads an index (EXPLAIN, both
databases), and the counts stay right."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from sqlalchemy import event

from karte.store.db import analyse_schema
from karte.web import related

ENTITIES = {
    "customer": {
        "label": "Customer", "plural": "Customers", "title_field": "name",
        "fields": {"name": {"type": "string", "required": True},
                   "owner": {"type": "user", "default": "$me"}}},
    "deal": {
        "label": "Deal", "plural": "Deals", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "customer": {"type": "link", "to": "customer"},
                   "partners": {"type": "links", "to": "customer"},
                   "owner": {"type": "user", "default": "$me"}},
        "list": {"columns": ["title", "customer", "partners", "owner"]}},
    "task": {
        "label": "Task", "plural": "Tasks", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "due_on": {"type": "date"},
                   "customer": {"type": "link", "to": "customer"},
                   "deal": {"type": "link", "to": "deal"},
                   "owner": {"type": "user", "default": "$me"}},
        "list": {"columns": ["title", "due_on", "deal", "customer", "owner"],
                 "sort": "due_on"},
        "timeline_item": {"at": "due_on", "summary": "title"}},
}
# A title lookup reads a table's id and title column only, by id.
TITLES = re.compile(r'^SELECT "?(\w+)"?\.id, "?\w+"?\.\w+ FROM "?(\w+)"? WHERE "?\w+"?\.id IN')
USERS = re.compile(r"FROM karte_user WHERE karte_user\.id IN")


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES)


def customer_with(app, related: int, users: list[int]) -> int:
    """A customer with `related` deals and tasks, each deal naming other customers as
    partners, each task another deal, owners spread over `users`, and a change history."""
    records = app.extensions["karte"]["records"]
    me = records.create("customer", {"name": "Main"})["id"]
    version = 1
    for i in range(related):
        other = records.create("customer", {"name": f"Partner {i}"})["id"]
        owner = users[i % len(users)]
        deal = records.create("deal", {"title": f"Deal {i}", "customer": me,
                                       "partners": [other], "owner": owner})["id"]
        elsewhere = records.create("deal", {"title": f"Other deal {i}"})["id"]
        records.create("task", {"title": f"Task {i}", "customer": me, "owner": owner,
                                "deal": elsewhere if i % 2 else deal,
                                "due_on": f"2030-01-{i % 28 + 1:02d}"})
        version = records.update("customer", me, {"name": f"Main {i}"}, version)["version"]
    return me


class Statements:
    """Every statement the app's engine runs while `with`-ed, with its parameters."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.seen = engine, []

    def _log(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((" ".join(statement.split()), parameters))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._log)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._log)

    def titles(self) -> Counter:
        return Counter(m.group(2) for s, _ in self.seen if (m := TITLES.match(s)))

    def count(self, pattern: str) -> int:
        return sum(1 for s, _ in self.seen if re.search(pattern, s))


def card(app, client, id: int) -> tuple[Statements, BeautifulSoup]:
    with Statements(app.extensions["karte"]["engine"]) as log:
        response = client.get(f"/customer/{id}")
    assert response.status_code == 200
    return log, BeautifulSoup(response.get_data(as_text=True), "html.parser")


def users(app, n: int) -> list[int]:
    return [app.user("admin", f"u{i}@example.com") for i in range(n)]


def test_statements_do_not_grow_with_related_records(app):
    client = app.client()
    people = users(app, 6)
    small, smaller = customer_with(app, 3, people[:1]), customer_with(app, 8, people)
    big, bigger = customer_with(app, 12, people[:2]), customer_with(app, 30, people)
    runs = {id: card(app, client, id)[0] for id in (small, smaller, big, bigger)}
    sizes = {id: len(log.seen) for id, log in runs.items()}
    assert sizes[small] == sizes[smaller], sizes           # lists fit their page
    assert sizes[big] == sizes[bigger], sizes              # lists overflow it
    # Overflowing lists add only their capped count each (deals, tasks).
    assert sizes[big] == sizes[small] + 2, sizes
    for log in runs.values():
        # One title lookup per target entity and one for user names, for the whole card
        # (its record, both related lists and the timeline).
        assert all(n == 1 for n in log.titles().values()), log.titles()
        assert set(log.titles()) <= {"customer", "deal"}, log.titles()
        assert log.count(USERS.pattern) == 1
    assert runs[small].count(r"SELECT count\(\*\)") == 0
    assert runs[big].count(r"SELECT count\(\*\)") == 2


def test_counts_and_titles_stay_right(app):
    client = app.client()
    people = users(app, 3)
    few, many = customer_with(app, 4, people), customer_with(app, 13, people)
    _, page = card(app, client, few)
    deals = page.select_one("#related-deal-customer")
    assert deals.select_one(".count").get_text(strip=True) == "4"
    assert "Partner 3" in deals.get_text() and "Admin" in deals.get_text()
    tasks = page.select_one("#related-task-customer")
    assert tasks.select_one(".count").get_text(strip=True) == "4"
    assert "Deal 0" in tasks.get_text() and "Other deal 1" in tasks.get_text()
    assert "Task 3" in page.select_one("#timeline").get_text()
    assert not deals.select(".pager")
    _, page = card(app, client, many)
    deals = page.select_one("#related-deal-customer")
    assert deals.select_one(".count").get_text(strip=True) == "13"
    assert deals.select(".pager a")                         # "More"
    second = client.get(f"/customer/{many}/related/deal/customer?page=2")
    html = BeautifulSoup(second.get_data(as_text=True), "html.parser")
    assert html.select_one(".count").get_text(strip=True) == "13"
    assert len(html.select("tbody tr")) == 3
    beyond = client.get(f"/customer/{many}/related/deal/customer?page=5")
    html = BeautifulSoup(beyond.get_data(as_text=True), "html.parser")
    assert html.select_one(".count").get_text(strip=True) == "13"   # counted: page empty


def test_a_capped_count_still_says_so(app, monkeypatch):
    monkeypatch.setattr(related, "COUNT_CAP", 11)
    client = app.client()
    many = customer_with(app, 13, users(app, 1))
    _, page = card(app, client, many)
    assert page.select_one("#related-deal-customer .count").get_text(strip=True) == "11+"
    last = client.get(f"/customer/{many}/related/deal/customer?page=2")
    html = BeautifulSoup(last.get_data(as_text=True), "html.parser")
    assert len(html.select("tbody tr")) == 3


def explain(conn: sa.Connection, statement: str, parameters) -> str:
    if conn.dialect.name == "sqlite":
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}",
                                                            parameters))


def test_every_statement_of_a_card_reads_an_index(app):
    client = app.client()
    id = customer_with(app, 30, users(app, 3))
    # Other customers' records, as a real database has them: the card's own are few.
    records = app.extensions["karte"]["records"]
    others = records.create_many("customer", [{"name": f"C{i}"} for i in range(200)])
    records.create_many("deal", [{"title": f"D{i}", "customer": others[i % 200]}
                                 for i in range(2000)])
    records.create_many("task", [{"title": f"T{i}", "customer": others[i % 200],
                                  "due_on": "2030-02-01"} for i in range(2000)])
    log, _ = card(app, client, id)
    engine = app.extensions["karte"]["engine"]
    tables = {"customer", "deal", "task", "deal__partners", "karte_audit", "karte_note",
              "karte_stage_move"}      # the ones that grow (not users nor sessions)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            analyse_schema(conn)
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plans = [(s, explain(conn, s, p)) for s, p in log.seen if s.startswith("SELECT")]
    assert len(plans) > 10
    for statement, found in plans:
        for table in tables:
            assert f"SCAN {table}\n" not in found + "\n", (statement, found)
            assert f"SCAN {table} " not in found, (statement, found)
        assert "Seq Scan" not in found, (statement, found)
    related_pages = [found for s, found in plans
                     if re.search(r"FROM deal WHERE .*deal\.customer = ", s)]
    assert related_pages and all("ix_deal_customer" in f for f in related_pages), plans
    partners = [found for s, found in plans if "deal__partners.target_id = " in s]
    assert partners and all("ix_deal__partners_target_id" in f for f in partners), partners
    timeline = [found for s, found in plans if "FROM karte_audit" in s]
    assert timeline and all("ix_karte_audit_record" in f for f in timeline), timeline
