"""Configs for the operator tests (issue 8): the CDT test origin plus extra settings."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mirror.settings import Config, load_config
from tests.conftest import ORIGIN_HOST, Origin


def operator_config(tmp_path: Path, origin: Origin, ca_file: Path, extra: str = "") -> Config:
    """The CDT site on the test origin; ``extra`` is TOML for the ``[server]`` table onward.

    ``www.`` of the origin host is pinned too, as a site that is *not* configured, for
    open-mode tests: it reaches the same loopback origin, never the internet.
    """
    path = tmp_path / "mirror.toml"
    path.write_text(
        f"""
[server]
listen = "127.0.0.1:0"
data_dir = "data"
{extra}

[fetch]
ca_file = "{ca_file}"
connect_to = ["{origin.pin}", "www.{origin.pin}"]
timeout = 10.0

[[sites]]
name = "cdt"
title = "China Digital Times"
origin = "https://{ORIGIN_HOST}"
feeds = ["https://{ORIGIN_HOST}/feed/"]
""",
        "utf-8",
    )
    return load_config(path, environ={})


def require(program: str) -> str:
    """The path of ``program``; a missing one fails the test loudly."""
    path = shutil.which(program) or (program if Path(program).exists() else None)
    if path is None:
        raise RuntimeError(f"{program} is missing: run `make system-deps`")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A real, throwaway redis-server on loopback; yields its URL (database 0)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        require("/usr/bin/redis-server"), "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def wait_for_port(port: int) -> None:
    """Return once something accepts connections on loopback ``port`` (10 s at most)."""
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on port {port}")
