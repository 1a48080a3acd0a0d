"""One builder for the tests' TOML configuration: the CDT site on the loopback test origin.

Every test that needs a configuration file starts from the same text, so a setting the
mirror comes to require is added in one place. ``server``, ``fetch`` and ``sections`` add
lines to ``[server]``, to ``[fetch]`` and as tables of their own before the site; ``site``
adds keys to the ``[[sites]]`` table and may go on with tables after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

ORIGIN_HOST = "chinadigitaltimes.net"


def config_toml(
    pins: Sequence[str],
    ca_file: Path,
    *,
    server: str = "",
    fetch: str = "",
    sections: str = "",
    site: str = "",
    timeout: float = 10.0,
    with_feed: bool = True,
) -> str:
    """The TOML text of a mirror of the CDT site that reaches the test origin through
    ``pins`` (``connect_to`` entries) and trusts the test CA in ``ca_file``."""
    feeds = f'feeds = ["https://{ORIGIN_HOST}/feed/"]\n' if with_feed else ""
    return f"""
[server]
listen = "127.0.0.1:0"
data_dir = "data"
transform_processes = 1
{server}

[fetch]
ca_file = "{ca_file}"
connect_to = {json.dumps(list(pins))}
timeout = {timeout}
{fetch}

{sections}

[[sites]]
name = "cdt"
title = "China Digital Times"
origin = "https://{ORIGIN_HOST}"
{feeds}{site}
"""
