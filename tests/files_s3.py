"""A real S3-compatible server for the storage tests: moto's server mode, started once per
test session as a subprocess on a free port, with one bucket.

    from tests import files_s3

    s3_bucket = files_s3.s3_bucket      # the fixtures, bound in the test module
    s3_storage = files_s3.s3_storage    # (an import would be "unused" to ruff: F401/F811)
    storage = files_s3.either_storage   # a test on a folder, then on S3

`s3_bucket` is the bucket's name with AWS_ENDPOINT_URL and fake keys set in the environment
for the session (so `storage_for("s3://<bucket>/...")` finds it); `s3_storage` is an
S3Storage under a prefix of its own per test. Without moto installed the tests are skipped
with the reason, except on CI (CI=true), where that is a failure: CI must test S3.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

BUCKET = "karte-test"
# moto's server, ending itself when the test run that started it is gone (even killed)
SERVE = """
import os, threading, time
parent = os.getppid()
def orphaned():
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)
threading.Thread(target=orphaned, daemon=True).start()
from moto.server import main
main()
"""
ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_SESSION_TOKEN": None,
               "AWS_PROFILE": None}


def _moto_available() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError as error:
        reason = (f"S3 storage tests need moto's server (pip install 'moto[server]'): {error}")
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — CI must run them.")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(endpoint: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode(errors="replace") if server.stdout else ""
            pytest.fail(f"moto's S3 server exited with {server.returncode}:\n{output}")
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"moto's S3 server did not answer on {endpoint} within 30 seconds")


class _Server:
    """One moto server per test run, however many modules bind the fixture (pytest makes a
    session fixture per module that defines it): started by the first, stopped by the
    last to finish."""

    users = 0
    process: subprocess.Popen[bytes] | None = None
    saved: dict[str, str | None] = {}

    @classmethod
    def start(cls) -> None:
        if cls.users == 0:
            cls.process, cls.saved = _started()
        cls.users += 1

    @classmethod
    def stop(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.process is not None:
            _stopped(cls.process, cls.saved)
            cls.process = None


def _started() -> tuple[subprocess.Popen[bytes], dict[str, str | None]]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    saved = {name: os.environ.get(name) for name in [*ENVIRONMENT, "AWS_ENDPOINT_URL"]}
    try:
        _wait_for(endpoint, server)
        _set({**ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint})
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
    except BaseException:
        _stopped(server, saved)
        raise
    return server, saved


def _stopped(server: subprocess.Popen[bytes], saved: dict[str, str | None]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stdout:
        server.stdout.close()
    _set(saved)


def _set(environment: dict[str, str | None]) -> None:
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def s3_bucket() -> Iterator[str]:
    _moto_available()
    _Server.start()
    try:
        yield BUCKET
    finally:
        _Server.stop()


@pytest.fixture
def s3_storage(s3_bucket: str):
    """An S3Storage under a fresh prefix, so each test sees only its own objects."""
    from karte.files.s3 import S3Storage

    return S3Storage(s3_bucket, f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", "s3"])
def either_storage(request: pytest.FixtureRequest, tmp_path):
    """The test runs twice: on a folder, and on the S3 server (bind `s3_bucket` and
    `s3_storage` in the module too)."""
    if request.param == "local":
        from karte.files.local import LocalStorage

        return LocalStorage(tmp_path / "files")
    return request.getfixturevalue("s3_storage")
