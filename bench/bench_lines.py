"""Saving a document with lines through the records service (docs/lines.md).

    .venv/bin/python bench/bench_lines.py [--lines 50] [--runs 20] [--url sqlite:///...]

Prints the median wall time of (a) creating a quote with N lines (against the baseline of a
quote without lines), (b) updating every line
of it and reversing their order, and (c) reading it back with its lines — each one call of
`Records`, validation, audit and the version bump included. SQLite in a temporary folder
unless `--url` names another database (it must be empty: the pack's tables are created).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.migrate import migrate

ENTITIES = {
    "product": {"fields": {"name": {"type": "string", "required": True},
                           "price": {"type": "money"}}},
    "quote": {"fields": {"title": {"type": "string", "required": True},
                         "lines": {"type": "lines", "of": "quote_line", "max": 500}}},
    "quote_line": {"part_of": "quote", "title_field": "product", "fields": {
        "product": {"type": "link", "to": "product", "required": True},
        "quantity": {"type": "decimal", "required": True, "min": 0},
        "unit_price": {"type": "money"},
        "amount": {"type": "formula", "formula": "quantity * unit_price", "result": "money"}}},
}


def _pack(root: Path) -> Any:
    (root / "entity_defs").mkdir(parents=True)
    for name, body in ENTITIES.items():
        (root / "entity_defs" / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    return load_pack(root)


def _median_ms(runs: int, step: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        pack = _pack(Path(tmp) / "pack")
        migrate(engine, pack)
        records = Records(engine, pack)
        products = [records.create("product", {"name": f"P{i}", "price": i})["id"]
                    for i in range(1, 11)]
        lines = [{"product": products[i % 10], "quantity": i + 1, "unit_price": "2.50"}
                 for i in range(args.lines)]
        made: list[dict[str, Any]] = []
        create = _median_ms(args.runs, lambda: made.append(
            records.create("quote", {"title": "Bench", "lines": lines})))
        bare = _median_ms(args.runs, lambda: records.create("quote", {"title": "Bare"}))

        def change() -> None:
            quote = records.get("quote", made[0]["id"])
            sent = [{"id": line["id"], "quantity": line["quantity"] + 1}
                    for line in reversed(quote["lines"])]
            records.update("quote", quote["id"], {"lines": sent}, quote["version"])

        update = _median_ms(args.runs, change)
        read = _median_ms(args.runs, lambda: records.get("quote", made[0]["id"]))
        engine.dispose()
    name = engine.dialect.name
    print(f"{name}: create a quote with {args.lines} lines: median {create:.0f} ms "
          f"(a quote without lines: {bare:.1f} ms; ratio {create / bare:.1f}, "
          f"{(create - bare) / args.lines:.2f} ms per line)")
    print(f"{name}: change all {args.lines} lines and reverse them: median {update:.0f} ms")
    print(f"{name}: read it back with its lines: median {read:.1f} ms")


if __name__ == "__main__":
    main()
