from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from mirror.errors import ConfigError
from mirror.transform.reader.siterules import load_site_rules, packaged_rules, parse_rule

RULE = """# a comment
title: //h1
body: //div[@id='story']
body: //article
strip: //div[@class='promo']
strip_id_or_class: share
strip_image_src: pixel.gif
prune: no
single_page_link: //a[@rel='single']
test_url: https://news.example/2019/a
"""


def test_directives_are_read() -> None:
    rule = parse_rule("news.example", RULE)
    assert rule.title == ("//h1",)
    assert rule.body == ("//div[@id='story']", "//article")
    assert rule.strip == ("//div[@class='promo']",)
    assert rule.strip_id_or_class == ("share",)
    assert rule.strip_image_src == ("pixel.gif",)
    assert rule.test_url == ("https://news.example/2019/a",)
    assert rule.prune is False
    assert parse_rule("x", "body: //main").prune is True


def test_bad_xpath_is_refused_with_its_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_rule("x", "title: //h1\nbody: //div[\n")


def test_strip_removes_what_the_rule_names() -> None:
    page = lxml.html.document_fromstring(
        """<html><body><div id="story"><p>Keep</p><div class="promo">Buy</div>
        <div class="share-bar">Tweet</div><p id="o'share">Odd id</p>
        <img src="https://t.example/pixel.gif"><img src="https://i.example/photo.jpg"></div>
        </body></html>"""
    )
    removed = parse_rule("news.example", RULE).strip_from(page)
    assert removed == 4
    assert page.text_content().split() == ["Keep"]
    assert [i.get("src") for i in page.iter("img")] == ["https://i.example/photo.jpg"]


def test_rules_match_hosts_like_full_text_rss() -> None:
    rules = load_site_rules(None)
    cdt = rules.for_url("https://chinadigitaltimes.net/2018/11/x/")
    assert cdt is not None
    assert rules.for_url("https://www.chinadigitaltimes.net/x") is cdt
    assert rules.for_url("https://chinadigitaltimes.net.evil.example/x") is None
    assert rules.for_url("not a url") is None


def test_data_dir_rules_add_and_replace_packaged_ones(tmp_path: Path) -> None:
    folder = tmp_path / "site-rules"
    folder.mkdir()
    (folder / ".example.org.txt").write_text("body: //main\n", "utf-8")
    (folder / "chinadigitaltimes.net.txt").write_text("body: //div[@id='x']\n", "utf-8")
    rules = load_site_rules(tmp_path)
    wildcard = rules.for_url("https://news.example.org/a")
    assert wildcard is not None
    assert wildcard.body == ("//main",)
    assert rules.for_url("https://example.org/a") is None
    replaced = rules.for_url("https://chinadigitaltimes.net/a")
    assert replaced is not None
    assert replaced.body == ("//div[@id='x']",)


def test_broken_data_dir_rule_stops_startup(tmp_path: Path) -> None:
    (tmp_path / "site-rules").mkdir()
    (tmp_path / "site-rules" / "bad.example.txt").write_text("body: ][\n", "utf-8")
    with pytest.raises(ConfigError, match=r"bad\.example\.txt"):
        load_site_rules(tmp_path)


def test_every_packaged_rule_names_a_test_url_on_its_site() -> None:
    rules = packaged_rules()
    assert rules.rules
    for name, rule in rules.rules.items():
        assert rule.test_url, name
        for url in rule.test_url:
            assert rules.for_url(url) is rule
