"""`karte serve`: gunicorn on `karte:create_app()` with the checks of `karte run`."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from karte import serve
from karte.cli import main
from karte.config import REPO_ROOT, Settings
from tests.conftest import write_pack

CUSTOMER = {"fields": {"name": {"type": "string", "required": True}}}
PACK = {"name": "mini", "roles": {"sales": {"*": {"read": "all"}}}}


@pytest.fixture
def pack(tmp_path, db_url, monkeypatch) -> Path:
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("KARTE_SECRET_KEY", raising=False)
    monkeypatch.delenv("KARTE_RATELIMIT_STORAGE", raising=False)
    return write_pack(tmp_path / "pack", {"customer": CUSTOMER}, pack=PACK)


@pytest.fixture
def started(monkeypatch):
    """Replace gunicorn's main loop: the servers `karte serve` would run, not started."""
    servers: list[serve.KarteServer] = []
    monkeypatch.setattr(serve.KarteServer, "run", lambda self: servers.append(self))
    return servers


def test_serve_builds_gunicorn_with_the_options_given(pack, started):
    result = CliRunner().invoke(main, ["serve", "--pack", str(pack), "--host", "0.0.0.0",
                                       "--port", "8123", "--workers", "3", "--threads", "2"])
    assert result.exit_code == 0, result.output
    [server] = started
    cfg = server.cfg
    assert cfg.bind == ["0.0.0.0:8123"]
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (3, 2, "gthread")
    assert (cfg.accesslog, cfg.errorlog) == ("-", "-")   # access log on stdout
    assert "each of the 3 workers counts sign-in attempts on its own" in result.output
    # Each worker builds its own app from the pack (the checks already ran in the master,
    # which also wrote the secret key every worker reads).
    app = server.load()
    try:
        assert isinstance(app, Flask)
        assert app.extensions["karte"]["pack"].entities.keys() == {"customer"}
        assert app.secret_key == (Settings.from_env(pack).instance / "secret_key").read_text()
    finally:
        app.extensions["karte"]["engine"].dispose()


def test_serve_defaults_one_worker_per_core_and_an_ipv6_bind(pack, started):
    result = CliRunner().invoke(main, ["serve", "--pack", str(pack), "--host", "::1"])
    assert result.exit_code == 0, result.output
    cfg = started[0].cfg
    assert cfg.workers == serve.cores() * serve.WORKERS_PER_CORE
    assert cfg.threads == serve.DEFAULT_THREADS
    assert cfg.bind == ["[::1]:8000"]
    assert serve.default_workers(4) == 4 * serve.WORKERS_PER_CORE


def test_the_rate_limit_note_only_when_workers_count_apart(monkeypatch):
    monkeypatch.delenv("KARTE_RATELIMIT_STORAGE", raising=False)
    assert serve.notes({"workers": 1}) == []
    assert len(serve.notes({"workers": 2})) == 1
    monkeypatch.setenv("KARTE_RATELIMIT_STORAGE", "redis://localhost:6379")
    assert serve.notes({"workers": 2}) == []


def test_serve_refuses_a_pack_with_problems_and_starts_nothing(pack, started):
    (pack / "entity_defs" / "deal.json").write_text(
        '{"fields": {"customer": {"type": "link", "to": "nowhere"}}}', encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--pack", str(pack)])
    assert result.exit_code == 1
    assert "deal.json" in result.output and "nowhere" in result.output
    assert "Traceback" not in result.output
    assert started == []


def test_secret_key_is_written_once_and_whole(tmp_path, monkeypatch):
    monkeypatch.delenv("KARTE_SECRET_KEY", raising=False)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path))
    settings = Settings.from_env(tmp_path)
    first = settings.secret_key()
    assert len(first) == 64 and settings.secret_key() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no draft left
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_a_real_server_answers_and_stops_on_sigterm(pack, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "platform")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "karte.cli", "serve", "--pack", str(pack), "--port", str(port),
         "--workers", "2", "--threads", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        status, deadline = None, time.monotonic() + 60
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                status = _get(port, "/login")
            except OSError:
                time.sleep(0.1)
        assert status == 200, proc.poll()
        assert _get(port, "/login") == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert '"GET /login HTTP/1.1" 200' in out          # the access log, on stdout
    assert "Handling signal: term" in err and "Shutting down" in err
