"""Downloading the ad and tracker lists: an operator's task (``mirror filters update``).

It needs the fetcher and the rules' checks, so it sits above both; the rules themselves
(``mirror.transform.filters``) only read what this leaves in ``<data dir>/filters/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mirror.errors import MirrorError
from mirror.fetch.client import Fetched, Fetcher, Validators
from mirror.transform.filters import check_list

LIST_TYPES = frozenset({"text/plain", "application/octet-stream"})


def list_path(list_dir: Path, url: str) -> Path:
    """Where the list from ``url`` is kept: its file name and a hash of the whole URL."""
    name = Path(urlsplit(url).path).stem or "list"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return list_dir / f"{name}-{digest}.txt"


@dataclass(frozen=True)
class UpdateResult:
    url: str
    status: str  # "updated", "not modified" or the reason it was refused


async def update_lists(fetcher: Fetcher, urls: list[str], list_dir: Path) -> list[UpdateResult]:
    """Download each list with a conditional GET; replace a kept copy only by a good one."""
    list_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for url in urls:
        try:
            results.append(await _update_one(fetcher, url, list_path(list_dir, url)))
        except MirrorError as error:
            results.append(UpdateResult(url, f"refused: {error.detail or error.title}"))
    return results


async def _update_one(fetcher: Fetcher, url: str, path: Path) -> UpdateResult:
    meta_path = path.with_suffix(".json")
    validators = _read_validators(meta_path) if path.exists() else Validators()
    fetched = await fetcher.revalidate(url, LIST_TYPES, validators)
    if not isinstance(fetched, Fetched):
        return UpdateResult(url, "not modified")
    text = fetched.body.decode("utf-8", errors="replace")
    check_list(text)
    _write_atomic(path, text.encode("utf-8"))
    meta = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    _write_atomic(meta_path, json.dumps(meta).encode("utf-8"))
    return UpdateResult(url, "updated")


def _read_validators(meta_path: Path) -> Validators:
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        return Validators(meta.get("etag"), meta.get("last_modified"))
    except (OSError, ValueError, AttributeError):
        return Validators()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside ``path`` and rename over it, so a reader never sees half a list."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
