"""SPEC §3.4 through HTTP: every role × entity × action × whose-record of a pack, generated
from the pack's own permission table (and cross-checked with the hand-worked table of
tests/test_permissions.py, which proves the same rights through the services).

Each page answers as a user would expect: a record outside the read scope is 404 (its
existence is not revealed), a readable one the role may not change is 403, and lists,
counts, search, exports and link pickers show exactly the readable records.
"""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup

from tests.test_permissions import ENTITIES, EXPECTED, ROLES, WORKFLOWS

OK, FORBIDDEN, NOT_FOUND = 303, 403, 404
CASES = sorted((role, entity) for role, entity in EXPECTED if role != "admin") + [
    ("admin", "note"), ("admin", "memo")]


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, WORKFLOWS, {"name": "matrix", "roles": ROLES})


def expected(level, mine: bool, readable: bool) -> int:
    if not readable:
        return NOT_FOUND
    return OK if level == "all" or (level == "own" and mine) else FORBIDDEN


class Case:
    """A role's signed-in client, the other user, and fresh records of either."""

    def __init__(self, app, role: str, entity: str):
        self.app, self.entity = app, entity
        self.client = app.client(role)
        self.me = app.user(role)
        self.them = app.user("clerk", "other@example.com")
        self.services = app.extensions["karte"]
        self.owned = "owner" in ENTITIES[entity]["fields"]
        self.title = 0

    def actor(self, id: int):
        from karte.auth.users import get_user

        return get_user(self.services["engine"], id)

    def record(self, mine: bool) -> dict:
        me, them = (self.me, self.them) if mine else (self.them, self.me)
        self.title += 1
        records = self.services["records"]
        if self.owned:
            return records.create(self.entity, {"title": f"t{self.title}", "owner": me},
                                  self.actor(them), enforce=False)
        return records.create(self.entity, {"title": f"t{self.title}"}, self.actor(me),
                              enforce=False)

    def form(self, record: dict) -> dict:
        data = {"title": "changed", "version": record["version"]}
        if self.owned:
            data["owner"] = record["owner"]
        return data


def readable(level, mine: bool) -> bool:
    return level == "all" or (level == "own" and mine)


@pytest.mark.parametrize(("role", "entity"), CASES)
def test_pages_give_every_role_exactly_its_rights(app, role, entity):
    pack = app.extensions["karte"]["pack"]
    rights = pack.permission(role, entity)
    assert (rights.read, bool(rights.create), rights.update, rights.delete) == tuple(
        EXPECTED[(role, entity)][:1]) + (bool(EXPECTED[(role, entity)][1]),) + tuple(
        EXPECTED[(role, entity)][2:]), "the pack's table and the hand-worked one disagree"
    case = Case(app, role, entity)
    client = case.client
    for mine in (True, False):
        can_read = readable(rights.read, mine)
        one, two = case.record(mine), case.record(mine)
        card = client.get(f"/{entity}/{one['id']}")
        assert card.status_code == (200 if can_read else 404), f"card mine={mine}"
        edit = client.send(f"/{entity}/{one['id']}/edit", case.form(one))
        assert edit.status_code == expected(rights.update, mine, can_read), f"edit mine={mine}"
        delete = client.send(f"/{entity}/{two['id']}/delete", {"version": two["version"]})
        assert delete.status_code == expected(rights.delete, mine, can_read), \
            f"delete mine={mine}"
    created = client.send(f"/{entity}/new", {"title": "new one",
                                            **({"owner": case.me} if case.owned else {})})
    assert created.status_code == (OK if rights.create else FORBIDDEN)


def _listed_titles(html: str) -> set[str]:
    soup = BeautifulSoup(html, "html.parser")
    return {a.get_text(strip=True) for a in soup.select("main a")}


@pytest.mark.parametrize(("role", "entity"), [("guest", "memo"), ("clerk", "note"),
                                              ("blind", "note"), ("blind", "memo")])
def test_lists_exports_and_pickers_show_only_readable_records(app, role, entity):
    case = Case(app, role, entity)
    rights = app.extensions["karte"]["pack"].permission(role, entity)
    mine, theirs = case.record(True), case.record(False)
    listing = case.client.get(f"/{entity}/")
    if not rights.read:
        assert listing.status_code == 403
        assert case.client.get(f"/{entity}/export.csv").status_code == 403
        return
    shown = _listed_titles(listing.get_data(as_text=True))
    assert mine["title"] in shown
    assert (theirs["title"] in shown) == (rights.read == "all")
    exported = case.client.get(f"/{entity}/export.csv").get_data(as_text=True)
    titles = {cell for row in csv.reader(io.StringIO(exported.lstrip("\ufeff"))) for cell in row}
    assert mine["title"] in titles and (theirs["title"] in titles) == (rights.read == "all")
    searched = _listed_titles(case.client.get("/search?q=t").get_data(as_text=True))
    assert (theirs["title"] in searched) == (rights.read == "all")
    picked = case.client.get(f"/{entity}/pick?q=t").get_data(as_text=True)
    assert (theirs["title"] in picked) == (rights.read == "all")
    assert mine["title"] in picked
