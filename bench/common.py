"""Helpers shared by the benchmarks: timing, a signed-in test client, a PostgreSQL schema
per cached database, and the Jinja table every hand-written baseline renders."""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import jinja2
import sqlalchemy as sa

# PostgreSQL for every benchmark: KARTE_BENCH_DATABASE_URL, else the test database.
PG_URL = os.environ.get("KARTE_BENCH_DATABASE_URL",
                        "postgresql+psycopg://karte:karte@localhost:5432/karte_test")

# The table a hand-written list page renders: one <td> per column, values as they come.
TABLE = jinja2.Template(
    "<table>{% for row in rows %}<tr>{% for c in columns %}<td>{{ row[c] }}</td>"
    "{% endfor %}</tr>{% endfor %}</table>")


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and 90th percentile in ms of `repeat` calls, after one uncounted call."""
    call()  # warm caches (templates, statements)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.9) - 1)]


def get(client: Any, url: str) -> Callable[[], None]:
    """A call that GETs `url` through the test client and reads the whole body."""
    def call() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()
    return call


def sign_in(client: Any, email: str, password: str) -> Any:
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    assert response.status_code in (302, 303), f"could not sign in as {email}"
    return client


def signed_in_client(app: Any, email: str, password: str, role: str = "admin") -> Any:
    """A test client signed in as `email` (added with `role` when it is not there yet)."""
    from karte.auth.users import add_user

    services = app.extensions["karte"]
    with services["engine"].connect() as conn:
        known = conn.scalar(sa.text("SELECT id FROM karte_user WHERE email = :e"),
                            {"e": email})
    if known is None:
        add_user(services["engine"], services["pack"], email, role, password)
    return sign_in(app.test_client(), email, password)


def pg_schema_url(base: str, schema: str) -> str | None:
    """`base` with its search path set to `schema` (created if missing); None, with the
    reason printed, when PostgreSQL cannot be reached."""
    try:
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        admin.dispose()
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL skipped: {error.orig}")
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"
