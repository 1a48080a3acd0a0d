"""Collateral freedom, kept current: the static export published to storage a censor will
not block (any S3-compatible bucket behind any CDN), or to a directory.

``mirror publish`` exports every site a ``[[publish]]`` target names into the data dir
(``publish/site/<site>/``) from what the mirror holds, never asking the origin
(``mirror.share.staging``: the store's articles with their signed files, kept by the export
once written, so an article removed at the origin stays published), and then brings each
target up to date:

1. The target's index object (``INDEX_KEY``) says which objects it holds and the SHA-256
   of each; only objects whose hash differs are uploaded.
2. Uploads go in dependency order: images and the stylesheet first, then article pages,
   then each site's entry pages (``index.html``, ``feed.xml``), then the index object. A
   page that links to something not up yet (a new article links to the index that will
   list it) goes up first without those links, and whole once everything is up: a reader
   who arrives mid-publish never meets a link to an object that is not there.
3. The index object is written only after everything it lists, so a publish killed half
   way leaves the old index and the next publish uploads whatever was not confirmed.
4. Without ``--prune`` nothing is ever deleted; with it, objects the mirror no longer holds
   (not in the export, which keeps every article it ever wrote) are deleted after the new
   pages that no longer link to them are up.

Each object carries what a CDN needs: its ``Content-Type``, a ``Cache-Control`` (a year
and ``immutable`` for images, whose names are hashes; minutes for article pages; a minute
for entry pages and feeds), and, where the target serves stored headers (S3), text
compressed with gzip and ``Content-Encoding: gzip``. Links in the export are relative, so
the copy reads the same under any bucket URL, CDN name or prefix.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import hashlib
import json
import mimetypes
import posixpath
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html

from mirror.addresses import alternates, manifest
from mirror.addresses.alternates import address_book, all_addresses
from mirror.render.html import environment
from mirror.settings import Config, PublishTarget
from mirror.share.export import DOWNLOADS
from mirror.share.runner import site_named
from mirror.share.staging import stager
from mirror.share.targets import Headers, PublishError, Target, open_target
from mirror.store.base import StoreUnavailable

INDEX_KEY = "mirror-publish/index.json"
STAGING_DIR = Path("publish") / "site"
STATUS_FILE = Path("publish") / "status.json"
COMPRESSIBLE = frozenset({"text/html", "application/xml", "text/css", "application/json"})
SMALLEST_COMPRESSED = 512  # below this gzip's header costs more than it saves
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE = "public, max-age=300"
ENTRY = "public, max-age=60"
UPLOADS_AT_ONCE = 8


@dataclass
class PublishReport:
    """What one publish of one target did."""

    target: str
    objects: int = 0
    uploaded: int = 0
    bytes_sent: int = 0
    deleted: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"mirror: published {self.target}: {self.uploaded} of {self.objects} objects "
            f"uploaded ({self.bytes_sent} bytes), {self.deleted} deleted, {self.seconds:.1f}s"
        )


@dataclass
class TargetStatus:
    """Kept between publishes, for ``mirror publish --status`` and ``/metrics``."""

    publishes: int = 0
    failures: int = 0
    uploaded: int = 0
    bytes_sent: int = 0
    last_success: str = ""
    last_error: str = ""
    objects: int = 0
    last_attempt: float = 0.0  # time.time(); when ``mirror serve`` last tried, for its schedule


@dataclass
class PublishStatus:
    targets: dict[str, TargetStatus] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> PublishStatus:
        path = data_dir / STATUS_FILE
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text("utf-8"))
        return cls({name: TargetStatus(**fields) for name, fields in raw.items()})

    def save(self, data_dir: Path) -> None:
        path = data_dir / STATUS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        raw = {name: asdict(status) for name, status in self.targets.items()}
        partial.write_text(json.dumps(raw, indent=1), "utf-8")
        partial.replace(path)

    def lines(self) -> list[str]:
        return [
            f"{name}: last success {s.last_success or 'never'}, {s.objects} objects, "
            f"{s.publishes} publishes ({s.failures} failed), {s.uploaded} uploaded"
            + (f", last error: {s.last_error}" if s.last_error else "")
            for name, s in sorted(self.targets.items())
        ]


# What each object is ------------------------------------------------------------------------


def phase(key: str) -> int:
    """When ``key`` is uploaded: what others link to before what links to it."""
    parts = key.split("/")
    if not key.endswith((".html", ".xml")) or parts[-1] in DOWNLOADS.values():
        return 0  # images, the stylesheet, the signed files an article page links to
    if len(parts) > 2 and parts[1] == "articles":
        return 1
    return 2  # a site's index.html and feed.xml


def headers_for(key: str, compressed: bool) -> Headers:
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("xml"):
        content_type += "; charset=utf-8"
    stage = phase(key)
    cache = ENTRY if stage == 2 else PAGE if stage == 1 else _asset_cache(key)
    return Headers(content_type, cache, "gzip" if compressed else "")


def _asset_cache(key: str) -> str:
    # media/ names are hashes and never change meaning; static/ keeps its names across versions
    return IMMUTABLE if "/media/" in f"/{key}" else PAGE


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def local_objects(tree: Path, sites: Iterable[str]) -> dict[str, Path]:
    """Every file of the named sites' exports, by key (``<site>/<path>``)."""
    found: dict[str, Path] = {}
    for site in sites:
        root = tree / site
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file() and not path.name.startswith("."):
                found[path.relative_to(tree).as_posix()] = path
    return found


# Bringing one target up to date --------------------------------------------------------------


async def read_index(target: Target) -> dict[str, str]:
    raw = await target.read(INDEX_KEY)
    if raw is None:
        return {}
    try:
        objects = json.loads(raw)["objects"]
    except (ValueError, KeyError, TypeError):
        return {}  # an unreadable index: everything is uploaded again, nothing is lost
    return {str(k): str(v) for k, v in objects.items()}


async def publish_tree(
    objects: dict[str, Path], target: Target, prune: bool = False
) -> PublishReport:
    """Bring ``target`` up to date with ``objects``; see the module's docstring for the order."""
    started = time.monotonic()
    report = PublishReport(target.name, objects=len(objects))
    published = await read_index(target)
    hashes = await asyncio.to_thread(
        lambda: {key: digest(path.read_bytes()) for key, path in objects.items()}
    )
    changed = [key for key, value in hashes.items() if published.get(key) != value]
    present = set(published)
    deferred: list[str] = []
    for stage in (0, 1, 2):
        batch = [key for key in changed if phase(key) == stage]
        deferred += await _upload_all(target, objects, batch, present, report)
        present.update(batch)
    await _upload_all(target, objects, deferred, present, report)
    gone = sorted(set(published) - set(hashes)) if prune else []
    kept = {k: v for k, v in published.items() if k not in hashes and k not in gone}
    index = {"objects": dict(sorted({**kept, **hashes}.items())), "published": _now()}
    body = json.dumps(index, indent=0).encode("utf-8")
    await target.put(INDEX_KEY, body, Headers("application/json", "no-cache"))
    report.uploaded += 1
    report.bytes_sent += len(body)
    for key in gone:
        await target.delete(key)
        report.deleted += 1
    report.seconds = time.monotonic() - started
    return report


async def _upload_all(
    target: Target,
    objects: dict[str, Path],
    batch: list[str],
    present: set[str],
    report: PublishReport,
) -> list[str]:
    """Upload ``batch`` at once; the keys whose pages went up without some links, because
    what they link to is not ``present`` yet (a new article and the index that lists it
    link to each other), are returned to be uploaded whole once everything is up. Links
    to what the copy does not hold at all are left alone: waiting would not mend them."""
    slots = asyncio.Semaphore(UPLOADS_AT_ONCE)
    deferred: list[str] = []

    async def upload(key: str) -> None:
        async with slots:
            body, whole = await asyncio.to_thread(_ready, key, objects, present)
            if not whole:
                deferred.append(key)
            await _put(target, key, body, report)

    await asyncio.gather(*(upload(key) for key in batch))
    return deferred


def _ready(key: str, objects: dict[str, Path], present: set[str]) -> tuple[bytes, bool]:
    """The body to upload now, and whether it is the whole page."""
    body = objects[key].read_bytes()
    if not key.endswith(".html"):
        return body, True
    absent = (links_of(key, body) & objects.keys()) - present
    return (without_links(key, body, absent), False) if absent else (body, True)


async def _put(target: Target, key: str, body: bytes, report: PublishReport) -> None:
    headers = headers_for(key, compressed=False)
    if (
        target.serves_encodings
        and headers.content_type.split(";")[0] in COMPRESSIBLE
        and len(body) >= SMALLEST_COMPRESSED
    ):
        body = gzip.compress(body, mtime=0)
        headers = headers_for(key, compressed=True)
    await target.put(key, body, headers)
    report.uploaded += 1
    report.bytes_sent += len(body)


# Links between pages ------------------------------------------------------------------------

LINKING = (("a", "href"), ("link", "href"), ("img", "src"), ("source", "src"))


def _link_target(key: str, url: str) -> str | None:
    """The key a relative link of the page ``key`` points at; None for anything else."""
    if not url or url.startswith("#") or urlsplit(url).scheme or urlsplit(url).netloc:
        return None
    path = unquote(url.split("#", 1)[0].split("?", 1)[0])
    return posixpath.normpath(posixpath.join(posixpath.dirname(key), path))


def links_of(key: str, body: bytes) -> set[str]:
    """The keys the page ``key`` links to or embeds."""
    root = lxml.html.document_fromstring(body)
    found = set()
    for tag, attribute in LINKING:
        for element in root.iter(tag):
            target = _link_target(key, element.get(attribute, ""))
            if target is not None:
                found.add(target)
    return found


def without_links(key: str, body: bytes, absent: set[str]) -> bytes:
    """The page with its links to ``absent`` keys taken out (their text stays)."""
    root = lxml.html.document_fromstring(body)
    for tag, attribute in LINKING:
        for element in list(root.iter(tag)):
            if _link_target(key, element.get(attribute, "")) in absent:
                element.drop_tag() if tag == "a" else element.drop_tree()
    return b"<!doctype html>\n" + lxml.html.tostring(root, encoding="utf-8")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# The copy's own address ----------------------------------------------------------------------

MANIFEST_KEY = ".well-known/mirrors.json"
RESIGN_AFTER = datetime.timedelta(days=1)


def announce(
    config: Config, target: PublishTarget, tree: Path, names: list[str]
) -> dict[str, Path]:
    """For a target with a ``public_url``: the address joins the live alternates (so readers
    are shown it and ``mirror alternates check`` checks it like the others), and the copy
    gets what that check and readers ask the address for: ``/.well-known/mirrors.json``,
    the signed manifest, and ``/index.html`` listing the sites. Re-signed only when the
    addresses change or the manifest is a day old, so an unchanged copy uploads nothing."""
    if not target.public_url:
        return {}
    alternates.add(config, target.public_url)
    addresses = all_addresses(config, address_book(config))
    folder = tree / "_root" / hashlib.sha256(target.url.encode()).hexdigest()[:12]
    signed = folder / MANIFEST_KEY
    if _stale(signed, addresses):
        key = manifest.load_signing_key(config.server.data_dir)
        _write_file(signed, manifest.sign(key, addresses, config.publisher.manifest_days))
    sites = [s for s in config.sites if s.name in names]
    page = environment().get_template("export_sites.html").render(sites=sites)
    _write_file(folder / "index.html", page.encode("utf-8"))
    return {MANIFEST_KEY: signed, "index.html": folder / "index.html"}


def _stale(signed: Path, addresses: list[str]) -> bool:
    if not signed.is_file():
        return True
    body = json.loads(signed.read_bytes())["manifest"]
    issued = datetime.datetime.strptime(body["issued"], manifest.TIME_FORMAT)
    age = datetime.datetime.now(datetime.UTC) - issued.replace(tzinfo=datetime.UTC)
    return bool(body["mirrors"] != addresses or age > RESIGN_AFTER)


def _write_file(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != body:
        path.write_bytes(body)


# The command ------------------------------------------------------------------------------


def target_sites(config: Config, target: PublishTarget) -> list[str]:
    names = list(target.sites) or [s.name for s in config.sites]
    unknown = set(names) - {s.name for s in config.sites}
    if unknown:
        raise PublishError(f"{target.name}: no site named {', '.join(sorted(unknown))}")
    return names


async def export_sites(config: Config, names: Iterable[str]) -> Path:
    """Export each named site, as the mirror holds it, into the staging tree; refuse one
    that names a host."""
    tree = config.server.data_dir / STAGING_DIR
    async with stager(config) as staging:
        for name in dict.fromkeys(names):
            try:
                report = await staging.stage(site_named(config, name), tree / name)
            except StoreUnavailable as exc:  # a copy made without the store would be empty
                raise PublishError(f"the store cannot be read: {exc}") from exc
            if not report.ok:
                violation = report.violations[0]
                raise PublishError(f"the export of {name} references a host: {violation}")
    return tree


async def run_publish(
    config: Config,
    targets: Iterable[PublishTarget] | None = None,
    prune: bool | None = None,
) -> list[PublishReport]:
    """Export and publish to ``targets`` (every ``[[publish]]`` table by default).

    A target that fails is recorded in the status and the others still go; the first
    failure is raised at the end.
    """
    chosen = list(config.publish if targets is None else targets)
    if not chosen:
        raise PublishError("no [[publish]] target in the configuration")
    sites = {t.url: target_sites(config, t) for t in chosen}
    tree = await export_sites(config, (n for names in sites.values() for n in names))
    status = PublishStatus.load(config.server.data_dir)
    reports, failure = [], None
    for target in chosen:
        record = status.targets.setdefault(target.name, TargetStatus())
        record.last_attempt = time.time()
        try:
            objects = local_objects(tree, sites[target.url])
            objects |= announce(config, target, tree, sites[target.url])
            report = await publish_tree(
                objects,
                open_target(target),
                target.prune if prune is None else prune,
            )
        except PublishError as exc:
            record.failures += 1
            record.last_error = str(exc)
            failure = failure or exc
            continue
        finally:
            record.publishes += 1
        record.uploaded += report.uploaded
        record.bytes_sent += report.bytes_sent
        record.objects = report.objects
        record.last_success, record.last_error = _now(), ""
        reports.append(report)
    status.save(config.server.data_dir)
    if failure is not None:
        raise failure
    return reports
