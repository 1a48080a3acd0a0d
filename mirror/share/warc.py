"""The archivists' format: a site's stored articles as WARC 1.1, written with warcio.

``mirror export --site NAME --format warc --out DIR`` walks the site as the static export does
(its feeds, then internal links ``export.depth`` deep), takes each article through the mirror
itself (``Mirror.page``: the stored version while it stands, else fetched and stored), and
writes ``DIR/<site>-<UTC time>.warc.gz``, one gzip member per record, that Webrecorder's
tools (pywb, ReplayWeb.page) and the Internet Archive's can read and replay:

- a ``warcinfo`` record naming the software, the format and the site;
- per article, a ``response`` record: the origin's answer as the mirror fetched it (status,
  headers, body; the final answer when the origin redirected), kept beside the stored version
  (``StoredResponse``), at the URL that answered and the time of the fetch;
- per article, a ``resource`` record: the cleaned article (``text/html``, the document
  ``mirror extract`` prints: clean HTML, absolute origin URLs, no mirror URLs), at the
  article's address on this mirror (``/s/<site>/<path>``), ``WARC-Concurrent-To`` the
  response it was made from;
- per picture of an article, a ``resource`` record of the origin's own file (the bytes as
  fetched, metadata and all: an archive keeps the evidence) at its URL, and a
  ``conversion`` record for each file the mirror serves of it (``WARC-Refers-To`` the
  origin's record), so a replay shows what readers saw.

Two departures from a crawler's WARC, both because the mirror keeps less than a crawler:
cookies the origin set are not kept (``fetch.recorded_headers``), and the body is stored
decoded, so ``Content-Encoding`` and ``Transfer-Encoding`` are left out of the archived
headers and ``Content-Length`` is the decoded length (a replay tool would otherwise try to
decode it again). An article stored before responses were kept, or whose response entry
was evicted, gets its resource record only, and the report says how many.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mirror.article import Article, StoredPage
from mirror.errors import MirrorError
from mirror.pipeline import Mirror
from mirror.render.html import environment
from mirror.settings import Config, Site, public_url
from mirror.share.runner import export_run
from mirror.store.cache import StoredImage, StoredResponse
from mirror.transform.responsive import picture_sources

WARC_VERSION = "1.1"
SOFTWARE = f"mirror/{version('mirror')} (reader proxy), warcio/{version('warcio')}"
NOT_DESCRIBING_A_DECODED_BODY = frozenset(
    {"content-encoding", "transfer-encoding", "content-length"}
)


@dataclass
class WarcReport:
    """What one WARC export wrote and left out."""

    path: Path
    articles: int = 0
    responses: int = 0
    pictures: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.articles > 0

    def summary(self) -> str:
        missing = self.articles - self.responses
        lines = [
            f"mirror: wrote {self.path}: {self.articles} articles, {self.responses} responses, "
            f"{self.pictures} pictures",
            *([f"mirror: {missing} stored before responses were kept"] if missing else []),
            *(f"mirror: skipped {reason}" for reason in self.skipped),
        ]
        return "\n".join(lines)


class WarcFile:
    """Records appended to one open WARC file."""

    def __init__(self, stream: BinaryIO, mirror_base: str, site: Site) -> None:
        self._writer = WARCWriter(stream, gzip=True, warc_version=WARC_VERSION)
        self._base = mirror_base
        self._site = site

    def info(self, filename: str) -> None:
        fields = {
            "software": SOFTWARE,
            "format": f"WARC File Format {WARC_VERSION}",
            "description": f"Articles of {self._site.display_name} ({self._site.origin}), "
            "as stored by the mirror at " + self._base,
            "isPartOf": self._site.name,
        }
        self._writer.write_record(self._writer.create_warcinfo_record(filename, fields))

    def response(self, response: StoredResponse) -> str:
        """The origin's answer as a ``response`` record; its record id."""
        headers = [
            (n, v) for n, v in response.headers if n.lower() not in NOT_DESCRIBING_A_DECODED_BODY
        ]
        headers.append(("Content-Length", str(len(response.body))))
        http = StatusAndHeaders(f"{response.status} {response.reason}".strip(), headers, "HTTP/1.1")
        record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            length=len(response.body),
            warc_headers_dict={"WARC-Date": warc_date(response.fetched_at)},
            http_headers=http,
        )
        self._writer.write_record(record)
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def resource(self, stored: StoredPage, concurrent_to: str | None) -> None:
        """The cleaned article as a ``resource`` record at its address on this mirror."""
        body = cleaned_document(stored.article).encode("utf-8")
        headers = {"WARC-Date": warc_date(stored.fetched_at)}
        if concurrent_to:
            headers["WARC-Concurrent-To"] = concurrent_to
        record = self._writer.create_warc_record(
            self.article_address(stored.article.url),
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict=headers,
        )
        self._writer.write_record(record)

    def picture(self, url: str, origin: StoredImage) -> str:
        """The origin's file of a picture as a ``resource`` record; its record id."""
        return self._record(url, "resource", origin, {})

    def conversion(self, url: str, made: StoredImage, origin_id: str | None) -> None:
        """A file the mirror made of the picture at ``url`` as a ``conversion`` record."""
        self._record(url, "conversion", made, {"WARC-Refers-To": origin_id} if origin_id else {})

    def _record(self, url: str, kind: str, image: StoredImage, headers: dict[str, str]) -> str:
        record = self._writer.create_warc_record(
            url,
            kind,
            payload=BytesIO(image.body),
            length=len(image.body),
            warc_content_type=image.content_type,
            warc_headers_dict={"WARC-Date": warc_date(image.fetched_at), **headers},
        )
        self._writer.write_record(record)
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def article_address(self, url: str) -> str:
        """``/s/<site>/<path>`` on this mirror: readable, and the same for every export."""
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self._base}/s/{self._site.name}/{parts.path.lstrip('/')}{query}"


def cleaned_document(article: Article) -> str:
    """The article as the stand-alone document ``mirror extract`` prints."""
    return environment().get_template("extract.html").render(article=article)


def warc_date(timestamp: float) -> str:
    """A WARC 1.1 date: UTC, to the microsecond."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def run_warc_export(
    config: Config,
    site_name: str,
    out: Path,
    depth: int,
    since: datetime.datetime | None = None,
    stream: TextIO | None = None,
) -> WarcReport:
    """Write ``site_name``'s articles into a new WARC file in ``out``."""
    async with export_run(config, site_name, since, stream) as run:
        cache, mirror = await run.pipeline()
        now = datetime.datetime.now(datetime.UTC)
        path = out / f"{run.site.name}-{now:%Y%m%d%H%M%S}.warc.gz"
        report = WarcReport(path)
        out.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:
            warc = WarcFile(handle, public_url(config), run.site)
            warc.info(path.name)

            async def visit(url: str, published: datetime.datetime | None) -> Article | None:
                try:
                    served = await mirror.page(url)
                except MirrorError as error:
                    report.skipped.append(f"{url} ({type(error).__name__})")
                    return None
                response = await cache.get_response(url)
                record_id = None if response is None else warc.response(response)
                warc.resource(served.stored, record_id)
                report.articles += 1
                report.responses += response is not None
                await _pictures(warc, mirror, served.stored.article, report)
                return served.stored.article

            await run.crawl(depth, visit)
    return report


async def _pictures(warc: WarcFile, mirror: Mirror, article: Article, report: WarcReport) -> None:
    """Each picture of ``article``: the origin's file, then every file the mirror serves."""
    pictures = mirror.pictures
    for url in picture_sources(article.body):
        try:
            made = [await pictures.file(url, v) for v in pictures.offer.variants()]
        except MirrorError as error:
            report.skipped.append(f"{url} ({type(error).__name__})")
            continue
        origin = await pictures.origin_file(url)
        origin_id = None if origin is None else warc.picture(url, origin)
        for file in made:
            warc.conversion(url, file, origin_id)
        report.pictures += 1
