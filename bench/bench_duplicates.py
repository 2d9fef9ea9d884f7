"""The duplicates page's query at 1,000,000 demo records (issue 13): the first page of
groups and a deep page (offset 1,000 groups) of every duplicate rule of the standard
pack, on SQLite and PostgreSQL, with and without the rule indexes
(`karte.store.duplicate_keys`).

    .venv/bin/python bench/bench_duplicates.py [--sqlite instance/bench-million-1000000.db]
                                               [--pg URL | --pg ''] [--repeat 7]

Reads the cached databases bench_million.py builds. SQLite: a copy of the file (the
cache stays as it was); PostgreSQL: the schema bench_million_1000000, where the indexes
are created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import PG_URL, pg_schema_url, timed  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402
from karte.meta.load import load_pack  # noqa: E402
from karte.store import Records, duplicate_keys  # noqa: E402
from karte.store.db import make_engine  # noqa: E402

SCHEMA = "bench_million_1000000"


def measure(engine: sa.Engine, pack, repeat: int, label: str) -> None:
    records = Records(engine, pack)
    for entity in pack.entities.values():
        for index, rule in enumerate(entity.duplicates):
            name = f"{entity.name}[{'+'.join(rule)}]"
            first, _ = timed(lambda e=entity.name, i=index: records.duplicate_groups(
                e, i, 20, 0), repeat)
            deep, _ = timed(lambda e=entity.name, i=index: records.duplicate_groups(
                e, i, 20, 1000), repeat)
            print(f"{label:28} {name:44} first page {first:8.1f} ms   "
                  f"offset 1000 {deep:8.1f} ms")


def drop(engine: sa.Engine, pack) -> None:
    with engine.begin() as conn:
        for index in duplicate_keys.indexes(pack, engine.dialect.name):
            conn.execute(sa.text(f'DROP INDEX IF EXISTS "{index.name}"'))


def run(engine: sa.Engine, pack, repeat: int, name: str) -> None:
    drop(engine, pack)
    measure(engine, pack, repeat, f"{name} without index")
    with engine.begin() as conn:
        duplicate_keys.ensure(conn, pack)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    measure(engine, pack, repeat, f"{name} with index")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", default=str(REPO_ROOT / "instance"
                                                / "bench-million-1000000.db"))
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    pack = load_pack(REPO_ROOT)
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "copy.db"
            shutil.copy(args.sqlite, copy)
            engine = make_engine(f"sqlite:///{copy}")
            run(engine, pack, args.repeat, "SQLite")
            engine.dispose()
    url = pg_schema_url(args.pg, SCHEMA) if args.pg else None
    if url:
        engine = make_engine(url)
        try:
            run(engine, pack, args.repeat, "PostgreSQL")
        finally:
            drop(engine, pack)
            engine.dispose()


if __name__ == "__main__":
    main()
