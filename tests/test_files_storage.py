"""Every storage behind karte.files.storage.Storage keeps bytes exactly, streams them and
refuses what is too large without keeping any of it."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from karte.files.checks import FileRefused
from karte.files.local import LocalStorage
from karte.files.storage import CHUNK, Stored, storage_for
from karte.problems import ProblemsError
from tests import files_s3

s3_bucket = files_s3.s3_bucket  # the fixtures: a moto S3 server and a prefix per test
s3_storage = files_s3.s3_storage


storage = files_s3.either_storage  # each test on a folder and on S3


class Generated(io.RawIOBase):
    """`size` pseudo-random bytes made as they are read: a large upload that is never in
    memory as a whole, as a client's stream is not."""

    def __init__(self, size: int, seed: int = 1):
        self.left = size
        self.block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left, len(self.block))
        buffer[:count] = self.block[:count]
        self.digest.update(self.block[:count])
        self.left -= count
        return count


def joined(storage, sha, start=0, stop=None) -> bytes:
    return b"".join(storage.read(sha, start, stop))


def test_round_trip_keeps_the_bytes(storage):
    data = os.urandom(3 * CHUNK + 17)
    stored = storage.put(io.BytesIO(data))
    assert stored == Stored(hashlib.sha256(data).hexdigest(), len(data))
    assert joined(storage, stored.sha256) == data
    assert storage.size(stored.sha256) == len(data)
    assert all(len(chunk) <= CHUNK for chunk in storage.read(stored.sha256))


def test_a_20_mb_file_comes_back_identical(storage):
    source = Generated(20 * 1024 * 1024)
    stored = storage.put(source)
    assert stored.size == 20 * 1024 * 1024
    assert stored.sha256 == source.digest.hexdigest()
    again = hashlib.sha256()
    for chunk in storage.read(stored.sha256):
        again.update(chunk)
    assert again.hexdigest() == stored.sha256


def test_an_empty_file_is_a_blob_too(storage):
    stored = storage.put(io.BytesIO(b""))
    assert stored == Stored(hashlib.sha256(b"").hexdigest(), 0)
    assert joined(storage, stored.sha256) == b""
    assert storage.size(stored.sha256) == 0


@pytest.mark.parametrize(("start", "stop"), [(0, 1), (5, 10), (CHUNK - 2, CHUNK + 3),
                                             (100, None), (0, None), (10, 10), (2 * CHUNK, None)])
def test_range_reads(storage, start, stop):
    data = os.urandom(CHUNK + 100)
    sha = storage.put(io.BytesIO(data)).sha256
    assert joined(storage, sha, start, stop) == data[start:stop]


def test_a_range_past_the_end_is_cut_at_the_end(storage):
    sha = storage.put(io.BytesIO(b"0123456789")).sha256
    assert joined(storage, sha, 8, 50) == b"89"
    assert joined(storage, sha, 20) == b""
    assert joined(storage, sha, 20, 30) == b""


def test_the_same_content_twice_is_one_object(storage):
    first = storage.put(io.BytesIO(b"same bytes"))
    second = storage.put(io.BytesIO(b"same bytes"))
    assert first == second
    assert list(storage.names()) == [first.sha256]


def test_over_the_limit_is_refused_and_nothing_is_kept(storage):
    with pytest.raises(FileRefused) as refused:
        storage.put(io.BytesIO(b"x" * 1001), limit=1000)
    assert refused.value.code == "size"
    assert list(storage.names()) == []
    assert storage.size(hashlib.sha256(b"x" * 1001).hexdigest()) is None


def test_at_the_limit_is_kept(storage):
    assert storage.put(io.BytesIO(b"x" * 1000), limit=1000).size == 1000


def test_the_limit_stops_reading_one_byte_past_it(storage):
    source = Generated(50 * 1024 * 1024)
    with pytest.raises(FileRefused):
        storage.put(source, limit=CHUNK + 10)
    assert source.left == 50 * 1024 * 1024 - (CHUNK + 11)


def test_missing_objects(storage):
    missing = "0" * 64
    with pytest.raises(KeyError):
        storage.read(missing)
    assert storage.size(missing) is None
    storage.delete(missing)  # no error
    with pytest.raises(KeyError):
        storage.read("../../etc/passwd")


def test_names_list_every_blob_and_no_extra(storage):
    shas = {storage.put(io.BytesIO(f"file {n}".encode())).sha256 for n in range(5)}
    storage.put_extra(f"thumbs/{next(iter(shas))}-256.webp", b"thumb")
    assert set(storage.names()) == shas


def test_delete_forgets_one_blob(storage):
    keep = storage.put(io.BytesIO(b"keep")).sha256
    gone = storage.put(io.BytesIO(b"gone")).sha256
    storage.delete(gone)
    assert list(storage.names()) == [keep]
    with pytest.raises(KeyError):
        storage.read(gone)
    assert joined(storage, keep) == b"keep"


def test_extras(storage):
    key = "thumbs/" + "a" * 64 + "-256.webp"
    assert storage.get_extra(key) is None
    storage.put_extra(key, b"first")
    storage.put_extra(key, b"second")
    assert storage.get_extra(key) == b"second"
    storage.delete_extra(key)
    assert storage.get_extra(key) is None
    storage.delete_extra(key)  # missing is fine


@pytest.mark.parametrize("key", ["../escape", "/absolute", "thumbs/../../x", "", "a//b"])
def test_an_extra_key_cannot_leave_its_place(storage, key):
    with pytest.raises(ValueError):
        storage.put_extra(key, b"x")


def test_memory_stays_flat_for_a_50_mb_file(storage):
    size = 50 * 1024 * 1024
    tracemalloc.start()
    try:
        sha = storage.put(Generated(size)).sha256
        total = sum(len(chunk) for chunk in storage.read(sha))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_modified_is_when_the_content_was_stored(storage):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    sha = storage.put(io.BytesIO(b"dated")).sha256
    stamp = storage.modified(sha)
    assert stamp is not None and stamp.tzinfo is not None
    assert before <= stamp <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert storage.modified("0" * 64) is None
    assert storage.modified("not a sha") is None


def test_check_passes_for_a_usable_storage(storage):
    storage.check()


# -- local folder specifics ----------------------------------------------------------------


def test_the_local_layout(tmp_path):
    storage = LocalStorage(tmp_path)
    sha = storage.put(io.BytesIO(b"layout")).sha256
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"layout"
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind
    storage.put_extra("thumbs/x.webp", b"t")
    assert (tmp_path / "extra" / "thumbs" / "x.webp").read_bytes() == b"t"


def test_a_failed_local_put_leaves_no_temporary_file(tmp_path):
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError("connection reset")

    storage = LocalStorage(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        storage.put(Broken())
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list(storage.names()) == []


def test_a_damaged_copy_is_replaced_by_the_next_put_of_that_content(tmp_path):
    storage = LocalStorage(tmp_path)
    sha = storage.put(io.BytesIO(b"whole content")).sha256
    storage.path(sha).write_bytes(b"whole")  # cut short outside Karte
    storage.put(io.BytesIO(b"whole content"))
    assert storage.path(sha).read_bytes() == b"whole content"


def test_a_local_put_of_old_content_makes_it_young_again(tmp_path):
    storage = LocalStorage(tmp_path)
    sha = storage.put(io.BytesIO(b"removed long ago, uploaded again")).sha256
    os.utime(storage.path(sha), (0, 0))  # 1970: a prune would take it
    storage.put(io.BytesIO(b"removed long ago, uploaded again"))
    assert storage.modified(sha) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def test_names_skip_what_is_not_a_blob(tmp_path):
    storage = LocalStorage(tmp_path)
    sha = storage.put(io.BytesIO(b"real")).sha256
    (tmp_path / "ab" / "cd").mkdir(parents=True)
    (tmp_path / "ab" / "cd" / "notes.txt").write_text("stray")
    (tmp_path / "tmp" / "put-123").write_bytes(b"half")
    assert list(storage.names()) == [sha]


def test_a_folder_that_cannot_be_written_is_a_clear_problem(tmp_path):
    (tmp_path / "taken").write_text("a file where the folder should be")
    with pytest.raises(ProblemsError, match="KARTE_FILES_URL.*cannot be written"):
        LocalStorage(tmp_path / "taken").check()


def test_deleting_the_last_blob_of_a_folder_removes_the_folder(tmp_path):
    storage = LocalStorage(tmp_path)
    sha = storage.put(io.BytesIO(b"alone")).sha256
    storage.delete(sha)
    assert not (tmp_path / sha[:2]).exists()


# -- choosing a storage --------------------------------------------------------------------


def test_storage_for_an_empty_url_is_the_instance_folder(tmp_path):
    storage = storage_for(None, tmp_path)
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "files"
    assert storage_for("", tmp_path).root == tmp_path / "files"  # type: ignore[attr-defined]


def test_storage_for_a_path(tmp_path, monkeypatch):
    assert storage_for(str(tmp_path / "kept"), tmp_path).root == tmp_path / "kept"
    assert storage_for(f"file://{tmp_path}/k2", tmp_path).root == tmp_path / "k2"
    monkeypatch.chdir(tmp_path)
    assert storage_for("relative", Path("/nowhere")).root == tmp_path / "relative"


@pytest.mark.parametrize("url", ["ftp://host/files", "s3://", "s3:///prefix", "gs://bucket"])
def test_storage_for_an_unknown_url_is_a_clear_problem(url, tmp_path):
    with pytest.raises(ProblemsError, match="KARTE_FILES_URL") as error:
        storage_for(url, tmp_path)
    assert "s3://bucket" in str(error.value)


# -- S3 specifics --------------------------------------------------------------------------


def test_s3_over_the_multipart_threshold_is_sent_in_parts_with_flat_memory(s3_storage):
    from karte.files.s3 import TRANSFER

    size = TRANSFER.multipart_threshold + 3 * CHUNK + 5  # parts of odd lengths at the end
    tracemalloc.start()
    try:
        source = Generated(size, seed=2)
        sha = s3_storage.put(source).sha256
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sha == source.digest.hexdigest()
    assert s3_storage.size(sha) == size
    again = hashlib.sha256()
    for chunk in s3_storage.read(sha):
        again.update(chunk)
    assert again.hexdigest() == sha
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_s3_layout(s3_storage):
    sha = s3_storage.put(io.BytesIO(b"layout")).sha256
    assert s3_storage.key(sha) == f"{s3_storage.prefix}/{sha[:2]}/{sha}"
    answer = s3_storage.client.get_object(Bucket=s3_storage.bucket, Key=s3_storage.key(sha))
    assert answer["Body"].read() == b"layout"
    s3_storage.put_extra("thumbs/x.webp", b"t")
    assert s3_storage.client.get_object(
        Bucket=s3_storage.bucket, Key=f"{s3_storage.prefix}/extra/thumbs/x.webp",
    )["Body"].read() == b"t"


def test_s3_put_of_known_content_sends_nothing(s3_storage, monkeypatch):
    sha = s3_storage.put(io.BytesIO(b"once")).sha256

    def refuse(*args, **kwargs):
        raise AssertionError("uploaded again")

    monkeypatch.setattr(s3_storage.client, "upload_fileobj", refuse)
    assert s3_storage.put(io.BytesIO(b"once")).sha256 == sha


def test_s3_a_put_of_known_content_makes_it_young_again(s3_storage):
    sha = s3_storage.put(io.BytesIO(b"again")).sha256
    first = s3_storage.modified(sha)
    time.sleep(1.1)  # Last-Modified counts whole seconds
    s3_storage.put(io.BytesIO(b"again"))
    assert s3_storage.modified(sha) > first
    assert joined(s3_storage, sha) == b"again"


def test_storage_for_an_s3_url_uses_the_aws_environment(s3_bucket, tmp_path):
    from karte.files.s3 import S3Storage

    storage = storage_for(f"s3://{s3_bucket}/deep/prefix/", tmp_path)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (s3_bucket, "deep/prefix")
    sha = storage.put(io.BytesIO(b"via the environment")).sha256
    assert b"".join(storage.read(sha)) == b"via the environment"
    assert storage_for(f"s3://{s3_bucket}", tmp_path).prefix == ""  # type: ignore[attr-defined]


def test_s3_a_missing_bucket_is_a_clear_problem(s3_bucket):
    from karte.files.s3 import S3Storage

    storage = S3Storage("no-such-bucket-here")
    for attempt in (storage.check, lambda: storage.put(io.BytesIO(b"x")),
                    lambda: list(storage.names())):
        with pytest.raises(ProblemsError, match="no-such-bucket-here.*AWS_ENDPOINT_URL"):
            attempt()


def test_s3_an_endpoint_that_does_not_answer_is_a_clear_problem(s3_bucket):
    import boto3
    from botocore.config import Config

    from karte.files.s3 import S3Storage

    with socket_closed() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint,
                              config=Config(retries={"max_attempts": 1}, connect_timeout=2))
        storage = S3Storage(s3_bucket, "p", client=client)
        with pytest.raises(ProblemsError, match="cannot be used"):
            storage.check()
        with pytest.raises(ProblemsError, match="cannot be used"):
            storage.read("a" * 64)


@contextlib.contextmanager
def socket_closed() -> Iterator[str]:
    """An http address on this machine where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"
