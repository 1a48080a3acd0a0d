"""Observability without surveillance, the HTTP side: ``/metrics``, health probes, the
access log and request counting.

The counters themselves live in ``mirror.counters`` (closed label sets, no URL or address).
The access log, off by default, follows the same rule: method, route template, status and
time, nothing else. An unexpected exception is logged as its type and the places it passed
through (``described``), never its message: messages quote URLs, addresses and secrets.
"""

from __future__ import annotations

import datetime
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from mirror.counters import REQUEST_SECONDS, REQUESTS, registry
from mirror.errors import described
from mirror.share.publish import PublishStatus
from mirror.web.appkeys import CONFIG

UNMATCHED = "unmatched"
# Where a request answered before routing keeps its route template.
ROUTE_KEY = web.RequestKey("mirror.route", str)


Probe = Callable[[web.Application], Awaitable[dict[str, bool]]]


def route_of(request: BaseRequest) -> str:
    """The template of the route that matched (``/m/{token}``), never the concrete path; for
    a request answered before routing (``mirror.web.article.front_door``), the template it set; for
    one aiohttp refused before routing (malformed), none: its ``match_info`` would assert."""
    answered = request.get(ROUTE_KEY)
    if answered is not None:
        return str(answered)
    if not isinstance(request, web.Request) or request._match_info is None:
        return UNMATCHED
    resource = request.match_info.route.resource
    return UNMATCHED if resource is None else resource.canonical


def count_request(request: BaseRequest, status: int, seconds: float) -> None:
    """Count one answered request by route template and status, and time it; the server's
    one middleware calls this outermost, so error pages and redirects are counted too."""
    count_route(route_of(request), status, seconds)


def count_route(route: str, status: int, seconds: float) -> None:
    """Count one request answered by ``route`` (a template), and time it."""
    REQUESTS.inc(route, str(status))
    REQUEST_SECONDS.observe(route, seconds=seconds)


class RouteAccessLogger(AbstractAccessLogger):
    """One line per request with no address, no URL, no user agent, no referrer."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %.1fms", request.method, route_of(request), response.status, time * 1000
        )


class ServerErrorScrubber(logging.Filter):
    """aiohttp logs a malformed request as "Error handling request from <address>", and an
    exception our middleware did not catch with its message: keep the kind of error and
    its frames only (``described``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiohttp.server"):
            error = record.exc_info[1] if record.exc_info else None
            kind = "unknown" if error is None else described(error)
            record.msg, record.args, record.exc_info, record.exc_text = (
                f"error handling a request: {kind}",
                (),
                None,
                None,
            )
        return True


def configure_logging() -> None:
    """Log to stderr, with aiohttp's per-request error lines scrubbed of who and what."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ServerErrorScrubber())
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def publish_registry(data_dir: Path) -> CollectorRegistry:
    """Each publish target's counts and last success, read from the status file the
    publishing process writes, so every worker's ``/metrics`` tells the same."""
    published = CollectorRegistry()
    labels = ["target"]
    gauges = {
        "publishes": Gauge("mirror_publishes", "Publishes tried.", labels, registry=published),
        "failures": Gauge(
            "mirror_publish_failures", "Publishes that failed.", labels, registry=published
        ),
        "uploaded": Gauge(
            "mirror_publish_uploaded_objects", "Objects uploaded.", labels, registry=published
        ),
        "bytes_sent": Gauge(
            "mirror_publish_sent_bytes", "Bytes uploaded.", labels, registry=published
        ),
        "objects": Gauge(
            "mirror_publish_objects", "Objects in the last publish.", labels, registry=published
        ),
    }
    success = Gauge(
        "mirror_publish_last_success_seconds",
        "Unix time of the last successful publish.",
        labels,
        registry=published,
    )
    for name, status in PublishStatus.load(data_dir).targets.items():
        for field_name, gauge in gauges.items():
            gauge.labels(target=name).set(getattr(status, field_name))
        if status.last_success:
            moment = datetime.datetime.fromisoformat(status.last_success)
            success.labels(target=name).set(moment.timestamp())
    return published


def add_routes(app: web.Application, probe: Probe) -> None:
    """``/readyz`` (every probe true, else 503) and ``/metrics`` (Prometheus text format)."""

    async def readyz(request: web.Request) -> web.Response:
        results = await probe(request.app)
        ready = all(results.values())
        text = "".join(f"{name} {'ok' if ok else 'failing'}\n" for name, ok in results.items())
        return web.Response(
            text=text, status=200 if ready else 503, headers={"Cache-Control": "no-store"}
        )

    async def metrics(request: web.Request) -> web.Response:
        published = publish_registry(request.app[CONFIG].server.data_dir)
        response = web.Response(body=generate_latest(registry()) + generate_latest(published))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_routes([web.get("/readyz", readyz), web.get("/metrics", metrics)])
