"""The mirror as a user installs it: a wheel built from this tree, in a fresh venv elsewhere.

Editable installs (``make test``'s own) find every file beside the source, so they cannot
tell whether the wheel carries the stylesheet, templates, catalogs and data. Here the wheel
is built from a copy of the tree, installed into a venv outside the checkout (its
dependencies come from the package index, through pip's cache), and its ``mirror`` command
is run from an empty directory without ``PYTHONPATH``: it sees nothing but the wheel.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.conftest import ARTICLE_URL, Origin
from tests.support.operator_fixtures import operator_config
from tests.support.paths import ROOT

# Building the wheel and installing its dependencies takes a while on a busy machine.
pytestmark = [pytest.mark.timeout(900), pytest.mark.install]
SOURCES = ("pyproject.toml", "README.md", "mirror", "static")
ENV = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}


@dataclass(frozen=True)
class Installed:
    """A venv holding only the built wheel (and its dependencies)."""

    venv: Path
    wheel: Path

    @property
    def mirror(self) -> str:
        return str(self.venv / "bin" / "mirror")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _pip(python: str, *args: str, cwd: Path) -> None:
    subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        cwd=cwd,
        env=ENV,
        check=True,
        timeout=600,
    )


def build_wheel(into: Path) -> Path:
    """The wheel of a clean copy of the tree: no stale ``build/`` can slip files into it."""
    tree = into / "tree"
    tree.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(into / "dist"), ".", cwd=tree)
    (wheel,) = (into / "dist").glob("mirror-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    wheel = build_wheel(base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    _pip(python, "install", "--upgrade", "pip", cwd=base)  # the bundled one may be too old
    _pip(python, "install", str(wheel), cwd=base)
    return Installed(venv, wheel)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """Where the installed commands run: nothing of the checkout is importable from here."""
    path = tmp_path / "empty"
    path.mkdir()
    return path


async def run(installed: Installed, cwd: Path, *args: str) -> tuple[int, str, str]:
    """The installed ``mirror`` with ``args``; its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        installed.mirror, *args, cwd=cwd, env=ENV,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_the_wheel_holds_every_package_and_resource(installed: Installed) -> None:
    """``packages`` is a list in pyproject.toml: a new sub-package must be added to it."""
    held = set(zipfile.ZipFile(installed.wheel).namelist())
    inits = {p.relative_to(ROOT).as_posix() for p in (ROOT / "mirror").rglob("__init__.py")}
    assert inits <= held, inits - held
    assert {"mirror/static/mirror.css", "mirror/static/favicon.svg"} <= held
    assert "mirror/render/locale/ru/LC_MESSAGES/messages.po" in held


def test_the_venv_imports_the_wheel_not_the_checkout(installed: Installed, empty_dir: Path) -> None:
    found = subprocess.run(
        [installed.python, "-c", "import mirror, mirror.static; print(mirror.__file__)"],
        cwd=empty_dir,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(installed.venv), found
    assert not Path(found).is_relative_to(ROOT), found


async def test_installed_mirror_serves_and_exports(
    installed: Installed,
    empty_dir: Path,
    tmp_path: Path,
    origin: Origin,
    ca_file: Path,
    expected: dict[str, Any],
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    operator_config(conf, origin, ca_file, extra="plain_http = true")
    toml = str(conf / "mirror.toml")
    code, printed, err = await run(installed, empty_dir, "link", ARTICLE_URL, "--config", toml)
    assert code == 0, err
    article_path = urlsplit(printed.strip()).path
    assert article_path.startswith("/m/"), printed

    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            installed.mirror, "serve", "--config", toml, cwd=empty_dir, env=ENV,
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        base = re.search(r"http://\S+", line)
        assert base, log.read_text()
        async with aiohttp.ClientSession(base[0].rstrip("/")) as client:
            async with client.get("/static/mirror.css") as css:
                assert css.status == 200
                assert css.content_type == "text/css"
                assert await css.read() == (ROOT / "static" / "mirror.css").read_bytes()
            async with client.get(article_path) as page:
                text = await page.text()
                assert page.status == 200, text
                assert expected["title"] in text and 'href="/static/mirror.css"' in text
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)

    out = tmp_path / "export"
    args = ("export", "--site", "cdt", "--out", str(out), "--depth", "0", "--config", toml)
    code, _, err = await run(installed, empty_dir, *args)
    assert code == 0, err
    assert (out / "static" / "mirror.css").read_bytes() == (
        ROOT / "static" / "mirror.css"
    ).read_bytes()
    assert not (out / "static" / "__init__.py").exists()


async def test_installed_mirror_refuses_to_start_without_its_stylesheet(
    installed: Installed, empty_dir: Path, tmp_path: Path
) -> None:
    """A wheel built without a resource stops ``mirror serve`` at once, saying which."""
    (stylesheet,) = installed.venv.glob("lib/python3*/site-packages/mirror/static/mirror.css")
    kept = tmp_path / "mirror.css"
    shutil.move(stylesheet, kept)
    try:
        # No config file: were the check skipped, serve would stop at once on that instead.
        absent = str(tmp_path / "absent.toml")
        code, printed, err = await run(installed, empty_dir, "serve", "--config", absent)
    finally:
        shutil.move(kept, stylesheet)
    assert code == 2
    assert printed == ""
    assert err.count("\n") == 1 and "mirror.static:mirror.css" in err, err
