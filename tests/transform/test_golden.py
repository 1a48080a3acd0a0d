"""Golden pairs for the transforms: origin page → the mirror's output for its whole body.

Inputs are the CDT fixture and benchmark pages, read from ``paths.bench_data()`` when a test
runs (never copied here); the expected outputs in ``tests/golden/`` are ours. The whole
``<body>`` goes through every stage but extraction (which issue-specific extractors may
change): promote lazy images, absolutize, strip the page with the built-in rules, strip the
body, sanitise, rewrite with a fixed token key. After an intended change, regenerate with
``MIRROR_UPDATE_GOLDEN=1 pytest tests/transform/test_golden.py`` and read the diff.
"""

from __future__ import annotations

import json
import os

import pytest
from lxml.html import HtmlElement

from mirror.fetch.decode import decode_html
from mirror.keys import KeyRing
from mirror.links import Kind, LinkBuilder
from mirror.transform.filters import SiteStripRules, StripRules, default_rules
from mirror.transform.page import clean_body, prepare_page
from mirror.transform.rewrite import rewrite_body
from mirror.transform.sanitise import sanitise
from tests.conftest import ARTICLE_URL
from tests.support import paths
from tests.support.paths import CDT

GOLDEN = paths.GOLDEN
REAL_PAGES = {
    "panarmenian": "d90bda7ed14d",
    "mspoweruser": "aade2ec8d1e7",
    "timesunion": "d0382c0d9573",
    "paradigm": "0dd135704572",
    "autoracing": "11ea381ad92b",
}


class ReadableLinks(LinkBuilder):
    """Mirror paths that show their target, so a golden file can be read and reviewed."""

    def path(self, url: str, kind: Kind) -> str:
        return f"/{kind.value}/{url}"


KEYS = KeyRing.of([bytes(range(64))])
# What an operator would configure for CDT (``sites.remove``): the sidebar and the popup,
# which reader mode drops anyway but a whole-page transform keeps.
RULES = StripRules(
    default_rules().engine,
    {"chinadigitaltimes.net": SiteStripRules(remove=("aside#secondary", ".cdt-popup"))},
)


def source(name: str) -> tuple[bytes, str]:
    """The named input page and its URL: the CDT fixture, or a benchmark page."""
    if name == "cdt":
        return (CDT / "article.html").read_bytes(), ARTICLE_URL
    bench = paths.bench_data()
    (path,) = (bench / "pages").glob(f"{REAL_PAGES[name]}*.html")
    truth = json.loads((bench / "ground-truth.json").read_text("utf-8"))
    return path.read_bytes(), truth[path.stem]["url"]


def transform(raw: bytes, url: str, links: LinkBuilder) -> tuple[str, str]:
    """The sanitised body, and the body as served (rewritten)."""
    page, base = prepare_page(decode_html(raw, None), url, RULES)
    body = page.find("body")
    assert isinstance(body, HtmlElement)
    same_site = url.split("/")[2]
    clean = clean_body(body, url, base, RULES)
    return clean, rewrite_body(clean, links, lambda u: u.split("/")[2:3] == [same_site])


@pytest.mark.parametrize("name", ["cdt", *REAL_PAGES])
def test_golden(name: str) -> None:
    clean, output = transform(*source(name), ReadableLinks(KEYS))
    golden = GOLDEN / f"{name}.html"
    if os.environ.get("MIRROR_UPDATE_GOLDEN"):
        golden.write_text(output, "utf-8")
    assert output == golden.read_text("utf-8")
    assert sanitise(clean) == clean


def test_cdt_golden_meets_the_expectations() -> None:
    expected = json.loads((CDT / "expected.json").read_text("utf-8"))
    _, output = transform((CDT / "article.html").read_bytes(), ARTICLE_URL, LinkBuilder(KEYS))
    for junk in expected["must_not_contain_text"]:
        assert junk not in output, junk
    for host in expected["third_party_hosts_never_contacted_by_reader"]:
        assert f"{host}/" not in output.replace(f'href="https://{host}/', "")
    for param in expected["tracking_params_removed_everywhere"]:
        assert param not in output
