"""A real nginx (Debian's package) as a caching reverse proxy, the way a CDN edge would sit.

It runs in the foreground with everything (config, cache, temp files, pid, log) under one
temp directory and listens on a free loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import free_port, nginx

CONFIG = """
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=mirror:1m max_size=64m use_temp_path=off;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_cache mirror;
            proxy_cache_lock on;
            proxy_cache_revalidate on;
            proxy_cache_use_stale error timeout updating http_502 http_503 http_504;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


@contextmanager
def caching_proxy(directory: Path, upstream: int) -> Iterator[int]:
    """nginx with ``proxy_cache`` in front of ``127.0.0.1:upstream``; yields its port."""
    port = free_port()
    with nginx(directory, CONFIG.format(dir=directory, port=port, upstream=upstream), port):
        yield port
