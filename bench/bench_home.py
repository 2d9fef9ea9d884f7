"""Home and board server times on a demo database, against hand-written queries.

    .venv/bin/python bench/bench_home.py [--size 100000] [--repeat 30] [--db PATH]
                                         [--url postgresql+psycopg://...]

Builds (once, cached: SQLite at --db, default instance/bench-pages-<size>.db, shared with
bench_pages.py; PostgreSQL at --url when that database is empty) the standard pack with
`karte demo --size N`, then requests home `/` and both boards through the Flask test
client as a signed-in admin (reads everything: the widest recent-changes and counts) and
prints median and p90 server times in ms. Baselines are the queries a developer would write
by hand for the same numbers with SQLAlchemy Core, no templates:

- home: the last 15 audit rows newest first, every board's stage counts (GROUP BY on the
  stage column), and ten tasks;
- board: stage counts with the money sum, and 20 cards per stage by id.

Target (issue 11): each page under 50 ms median at 1M records, flat in the data's size.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pages import build, get, timed  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

EMAIL, PASSWORD = "timer@example.com", "staple horse battery 42"


def signed_in_client(app):
    """A test client signed in as an admin (created on the first run)."""
    from karte.auth.users import add_user

    services = app.extensions["karte"]
    with services["engine"].connect() as conn:
        known = conn.scalar(sa.text("SELECT id FROM karte_user WHERE email = :e"),
                            {"e": EMAIL})
    if known is None:
        add_user(services["engine"], services["pack"], EMAIL, "admin", PASSWORD)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    return client


def build_postgres(url: str, size: int) -> None:
    from karte.demo import fill
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(url)
    pack = load_pack(REPO_ROOT)
    migrate(engine, pack)
    with engine.connect() as conn:
        if conn.scalar(sa.text("SELECT count(*) FROM customer")):
            engine.dispose()
            return
    print(f"filling {url} with {size:,} demo records (once) ...", flush=True)
    fill(engine, pack, size=size, seed=1, if_empty=False, instance=Path("/tmp"),
         echo=lambda *_: None)
    engine.dispose()


def boards_of(pack, tables) -> dict[str, tuple[sa.Table, sa.Column, sa.Column | None]]:
    """Per workflow: its table, stage column and money column (the first money field)."""
    from karte.workflow.reports import money_field_of

    found = {}
    for name, workflow in pack.workflows.items():
        entity, table = pack.entities[workflow.entity], tables[workflow.entity]
        money = money_field_of(entity)
        found[name] = (table, table.c[workflow.field], table.c[money] if money else None)
    return found


def home_baseline(engine: sa.Engine, tables, boards: dict) -> None:
    audit, task = tables["karte_audit"], tables["task"]
    with engine.connect() as conn:
        conn.execute(sa.select(audit).order_by(audit.c.at.desc(), audit.c.id.desc())
                     .limit(15)).all()
        for table, stage, _ in boards.values():
            conn.execute(sa.select(stage, sa.func.count()).where(table.c.deleted_at.is_(None))
                         .group_by(stage)).all()
        conn.execute(sa.select(task).where(task.c.deleted_at.is_(None))
                     .order_by(task.c.id.desc()).limit(10)).all()


def board_baseline(engine: sa.Engine, board: tuple, stages: list[str]) -> None:
    table, stage, money = board
    total = [sa.func.sum(money)] if money is not None else []
    with engine.connect() as conn:
        conn.execute(sa.select(stage, sa.func.count(), *total)
                     .where(table.c.deleted_at.is_(None)).group_by(stage)).all()
        for key in stages:
            conn.execute(sa.select(table).where(table.c.deleted_at.is_(None), stage == key)
                         .order_by(table.c.id.desc()).limit(20)).all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--url", help="a PostgreSQL URL instead of the SQLite file")
    args = parser.parse_args()
    if args.url:
        url = args.url
        build_postgres(url, args.size)
        os.environ.setdefault("KARTE_INSTANCE", "/tmp")
    else:
        db = args.db or REPO_ROOT / "instance" / f"bench-pages-{args.size}.db"
        build(db, args.size)
        url = f"sqlite:///{db}"
        os.environ.setdefault("KARTE_INSTANCE", str(db.parent))
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    engine, pack = app.extensions["karte"]["engine"], app.extensions["karte"]["pack"]
    client = signed_in_client(app)
    tables = sa.MetaData()
    tables.reflect(engine)
    tables = tables.tables
    boards = boards_of(pack, tables)
    with engine.connect() as conn:
        rows = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                for t in ("customer", "deal", "ticket", "karte_audit", "karte_stage_move")}
    print(f"{engine.dialect.name}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    print(f"{'page':30} {'median':>9} {'p90':>9} {'baseline':>9} {'ratio':>7}")

    def show(name: str, url: str, baseline) -> None:
        base, _ = timed(baseline, args.repeat)
        median, p90 = timed(get(client, url), args.repeat)
        verdict = "ok" if median < 50 else "over 50 ms"
        print(f"{name:30} {median:8.1f}ms {p90:8.1f}ms {base:8.2f}ms {median / base:6.1f}x"
              f"  {verdict}", flush=True)

    show("home /", "/", lambda: home_baseline(engine, tables, boards))
    for name, board in boards.items():
        stages = pack.workflows[name].stage_keys
        show(f"board /board/{name}", f"/board/{name}",
             lambda b=board, s=stages: board_baseline(engine, b, s))
    engine.dispose()


if __name__ == "__main__":
    main()
