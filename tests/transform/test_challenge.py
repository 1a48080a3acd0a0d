"""Bot-wall pages are told from articles by their markers, on real pages and real walls."""

from __future__ import annotations

import pytest

from mirror.transform.challenge import SCAN_BYTES, is_challenge, markers
from tests.support.paths import CDT

WALLS = {
    "cloudflare managed": b"<html><head><title>Just a moment...</title></head><body>"
    b"<script>(function(){window._cf_chl_opt={cvId:'3'};})();</script></body></html>",
    "cloudflare block": b"<!DOCTYPE html><title>Attention Required! | Cloudflare</title>",
    "ddos-guard": b"<html><head><title>DDoS-Guard</title></head></html>",
    "sucuri": b"<html><script>var sucuri_cloudproxy_js='',S='abc';</script></html>",
    "datadome": b"<html><script src='https://geo.captcha-delivery.com/captcha/'></script>",
    "anubis": b'<script id="anubis_challenge" type="application/json">{}</script>',
}


@pytest.mark.parametrize("name", sorted(WALLS))
def test_walls_are_recognised(name: str) -> None:
    assert is_challenge(WALLS[name])


def test_articles_are_not_walls() -> None:
    assert not is_challenge((CDT / "article.html").read_bytes())
    assert not is_challenge((CDT / "article-zh-gb18030.html").read_bytes())
    ordinary = b"<html><script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>"
    assert not is_challenge(ordinary + b"<p>Just a moment, said the minister.</p>")


def test_markers_come_from_the_data_file_and_are_lower_case() -> None:
    assert len(markers()) >= 8
    assert all(m == m.lower() and not m.startswith(b"#") for m in markers())


def test_only_the_head_of_a_page_is_scanned() -> None:
    assert not is_challenge(b" " * SCAN_BYTES + WALLS["sucuri"])
