"""The REST API's list endpoint `GET /api/v1/<entity>` (issue 14, "Benchmark") at 100k and 1M
demo records, on SQLite and PostgreSQL, beside the same page written by hand.

    .venv/bin/python bench/bench_api.py [--size 100000[,1000000]] [--repeat 15] [--page 200]
                                        [--entities deal,customer] [--pg URL | --pg '']
                                        [--only sqlite|postgresql] [--quick]

The databases are bench_million.py's (million_build.py: a `karte demo` seed of size/10
records replicated 10 times inside the database; cached as instance/bench-million-<size>.db
and the PostgreSQL schema bench_million_<size>): 100k builds in about a minute, 1M in about
13 minutes the first time.

For each entity (default: deal, sorted by -updated_at, with a `links` field; customer, sorted
by name, with a multi-enum and rollups) it times two requests through the Flask test client
with a real personal token of the demo's admin (Authorization: Bearer; rate limit off):

- the first page, `GET /api/v1/<entity>` (50 records, the default limit);
- a deep page: the cursor of page `--page` (200: records 9,951-10,000; the last page when
  the list is shorter, as customers are at 100k), found once by following `next` from the
  first page, then requested again and again.

Beside each, the hand-written baseline: the same keyset query with SQLAlchemy Core
(`SELECT <table> WHERE deleted_at IS NULL [AND (key, id) after the cursor's] ORDER BY key,
id LIMIT 51`, the `links` fields' ids in one query on their junction tables), the same
fields serialised by `json.dumps` (money and decimals as strings, dates and datetimes ISO
8601, multi-enums as arrays) with a signed cursor to the next page; no Flask, no token, no
permissions. Both sides are called by turns (as `bench_million.paired` does), and the baseline's
page is checked to hold the API's records in the API's order.

A second baseline is that same code served as a hand-written endpoint: a bare Flask app with
one route that checks the bearer token (`karte.auth.tokens.verify`, one query, as any API
must) and returns the hand-made body, called through its own test client. The first ratio
says what the API costs over the bare query and serialisation, whole HTTP handling
included; the second what it costs over an endpoint written by hand for one entity.
Target: the API at most 1.5× the hand-written endpoint (both ratios are printed).

--quick: 100k, SQLite only, 5 requests, the deep page at page 20.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import decimal
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import PG_URL  # noqa: E402
from million_build import targets  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

TARGET_RATIO = 1.5
ADMIN = "admin@example.com"
LIMIT = 50
SKIPPED = {"deleted_at"}            # columns a record never shows (and "_…" bookkeeping)
SECRET = b"bench-api"


def _encode(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value))


class Hand:
    """The hand-written list endpoint of one entity: its keyset query and json.dumps."""

    def __init__(self, app: Any, name: str):
        store = app.extensions["karte"]["records"].store
        self.engine = app.extensions["karte"]["engine"]
        entity = store.entity(name)
        self.table = table = store.table(entity)
        self.columns = [c for c in table.c if c.name not in SKIPPED
                        and not c.name.startswith("_")]
        self.junctions = {f.name: store.tables[f"{entity.table_name}__{f.name}"]
                          for f in entity.fields.values() if f.type == "links"}
        self.json_columns = {c.name for c in self.columns if isinstance(c.type, sa.JSON)}
        sort = entity.list.sort or "id"
        self.descending = sort.startswith("-")
        self.key = table.c[sort.lstrip("-")]
        step = (lambda c: c.desc()) if self.descending else (lambda c: c.asc())
        where = [table.c.deleted_at.is_(None)]
        if self.key.nullable and self.key is not table.c.id:
            where.append(self.key.is_not(None))
        order = [step(self.key)] if self.key is not table.c.id else []
        self.query = sa.select(*self.columns).where(*where).order_by(*order,
                                                                     step(table.c.id))

    def statement(self, after: tuple[Any, int] | None) -> sa.Select[Any]:
        if after is None:
            return self.query.limit(LIMIT + 1)
        pair = sa.tuple_(self.key, self.table.c.id)
        bound = sa.tuple_(sa.literal(after[0], self.key.type),
                          sa.literal(after[1], self.table.c.id.type))
        return self.query.where(pair < bound if self.descending else pair > bound
                                ).limit(LIMIT + 1)

    def page(self, after: tuple[Any, int] | None) -> tuple[str, tuple[Any, int] | None]:
        """The response body of the page after `after`, and the position of its last row."""
        with self.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(self.statement(after)).mappings()]
            more = len(rows) > LIMIT
            rows = rows[:LIMIT]
            ids = [row["id"] for row in rows]
            for name, junction in self.junctions.items():
                found: dict[int, list[int]] = {id: [] for id in ids}
                for source, target in conn.execute(
                        sa.select(junction.c.source_id, junction.c.target_id)
                        .where(junction.c.source_id.in_(ids))
                        .order_by(junction.c.source_id, junction.c.target_id)):
                    found[source].append(target)
                for row in rows:
                    row[name] = found[row["id"]]
        for row in rows:
            for name in self.json_columns:
                row[name] = row[name] if row[name] is not None else []
        last = (rows[-1][self.key.name], rows[-1]["id"]) if more else None
        body = {"data": rows, "next": _cursor(last) if last else None, "limit": LIMIT}
        return json.dumps(body, default=_encode), last

    def call(self, after: tuple[Any, int] | None) -> Callable[[], object]:
        return lambda: self.page(after)

    def walk(self, pages: int) -> tuple[Any, int] | None:
        """The position after page `pages - 1`: where page `pages` starts."""
        after = None
        for _ in range(pages - 1):
            after = self.page(after)[1]
        return after


class Endpoint:
    """The hand-written code served as one bare Flask route with a bearer token check."""

    def __init__(self, app: Any, hands: dict[str, Hand], token: str):
        from flask import Flask, Response, abort, request

        from karte.auth import tokens

        engine = app.extensions["karte"]["engine"]
        bare = Flask("hand")
        self.positions: dict[str, tuple[Any, int] | None] = {}

        @bare.get("/hand/<name>")
        def page(name: str) -> Response:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if tokens.verify(engine, presented)[0] is None:
                abort(401)
            after = self.positions.get(request.args.get("cursor", ""))
            return Response(hands[name].page(after)[0], mimetype="application/json")

        self.client = bare.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, name: str, after: tuple[Any, int] | None) -> Callable[[], None]:
        key = json.dumps(after, default=_encode)
        self.positions[key] = after

        def once() -> None:
            response = self.client.get(f"/hand/{name}", query_string={"cursor": key},
                                       headers=self.headers)
            assert response.status_code == 200, response.status_code
            response.get_data()
        return once


def _cursor(last: tuple[Any, int]) -> str:
    payload = json.dumps(last, default=_encode).encode()
    sign = hmac.new(SECRET, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(sign + payload).decode()


def issue_token(app: Any, email: str) -> str:
    """A personal token of `email` (the secret, shown once), as `karte token add` makes it."""
    from karte.auth import tokens

    engine = app.extensions["karte"]["engine"]
    with engine.connect() as conn:
        user_id = conn.scalar(sa.text("SELECT id FROM karte_user WHERE email = :e"),
                              {"e": email})
    return tokens.add(engine, user_id, f"bench {time.time():.0f}")[0]


class Api:
    """The API's list endpoint through the test client, with the token."""

    def __init__(self, app: Any, token: str):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str) -> dict[str, Any]:
        response = self.client.get(url, headers=self.headers)
        assert response.status_code == 200, (url, response.status_code,
                                              response.get_data(as_text=True)[:300])
        return response.get_json()

    def call(self, url: str) -> Callable[[], None]:
        def once() -> None:
            response = self.client.get(url, headers=self.headers)
            assert response.status_code == 200, (url, response.status_code)
            response.get_data()
        return once

    def walk(self, name: str, pages: int) -> tuple[str, int]:
        """The URL of page `pages` of the list (or of its last page before it, when the
        list is shorter), by following `next` from the first; and that page's number."""
        url, page = f"/api/v1/{name}", 1
        while page < pages and (following := self.get(url)["next"]):
            url, page = f"/api/v1/{name}?cursor={following}", page + 1
        return url, page


def _same(api: Api, url: str, hand: Hand, after: tuple[Any, int] | None) -> str:
    """'' when the baseline's page holds the API's records in its order, else what differs."""
    ours = [row["id"] for row in api.get(url)["data"]]
    theirs = [row["id"] for row in json.loads(hand.page(after)[0])["data"]]
    return "" if ours == theirs else f"  (DIFFERENT RECORDS: api {ours[:3]}…, hand {theirs[:3]}…)"


def alternately(baseline: Callable[[], object], endpoint: Callable[[], object],
                api: Callable[[], object], repeat: int) -> tuple[float, float, float, float]:
    """Medians in ms of the baseline, the hand-written endpoint and the API, called by
    turns after one uncounted call each (all see the same moments of a busy machine), and
    the API's 90th percentile."""
    baseline(), endpoint(), api()
    times: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(repeat):
        for call, into in zip((baseline, endpoint, api), times, strict=True):
            start = time.perf_counter()
            call()
            into.append((time.perf_counter() - start) * 1000)
    ours = sorted(times[2])
    return (statistics.median(times[0]), statistics.median(times[1]), statistics.median(ours),
            ours[max(0, int(len(ours) * 0.9) - 1)])


def measure(url: str, args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    token = issue_token(app, ADMIN)
    api = Api(app, token)
    names = args.entities.split(",")
    hands = {name: Hand(app, name) for name in names}
    endpoint = Endpoint(app, hands, token)
    results = []
    for name in names:
        hand = hands[name]
        deep_url, deep = api.walk(name, args.page)
        deep_after = hand.walk(deep)
        for label, path, after in ((f"GET /api/v1/{name}", f"/api/v1/{name}", None),
                                   (f"  page {deep} (cursor)", deep_url, deep_after)):
            differs = _same(api, path, hand, after)
            base, served, ours, p90 = alternately(hand.call(after), endpoint.call(name, after),
                                                  api.call(path), args.repeat)
            results.append((label, ours, p90, served))
            ratio = ours / served
            print(f"{label:28} {ours:8.1f}ms {p90:8.1f}ms {base:8.1f}ms {ours / base:6.2f}× "
                  f"{served:8.1f}ms {ratio:6.2f}×  "
                  f"{'holds' if ratio <= TARGET_RATIO else 'MISSED'}{differs}", flush=True)
    app.extensions["karte"]["engine"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="100000",
                        help="records (comma-separated for several: 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--page", type=int, default=200, help="the deep page's number")
    parser.add_argument("--entities", default="deal,customer")
    parser.add_argument("--pg", default=os.environ.get("KARTE_BENCH_DATABASE_URL", PG_URL),
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.size, args.only, args.repeat, args.page = "100000", "sqlite", 5, 20
    instance = REPO_ROOT / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KARTE_INSTANCE", str(instance))
    for size in (int(word) for word in args.size.split(",")):
        for kind, prepare in targets(size, args.pg, args.only).items():
            start = time.perf_counter()
            built, url = prepare()
            if built is not None:
                print(f"{kind}: built in {built / 60:.1f} min")
            print(f"\n{kind}, {size:,} demo records, {args.repeat} requests each "
                  f"(medians; API and baseline alternately)")
            print(f"{'request':28} {'API':>10} {'API p90':>10} {'by hand':>10} "
                  f"{'ratio':>7} {'endpoint':>10} {'ratio':>7}  ≤{TARGET_RATIO}×")
            measure(url, args)
            print(f"({kind}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
