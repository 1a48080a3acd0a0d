"""Configs for the operator tests (issue 8): the CDT test origin plus extra settings."""

from __future__ import annotations

from pathlib import Path

from mirror.settings import Config, load_config
from tests.conftest import ORIGIN_HOST, Origin


def operator_config(
    tmp_path: Path, origin: Origin, ca_file: Path, extra: str = "", site: str = ""
) -> Config:
    """The CDT site on the test origin; ``extra`` is TOML for the ``[server]`` table onward,
    ``site`` more keys of the ``[[sites]]`` table, then any tables after it.

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
{site}
""",
        "utf-8",
    )
    return load_config(path, environ={})
