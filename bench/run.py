"""Run every benchmark in bench/ (`make bench`). Figures are medians; the machine is shared.

bench_million.py is included: its 1M-record databases are built once (about 13 minutes on
this machine the first time, cached under instance/ and in a PostgreSQL schema), then it
takes about 5 minutes a run. Skip it with `KARTE_BENCH_SKIP=bench_million` (names of
scripts, comma-separated)."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    skip = {name.strip() for name in os.environ.get("KARTE_BENCH_SKIP", "").split(",")}
    for script in sorted(HERE.glob("bench_*.py")):
        if script.stem in skip:
            continue
        print(f"== {script.stem}", flush=True)
        sys.argv = [str(script), *sys.argv[1:]]
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
