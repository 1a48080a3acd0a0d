from __future__ import annotations

import pytest

from mirror.transform.anchors import anchors


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (".ad", {("class", "contains(., 'ad')")}),
        ("#top", {("id", ". = 'top'")}),
        ("[data-slot]", {("data-slot", "true()")}),
        ('[data-slot="x"]', {("data-slot", ". = 'x'")}),
        ('[DATA-Slot^="x"]', {("data-slot", "starts-with(., 'x')")}),  # names in lower case
        ('[lang|="en"]', {("lang", "starts-with(., 'en')")}),
        ('[src$=".gif"]', {("src", "contains(., '.gif')")}),
        ('[title~="ad"]', {("title", "contains(., 'ad')")}),
        ('[title="it\'s"]', {("title", '. = "it\'s"')}),
        (
            "ins.x[data-ad-client]:not(.y)",
            {("class", "contains(., 'x')"), ("data-ad-client", "true()")},
        ),
        ('div.a > span[data-b*="c"]', {("data-b", "contains(., 'c')")}),  # the subject's
        ('[lang!="fr"]', set()),  # met without the attribute
        ("p:not([lang])", set()),
        (".a, .b", set()),  # a list
        ("div:-abp-has(.x)", set()),  # not CSS that cssselect reads
    ],
)
def test_anchors_are_the_attribute_tests_every_match_passes(
    selector: str, expected: set[tuple[str, str]]
) -> None:
    assert set(anchors(selector)) == expected
