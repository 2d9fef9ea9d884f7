"""Search by index (issue 11): the list search, its capped count and the quick search at
100k customers and contacts, on SQLite and PostgreSQL, against the `LIKE '%text%'` scan main
ran before (written by hand).

    .venv/bin/python bench/bench_search.py [--size 100000] [--repeat 15] [--pg URL]

Builds once (cached: instance/bench-search-<size>.db, and the PostgreSQL schema
bench_search_<size>) the standard pack's tables with `size` customers and `size` contacts
whose search fields hold English and Japanese names, cities, emails and phones (2% in the
bin), written through the migrated schema (so SQLite's triggers fill the FTS table and
PostgreSQL's GIN indexes follow), then ANALYZEs (PostgreSQL: VACUUM ANALYZE, as autovacuum
would). For a frequent word, a rare word, a Japanese word and a 2-character text it prints
medians in ms of: the list page `/customer/?q=` through the Flask test client (signed-in
admin: layout, filters, capped count and all); the records service's query of that page
(`Records.query(search=, limit=51)`); its capped count (`Records.count(search=,
cap=10000)`, as the list shows); the quick search `/search?q=` (every searchable entity:
5 matches and a count capped at 100 each); and, written by hand as main ran them before
this change, the same page query and capped count as a `LIKE` scan (`lower()` on SQLite,
`translate()` on PostgreSQL). Target: the query and the count well under the scan, and flat
in the table's size for a word of 3+ characters. PostgreSQL is skipped when --pg is '' or
unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import string
import sys
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_pages import timed  # noqa: E402
from bench_sorts import signed_in_client  # noqa: E402
from common import PG_URL, pg_schema_url  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LIST_CAP = 10_000
QUERIES = [("frequent", "son"), ("rare", "quixote"), ("Japanese", "名古屋"), ("Japanese 2", "東京"),
           ("2 chars", "an")]
SURNAMES = ["Johnson", "Anderson", "Smith", "Garcia", "Miller", "Davis", "Wilson",
            "Moore", "Taylor", "Thomas", "Jackson", "White", "Harris", "Martin", "Clark",
            "Lewis", "Walker", "Young", "King", "Wright"]
WORDS = ["Global", "Northern", "Pacific", "United", "Advanced", "Green", "Blue", "First",
         "Prime", "Summit"]
KINDS = ["Trading", "Logistics", "Foods", "Systems", "Partners", "Holdings", "Labs"]
JA = ["株式会社山田商事", "東京物産", "大阪精機株式会社", "名古屋運輸", "札幌食品", "横浜電機",
      "京都織物", "福岡建設", "神戸海運", "仙台製作所"]
CITIES = ["Boston", "Denver", "Austin", "Seattle", "Chicago", "大阪", "名古屋", "札幌",
          "東京", "横浜"]


def _name(i: int, rng: random.Random) -> str:
    if i % 10_000 == 7:
        return f"Quixote {rng.choice(KINDS)}"          # the rare word: 0.01% of rows
    if i % 5 == 0:
        return rng.choice(JA) + f" {i % 97}"
    return f"{rng.choice(WORDS)} {rng.choice(SURNAMES)} {rng.choice(KINDS)}"


def _email(name: str, i: int) -> str:
    local = "".join(c for c in name.lower() if c in string.ascii_lowercase)[:12] or "info"
    return f"{local}{i}@example.com"


def _rows(name: str, first: int, last: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(first, last):
        at = START + dt.timedelta(seconds=rng.randrange(10**8))
        row = {"created_at": at, "updated_at": at + dt.timedelta(seconds=i), "version": 1,
               "deleted_at": at if i % 50 == 0 else None,
               "phone": f"0{rng.randrange(10**9):09d}"}
        if name == "customer":
            row.update(name=_name(i, rng), city=rng.choice(CITIES))
            row["email"] = _email(row["name"], i)
        else:
            row.update(first_name=rng.choice(SURNAMES)[::-1].title(),
                       last_name=rng.choice(SURNAMES) if i % 4 else rng.choice(JA)[:2])
            row["email"] = _email(row["last_name"], i)
        rows.append(row)
    return rows


def build(url: str, size: int) -> None:
    from karte.meta.load import load_pack
    from karte.store import Records
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(url)
    pack = load_pack(REPO_ROOT)
    migrate(engine, pack, apply_risky=True)
    with engine.connect() as conn:
        if conn.scalar(sa.text("SELECT count(*) FROM customer")):
            engine.dispose()
            return
    print(f"filling {engine.dialect.name} with {size:,} customers and contacts (once) ...",
          flush=True)
    store = Records(engine, pack).store
    rng = random.Random(11)
    started = dt.datetime.now()
    with engine.begin() as conn:
        for name in ("customer", "contact"):
            table = store.table(name)
            for first in range(0, size, 10_000):
                conn.execute(table.insert(), _rows(name, first, min(size, first + 10_000),
                                                   rng))
    print(f"  written in {(dt.datetime.now() - started).total_seconds():.1f} s", flush=True)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE customer, contact")  # this schema only
    engine.dispose()


def _old_fold(column, dialect: str):
    """What main folded with before: lower() on SQLite, translate() on PostgreSQL."""
    if dialect == "sqlite":
        return sa.func.lower(column)
    return sa.func.translate(column, string.ascii_uppercase, string.ascii_lowercase)


def _scan(records, text: str):
    """The list search as main ran it: LIKE over every search field, no index."""
    entity = records.store.entity("customer")
    table = records.store.table(entity)
    dialect = records.engine.dialect.name
    like = sa.or_(*[sa.and_(table.c[n].is_not(None),
                            _old_fold(table.c[n], dialect).contains(text, autoescape=True))
                    for n in entity.list.search])
    return table, sa.select(table).where(table.c.deleted_at.is_(None), like)


def _measure(services, client, text: str, repeat: int) -> dict[str, float]:
    records, engine = services["records"], services["engine"]
    table, scan = _scan(records, text)
    order = [table.c.name.asc().nulls_last(), table.c.id.asc()]

    def page():
        response = client.get("/customer/", query_string={"q": text})
        assert response.status_code == 200, response.status_code
        response.get_data()

    def quick():
        response = client.get("/search", query_string={"q": text})
        assert response.status_code == 200, response.status_code
        response.get_data()

    def hand_query():
        with engine.connect() as conn:
            conn.execute(scan.order_by(*order).limit(51)).all()

    def hand_count():
        capped = scan.with_only_columns(table.c.id).limit(LIST_CAP).subquery()
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()

    found = {
        "page": timed(page, repeat)[0],
        "query": timed(lambda: records.query("customer", search=text, limit=51), repeat)[0],
        "count": timed(lambda: records.count("customer", search=text, cap=LIST_CAP),
                       repeat)[0],
        "quick": timed(quick, repeat)[0],
        "scan query": timed(hand_query, repeat)[0],
        "scan count": timed(hand_count, repeat)[0],
    }
    found["matches"] = records.count("customer", search=text, cap=LIST_CAP)
    return found


def measure(url: str, repeat: int) -> list[tuple[str, str, dict[str, float]]]:
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    client = signed_in_client(app)
    results = [(label, text, _measure(services, client, text, repeat))
               for label, text in QUERIES]
    services["engine"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL ('' to skip)")
    args = parser.parse_args()
    db = REPO_ROOT / "instance" / f"bench-search-{args.size}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KARTE_INSTANCE", str(db.parent))
    urls = {"sqlite": f"sqlite:///{db}"}
    if args.pg and (pg := pg_schema_url(args.pg, f"bench_search_{args.size}")):
        urls["postgresql"] = pg
    for kind, url in urls.items():
        build(url, args.size)
        print(f"\n{kind}, {args.size:,} customers (search: name, email, phone, city), "
              "medians in ms")
        print(f"{'search':22} {'matches':>7} {'page':>7} {'query':>7} {'count':>7} "
              f"{'quick':>7} | {'LIKE query':>10} {'LIKE count':>10}")
        for label, text, m in measure(url, args.repeat):
            matches = f"{m['matches']:,}" if m["matches"] < LIST_CAP else f"{LIST_CAP:,}+"
            print(f"{label + ' ' + repr(text):22} {matches:>7} {m['page']:7.1f} "
                  f"{m['query']:7.1f} {m['count']:7.1f} {m['quick']:7.1f} | "
                  f"{m['scan query']:10.1f} {m['scan count']:10.1f}", flush=True)


if __name__ == "__main__":
    main()
