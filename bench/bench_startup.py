"""Startup of a 200-entity × 30-field pack on a database that already matches it, on
SQLite and PostgreSQL (issue 11, "Startup": target under 1 s).

    .venv/bin/python bench/bench_startup.py [--entities 200] [--fields 30] [--repeat 5]
                                            [--pg URL] [--profile]

Writes the pack (mixed field types, links between entities, a workflow on every tenth
entity) under instance/bench-startup-<entities>x<fields>/, migrates a scratch database once
(a SQLite file beside it; the PostgreSQL schema bench_startup_<entities>x<fields>, made
afresh), then times `repeat` starts: `create_app()` plus the first request (`/healthz`,
which reads the database). "before" forces the full comparison with the database (what every
start did before the fingerprint, and what `karte migrate` always does); "after" is a plain
start, which skips the comparison when the fingerprint in `karte_schema_history` matches.
Medians in seconds. `--profile` prints the cProfile top of one start instead. PostgreSQL is
skipped when --pg is '' or unreachable.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "platform"))
sys.path.insert(0, str(HERE))

from common import PG_URL  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

TARGET = 1.0
SCALARS = [
    ("string", {"max_length": 120}), ("text", {}), ("integer", {}), ("decimal", {}),
    ("money", {}), ("percent", {}), ("boolean", {}), ("date", {}), ("datetime", {}),
    ("email", {}), ("phone", {}), ("url", {}), ("string", {"index": True}),
    ("integer", {"index": True}), ("date", {}), ("text", {}),
    ("enum", {"options": ["low", "normal", "high"]}),
    ("multi_enum", {"options": ["red", "green", "blue"]}),
    ("string", {"max_length": 40}), ("decimal", {}), ("boolean", {}), ("string", {}),
    ("user", {}), ("string", {"unique": True}),
]


def _entity(i: int, count: int, fields: int) -> tuple[dict, dict | None]:
    """Entity e<i>: a title, links to two earlier entities, one `links`, and scalars."""
    body: dict = {"fields": {"name": {"type": "string", "required": True}},
                  "title_field": "name"}
    own = body["fields"]
    if i:
        own["parent"] = {"type": "link", "to": f"e{(i - 1):03d}", "on_delete": "set_null"}
        own["other"] = {"type": "link", "to": f"e{(i * 7) % i:03d}", "on_delete": "set_null"}
        own["tags"] = {"type": "links", "to": f"e{(i * 3) % i:03d}"}
    workflow = None
    if i % 10 == 0:
        own["stage"] = {"type": "enum", "options": ["open", "doing", "done"]}
        workflow = {"entity": f"e{i:03d}", "field": "stage", "initial": "open",
                    "stages": [{"key": "open"}, {"key": "doing"},
                               {"key": "done", "final": "won"}]}
    n = 0
    while len(own) < fields:
        kind, extra = SCALARS[n % len(SCALARS)]
        own[f"f{n:02d}_{kind}"] = {"type": kind, **extra}
        n += 1
    body["list"] = {"columns": ["name", *list(own)[1:5]],
                    "sort": "-" + next(k for k in own if k.endswith("_date"))}
    return body, workflow


def write_pack(root: Path, entities: int, fields: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "entity_defs").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "pack.json").write_text(json.dumps({"name": "bench_startup"}), encoding="utf-8")
    for i in range(entities):
        body, workflow = _entity(i, entities, fields)
        (root / "entity_defs" / f"e{i:03d}.json").write_text(json.dumps(body), "utf-8")
        if workflow:
            (root / "workflows" / f"flow{i:03d}.json").write_text(json.dumps(workflow),
                                                                  "utf-8")
    return root


def _pg_url(base: str, schema: str) -> str | None:
    try:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:   # table by table: one DROP SCHEMA ... CASCADE of
            for (table,) in conn.execute(sa.text(   # 400 tables runs out of lock slots
                    "SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}):
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE'))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL skipped: {error.orig}")
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def start(pack: Path, url: str) -> tuple[float, float]:
    """One start: the app factory and its first request; seconds (wall clock, and this
    process's CPU time: the machine is shared, so the wall clock also counts waiting)."""
    from karte import create_app

    began, cpu = time.perf_counter(), time.process_time()
    app = create_app(pack=pack, database_url=url, config={"TESTING": True})
    response = app.test_client().get("/healthz")
    took = time.perf_counter() - began, time.process_time() - cpu
    assert response.status_code == 200, response.status_code
    app.extensions["karte"]["engine"].dispose()
    return took


def _forced(flag: bool) -> None:
    if flag:   # as before the fingerprint: the full comparison, every document checked
        os.environ["KARTE_FULL_COMPARE"] = "1"
        shutil.rmtree(Path(os.environ["KARTE_INSTANCE"]) / "cache", ignore_errors=True)
    else:
        os.environ.pop("KARTE_FULL_COMPARE", None)


def measure(pack: Path, url: str, repeat: int) -> dict[str, tuple[float, float]]:
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(url)
    migrate(engine, load_pack(pack))      # the database now matches the pack
    engine.dispose()
    start(pack, url)                      # warm the imports and caches once
    found = {}
    for label, forced in (("before", True), ("after", False)):
        _forced(forced)
        times = []
        for _ in range(repeat):
            _forced(forced)
            times.append(start(pack, url))
        found[label] = (statistics.median(t[0] for t in times),
                        statistics.median(t[1] for t in times))
    _forced(False)
    return found


def profile(pack: Path, url: str) -> None:
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(url)
    migrate(engine, load_pack(pack))
    engine.dispose()
    start(pack, url)
    profiler = cProfile.Profile(time.process_time)   # CPU: the machine is shared
    profiler.enable()
    start(pack, url)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=200)
    parser.add_argument("--fields", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--folder", type=Path, help="where the pack and the SQLite file go "
                        "(default: instance/bench-startup-<entities>x<fields>)")
    args, _ = parser.parse_known_args()    # `make bench` passes every script the same flags
    folder = args.folder or REPO_ROOT / "instance" / f"bench-startup-{args.entities}x{args.fields}"
    os.environ["KARTE_INSTANCE"] = str(folder / "instance")
    pack = write_pack(folder / "pack", args.entities, args.fields)
    db = folder / "karte.db"
    db.unlink(missing_ok=True)
    urls = {"sqlite": f"sqlite:///{db}"}
    if args.pg and (pg := _pg_url(args.pg, f"bench_startup_{args.entities}x{args.fields}")):
        urls["postgresql"] = pg
    print(f"startup of a {args.entities}-entity × {args.fields}-field pack, database "
          f"already migrated; medians of {args.repeat} starts (create_app + first request)")
    print(f"{'database':<12} {'before (full compare)':>22} {'after':>8} {'ratio':>7}  < 1 s"
          "   (CPU s of this process: before, after)")
    for name, url in urls.items():
        if args.profile:
            print(f"== {name}")
            profile(pack, url)
            continue
        (before, before_cpu), (after, after_cpu) = measure(pack, url, args.repeat).values()
        print(f"{name:<12} {before:>20.2f} s {after:>6.2f} s {before / after:>6.1f}×  "
              f"{'yes' if after < TARGET else 'NO ':<5} ({before_cpu:.2f}, {after_cpu:.2f})",
              flush=True)


if __name__ == "__main__":
    main()
