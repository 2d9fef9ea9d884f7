"""Files through the app (issue 15, "Benchmark"): upload and download throughput of a 20 MB
file, and the server's peak memory while it does them — which shows that files stream.

    .venv/bin/python bench/bench_files.py [--mb 20] [--runs 5] [--threads 2]

Starts `karte serve --workers 1` (gunicorn, the production server) on a fresh SQLite
database and the folder storage in a temporary instance, adds an admin and a personal
token, creates one `document` of the standard pack (with a small file: the standard
document's file is required), then for each run:

- **upload**: `POST /api/v1/document/<id>/files/file` with a multipart body of a PDF of
  `--mb` × 1,000,000 bytes (its content new each run, so nothing is skipped as already
  stored), sent from a file on disk by stdlib http.client, as a client would send it;
- **download**: `GET` of the file just attached, read to the end in 1 MiB chunks.

It prints the median seconds and MB/s of each (the load generator runs on the same cores
as the server) and, for scale, the same bytes copied from file to file by
`shutil.copyfileobj` (the disk's own speed here). Memory: the growth of the gunicorn
worker's peak resident memory (VmHWM, from /proc) over the runs. Some growth comes with
any request (buffers, the allocator); what shows streaming is that it does not follow the
file's size, so the whole measure is made twice, each on a server of its own: with files
of a quarter of `--mb` (5 MB), then of `--mb`. A server that held the file in memory would
grow by at least the difference in size (several times it: the body, the form's copy, the
bytes written); a streaming one grows alike for both.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import free_port, karte, wait_for_port  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD = "bench@example.com", "harbour lantern 47 quietly"
BOUNDARY = "karte-bench-boundary-7f3a"
MB = 1_000_000
CHUNK = 1024 * 1024


def pdf_file(path: Path, size: int, seed: int) -> None:
    """A file of `size` bytes the type sniffer calls a PDF: a PDF header, then random
    bytes (incompressible, and different for each seed)."""
    head = b"%PDF-1.4\n%" + seed.to_bytes(8, "big") + b"\n"
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left > 0:
            part = os.urandom(min(CHUNK, left))
            out.write(part)
            left -= len(part)


def multipart(path: Path, source: Path, part: str = "file", record: dict | None = None) -> int:
    """`source` as the `part` part of a multipart/form-data body written to `path` (after
    a `record` part with its JSON, for a create); its length."""
    with path.open("wb") as out:
        if record is not None:
            out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"record\"\r\n"
                      f"Content-Type: application/json\r\n\r\n{json.dumps(record)}\r\n"
                      .encode())
        out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{part}\"; "
                  f"filename=\"bench.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".encode())
        with source.open("rb") as data:
            shutil.copyfileobj(data, out, CHUNK)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path.stat().st_size


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far, in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc: peak memory cannot be read on this system")


def worker_of(master: int, limit: float = 60) -> int:
    """The pid of gunicorn's one worker (a child of the master process)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                return int(stat.parent.name)
        time.sleep(0.2)
    raise SystemExit("gunicorn started no worker")


class Api:
    """A keep-alive connection to the server with the admin's token."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.auth = {"Authorization": f"Bearer {token}"}

    def upload(self, url: str, body: Path, size: int, etag: str | None
               ) -> tuple[float, dict, str]:
        """POST a multipart body from a file (with If-Match when `etag` is given)."""
        headers = {**self.auth, "Content-Length": str(size),
                   "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                   **({"If-Match": etag} if etag else {})}
        began = time.perf_counter()
        with body.open("rb") as data:
            self.conn.request("POST", url, body=data, headers=headers)
            response = self.conn.getresponse()
            answer = response.read()
        took = time.perf_counter() - began
        if response.status != 201:
            raise SystemExit(f"upload answered {response.status}: {answer[:500]!r}")
        return took, json.loads(answer), response.getheader("ETag") or ""

    def download(self, url: str) -> tuple[float, int]:
        began = time.perf_counter()
        self.conn.request("GET", url, headers=self.auth)
        response = self.conn.getresponse()
        received = 0
        while part := response.read(CHUNK):
            received += len(part)
        if response.status != 200:
            raise SystemExit(f"download answered {response.status}")
        return time.perf_counter() - began, received


def setup(env: dict) -> str:
    """An admin and their token (printed by `karte token add`)."""
    add = karte("user", "add", EMAIL, "--role", "admin", "--password-stdin", env=env,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    add.communicate(PASSWORD.encode())
    made = subprocess.run([sys.executable, "-m", "karte.cli", "token", "add", "--email",
                           EMAIL, "--name", "bench"], env=env, capture_output=True, text=True)
    if add.returncode or made.returncode:
        raise SystemExit(f"could not add the user or token: {made.stderr}")
    return made.stdout.split()[0]


def measure(api: Api, worker: int, work: Path, mb: int, runs: int) -> dict:
    """Upload and download a file of `mb` MB `runs` times: their seconds, and how much the
    worker's peak memory grew meanwhile."""
    small = work / "small.pdf"
    pdf_file(small, 100_000, 0)          # warm: app, routes, storage, one small round trip
    body_size = multipart(work / "body", small, record={"title": "Bench", "kind": "contract"})
    _took, record, etag = api.upload("/api/v1/document", work / "body", body_size, None)
    api.download(record["file"][0]["url"])
    url = f"/api/v1/document/{record['id']}/files/file"
    size = mb * MB
    before = peak_rss(worker)
    ups, downs = [], []
    for run in range(1, runs + 1):
        pdf_file(work / "big.pdf", size, run)
        body_size = multipart(work / "body", work / "big.pdf")
        took, record, etag = api.upload(url, work / "body", body_size, etag)
        ups.append(took)
        took, received = api.download(record["file"][0]["url"])
        assert received == size, (received, size)
        downs.append(took)
    return {"mb": mb, "up": ups, "down": downs, "before": before,
            "grew": peak_rss(worker) - before, "copy": _copy_seconds(work / "big.pdf",
                                                                      work / "copy.pdf")}


def _copy_seconds(source: Path, target: Path) -> float:
    began = time.perf_counter()
    with source.open("rb") as data, target.open("wb") as out:
        shutil.copyfileobj(data, out, CHUNK)
        out.flush()
        os.fsync(out.fileno())
    return time.perf_counter() - began


def report(figures: dict) -> None:
    mb, ups, downs = figures["mb"], figures["up"], figures["down"]
    up, down, copy = statistics.median(ups), statistics.median(downs), figures["copy"]
    print(f"{mb} MB file, {len(ups)} runs, medians:")
    print(f"  upload   {up:7.3f} s  {mb / up:8.1f} MB/s   (runs: "
          f"{', '.join(f'{t:.3f}' for t in ups)})")
    print(f"  download {down:7.3f} s  {mb / down:8.1f} MB/s   (runs: "
          f"{', '.join(f'{t:.3f}' for t in downs)})")
    print(f"  disk copy of the same file (baseline): {copy:.3f} s, {mb / copy:.1f} MB/s")
    print(f"  worker peak memory: {figures['before'] / MB:.1f} MB after warm-up, grew by "
          f"{figures['grew'] / MB:.1f} MB over the runs", flush=True)


def verdict(small: dict, big: dict) -> None:
    """Streaming shows as memory that does not follow the file's size: the same growth
    for a file four times larger. Held whole, the larger file would add at least the
    difference in size."""
    more = (big["grew"] - small["grew"]) / MB
    gap = big["mb"] - small["mb"]
    print(f"peak memory grew {small['grew'] / MB:.1f} MB with {small['mb']} MB files and "
          f"{big['grew'] / MB:.1f} MB with {big['mb']} MB files: {more:+.1f} MB for "
          f"{gap} MB more file ({more / gap:+.2f} MB per MB) — "
          f"{'streamed' if more < gap / 2 else 'NOT streamed'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args, _ = parser.parse_known_args()
    small = serve_and_measure(max(1, args.mb // 4), args)
    big = serve_and_measure(args.mb, args)
    verdict(small, big)


def serve_and_measure(mb: int, args) -> dict:
    """One server (fresh instance and database) for one file size: its figures."""
    instance = Path(tempfile.mkdtemp(prefix="karte-bench-files-"))
    env = {**os.environ, "KARTE_INSTANCE": str(instance), "KARTE_PACK": str(REPO),
           "KARTE_DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
           "KARTE_MAX_UPLOAD_MB": str(max(20, mb + 1)),
           "PYTHONPATH": os.pathsep.join([str(REPO / "platform"),
                                          os.environ.get("PYTHONPATH", "")])}
    env.pop("KARTE_FILES_URL", None)
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = None
    try:
        migrate = subprocess.run([sys.executable, "-m", "karte.cli", "migrate"], env=env,
                                 capture_output=True)
        if migrate.returncode:
            raise SystemExit(f"`karte migrate` failed: {migrate.stderr.decode()[-2000:]}")
        api = Api(port, setup(env))
        proc = karte("serve", "--port", str(port), "--workers", "1", "--threads",
                     str(args.threads), env=env, stdout=subprocess.DEVNULL, stderr=log)
        wait_for_port(port, proc)
        figures = measure(api, worker_of(proc.pid), instance, mb, args.runs)
        report(figures)
        return figures
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
