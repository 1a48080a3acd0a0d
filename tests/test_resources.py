"""The packaged files: each one is found, and a missing one stops the mirror in one line."""

from __future__ import annotations

import pytest

from mirror import resources
from mirror.errors import ConfigError
from tests.support.paths import ROOT


def test_every_required_resource_is_found() -> None:
    assert resources.missing() == []
    resources.check()


def test_static_files_are_the_top_level_static_folder() -> None:
    on_disk = {p.name for p in (ROOT / "static").iterdir() if p.suffix in {".css", ".svg"}}
    assert resources.static_names() == on_disk
    css = resources.static_bytes("mirror.css")
    assert css == (ROOT / "static" / "mirror.css").read_bytes()


def test_missing_files_and_packages_are_named() -> None:
    required = (
        ("mirror.static", "mirror.css"),
        ("mirror.static", "gone.css"),
        ("mirror.render", "templates/gone.html"),
        ("mirror.nowhere", "x.txt"),
    )
    assert resources.missing(required) == [
        "mirror.static:gone.css",
        "mirror.render:templates/gone.html",
        "mirror.nowhere:x.txt",
    ]


def test_check_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "REQUIRED", (*resources.REQUIRED, ("mirror.static", "gone.css")))
    with pytest.raises(ConfigError) as raised:
        resources.check()
    message = str(raised.value)
    assert "mirror.static:gone.css" in message and "\n" not in message
    assert "mirror.css" not in message  # present files are not named


def test_an_absent_static_package_has_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "STATIC", "mirror.nowhere")
    resources.static_names.cache_clear()
    try:
        assert resources.static_names() == frozenset()
    finally:
        resources.static_names.cache_clear()
