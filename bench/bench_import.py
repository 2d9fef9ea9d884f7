"""Import speed (docs/import.md, issue 13): rows/s of a CSV of N rows × 10 columns into a
plain entity through the whole import engine — cells read as people write them, rows
validated and created by the records service with an admin as the actor, audit rows,
batch items — against the raw `executemany` of the same rows into the same table.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--runs 3] [--profile]
                                           [--url postgresql+psycopg://...] [--no-pg]

SQLite in a temporary folder, then PostgreSQL (KARTE_BENCH_DATABASE_URL, else the test
database; its schema `bench_import` is made afresh every run). Prints per database the
median seconds and rows/s of each side and their ratio; --profile prints where the
engine's time goes (cProfile, one SQLite run, by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PG_URL  # noqa: E402

from karte.auth.users import add_user, get_user  # noqa: E402
from karte.meta.load import load_pack  # noqa: E402
from karte.store import Records  # noqa: E402
from karte.store.db import make_engine  # noqa: E402
from karte.store.migrate import migrate  # noqa: E402
from karte.transfer import imports  # noqa: E402
from karte.transfer.read import open_sheet  # noqa: E402
from karte.workflow.service import Workflows  # noqa: E402

COLUMNS = ["name", "code", "email", "city", "note", "size", "amount", "due", "active", "tier"]
ENTITY = {"name": "item", "title_field": "name", "fields": {
    "name": {"type": "string", "required": True}, "code": {"type": "string"},
    "email": {"type": "email"}, "city": {"type": "string"}, "note": {"type": "text"},
    "size": {"type": "integer"}, "amount": {"type": "money"}, "due": {"type": "date"},
    "active": {"type": "boolean"}, "tier": {"type": "enum", "options": ["a", "b", "c"]}}}
CITIES = ["Tokyo", "Osaka", "Leeds", "York", "Kobe", "Nagoya"]


def _pack(root: Path) -> Any:
    (root / "entity_defs").mkdir(parents=True)
    (root / "entity_defs" / "item.json").write_text(json.dumps(ENTITY), encoding="utf-8")
    return load_pack(root)


def _write_csv(path: Path, rows: int) -> list[dict[str, Any]]:
    """The file, and the same rows as typed values (what the raw insert writes)."""
    rng = random.Random(13)
    typed = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for n in range(rows):
            due = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
            row = {"name": f"Company {n}", "code": f"C-{n:06d}", "email": f"c{n}@example.com",
                   "city": rng.choice(CITIES), "note": "Met at the fair; wants a quote.",
                   "size": rng.randrange(1, 500), "amount": Decimal(rng.randrange(100000)) / 100,
                   "due": due, "active": rng.random() < 0.8, "tier": rng.choice("abc")}
            writer.writerow([row["name"], row["code"], row["email"], row["city"], row["note"],
                             row["size"], f"{row['amount']:,}", due.strftime("%Y/%m/%d"),
                             "yes" if row["active"] else "no", row["tier"]])
            typed.append(row)
    return typed


def _fresh(url: str | None, folder: Path, run: int) -> sa.Engine:
    if url is None:
        return make_engine(f"sqlite:///{folder / f'run{run}.db'}")
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS bench_import CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA bench_import")
    sep = "&" if "?" in url else "?"
    return make_engine(f"{url}{sep}options=-csearch_path%3Dbench_import")


def _engine_run(engine: sa.Engine, pack: Any, path: Path) -> float:
    migrate(engine, pack)
    services = Workflows(Records(engine, pack))
    admin = get_user(engine, add_user(engine, pack, "bench@example.com", "admin"))
    sheet = open_sheet(path)
    plan = imports.Plan("item", {c: c for c in COLUMNS})
    start = time.perf_counter()
    report = imports.run(services, sheet, plan, admin)
    took = time.perf_counter() - start
    assert report.failed == 0 and report.created == report.total, report.problems[:3]
    return took


def _raw_run(engine: sa.Engine, pack: Any, typed: list[dict[str, Any]]) -> float:
    migrate(engine, pack)
    table = Records(engine, pack).store.table("item")
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    with engine.begin() as conn:
        for at in range(0, len(typed), 1000):
            conn.execute(table.insert(), [{**row, "version": 1, "created_at": now,
                                           "updated_at": now} for row in typed[at:at + 1000]])
    return time.perf_counter() - start


def _measure(name: str, url: str | None, pack: Any, path: Path, typed: list[dict[str, Any]],
             runs: int, folder: Path) -> None:
    engine_times, raw_times = [], []
    for run in range(runs):
        engine = _fresh(url, folder, run)
        engine_times.append(_engine_run(engine, pack, path))
        engine.dispose()
        engine = _fresh(url, folder, run + 100)
        raw_times.append(_raw_run(engine, pack, typed))
        engine.dispose()
    rows = len(typed)
    mine, raw = statistics.median(engine_times), statistics.median(raw_times)
    print(f"{name}: import {mine:.2f} s ({rows / mine:,.0f} rows/s), raw executemany "
          f"{raw:.2f} s ({rows / raw:,.0f} rows/s), ratio {mine / raw:.1f}x "
          f"(medians of {runs}; runs {', '.join(f'{t:.2f}' for t in engine_times)})",
          flush=True)


def _profile(pack: Any, path: Path, folder: Path) -> None:
    engine = _fresh(None, folder, 999)
    profiler = cProfile.Profile()
    profiler.enable()
    _engine_run(engine, pack, path)
    profiler.disable()
    engine.dispose()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        pack = _pack(folder / "pack")
        path = folder / "items.csv"
        typed = _write_csv(path, args.rows)
        if args.profile:
            _profile(pack, path, folder)
            return
        _measure("SQLite", None, pack, path, typed, args.runs, folder)
        if not args.no_pg:
            try:
                _measure("PostgreSQL", args.url, pack, path, typed, args.runs, folder)
            except sa.exc.OperationalError as error:
                print(f"PostgreSQL skipped: {error.orig}")


if __name__ == "__main__":
    main()
