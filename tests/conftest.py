"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and tiny packs.

Set KARTE_TEST_DATABASE_URL (e.g. postgresql+psycopg://karte:karte@localhost/karte_test)
to run every database test on PostgreSQL too; each test gets a schema of its own there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import settings

# CI explores the same examples on every run (a red build is a real regression, never a
# new random draw); local runs keep drawing new examples to find new bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

PG_URL = os.environ.get("KARTE_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing():
    """argon2 with its production cost takes ~0.1 s per hash; hundreds of sign-ins in the
    web tests only need a real argon2 hash, not a slow one."""
    from argon2 import PasswordHasher

    from karte.auth import users

    production = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users._dummy_hash.cache_clear()
    yield
    users._hasher = production
    users._dummy_hash.cache_clear()
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path | None = None) -> Iterator[str]:
    """A URL to an empty database: a SQLite file (in `folder`, else a temporary one), or
    a fresh PostgreSQL schema, dropped afterwards. Property tests take one per example."""
    if kind == "sqlite":
        if folder is not None:
            yield f"sqlite:///{folder / 'karte.db'}"
            return
        with tempfile.TemporaryDirectory() as temporary:
            yield f"sqlite:///{Path(temporary) / 'karte.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url):
    from karte.store.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def write_pack(root: Path, entities: dict, workflows: dict | None = None,
               pack: dict | None = None, dashboards: dict | None = None) -> Path:
    """Write a pack folder: {name: entity dict}, {name: workflow dict}, pack.json dict,
    {name: dashboard dict}."""
    (root / "entity_defs").mkdir(parents=True, exist_ok=True)
    (root / "workflows").mkdir(exist_ok=True)
    if dashboards:
        (root / "dashboards").mkdir(exist_ok=True)
    for name, body in (dashboards or {}).items():
        (root / "dashboards" / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    if pack is not None:
        (root / "pack.json").write_text(json.dumps(pack), encoding="utf-8")
    for name, body in entities.items():
        (root / "entity_defs" / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    for name, body in (workflows or {}).items():
        (root / "workflows" / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    return root


@pytest.fixture
def make_pack(tmp_path):
    """make_pack(entities, workflows=None, pack=None, dashboards=None) -> a loaded,
    validated Pack."""
    from karte.meta.load import load_pack

    counter = iter(range(1000))

    def make(entities: dict, workflows: dict | None = None, pack: dict | None = None,
             dashboards: dict | None = None):
        root = write_pack(tmp_path / f"pack{next(counter)}", entities, workflows, pack,
                          dashboards)
        return load_pack(root)

    return make


# ------------------------------------------------------------------ web


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PASSWORD = "correct horse battery"


class Client(FlaskClient):
    """A test client that signs in through /login and sends CSRF tokens like a browser.

    `client.send(url, data)` posts a form with the page's token; `client.post(...)` is the
    raw call (no token), for tests that check the refusal.
    """

    def token(self) -> str:
        page = self.get("/schema").get_data(as_text=True)
        found = CSRF_META.search(page)
        assert found, "no CSRF token on /schema: is the client signed in?"
        return found.group(1)

    def send(self, url: str, data: dict | None = None, **kwargs):
        body = dict(data or {})
        body.setdefault("csrf_token", self.token())
        return self.post(url, data=body, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD):
        page = self.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.post("/login", data={"email": email, "password": password,
                                              "csrf_token": token})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response


@pytest.fixture
def make_app(tmp_path, db_url, monkeypatch):
    """make_app(entities, workflows=None, pack=None, config=None, dashboards=None) -> a Flask
    app on the test database, with `app.user(role)` to add a user and `app.client(role)`
    for a signed-in test client (role "admin" by default; email "<role>@example.com")."""
    from karte import create_app
    from karte.auth.users import add_user, verify_password

    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    apps = []
    counter = iter(range(1000))

    def make(entities: dict, workflows: dict | None = None, pack: dict | None = None,
             config: dict | None = None, dashboards: dict | None = None):
        root = write_pack(tmp_path / f"webpack{next(counter)}", entities, workflows, pack,
                          dashboards)
        app = create_app(pack=root, database_url=db_url,
                         config={"TESTING": True, "RATELIMIT_ENABLED": False, **(config or {})})
        app.test_client_class = Client
        services = app.extensions["karte"]

        def user(role: str = "admin", email: str | None = None) -> int:
            """The user's id, with PASSWORD (set only when it is not already theirs: a
            password change would end their sessions)."""
            address = email or f"{role}@example.com"
            keep = verify_password(services["engine"], address, PASSWORD) is not None
            return add_user(services["engine"], services["pack"], address, role,
                            None if keep else PASSWORD, name=role.title())

        def client(role: str = "admin", email: str | None = None) -> Client:
            address = email or f"{role}@example.com"
            user(role, address)
            signed = app.test_client()
            signed.sign_in(address)
            return signed

        app.user, app.client = user, client
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["karte"]["engine"].dispose()
