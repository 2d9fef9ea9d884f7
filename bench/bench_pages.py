"""Page render times on a 100k-record demo database (SQLite): list, card and board.

    .venv/bin/python bench/bench_pages.py [--size 100000] [--repeat 30] [--db PATH]

Builds (once, cached at --db, default instance/bench-pages-<size>.db) the standard pack
with `karte demo --size N`, then requests each page through the Flask test client as the
signed-in admin and prints the median and 90th percentile in ms, and the median CPU time
of a request (the figure that decides how many pages a core serves, and the one that
holds still on a shared machine). The baseline is the
bare SQL a page cannot avoid — one `SELECT ... LIMIT 50` of the same table — so the ratio
shows what templates, permissions, references and counts add on top. Target (issue 5):
each page under 100 ms median.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from karte.config import REPO_ROOT

PASSWORD = "a quiet lantern 27"   # may not contain the email's name (docs/security.md)


def build(db: Path, size: int) -> None:
    from karte.demo import fill
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    if db.exists():
        return
    print(f"building {db} with {size:,} demo records (once) ...", flush=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    pack = load_pack(REPO_ROOT)
    migrate(engine, pack)
    fill(engine, pack, size=size, seed=1, if_empty=False, instance=db.parent,
         echo=lambda *_: None)
    engine.dispose()


def signed_in_client(app):
    from karte.auth.users import add_user

    services = app.extensions["karte"]
    add_user(services["engine"], services["pack"], "bench@example.com", "admin", PASSWORD)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "bench@example.com", "password": PASSWORD,
                                "csrf_token": token})
    return client


def timed(call, repeat: int) -> tuple[float, float, float]:
    """Median and 90th percentile of the wall time, and the median CPU time of this
    thread (what a request costs the server's cores: on a shared machine the wall time
    also counts the waits for a core, the CPU time does not), in ms."""
    call()  # warm caches (templates, statements)
    times, cpu = [], []
    for _ in range(repeat):
        start, started = time.perf_counter(), time.thread_time()
        call()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1], statistics.median(cpu)


def get(client, url: str):
    def call():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()
    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    db = args.db or REPO_ROOT / "instance" / f"bench-pages-{args.size}.db"
    build(db, args.size)
    os.environ.setdefault("KARTE_INSTANCE", str(db.parent))
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=f"sqlite:///{db}",
                     config={"RATELIMIT_ENABLED": False})
    engine = app.extensions["karte"]["engine"]
    client = signed_in_client(app)
    with engine.connect() as conn:
        deal = conn.scalar(sa.text("SELECT max(id) FROM deal WHERE deleted_at IS NULL"))
        customer = conn.scalar(sa.text("SELECT customer FROM deal WHERE id = :id"),
                               {"id": deal})
        rows = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                for t in ("customer", "deal", "task")}
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))

    def baseline():
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM deal WHERE deleted_at IS NULL "
                                 "ORDER BY id DESC LIMIT 50")).all()

    base, _, base_cpu = timed(baseline, args.repeat)
    pages = {
        "list /deal/": "/deal/",
        "list /deal/?q=a&sort=-amount": "/deal/?q=a&sort=-amount",
        "list /customer/ page 100": "/customer/?page=100",
        "list /ticket/": "/ticket/",
        "list /customer/?q=son": "/customer/?q=son",
        f"card /deal/{deal}": f"/deal/{deal}",
        f"card /customer/{customer}": f"/customer/{customer}",
        "board /board/deal_pipeline": "/board/deal_pipeline",
        "board /board/ticket_flow": "/board/ticket_flow",
        "home /": "/",
    }
    print(f"{'page':36} {'median':>9} {'p90':>9} {'x baseline':>11} {'CPU':>9}")
    print(f"{'baseline SELECT ... LIMIT 50':36} {base:8.2f}ms {'':>9} {1:10.1f}x "
          f"{base_cpu:7.2f}ms")
    for name, url in pages.items():
        median, p90, cpu = timed(get(client, url), args.repeat)
        print(f"{name:36} {median:8.1f}ms {p90:8.1f}ms {median / base:10.1f}x "
              f"{cpu:7.1f}ms", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
