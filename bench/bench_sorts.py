"""List pages sorted by their default sort and a few filter sorts, at 100k rows, on SQLite
and PostgreSQL, against the same page written by hand (issue 11, "PostgreSQL sorts").

    .venv/bin/python bench/bench_sorts.py [--size 100000] [--repeat 20] [--pg URL]

Builds once (cached: instance/bench-sorts-<size>.db, and the PostgreSQL schema
bench_sorts_<size>) the standard pack's tables with `size` rows in each measured entity,
inserted raw (only the title and the sorted columns filled, 2% of the rows in the bin), then
ANALYZEs. For each sort it prints, in ms (medians): the whole list page through the Flask
test client as the signed-in admin (layout, filters, counts and all); the records service's
query the page makes (`Records.query`, rights and link titles included) rendered as a Jinja
table; the same page written by hand (SQLAlchemy Core SELECT ... ORDER BY ... LIMIT 51 + the
same Jinja table); and that hand-written page with the ORDER BY main emitted before issue 11
(`NULLS LAST` on NOT NULL columns too: PostgreSQL then sorts the whole table). Target:
query ≤ 1.5× by hand, and every figure flat in the table's size. PostgreSQL is skipped when
--pg is '' or unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import sys
from pathlib import Path

import jinja2
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_pages import timed  # noqa: E402
from common import PG_URL, pg_schema_url  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

ADMIN, PASSWORD = "sorts-admin@example.com", "a long enough password 1"

ENTITIES = ("deal", "task", "ticket", "interaction")
SORTS = [("deal", None), ("deal", "close_on"), ("deal", "-close_on"), ("deal", "owner"),
         ("task", None), ("task", "-due_on"), ("ticket", None), ("ticket", "owner"),
         ("interaction", None)]
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PAGE = jinja2.Template(
    "<table>{% for row in rows %}<tr>{% for c in columns %}<td>{{ row[c] }}</td>"
    "{% endfor %}</tr>{% endfor %}</table>")


def _value(column: sa.Column, i: int, users: list[int], rng: random.Random):
    if i % 10 == 0:
        return None
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return i % 3 == 0
    if isinstance(kind, sa.Date):
        return dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
    if isinstance(kind, sa.DateTime) or "DateTime" in type(kind).__name__:
        return START + dt.timedelta(minutes=rng.randrange(10**6))
    if column.foreign_keys:
        return users[i % len(users)]
    if isinstance(kind, sa.Numeric | sa.Integer):
        return rng.randrange(10**6)
    return f"v{rng.randrange(10**6):07d}"


def build(url: str, size: int) -> None:
    from karte.auth.users import add_user
    from karte.meta.load import load_pack
    from karte.store import Records
    from karte.store.db import make_engine
    from karte.store.migrate import migrate
    from karte.store.tables import sort_fields

    engine = make_engine(url)
    pack = load_pack(REPO_ROOT)
    migrate(engine, pack, apply_risky=True)
    with engine.connect() as conn:
        if conn.scalar(sa.text("SELECT count(*) FROM deal")):
            engine.dispose()
            return
    print(f"filling {engine.dialect.name} with {size:,} rows per entity (once) ...",
          flush=True)
    users = [add_user(engine, pack, f"owner{i}@example.com", "sales", PASSWORD)
             for i in range(20)]
    store = Records(engine, pack).store
    rng = random.Random(11)
    with engine.begin() as conn:
        for name in ENTITIES:
            entity = pack.entities[name]
            table = store.table(entity)
            columns = {n for n in (*sort_fields(entity), entity.title_field)
                       if n in entity.fields and n in table.c}
            for first in range(0, size, 10_000):
                rows = []
                for i in range(first, min(size, first + 10_000)):
                    at = START + dt.timedelta(seconds=rng.randrange(10**8))
                    row = {"created_at": at, "updated_at": at + dt.timedelta(seconds=i),
                           "deleted_at": at if i % 50 == 0 else None}
                    row.update({n: _value(table.c[n], i, users, rng) for n in columns})
                    rows.append(row)
                conn.execute(table.insert(), rows)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def signed_in_client(app):
    from karte.auth.users import UserRefused, add_user

    services = app.extensions["karte"]
    try:
        add_user(services["engine"], services["pack"], ADMIN, "admin", PASSWORD)
    except UserRefused:
        pass                                 # added by an earlier run on the cached data
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    return client


def _hand_order(store, entity, sort):
    """The ORDER BY one writes by hand for "empty values last": NULLS LAST only where a
    column can be empty."""
    table = store.table(entity)
    sort = sort or entity.list.sort
    name, descending = sort.lstrip("-"), sort.startswith("-")
    column = table.c[name]
    key = column.desc() if descending else column.asc()
    return [key.nulls_last() if column.nullable else key,
            table.c.id.desc() if descending else table.c.id.asc()]


def _old_order(store, entity, sort):
    """The ORDER BY main emitted: NULLS LAST on every column, id repeated for `-id`."""
    table = store.table(entity)
    sort = sort or entity.list.sort
    name, descending = sort.lstrip("-"), sort.startswith("-")
    key = table.c[name].desc() if descending else table.c[name].asc()
    return [key.nulls_last(), table.c.id.desc() if descending else table.c.id.asc()]


def _hand(engine, table, columns, order):
    def call():
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.deleted_at.is_(None))
                                .order_by(*order).limit(51)).mappings().all()
        PAGE.render(rows=rows[:50], columns=columns)
    return call


def _one(services, client, name: str, sort: str | None, repeat: int):
    engine, records = services["engine"], services["records"]
    entity = records.store.entity(name)
    table = records.store.table(entity)
    columns = [c for c in entity.list.columns if c in table.c]
    path = f"/{name}/" + (f"?sort={sort}" if sort else "")

    def karte():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.get_data()

    def query():
        rows = records.query(name, sort=sort, limit=51)
        PAGE.render(rows=rows[:50], columns=columns)

    full, _ = timed(karte, repeat)
    ours, _ = timed(query, repeat)
    hand, _ = timed(_hand(engine, table, columns, _hand_order(records.store, entity, sort)),
                    repeat)
    old, _ = timed(_hand(engine, table, columns, _old_order(records.store, entity, sort)),
                   repeat)
    return f"{name} {sort or entity.list.sort + ' (default)'}", full, ours, hand, old


def measure(url: str, repeat: int) -> list[tuple[str, float, float, float, float]]:
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    client = signed_in_client(app)
    results = [_one(services, client, name, sort, repeat) for name, sort in SORTS]
    services["engine"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL ('' to skip)")
    args = parser.parse_args()
    db = REPO_ROOT / "instance" / f"bench-sorts-{args.size}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KARTE_INSTANCE", str(db.parent))
    urls = {"sqlite": f"sqlite:///{db}"}
    if args.pg and (pg := pg_schema_url(args.pg, f"bench_sorts_{args.size}")):
        urls["postgresql"] = pg
    for kind, url in urls.items():
        build(url, args.size)
        print(f"\n{kind}, {args.size:,} rows per entity")
        print(f"{'list sort':36} {'page':>9} {'query':>9} {'by hand':>9} {'ratio':>6} "
              f"{'main ORDER BY':>13}  query ≤1.5× by hand")
        for label, full, ours, hand, old in measure(url, args.repeat):
            ratio = ours / hand
            print(f"{label:36} {full:7.1f}ms {ours:7.1f}ms {hand:7.1f}ms {ratio:5.2f}× "
                  f"{old:11.1f}ms  {'holds' if ratio <= 1.5 else 'MISSED'}", flush=True)


if __name__ == "__main__":
    main()
