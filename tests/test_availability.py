"""When the database does not answer (SPEC §15): users get a 503 page saying nothing was
saved, with Retry-After, instead of a bare 500; /healthz answers 503 while it lasts; and
when the database is back, the next request works again with no restart.

An outage is made for real: on PostgreSQL the app talks to the database through a TCP relay
the test cuts (new connections are refused, open ones die) and mends; on SQLite the folder
holding the database file goes away (an unmounted volume) and comes back, and a second
writer holding the lock makes writes wait past their timeout.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

ENTITIES = {"customer": {"label": {"en": "Customer"}, "plural": {"en": "Customers"},
                         "fields": {"name": {"type": "string", "required": True}}}}
DOWN = "The database is not answering; nothing was saved. Try again in a moment."


class Relay:
    """A TCP relay to a server that the test can cut (like a network outage) and mend."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.port = 0
        self.mend()

    def mend(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            doomed, self.sockets = [self.listener, *self.sockets], []
            self.listener = None
        for sock in doomed:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        return


class Outage:
    """Routes the app's database URL so that the test can take the database away."""

    def __init__(self, tmp_path: Path):
        self.volume = tmp_path / "volume"
        self.relay: Relay | None = None
        self.engines: list[sa.Engine] = []

    def route(self, url: str) -> str:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.volume.mkdir()
            return f"sqlite:///{self.volume / 'karte.db'}?timeout=0.2"
        self.relay = Relay(parsed.host or "localhost", parsed.port or 5432)
        return parsed.set(host="127.0.0.1", port=self.relay.port).render_as_string(
            hide_password=False)

    def cut(self, app) -> None:
        if self.relay is not None:
            self.relay.cut()
            return
        self.volume.rename(self.volume.with_name("away"))
        app.extensions["karte"]["engine"].dispose()  # what is open keeps its file

    def mend(self) -> None:
        if self.relay is not None:
            self.relay.mend()
        else:
            shutil.move(self.volume.with_name("away"), self.volume)


@pytest.fixture
def outage(tmp_path):
    made = Outage(tmp_path)
    yield made
    if made.relay is not None:
        made.relay.cut()


@pytest.fixture
def db_url(db_url, outage):
    """The test database, reached through `outage`."""
    return outage.route(db_url)


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "availability"})


def customers(app) -> int:
    return app.extensions["karte"]["records"].count("customer")


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_healthz_says_ok_while_the_database_answers(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "pack": "availability"}


def test_every_page_is_a_503_while_the_database_is_away_and_works_again_after(app, outage):
    client = app.client()
    client.send("/customer/new", {"name": "Acme"})
    token = client.token()
    outage.cut(app)

    page = client.get("/customer/")
    assert page.status_code == 503
    assert page.headers["Retry-After"].isdigit()
    assert DOWN in soup(page).select_one(".error-page").get_text(" ", strip=True)
    health = app.test_client().get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (503, "unavailable")
    assert health.headers["Retry-After"].isdigit()
    saved = client.post("/customer/new", data={"name": "Lost", "csrf_token": token})
    assert saved.status_code == 503

    outage.mend()
    assert client.get("/customer/").status_code == 200    # still signed in, no restart
    assert app.test_client().get("/healthz").status_code == 200
    assert customers(app) == 1


def test_htmx_and_api_callers_get_the_same_503(app, outage):
    client = app.client()
    outage.cut(app)
    fragment = client.get("/customer/", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    assert soup(fragment).find("html") is None
    assert DOWN in fragment.get_data(as_text=True)
    api = client.get("/api/v1/customer")
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 503 and api.headers["Retry-After"].isdigit()
    outage.mend()


def test_the_503_page_speaks_the_users_language(app, outage):
    client = app.client()
    client.get("/?lang=ja")
    outage.cut(app)
    page = client.get("/customer/")
    assert page.status_code == 503
    text = soup(page).select_one(".error-page").get_text(" ", strip=True)
    assert DOWN not in text and "データベース" in text
    outage.mend()


def test_a_locked_sqlite_database_refuses_the_write_with_a_503(app, db_url):
    """A second writer holds the lock longer than the app waits: the save is refused as
    'try again', and nothing is written."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    client = app.client()
    token = client.token()
    other = sqlite3.connect(sa.make_url(db_url).database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        response = client.post("/customer/new", data={"name": "Acme", "csrf_token": token})
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert customers(app) == 0
    assert client.send("/customer/new", {"name": "Acme"}).status_code == 303


def test_a_broken_statement_is_a_500_not_a_database_outage(make_app, db_url):
    """SQLite reports "no such column" as an OperationalError too: that is a bug to fix,
    not an outage to wait out, so it gets the 500 page, never "try again"."""
    app = make_app(ENTITIES, config={"PROPAGATE_EXCEPTIONS": False})
    client = app.client()
    engine = app.extensions["karte"]["engine"]
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customer RENAME COLUMN name TO gone")
    page = client.get("/customer/")
    assert page.status_code == 500
    assert "Retry-After" not in page.headers
    assert DOWN not in page.get_data(as_text=True)
