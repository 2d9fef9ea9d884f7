"""List pages under load: `karte serve` (gunicorn) against `karte run` (development server).

    .venv/bin/python bench/bench_serve.py [--size 20000] [--clients 32] [--seconds 12]
                                          [--warmup 3]
                                          [--workers N] [--threads T] [--db PATH] [--no-baseline]
                                          [--database-url postgresql+psycopg://...]

Builds (once, cached at --db, default instance/bench-serve-<size>.db) the standard pack
with `karte demo --size N` on SQLite, starts the server on
a free loopback port as a subprocess, signs in once as an admin, then drives --clients
threads (each its own keep-alive connection, stdlib http.client) over list pages for
--seconds and prints requests per second, median, p90, p99 and errors. The baseline is the
same load on the development server (`karte run`). Target (issue 11): p99 under 300 ms and
0 errors at 32 clients with `karte serve`. The load generator runs on the same 2 cores as
the server, so every figure includes its cost.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "harbour lantern 47 quietly"
EMAIL = "bench@example.com"
PAGES = ["/deal/", "/customer/", "/ticket/", "/task/", "/contact/",
         "/customer/?q=son", "/deal/?q=a&sort=-amount", "/customer/?page=50"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def karte(*args: str, env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "karte.cli", *args], env=env, **kwargs)


def wait_for_port(port: int, proc: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped with exit code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within {limit:.0f} s")


def sign_in(port: int) -> str:
    """The Cookie header of a signed-in admin session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = _cookies(response, {})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": _header(cookies)})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status not in (302, 303):
        raise SystemExit(f"sign-in answered {response.status}, not a redirect")
    return _header(_cookies(response, cookies))


def _cookies(response: http.client.HTTPResponse, jar: dict) -> dict:
    for value in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return jar


def _header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def drive(port: int, cookie: str, clients: int, seconds: float) -> tuple[list[float], int, float]:
    """Every client requests the pages in turn until the time is up: (latencies in ms,
    errors, elapsed seconds)."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)
    stop = [0.0]

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, failed, turn = [], 0, number
        start_line.wait()
        while time.monotonic() < stop[0]:
            url = PAGES[turn % len(PAGES)]
            turn += 1
            began = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                continue
            mine.append((time.perf_counter() - began) * 1000)
        conn.close()
        with lock:
            times.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop[0] = began + seconds
    start_line.wait()
    for thread in threads:
        thread.join()
    return times, errors[0], time.monotonic() - began


def build(db: Path, size: int, env: dict) -> None:
    """`karte demo --size N` into a new SQLite file, once: a later run reuses it."""
    if db.exists():
        return
    print(f"building {db} with {size:,} demo records (once) ...", flush=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    draft = db.with_suffix(".building")
    draft.unlink(missing_ok=True)
    demo = karte("demo", "--size", str(size), "--seed", "1", stdout=subprocess.DEVNULL,
                 env={**env, "KARTE_DATABASE_URL": f"sqlite:///{draft}"})
    if demo.wait():
        raise SystemExit(f"`karte demo` failed with exit code {demo.returncode}")
    draft.rename(db)


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its children (gunicorn's
    workers), from /proc (0 where /proc is missing)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:   # itself or a child
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(name: str, argv: list[str], env: dict, args) -> tuple[float, int]:
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = karte(*argv, "--port", str(port), env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for_port(port, proc)
        cookie = sign_in(port)
        # Gunicorn listens before its workers have built their apps: the same load for a
        # few seconds, not counted, lets every worker boot and warm its caches.
        drive(port, cookie, args.clients, args.warmup)
        mine, theirs = time.process_time(), server_cpu(proc.pid)
        times, errors, elapsed = drive(port, cookie, args.clients, args.seconds)
        mine, theirs = time.process_time() - mine, server_cpu(proc.pid) - theirs
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not times:
        log.seek(0)
        raise SystemExit(f"{name}: no request succeeded\n{log.read().decode()[-2000:]}")
    times.sort()
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    print(f"{name:34} {len(times) / elapsed:8.1f} {statistics.median(times):8.1f}ms "
          f"{times[max(0, int(len(times) * 0.9) - 1)]:8.1f}ms {p99:8.1f}ms "
          f"{errors:7d} {len(times) + errors:9d}", flush=True)
    done = max(1, len(times))
    print(f"{'':34} CPU per request: server {theirs / done * 1000:.1f} ms, load generator "
          f"{mine / done * 1000:.1f} ms ({(theirs + mine) / elapsed:.2f} cores busy)",
          flush=True)
    return p99, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=3,
                        help="Seconds of load before measuring (not counted).")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--database-url",
                        help="Serve this database instead of the SQLite file (demo records "
                             "are added once, when it has none).")
    parser.add_argument("--no-baseline", action="store_true",
                        help="Skip the development server.")
    args, _ = parser.parse_known_args()
    db = args.db or REPO / "instance" / f"bench-serve-{args.size}.db"
    instance = tempfile.mkdtemp(prefix="karte-bench-serve-")   # the secret key only
    try:
        run(args, db, instance)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def run(args, db: Path, instance: str) -> None:
    env = {**os.environ, "KARTE_INSTANCE": instance, "KARTE_PACK": str(REPO),
           "PYTHONPATH": os.pathsep.join([str(REPO / "platform"),
                                          os.environ.get("PYTHONPATH", "")])}
    if args.database_url:   # e.g. PostgreSQL: filled by `karte demo --if-empty` once
        env["KARTE_DATABASE_URL"] = args.database_url
        demo = karte("demo", "--if-empty", "--size", str(args.size), "--seed", "1",
                     env=env, stdout=subprocess.DEVNULL)
        if demo.wait():
            raise SystemExit(f"`karte demo` failed with exit code {demo.returncode}")
    else:
        build(db, args.size, env)
        env["KARTE_DATABASE_URL"] = f"sqlite:///{db}"
    add = karte("user", "add", EMAIL, "--role", "admin", "--password-stdin", env=env,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    add.communicate(PASSWORD.encode())
    if add.returncode:
        raise SystemExit("`karte user add` failed")
    serve = ["serve"]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    kind = env["KARTE_DATABASE_URL"].split(":", 1)[0].split("+")[0]
    print(f"{args.clients} clients for {args.seconds:.0f} s over {len(PAGES)} list pages "
          f"of a {args.size:,}-record {kind} demo database")
    print(f"{'server':34} {'req/s':>8} {'median':>10} {'p90':>10} {'p99':>10} "
          f"{'errors':>7} {'requests':>9}")
    p99, errors = measure("karte serve " + " ".join(serve[1:]), serve, env, args)
    if not args.no_baseline:
        measure("karte run (development, baseline)", ["run"], env, args)
    held = p99 < 300 and errors == 0
    print(f"target p99 < 300 ms and 0 errors at {args.clients} clients: "
          f"{'holds' if held else 'MISSED'} (p99 {p99:.0f} ms, {errors} errors)")


if __name__ == "__main__":
    main()
