"""Where a published copy lives: an S3-compatible bucket, or a plain directory.

A target stores objects under keys relative to its prefix and answers three things: put
an object (with its ``Content-Type``, ``Cache-Control`` and ``Content-Encoding``), read
one back (the publish index), and delete one. ``S3Target`` runs boto3 (the AWS SDK, which
every S3-compatible service documents) in worker threads, so a publish never blocks the
server's event loop; its credentials come from boto3's standard chain (environment,
shared profile, instance or task role) and never pass through the mirror's configuration.
Errors are translated here, once, into ``PublishError`` carrying the target's URL and the
service's error code: never a credential, a signed URL or a request header.

``DirectoryTarget`` writes files (GitHub Pages, ``ipfs add -r``, rsync): each file is
written to a temporary name and renamed, so a reader of the directory never sees half a
file. A directory has no object headers, so it gets no pre-compressed copies.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import urlsplit

from mirror.errors import MirrorError
from mirror.settings import PublishTarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


T = TypeVar("T")


class PublishError(MirrorError):
    """A target refused or could not be reached; the message names the target, no secret."""


@dataclass(frozen=True)
class Headers:
    """What a CDN needs to serve an object right."""

    content_type: str
    cache_control: str
    content_encoding: str = ""


class Target(Protocol):
    """One place a copy is published to."""

    name: str
    serves_encodings: bool

    async def read(self, key: str) -> bytes | None: ...

    async def put(self, key: str, body: bytes, headers: Headers) -> None: ...

    async def delete(self, key: str) -> None: ...


class DirectoryTarget:
    """Files under a directory, each replaced atomically."""

    serves_encodings = False

    def __init__(self, root: Path) -> None:
        self.name = root.as_uri()
        self._root = root

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root.resolve()):
            raise PublishError(f"{self.name}: key {key!r} leaves the directory")
        return path

    async def read(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    async def put(self, key: str, body: bytes, headers: Headers) -> None:
        await asyncio.to_thread(self._write, self._path(key), body)

    @staticmethod
    def _write(path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(body)
        os.replace(partial, path)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Target:
    """Objects in a bucket under a prefix, through boto3 in threads."""

    serves_encodings = True

    def __init__(self, target: PublishTarget, threads: int = 8) -> None:
        parts = urlsplit(target.url)
        self.name = target.url
        self._bucket = parts.netloc
        self._prefix = parts.path.strip("/")
        self._client = _client(target, threads)
        self._threads = asyncio.Semaphore(threads)

    def __repr__(self) -> str:
        return f"S3Target({self.name!r})"

    def _key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    async def read(self, key: str) -> bytes | None:
        def get() -> bytes | None:
            try:
                answer = self._client.get_object(Bucket=self._bucket, Key=self._key(key))
            except self._client.exceptions.NoSuchKey:
                return None
            return answer["Body"].read()

        return await self._call("read", key, get)

    async def put(self, key: str, body: bytes, headers: Headers) -> None:
        def put() -> None:
            extra = (
                {"ContentEncoding": headers.content_encoding} if headers.content_encoding else {}
            )
            self._client.put_object(
                Bucket=self._bucket,
                Key=self._key(key),
                Body=body,
                ContentType=headers.content_type,
                CacheControl=headers.cache_control,
                **extra,  # type: ignore[arg-type]
            )

        await self._call("put", key, put)

    async def delete(self, key: str) -> None:
        def delete() -> None:
            self._client.delete_object(Bucket=self._bucket, Key=self._key(key))

        await self._call("delete", key, delete)

    async def _call(self, action: str, key: str, work: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        async with self._threads:
            try:
                return await asyncio.to_thread(work)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "error")
                raise PublishError(f"{self.name}: {action} {key}: {code}") from None
            except BotoCoreError as exc:
                # botocore's messages name endpoints and files, never keys; still, only its class
                raise PublishError(f"{self.name}: {action} {key}: {type(exc).__name__}") from None


def _client(target: PublishTarget, threads: int) -> S3Client:
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=target.endpoint or None,
        region_name=target.region or None,
        config=BotoConfig(
            max_pool_connections=threads,
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path" if target.endpoint else "auto"},
        ),
    )


def open_target(target: PublishTarget) -> Target:
    """The target a ``[[publish]]`` table names."""
    parts = urlsplit(target.url)
    if parts.scheme == "file":
        return DirectoryTarget(Path(parts.path))
    return S3Target(target)
