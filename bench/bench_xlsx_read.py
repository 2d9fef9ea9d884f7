"""XLSX reading for imports (issue 13): openpyxl in read-only mode against python-calamine.

    .venv/bin/python bench/bench_xlsx_read.py [--rows 100000] [--runs 3]

Writes one workbook of N rows × 10 columns (text, integers, decimals, real date cells,
datetimes, booleans, blanks) with openpyxl's write-only mode into a temporary folder, then
reads every row of it through `karte.transfer.read` with each engine, each run in a fresh
process so that its peak memory (ru_maxrss, which sees calamine's Rust allocations too) is
its own. Prints the median seconds, rows per second and peak memory per engine, and checks
that both give date cells as dates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGINES = ("openpyxl", "calamine")


def write(path: Path, rows: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(["name", "city", "employees", "amount", "since", "seen_at", "active",
                  "email", "notes", "blank"])
    start = dt.date(2020, 1, 1)
    for n in range(rows):
        sheet.append([f"Customer {n}", "東京都" if n % 2 else "Osaka", n % 5000,
                      round(n * 1.25, 2), start + dt.timedelta(days=n % 2000),
                      dt.datetime(2026, 1, 1, 9, 30) + dt.timedelta(minutes=n),
                      n % 3 == 0, f"c{n}@example.com", "note " * (n % 4), None])
    book.save(path)


def measure(path: Path, engine: str) -> dict[str, object]:
    """In this process: read every row with `engine`; seconds, rows, peak memory."""
    import resource

    from karte.transfer.read import _open_xlsx

    began = time.perf_counter()
    sheet = _open_xlsx(path, engine=engine)
    count, since = 0, None
    for cells in sheet.rows():
        count += 1
        if since is None:
            since = type(cells[4]).__name__
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rows": count, "peak_mb": peak, "date_cell": since}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "ENGINE"))
    args, _ = parser.parse_known_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.xlsx"
        began = time.perf_counter()
        write(path, args.rows)
        print(f"wrote {args.rows:,} rows × 10 columns ({path.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - began:.1f} s")
        for engine in ENGINES:
            results = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", str(path), engine],
                    check=True, capture_output=True, text=True,
                    env={"PYTHONPATH": str(HERE.parent / "platform")})
                results.append(json.loads(out.stdout))
            seconds = statistics.median(r["seconds"] for r in results)
            peak = statistics.median(r["peak_mb"] for r in results)
            print(f"{engine:9} median {seconds:6.2f} s  {results[0]['rows'] / seconds:9,.0f} "
                  f"rows/s  peak {peak:6.0f} MB  date cells as {results[0]['date_cell']}")


if __name__ == "__main__":
    main()
