"""`karte serve`: the production server — gunicorn on `karte:create_app()`.

The master process runs the same checks as `karte run` once (check the pack, migrate the
safe steps, refuse with the report otherwise) and then forks the workers; each worker
builds its own app with `create_app()` (no app, engine or connection crosses a fork).
Gunicorn's own signals apply: SIGTERM stops gracefully (requests in flight finish),
SIGINT/SIGQUIT stop at once, SIGHUP replaces the workers (they read the pack again),
TTIN/TTOU add or remove one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

# Measured on the 2-core development machine with bench/bench_serve.py (docs/performance.md,
# "Serving"): one worker per core with 4 threads each served the most requests per second;
# more processes only competed for the same cores (and each holds its own app in memory),
# while threads overlap one request's database wait with another's rendering.
WORKERS_PER_CORE = 1
DEFAULT_THREADS = 4


def cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(count: int | None = None) -> int:
    return WORKERS_PER_CORE * (count or cores())


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def options(host: str, port: int, workers: int | None = None,
            threads: int | None = None) -> dict[str, Any]:
    """Gunicorn settings for `karte serve`: access log on stdout, errors on stderr."""
    threads = threads or DEFAULT_THREADS
    return {
        "bind": [bind_address(host, port)],
        "workers": workers or default_workers(),
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "karte",
        "graceful_timeout": 30,
        # gunicorn 25+ opens a control socket in ~/.gunicorn by default: two servers on
        # one machine (a test beside a running instance) would fight over it.
        "control_socket_disable": True,
    }


def notes(settings: dict[str, Any]) -> list[str]:
    """What an admin should know before serving with these settings."""
    storage = os.environ.get("KARTE_RATELIMIT_STORAGE", "memory://")
    if settings["workers"] > 1 and storage.startswith("memory://"):
        return [f"note: each of the {settings['workers']} workers counts sign-in attempts "
                "on its own (KARTE_RATELIMIT_STORAGE is memory://); set it to a shared "
                "store such as redis://host:6379 to enforce the limits across workers"]
    return []


class KarteServer(BaseApplication):
    """Gunicorn's Python API: the settings come from `options`, not a config file or argv,
    and every worker loads the app with `create_app(pack)`."""

    def __init__(self, pack: Path | None, settings: dict[str, Any]) -> None:
        self.pack = pack
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if key in self.cfg.settings:  # an older gunicorn lacks the newest settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        from karte import create_app

        return create_app(pack=self.pack)


def check_before_serving(pack: Path | None) -> None:
    """What `karte run` does before serving, once, in the master: raises StartupRefused
    with the report when the pack has problems or a step waits that the app cannot run
    beside. It also creates the secret key file, so every worker reads the same key."""
    from karte import create_app

    app = create_app(pack=pack)
    app.extensions["karte"]["engine"].dispose()
