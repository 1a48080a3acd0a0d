"""Configs for the operator tests (issue 8): the CDT test origin plus extra settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from mirror.settings import Config, load_config
from tests.conftest import Origin, RunningMirror, serve_mirror
from tests.support.configs import config_toml


def operator_config(
    tmp_path: Path, origin: Origin, ca_file: Path, extra: str = "", site: str = ""
) -> Config:
    """The CDT site on the test origin; ``extra`` is TOML for the ``[server]`` table onward,
    ``site`` more keys of the ``[[sites]]`` table, then any tables after it.

    ``www.`` of the origin host is pinned too, as a site that is *not* configured, for
    open-mode tests: it reaches the same loopback origin, never the internet.
    """
    path = tmp_path / "mirror.toml"
    pins = [origin.pin, f"www.{origin.pin}"]
    path.write_text(config_toml(pins, ca_file, server=extra, site=site), "utf-8")
    return load_config(path, environ={})


# A v3 onion name Tor made for a key of its own (`tor` with `DisableNetwork 1`): valid down
# to its checksum. The same name with one letter changed, as a typo would: checksum wrong.
ONION = "t547uppbshnf5zivh7jo4fmgxtesewfozloiyi5mv7yznp5lkrrhriqd.onion"
MISTYPED_ONION = "t547uppbshnf5zivh7jo4fmgxtesewfozloiyi5mv7yznp5lkrrhriqe.onion"


@dataclass
class OnionListener:
    """The mirror's onion listener, asked as Tor asks it: plain HTTP on loopback, with the
    onion name in ``Host`` (or ``host``, to try another name)."""

    base: str
    client: aiohttp.ClientSession

    async def get(
        self, path: str, host: str = ONION, **kwargs: Any
    ) -> tuple[aiohttp.ClientResponse, str]:
        headers = {"Host": host, **kwargs.pop("headers", {})}
        async with self.client.get(self.base + path, headers=headers, **kwargs) as response:
            return response, await response.text()


@asynccontextmanager
async def serve_with_onion(config: Config) -> AsyncIterator[tuple[RunningMirror, OnionListener]]:
    """The mirror over HTTPS (as ``serve_mirror``) and on its onion listener, one application
    behind both, as ``mirror serve`` runs them."""
    async with serve_mirror(config) as clearnet, aiohttp.ClientSession() as client:
        assert clearnet.runner is not None
        site = web.TCPSite(clearnet.runner, config.server.onion_host, config.server.onion_port)
        await site.start()
        yield clearnet, OnionListener(f"http://{config.server.onion_listen}", client)
