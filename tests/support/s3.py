"""A real S3 API over HTTP on loopback: moto's server (the AWS SDK ecosystem's usual
stand-in for S3), in a thread of the test, with a log of every request it answered.

The log is what the publish tests count uploads from; ``put_delay`` slows each upload so a
test can kill a publisher in the middle of one.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIATESTPUBLISHKEY01",
    "AWS_SECRET_ACCESS_KEY": "test-secret-that-must-never-be-logged",
    "AWS_DEFAULT_REGION": "us-east-1",
}

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class S3Server:
    """The server's address and what it was asked."""

    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    put_delay: float = 0.0

    def puts(self, bucket: str) -> list[str]:
        """The keys uploaded to ``bucket`` (path-style requests), in order."""
        prefix = f"/{bucket}/"
        return [p[len(prefix) :] for m, p in self.requests if m == "PUT" and p.startswith(prefix)]


@contextmanager
def s3_server() -> Iterator[S3Server]:
    app = DomainDispatcherApplication(create_backend_app)
    server_state = S3Server("")
    lock = threading.Lock()

    def logged(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method == "PUT" and server_state.put_delay:
            time.sleep(server_state.put_delay)
        answer: Iterable[bytes] = app(environ, start_response)
        with lock:
            server_state.requests.append((method, path))
        return answer

    server = make_server("127.0.0.1", 0, logged, threaded=True, request_handler=MotoRequestHandler)
    server_state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # moto's backends live in the process: each server starts from an empty account
    urllib.request.urlopen(urllib.request.Request(f"{server_state.url}/moto-api/reset", b""))
    try:
        yield server_state
    finally:
        server.shutdown()
        thread.join()
