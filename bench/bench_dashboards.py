"""The standard pack's `sales` dashboard (issue 16, "Performance") at 100k and 1M demo records,
on SQLite and PostgreSQL: each widget's statement and the whole page.

    .venv/bin/python bench/bench_dashboards.py [--size 100000[,1000000]] [--repeat 15]
                                               [--dashboard sales] [--pg URL | --pg '']
                                               [--only sqlite|postgresql] [--quick]
    make bench-dashboards          # 100k and 1M, both databases

The databases are bench_million.py's (million_build.py: a `karte demo` seed of size/10
records replicated 10 times inside the database; cached as instance/bench-million-<size>.db
and the PostgreSQL schema bench_million_<size> of --pg): 100k builds in about a minute, 1M in
about 15 minutes the first time. The demo gives its records a past (karte.demo.history), so
the widgets count real shapes: deals won in every month of the year, open pipelines, a
funnel of this quarter.

Timed, as the demo's admin, each call by turns with its baseline (bench_million.paired: both
see the same moments of a busy machine), medians and 90th percentiles in ms:

- every widget alone: `Reports.run(dashboard, widget, admin)` — one SQL statement and
  turning its rows into a Result; baseline: `SELECT count(*) FROM <its entity> WHERE
  deleted_at IS NULL`, the cheapest full look at the same table;
- every widget's results together: `Reports.results(dashboard, admin)`;
- the page `GET /dashboard/<name>` through the Flask test client, signed in as the demo's
  admin (every widget, the layout, the menu); baseline: the entity list page `GET /deal/`
  of the same client.

Target: the page under 100 ms (median) at 1M records on both databases.

--quick: 100k, SQLite only, 5 repeats.
"""

from __future__ import annotations

import argparse
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
from common import PG_URL, sign_in  # noqa: E402
from million_build import targets  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

TARGET_MS = 100.0
ADMIN = "admin@example.com"     # the demo's admin; its password is in the instance folder


def paired(baseline: Callable[[], object], ours: Callable[[], object],
           repeat: int) -> tuple[float, float, float]:
    """Medians in ms of the baseline and of ours, called by turns after one uncounted call
    each, and our 90th percentile."""
    baseline(), ours()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, into in ((baseline, times[0]), (ours, times[1])):
            start = time.perf_counter()
            call()
            into.append((time.perf_counter() - start) * 1000)
    mine = sorted(times[1])
    return (statistics.median(times[0]), statistics.median(mine),
            mine[max(0, int(len(mine) * 0.9) - 1)])


def counter(app: Any, entity: str) -> Callable[[], object]:
    """The baseline of a widget: count the entity's live rows by hand."""
    store = app.extensions["karte"]["records"].store
    engine = app.extensions["karte"]["engine"]
    table = store.table(store.entity(entity))
    query = sa.select(sa.func.count()).select_from(table).where(table.c.deleted_at.is_(None))

    def call() -> object:
        with engine.connect() as conn:
            return conn.scalar(query)
    return call


def admin_actor(app: Any) -> Any:
    """The demo's admin as the reports see a signed-in user."""
    from karte.store.actor import Actor

    with app.extensions["karte"]["engine"].connect() as conn:
        row = conn.execute(sa.text("SELECT id, email FROM karte_user WHERE email = :e"),
                           {"e": ADMIN}).one()
    return Actor(id=row.id, email=row.email, role="admin")


def page(client: Any, url: str) -> Callable[[], None]:
    def call() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()
    return call


def _line(label: str, ours: float, p90: float, base: float, target: bool = False) -> str:
    verdict = ("holds" if ours < TARGET_MS else "MISSED") if target else ""
    return f"{label:34} {ours:8.1f}ms {p90:8.1f}ms {base:8.1f}ms {ours / base:7.1f}×  {verdict}"


def measure(url: str, args: argparse.Namespace) -> list[tuple[str, float]]:
    """Print and return (label, median ms) of every widget, the results and the page."""
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    reports = app.extensions["karte"]["reports"]
    actor = admin_actor(app)
    dashboard = reports.dashboard(args.dashboard, actor)
    found = []
    for widget in dashboard.widgets:
        base, ours, p90 = paired(counter(app, widget.entity),
                                 lambda w=widget: reports.run(dashboard, w, actor), args.repeat)
        print(_line(f"{widget.kind} {widget.name}", ours, p90, base), flush=True)
        found.append((widget.name, ours))
    first = counter(app, dashboard.widgets[0].entity)
    base, ours, p90 = paired(first, lambda: reports.results(dashboard, actor), args.repeat)
    print(_line("Reports.results (every widget)", ours, p90, base), flush=True)
    found.append(("results", ours))
    password = (REPO_ROOT / "instance" / "demo-login.txt").read_text().strip()
    client = sign_in(app.test_client(), ADMIN, password)
    base, ours, p90 = paired(page(client, "/deal/"),
                             page(client, f"/dashboard/{args.dashboard}"), args.repeat)
    print(_line(f"GET /dashboard/{args.dashboard} (vs /deal/)", ours, p90, base, True),
          flush=True)
    found.append(("page", ours))
    app.extensions["karte"]["engine"].dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="100000",
                        help="records (comma-separated for several: 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dashboard", default="sales")
    parser.add_argument("--pg", default=os.environ.get("KARTE_BENCH_DATABASE_URL", PG_URL),
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.size, args.only, args.repeat = "100000", "sqlite", 5
    instance = REPO_ROOT / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KARTE_INSTANCE", str(instance))
    for size in (int(word.replace("k", "000").replace("M", "000000"))
                 for word in args.size.split(",")):
        for kind, prepare in targets(size, args.pg, args.only).items():
            start = time.perf_counter()
            built, url = prepare()
            if built is not None:
                print(f"{kind}: built in {built / 60:.1f} min")
            print(f"\n{kind}, {size:,} demo records, dashboard {args.dashboard!r}, "
                  f"{args.repeat} calls each (medians; ours and the baseline by turns)")
            print(f"{'call':34} {'median':>10} {'p90':>10} {'baseline':>10} {'ratio':>8}  "
                  f"<{TARGET_MS:.0f} ms")
            measure(url, args)
            print(f"({kind}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
