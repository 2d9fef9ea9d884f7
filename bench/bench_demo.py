"""`karte demo` throughput on SQLite: records service vs a raw Core insert baseline.

    .venv/bin/python bench/bench_demo.py [--size 100000] [--runs 3]

Prints the median wall time and rows/s of (a) `karte demo --size N` on the standard pack
(generation + validation + audit + junctions, through the records service) and (b) a
baseline: the same number of rows inserted into one table with plain executemany and no
validation — the floor any service could reach — and the ratio between them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from karte.config import REPO_ROOT
from karte.demo import fill
from karte.meta.load import load_pack
from karte.store.db import make_engine
from karte.store.migrate import migrate


def timed_demo(size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        pack = load_pack(REPO_ROOT)
        migrate(engine, pack)
        start = time.perf_counter()
        fill(engine, pack, size=size, seed=1, if_empty=False, instance=Path(tmp),
             echo=lambda *_: None)
        elapsed = time.perf_counter() - start
        engine.dispose()
    return elapsed


def timed_baseline(size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'base.db'}")
        table = sa.Table("plain", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String(200)), sa.Column("email", sa.String(254)),
                         sa.Column("amount", sa.Numeric(18, 2)))
        table.metadata.create_all(engine)
        rows = [{"name": f"Company {i}", "email": f"c{i}@example.com", "amount": i}
                for i in range(size)]
        start = time.perf_counter()
        with engine.begin() as conn:
            for offset in range(0, size, 2000):
                conn.execute(table.insert(), rows[offset:offset + 2000])
        elapsed = time.perf_counter() - start
        engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    demo = statistics.median(timed_demo(args.size) for _ in range(args.runs))
    base = statistics.median(timed_baseline(args.size) for _ in range(args.runs))
    print(f"karte demo --size {args.size}: median {demo:.1f} s, {args.size / demo:,.0f} rows/s")
    print(f"baseline raw insert:        median {base:.2f} s, {args.size / base:,.0f} rows/s")
    print(f"ratio demo/baseline time:   {demo / base:.1f}x")


if __name__ == "__main__":
    main()
