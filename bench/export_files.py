"""CSV and XLSX exports of many rows: constant speed and flat memory (docs/export.md,
docs/performance.md "Exports"). Run through bench_export.py:

    .venv/bin/python bench/bench_export.py --files [--rows 1000000] [--small 100000]
        [--entity item | --entity order_line --db instance/bench-million-1000000.db]
        [--formats csv,xlsx] [--raw] [--web]

Each export runs in a fresh subprocess (so its peak RSS, `resource.getrusage`, is its own)
through `karte.transfer.export` and the CSV or XLSX writer into a temporary file, exactly as
`/<entity>/export.csv|xlsx` and `karte export` do, and prints the rows/s of the first and of
the last 100k rows (constant speed: keyset batches; per CPU second of its process, since
the machine may be shared) and the peak RSS. Each export runs
twice, over `--small` rows and over all `--rows`: flat memory means the peak does not grow
with the row count. With --web the exports go through the app's routes instead
(`/item/export.csv|xlsx` with a signed-in test client, the body read chunk by chunk as a
server would send it): the view `f.size.lt=100` (about 91k rows) against every row.

The default table is `item` (a name, a number, a date, the two stamps) of bench_export.py
at --rows, built once. With --db and --entity an existing database is read (never written:
opened read-only), e.g. the cached 1M demo database of bench_million.py, whose largest
entity, order_line, has about 330k rows (links to the order and the product, money).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STEP = 100_000


def _web(args: argparse.Namespace) -> None:
    """The export through the app: `/item/export.<format>` with the test client, the body
    read chunk by chunk as a server sends it (never held whole). A view of fewer rows is
    the filter `f.size.lt=<n>` (sizes are 0-999, 9% empty)."""
    import os

    import bench_export as base
    from common import signed_in_client

    from karte import create_app

    folder = Path(tempfile.mkdtemp())
    base._pack(folder)
    db = Path(base.REPO_ROOT / "instance" / f"bench-export-{args.rows}.db")
    os.environ.update(KARTE_DATABASE_URL=f"sqlite:///{db}", KARTE_INSTANCE=str(folder / "i"))
    app = create_app(pack=folder)
    client = signed_in_client(app, "bench@example.com", "quiet-harbour-417")
    url = f"/item/export.{args.format}?sort=id" + (f"&f.size.lt={args.below}"
                                                     if args.below else "")
    url += "&raw=1" if args.raw else ""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, buffered=False)
    assert response.status_code == 200, response.status
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if args.format == "csv" else 0
    response.close()
    print(json.dumps({"rows": lines - 1 if args.format == "csv" else None, "marks": [],
                      "cpu": time.process_time() - cpu, "total": time.perf_counter() - start,
                      "bytes": size,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _child(args: argparse.Namespace) -> None:
    if args.web:
        _web(args)
        return
    from karte.store import Records
    from karte.store.db import make_engine
    from karte.transfer import export as rows_of
    from karte.transfer import xlsx

    if args.db:
        engine = make_engine(f"sqlite:///file:{args.db}?mode=ro&uri=true")
        from million_build import _pack
        pack = _pack()
    else:
        import bench_export as base
        folder = tempfile.mkdtemp()
        pack = base._pack(Path(folder))
        engine = base._engine(argparse.Namespace(rows=args.rows, db=None, url=None))
    records = Records(engine, pack)
    entity = records.store.entity(args.entity)
    look = rows_of.Look(raw=args.raw)
    rows = rows_of.open_rows(records, entity, look=look, sort="id", batch=args.batch)
    marks: list[float] = []
    rows.rest = _stop(_timed(rows.rest, len(rows.first), marks), args.limit - len(rows.first))
    start, cpu = time.perf_counter(), time.process_time()
    marks.append(cpu)
    with tempfile.TemporaryFile() as out:
        if args.format == "csv":
            for chunk in rows_of.csv_chunks(rows):
                out.write(chunk.encode("utf-8"))
        else:
            xlsx.write(rows, out, title=args.entity, raw=args.raw)
        size = out.tell()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"rows": rows.count, "marks": marks, "cpu": cpu,
                      "total": total, "bytes": size,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _timed(batches: Iterator[Any], first: int, marks: list[float]) -> Iterator[Any]:
    """The batches, with the CPU time at every STEP rows passed to the writer (CPU
    seconds, not wall-clock ones: the benchmark machine is shared)."""
    count, mark = first, STEP
    for batch in batches:
        count += len(batch)
        while count >= mark:
            marks.append(time.process_time())
            mark += STEP
        yield batch


def _stop(batches: Iterator[Any], left: int) -> Iterator[Any]:
    for batch in batches:
        if left <= 0:
            return
        yield batch[:left]
        left -= len(batch)


def _run(args: argparse.Namespace, kind: str, limit: int) -> dict[str, Any]:
    here = Path(__file__).resolve().parent
    command = [sys.executable, str(here / "bench_export.py"), "--files-child",
               "--format", kind, "--rows", str(args.rows), "--limit", str(limit),
               "--entity", args.entity, "--batch", str(args.batch)]
    command += ["--db", args.db] if args.db else []
    command += ["--raw"] if args.raw else []
    command += ["--web", "--below", str(limit)] if args.web else []
    done = subprocess.run(command, check=True, capture_output=True, text=True,
                          env={**__import__("os").environ,
                               "PYTHONPATH": f"{here}:{here.parent / 'platform'}"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rate(marks: list[float], first: bool) -> float:
    if len(marks) < 2:
        return float("nan")
    a, b = (marks[0], marks[1]) if first else (marks[-2], marks[-1])
    return STEP / (b - a)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", action="store_true")
    parser.add_argument("--files-child", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=STEP)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--entity", default="item")
    parser.add_argument("--db")
    parser.add_argument("--format", default="csv")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--web", action="store_true",
                        help="through the app's route; the small run is the view "
                             "f.size.lt=100 (about 91k rows) instead of the first --small rows")
    parser.add_argument("--below", type=int, default=0)
    args = parser.parse_args(argv)
    if args.files_child:
        args.limit = args.limit or args.rows
        _child(args)
        return
    if not args.db:                  # build the item table once, outside the timings
        import bench_export as base

        from karte.store import Records
        from karte.store.migrate import migrate

        pack = base._pack(Path(tempfile.mkdtemp()))
        engine = base._engine(argparse.Namespace(rows=args.rows, db=None, url=None))
        migrate(engine, pack)
        base.build(engine, Records(engine, pack), args.rows)
        engine.dispose()
    source = args.db or f"instance/bench-export-{args.rows}.db"
    print(f"{args.entity} of {source}, batches of {args.batch}, "
          f"{'raw' if args.raw else 'as shown'}")
    if args.web:
        print("  through the app's route (create_app, a signed-in test client, the body read "
              "as it comes)")
    else:
        print("  rows/s per CPU second of the export's process (wall-clock time varies with "
              "the machine's load)")
        print("  format  rows        first 100k rows/s  last 100k rows/s  CPU s  wall s  "
              "MiB out  peak RSS MiB")
    for kind in args.formats.split(","):
        for limit in ((100, 0) if args.web else (args.small, args.rows)):
            found = _run(args, kind, limit)
            if args.web:
                view = f"f.size.lt={limit}" if limit else "every row"
                print(f"  {kind:<6}  {view:<16} rows {found['rows'] or '?'}  CPU "
                      f"{found['cpu']:.1f} s  wall {found['total']:.1f} s  "
                      f"{found['bytes'] / 2**20:.1f} MiB  peak RSS "
                      f"{found['rss_kib'] / 1024:.1f} MiB", flush=True)
                continue
            print(f"  {kind:<6}  {found['rows']:<10,}  {_rate(found['marks'], True):17,.0f} "
                  f" {_rate(found['marks'], False):16,.0f}  {found['cpu']:5.1f}  "
                  f"{found['total']:6.1f}  "
                  f"{found['bytes'] / 2**20:8.1f}  {found['rss_kib'] / 1024:12.1f}",
                  flush=True)
