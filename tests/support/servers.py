"""Real servers of our own on loopback, for the tests and the benchmarks alike.

Redis and nginx are Debian's packages, never mocks; each runs on a free loopback port,
with its files under a directory it is given, and is stopped afterwards. Benchmarks import
this module too (they put the repository root on their path: ``bench/repo_root.py``), so a
free port or an nginx start-up is written once.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.tiers import refuse_in_fast_tier

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
NGINX = "/usr/sbin/nginx"


def require(program: str) -> str:
    """The path of ``program``; a missing one fails loudly, naming the fix."""
    refuse_in_fast_tier("daemons", program)
    path = shutil.which(program) or (program if Path(program).exists() else None)
    if path is None:
        raise RuntimeError(f"{program} is missing: run `make system-deps`")
    return path


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Return once something accepts connections on loopback ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class RedisServer:
    """A redis-server process of our own; ``stop``/``start`` keep the port."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [require(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def dump(self) -> bytes:
        """What a seized Redis would hand over: ``SAVE`` and read the RDB file."""
        save = [require(REDIS_CLI), "-p", str(self.port), "SAVE"]
        subprocess.run(save, check=True, capture_output=True)
        return (self.directory / "dump.rdb").read_bytes()


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A started ``RedisServer`` keeping its files in ``directory``; stopped on exit."""
    server = RedisServer(directory, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def nginx(directory: Path, config: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground with ``config`` (a whole nginx.conf, without ``daemon``),
    prefix and logs in ``directory``; yields the process once ``port`` accepts connections.
    If it does not start, its logs are the error."""
    conf = directory / "nginx.conf"
    conf.write_text(config)
    command = [require(NGINX), "-p", f"{directory}/", "-c", str(conf),
               "-e", str(directory / "error.log"), "-g", "daemon off;"]  # fmt: skip
    with (directory / "stdout.log").open("wb") as output:
        process = subprocess.Popen(command, stderr=subprocess.STDOUT, stdout=output)
    try:
        try:
            wait_for_port(port)
        except TimeoutError as exc:
            logs = [directory / "stdout.log", directory / "error.log"]
            text = "".join(p.read_text() for p in logs if p.exists())
            raise RuntimeError(f"nginx did not start: {text}") from exc
        yield process
    finally:
        process.terminate()
        process.wait(10)


CADDY = "/usr/bin/caddy"


@contextmanager
def caddy(
    directory: Path, caddyfile: str, port: int, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Caddy in the foreground with ``caddyfile`` and the environment ``env`` (its home and
    data under ``directory``); yields the process once ``port`` accepts connections. If it
    does not start, its log is the error."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Caddyfile").write_text(caddyfile)
    command = [require(CADDY), "run", "--config", str(directory / "Caddyfile"),
               "--adapter", "caddyfile"]  # fmt: skip
    home = {"HOME": str(directory), "XDG_DATA_HOME": str(directory),
            "XDG_CONFIG_HOME": str(directory), "PATH": "/usr/bin:/bin"}  # fmt: skip
    with (directory / "caddy.log").open("wb") as output:
        process = subprocess.Popen(
            command, stderr=subprocess.STDOUT, stdout=output, env={**home, **env}
        )
    try:
        try:
            wait_for_port(port)
        except TimeoutError as exc:
            raise RuntimeError(
                f"caddy did not start: {(directory / 'caddy.log').read_text()}"
            ) from exc
        yield process
    finally:
        process.terminate()
        process.wait(10)
