"""Bulk writes (issue 11): `karte demo` and `Records.create_many` against a raw executemany.

    .venv/bin/python bench/bench_demo.py [--size 20000] [--runs 3] [--sqlite-only]
                                         [--url postgresql+psycopg://...]

For each database — SQLite (a file in a temporary folder) and PostgreSQL (the URL given,
else KARTE_BENCH_DATABASE_URL, else KARTE_TEST_DATABASE_URL; in a scratch schema
`bench_demo`, dropped and made again for every run) — it times, on a freshly migrated
standard pack each time:

- **demo**: `karte demo --size N --seed 1` (`karte.demo.fill`): drawing the records with
  Faker and the pack's rules, then writing them through the records service, then ANALYZE.
- **service**: the very `create_many` calls that demo made (same entities, same rows, same
  batches, `moving=True`), replayed into an empty database holding the demo users. This is
  what an import pays: validation, links checked, series, unique, lines, rollups, audit
  and stage history, one transaction per call.
- **raw**: the baseline. Every row the service stored — entity tables (rollup columns with
  their final values), line tables, `links` junctions, `karte_audit`, `karte_stage_move`,
  `karte_series` — read back from the demo's database and inserted by hand with SQLAlchemy
  Core `conn.execute(table.insert(), rows)` (executemany, 2,000 rows a statement), ids
  included, tables in foreign-key order, one transaction. No validation, no lookups, no
  rollup UPDATEs: the floor any service writing the same rows could reach.

Prints per database the medians, rows per second and the ratios service/raw and demo/raw,
and whether the target (service ≤ 2× raw) holds.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.config import REPO_ROOT
from karte.demo import fill
from karte.meta.load import load_pack
from karte.meta.model import Pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.migrate import migrate

SCHEMA = "bench_demo"
CHUNK = 2000
WRITTEN = ("karte_audit", "karte_stage_move", "karte_series")  # engine tables a write fills
TARGET = 2.0
Calls = list[tuple[str, list[dict[str, Any]], bool]]
Rows = dict[str, list[dict[str, Any]]]


@contextmanager
def fresh(url: str | None) -> Iterator[tuple[sa.Engine, Pack]]:
    """A migrated, empty database with the standard pack: SQLite when `url` is None."""
    pack = load_pack(REPO_ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        if url is None:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        else:
            admin = sa.create_engine(url)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
                conn.exec_driver_sql(f'CREATE SCHEMA "{SCHEMA}"')
            admin.dispose()
            sep = "&" if "?" in url else "?"
            engine = make_engine(f"{url}{sep}options=-csearch_path%3D{SCHEMA}")
        migrate(engine, pack)
        try:
            yield engine, pack
        finally:
            engine.dispose()


def written_tables(engine: sa.Engine, pack: Pack) -> list[sa.Table]:
    """The tables a demo writes records into, parents before children."""
    tables = Records(engine, pack).store.tables
    names = [name for name in tables if not name.startswith("karte_") or name in WRITTEN]
    return [t for t in sa.schema.sort_tables([tables[n] for n in names]) if t.name in names]


def timed_demo(url: str | None, size: int, capture: bool) -> tuple[float, Calls, Rows, Rows]:
    """Seconds of `karte demo`; with `capture`, the create_many calls it made, and the
    users and written rows it left."""
    calls: Calls = []
    spent = [0.0]
    original = Records.create_many

    def spy(self: Records, entity: str, rows: Any, *args: Any, **kwargs: Any) -> list[int]:
        rows = list(rows)
        ids = original(self, entity, rows, *args, **kwargs)
        start = time.perf_counter()
        calls.append((entity, copy.deepcopy(rows), bool(kwargs.get("moving"))))
        spent[0] += time.perf_counter() - start
        return ids

    users: Rows = {}
    stored: Rows = {}
    with fresh(url) as (engine, pack), tempfile.TemporaryDirectory() as instance:
        if capture:
            Records.create_many = spy   # type: ignore[method-assign]
        try:
            start = time.perf_counter()
            fill(engine, pack, size=size, seed=1, if_empty=False, instance=Path(instance),
                 echo=lambda *_: None)
            elapsed = time.perf_counter() - start - spent[0]
        finally:
            Records.create_many = original   # type: ignore[method-assign]
        if capture:
            with engine.connect() as conn:
                user = Records(engine, pack).store.users
                users[user.name] = [dict(r) for r in conn.execute(sa.select(user)).mappings()]
                for table in written_tables(engine, pack):
                    stored[table.name] = [dict(r) for r in conn.execute(
                        sa.select(table).order_by(*table.primary_key.columns)).mappings()]
    return elapsed, calls, users, stored


def _insert_all(conn: sa.Connection, tables: list[sa.Table], rows: Rows) -> None:
    for table in tables:
        found = rows.get(table.name) or []
        for offset in range(0, len(found), CHUNK):
            conn.execute(table.insert(), found[offset:offset + CHUNK])


def timed_service(url: str | None, calls: Calls, users: Rows) -> float:
    """Seconds of demo's create_many calls replayed on an empty database."""
    with fresh(url) as (engine, pack):
        records = Records(engine, pack)
        with engine.begin() as conn:
            _insert_all(conn, [records.store.users], users)
        start = time.perf_counter()
        for entity, rows, moving in calls:     # as the demo calls it: with its file references
            records.create_many(entity, rows, moving=moving, files=True)
        return time.perf_counter() - start


def timed_raw(url: str | None, users: Rows, stored: Rows) -> float:
    """Seconds of inserting the rows the service stored, by hand (see the docstring)."""
    with fresh(url) as (engine, pack):
        records = Records(engine, pack)
        with engine.begin() as conn:
            _insert_all(conn, [records.store.users], users)
        tables = written_tables(engine, pack)
        start = time.perf_counter()
        with engine.begin() as conn:
            _insert_all(conn, tables, stored)
        return time.perf_counter() - start


def median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def bench(name: str, url: str | None, size: int, runs: int) -> bool:
    demos = []
    first, calls, users, stored = timed_demo(url, size, capture=True)
    demos.append(first)
    demos += [timed_demo(url, size, capture=False)[0] for _ in range(runs - 1)]
    demo = statistics.median(demos)
    service = median(runs, lambda: timed_service(url, calls, users))
    raw = median(runs, lambda: timed_raw(url, users, stored))
    records = sum(len(rows) for _, rows, _ in calls)
    every = sum(len(rows) for rows in stored.values())
    held = service <= TARGET * raw
    print(f"{name}: {records:,} records by create_many ({len(calls)} calls), {every:,} rows "
          f"stored in all (records, lines, junctions, audit, stage moves, series)")
    print(f"  demo     median {demo:7.2f} s  {records / demo:9,.0f} records/s  "
          f"{demo / raw:5.2f}x raw")
    print(f"  service  median {service:7.2f} s  {records / service:9,.0f} records/s  "
          f"{service / raw:5.2f}x raw")
    print(f"  raw      median {raw:7.2f} s  {every / raw:9,.0f} rows/s")
    print(f"  target service <= {TARGET:g}x raw: {'holds' if held else 'MISSED'}", flush=True)
    return held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("KARTE_BENCH_DATABASE_URL")
                        or os.environ.get("KARTE_TEST_DATABASE_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgresql-only", action="store_true")
    args = parser.parse_args()
    print(f"karte demo --size {args.size} --seed 1, {args.runs} runs each, medians")
    if not args.postgresql_only:
        bench("SQLite", None, args.size, args.runs)
    if args.sqlite_only:
        return
    if not args.url:
        print("PostgreSQL: skipped (give --url or set KARTE_BENCH_DATABASE_URL)")
        return
    bench("PostgreSQL", args.url, args.size, args.runs)


if __name__ == "__main__":
    main()
