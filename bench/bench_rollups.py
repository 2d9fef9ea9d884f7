"""Rollups on SQLite: the cost of keeping a rollup current on an ordinary write, and of
recomputing it over every child.

    .venv/bin/python bench/bench_rollups.py [--children 100000] [--parents 100] [--runs 15]

Prints the median wall time of (a) creating one deal of a customer that already has
children/parents deals — the write plus one aggregate per rollup for that customer only,
so it must not grow with the table — and (b) `karte recompute customer.won_amount` over
all children; each against the baseline of a table a hundred times smaller whose customer
has as many deals (what the aggregate reads is the same: only the table grew).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.migrate import migrate
from karte.store.records.recompute import recompute_field

WON = {"field": "stage", "op": "=", "value": "won"}
ENTITIES = {
    "customer": {"fields": {
        "name": {"type": "string"},
        "deals": {"type": "rollup", "of": "deal.customer", "agg": "count"},
        "won_amount": {"type": "rollup", "of": "deal.customer", "agg": "sum",
                       "field": "amount", "where": WON, "result": "money"}}},
    "deal": {"fields": {
        "title": {"type": "string"},
        "customer": {"type": "link", "to": "customer"},
        "amount": {"type": "money"},
        "stage": {"type": "enum", "options": ["open", "won", "lost"]}}},
}


def _pack(root: Path):
    (root / "entity_defs").mkdir(parents=True)
    for name, body in ENTITIES.items():
        (root / "entity_defs" / f"{name}.json").write_text(json.dumps(body))
    return load_pack(root)


def run(children: int, parents: int, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        pack = _pack(Path(tmp) / "pack")
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine, pack)
        records = Records(engine, pack)
        ids = records.create_many("customer", ({"name": f"c{i}"} for i in range(parents)))
        records.create_many("deal", ({"title": f"d{i}", "customer": ids[i % parents],
                                      "amount": str(i % 1000),
                                      "stage": ("open", "won", "lost")[i % 3]}
                                     for i in range(children)), batch_size=5000)
        writes = []
        for i in range(runs):
            start = time.perf_counter()
            records.create("deal", {"title": f"x{i}", "customer": ids[0], "amount": "5",
                                    "stage": "won"})
            writes.append(time.perf_counter() - start)
        recomputes = []
        for _ in range(runs):
            start = time.perf_counter()
            recompute_field(engine, pack, "customer.won_amount")
            recomputes.append(time.perf_counter() - start)
        engine.dispose()
    return statistics.median(writes), statistics.median(recomputes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--parents", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    small = max(1, args.children // 100)       # as many deals per customer, 100× fewer rows
    base_write, base_full = run(small, max(1, args.parents * small // args.children),
                                args.runs)
    write, full = run(args.children, args.parents, args.runs)
    print(f"one deal created, its customer's rollups kept current: {write * 1000:.1f} ms "
          f"with {args.children} deals in the table, {base_write * 1000:.1f} ms with {small} "
          f"(ratio {write / base_write:.2f}; both read the customer's "
          f"{args.children // args.parents} deals through the link index, never the "
          "table: the difference is their rows spread over 100× more pages)")
    print(f"karte recompute customer.won_amount over {args.children} deals: {full:.2f} s "
          f"({base_full:.3f} s over {small}; ratio {full / base_full:.0f})")


if __name__ == "__main__":
    main()
