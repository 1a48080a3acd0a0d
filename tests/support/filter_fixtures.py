"""A local TLS origin that serves small Adblock Plus lists at the official list URLs.

``mirror filters update`` is tested against it: the real fetcher, pinned to loopback with
``connect_to``, trusting the test CA; no request leaves the machine.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from mirror.settings import Config, load_config
from tests.conftest import start_site

LIST_HOST = "easylist.to"
EASYLIST_URL = f"https://{LIST_HOST}/easylist/easylist.txt"
EASYPRIVACY_URL = f"https://{LIST_HOST}/easylist/easyprivacy.txt"
EASYLIST = """[Adblock Plus 2.0]
! Title: fixture EasyList
||ads-fixture.example^
##.fixture-ad
"""
EASYPRIVACY = """[Adblock Plus 2.0]
! Title: fixture EasyPrivacy
||beacon-fixture.example^
"""


@dataclass
class ListOrigin:
    """The list server: what each path serves, with an ETag, and what requests it got."""

    port: int = 0
    bodies: dict[str, tuple[str, str]] = field(default_factory=dict)  # path → (type, body)
    conditional: list[str] = field(default_factory=list)  # paths asked with If-None-Match

    @property
    def pin(self) -> str:
        return f"{LIST_HOST}:443:127.0.0.1:{self.port}"


@pytest.fixture
async def list_origin(test_ca: trustme.CA) -> AsyncIterator[ListOrigin]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert(LIST_HOST).configure_cert(context)
    state = ListOrigin()
    state.bodies = {
        "/easylist/easylist.txt": ("text/plain", EASYLIST),
        "/easylist/easyprivacy.txt": ("text/plain", EASYPRIVACY),
    }

    async def serve(request: web.Request) -> web.Response:
        if request.path not in state.bodies:
            raise web.HTTPNotFound
        kind, body = state.bodies[request.path]
        etag = f'"{abs(hash(body))}"'
        if request.headers.get("If-None-Match"):
            state.conditional.append(request.path)
            if request.headers["If-None-Match"] == etag:
                return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type=kind, headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner, state.port = await start_site(app, context)
    yield state
    await runner.cleanup()


@pytest.fixture
def lists_config(
    list_origin: ListOrigin, ca_file: Path, write_config: Callable[..., Path]
) -> Config:
    path = write_config(
        f"""
[server]
data_dir = "data"

[fetch]
ca_file = "{ca_file}"
connect_to = ["{list_origin.pin}"]
timeout = 10.0

[filters]
lists = ["{EASYLIST_URL}", "{EASYPRIVACY_URL}"]
"""
    )
    return load_config(path, environ={})
