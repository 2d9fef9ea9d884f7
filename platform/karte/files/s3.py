"""Files in an S3-compatible bucket (AWS, MinIO, Ceph, ...), through boto3.

Objects are `<prefix>/<sha[:2]>/<sha>`, extras `<prefix>/extra/<key>`. A put spools the
upload to a temporary file while hashing it (memory holds one chunk; the spool moves to disk
past 1 MiB), because the key is the hash and is known only at the end; then one upload of
that file (in 5 MiB parts past 64 MiB). When the object is already there nothing is sent:
it is copied onto itself, which renews its date for a prune. S3 writes are atomic per
object: a reader never sees half of one.

The endpoint, keys and region come from the standard AWS environment (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) or any other place boto3
reads them from.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from karte.files.storage import (
    CHUNK,
    Stored,
    checked_key,
    checked_sha,
    copy_hashed,
    is_sha256,
)
from karte.problems import Problem, ProblemsError

MISSING = {"404", "NoSuchKey", "NotFound"}
# one part in memory at a time, on the calling thread: uploads stay as flat as downloads
TRANSFER = TransferConfig(multipart_threshold=64 * CHUNK, multipart_chunksize=5 * CHUNK,
                          max_concurrency=1, use_threads=False, io_chunksize=CHUNK)
# an endpoint that does not answer is a clear error within seconds, not a hung request
CLIENT = Config(connect_timeout=5, read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3})


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else boto3.client("s3", config=CLIENT)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def key(self, sha256: str) -> str:
        sha = checked_sha(sha256)
        return self._under(f"{sha[:2]}/{sha}")

    def put(self, source: BinaryIO, limit: int | None = None) -> Stored:
        with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
            sha, size = copy_hashed(source, spool, limit)
            key = self.key(sha)
            if self._head(key) != size or not self._touched(key):
                spool.seek(0)
                with self._errors():
                    self.client.upload_fileobj(spool, self.bucket, key, Config=TRANSFER)
        return Stored(sha, size)

    def _touched(self, key: str) -> bool:
        """Mark a stored object as stored again now (a prune keeps what is young) by
        copying it onto itself, which sends no content; False when the store refuses."""
        try:
            with self._errors():
                self.client.copy_object(
                    Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                    MetadataDirective="REPLACE", Metadata={"stored-again": _now()})
        except ClientError:
            return False
        return True

    def read(self, sha256: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        arguments = {"Bucket": self.bucket, "Key": self.key(sha256)}
        if stop is not None and stop <= start:
            if self.size(sha256) is None:
                raise KeyError(sha256)
            return iter(())
        if start or stop is not None:
            arguments["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        try:
            with self._errors():
                body = self.client.get_object(**arguments)["Body"]
        except ClientError as error:
            if _code(error) in MISSING:
                raise KeyError(sha256) from None
            if _code(error) == "InvalidRange":  # starts past the end: nothing to send
                return iter(())
            raise
        return _chunks(body)

    def size(self, sha256: str) -> int | None:
        return self._head(self.key(sha256)) if is_sha256(sha256) else None

    def modified(self, sha256: str) -> dt.datetime | None:
        if not is_sha256(sha256):
            return None
        answer = self._head_object(self.key(sha256))
        return None if answer is None else answer["LastModified"].astimezone(dt.UTC)

    def delete(self, sha256: str) -> None:
        if is_sha256(sha256):
            with self._errors():
                self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def names(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self._under("")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", ()):
                    first, _, sha = item["Key"][len(start):].partition("/")
                    if is_sha256(sha) and sha[:2] == first:
                        yield sha

    def put_extra(self, key: str, data: bytes) -> None:
        with self._errors():
            self.client.put_object(Bucket=self.bucket, Key=self._extra(key), Body=data)

    def get_extra(self, key: str) -> bytes | None:
        try:
            with self._errors():
                answer = self.client.get_object(Bucket=self.bucket, Key=self._extra(key))
        except ClientError as error:
            if _code(error) in MISSING:
                return None
            raise
        with answer["Body"] as body:
            return bytes(body.read())

    def delete_extra(self, key: str) -> None:
        with self._errors():
            self.client.delete_object(Bucket=self.bucket, Key=self._extra(key))

    def check(self) -> None:
        """Fail now, with a clear message, when the bucket cannot be reached."""
        with self._errors():
            self.client.head_bucket(Bucket=self.bucket)

    def _head(self, key: str) -> int | None:
        answer = self._head_object(key)
        return None if answer is None else int(answer["ContentLength"])

    def _head_object(self, key: str) -> dict[str, Any] | None:
        try:
            with self._errors():
                return dict(self.client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as error:
            if _code(error) in MISSING:
                return None
            raise

    def _extra(self, key: str) -> str:
        return self._under("extra/" + checked_key(key))

    def _under(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _errors(self) -> _Translated:
        return _Translated(self.bucket)


class _Translated:
    """Turns "no such bucket", refused credentials and an unreachable endpoint into a
    ProblemsError that says what to fix; a missing object stays a ClientError for the
    caller to answer (KeyError, None)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: object) -> None:
        if isinstance(error, ClientError) and _code(error) in (
                "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId",
                "SignatureDoesNotMatch"):
            raise _unreachable(self.bucket, _code(error)) from error
        if isinstance(error, ClientError) and _code(error) in MISSING \
                and error.operation_name == "HeadBucket":
            raise _unreachable(self.bucket, "NoSuchBucket") from error
        if isinstance(error, BotoCoreError):
            raise _unreachable(self.bucket, str(error)) from error


def _unreachable(bucket: str, why: str) -> ProblemsError:
    return ProblemsError([Problem(
        "KARTE_FILES_URL",
        f"The S3 bucket {bucket!r} cannot be used ({why}). Check that it exists and that "
        "AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION "
        "point at it.")])


def _chunks(body: Any) -> Iterator[bytes]:
    with body:
        yield from body.iter_chunks(CHUNK)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
