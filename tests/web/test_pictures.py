"""Pictures through the running mirror: every variant made of pixels only, the reader's
picture modes, and hostile files answered for every variant while the mirror serves on."""

from __future__ import annotations

import base64
import io
import re
import time
import zipfile

import lxml.html
from PIL import Image

from mirror.links import Kind
from mirror.transform.variants import Offer
from mirror.web.article import PICTURES_PENDING_SECONDS
from mirror.web.server import CONFIG, LINKS
from tests.conftest import ARTICLE_URL, LEAD_IMAGE_PATH, Origin, RunningMirror
from tests.support.pictures import (
    SECRETS,
    bomb_png,
    jpeg_with_secrets,
    many_frames_gif,
    photo,
    pictures_made,
    serving,
)

LEAD_URL = f"https://chinadigitaltimes.net{LEAD_IMAGE_PATH}"
LEAD_ALT = "A re-education facility in Xinjiang"


def opened(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def offer_of(mirror: RunningMirror) -> Offer:
    return Offer.of(mirror.app[CONFIG].images)


async def test_every_variant_is_made_of_pixels_only(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    origin.routes[LEAD_IMAGE_PATH] = serving(jpeg_with_secrets(photo(1600, 900)))
    image = running_mirror.app[LINKS].path(LEAD_URL, Kind.IMAGE)
    variants = offer_of(running_mirror).variants()
    assert {v.format for v in variants} == {"webp", "jpeg"} and any(v.light for v in variants)
    for variant in variants:
        response, body = await running_mirror.get_bytes(f"{image}/{variant.name}")
        assert response.status == 200, variant
        assert response.content_type == variant.content_type
        assert "immutable" in response.headers["Cache-Control"]
        made = opened(body)
        assert made.format == variant.format.upper()
        assert made.width == min(variant.width, 1080)  # never wider than images.max_width
        assert abs(made.height - 900 * made.width / 1600) <= 1
        assert not made.getexif() and not {"exif", "xmp", "icc_profile", "comment"} & set(made.info)
        for secret in SECRETS:
            assert secret not in body, (variant, secret)


async def test_picture_modes_offer_widths_formats_and_what_they_cost(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    origin.routes[LEAD_IMAGE_PATH] = serving(jpeg_with_secrets(photo(1024, 576)))
    path = running_mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    image = running_mirror.app[LINKS].path(LEAD_URL, Kind.IMAGE)
    await pictures_made(running_mirror, path)
    pages = {}
    for mode in ("full", "light", "none"):
        _, html = await running_mirror.get(f"{path}?pics={mode}")
        pages[mode] = lxml.html.fromstring(html)
    full = pages["full"].xpath(f"//picture[img[starts-with(@src, '{image}/')]]")[0]
    webp = full.xpath("source[@type='image/webp']/@srcset")[0]
    # 1080 asked, 1024 made: the descriptor says what the file is; no wider file offered.
    assert webp == f"{image}/360.webp 360w, {image}/720.webp 720w, {image}/1080.webp 1024w"
    lead = full.xpath("img")[0]
    assert lead.get("srcset").endswith(f"{image}/1080.jpeg 1024w") and lead.get("sizes")
    assert (lead.get("width"), lead.get("height"), lead.get("alt")) == ("1024", "576", LEAD_ALT)
    light = pages["light"].xpath(f"//picture[img[starts-with(@src, '{image}/')]]")[0]
    assert light.xpath("source/@srcset")[0] == (
        f"{image}/360.light.webp 360w, {image}/720.light.webp 720w"
    )
    none = pages["none"]
    assert none.xpath("//div[@class='body']//img | //div[@class='body']//picture") == []
    link = none.xpath(f"//a[@class='image-request'][@href='{image}/720.light.webp']")[0]
    _, light_file = await running_mirror.get_bytes(f"{image}/720.light.webp")
    size = f"{round(len(light_file) / 1024)} KB"
    assert link.text_content() == f"Picture left out: {LEAD_ALT} ({size})"
    note = none.xpath("//p[@class='pictures-note']")[0].text_content()
    assert f"up to {size} in light mode" in note
    assert pages["light"].xpath("//p[@class='pictures-note']")
    _, russian = await running_mirror.get(f"{path}?pics=none&hl=ru")
    assert f"Картинка не загружена: {LEAD_ALT} ({size})" in russian


async def test_a_picture_that_failed_leaves_its_page_kept_as_long_as_any(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    """A rendering waiting for its pictures is kept briefly; once the picture failed (the
    origin refuses it), the page is kept for its freshness again, not re-rendered on every
    few seconds' worth of cache hits."""
    origin.routes[LEAD_IMAGE_PATH] = serving(b"<html>not a picture</html>")
    path = running_mirror.app[LINKS].path(ARTICLE_URL, Kind.PAGE)
    response, _ = await running_mirror.get(path)
    assert max_age(response.headers["Cache-Control"]) <= PICTURES_PENDING_SECONDS
    await pictures_made(running_mirror, path)
    response, html = await running_mirror.get(path)
    assert max_age(response.headers["Cache-Control"]) > PICTURES_PENDING_SECONDS
    assert "has not measured them all yet" in html


def max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    assert found is not None, cache_control
    return int(found.group(1))


async def test_an_animation_is_still_in_the_light_mode_and_in_jpeg(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    origin.routes["/wp-content/anim.gif"] = serving(many_frames_gif(12, size=64))
    url = "https://chinadigitaltimes.net/wp-content/anim.gif"
    image = running_mirror.app[LINKS].path(url, Kind.IMAGE)
    frames = {}
    for name in ("360.webp", "360.light.webp", "360.jpeg"):
        _, body = await running_mirror.get_bytes(f"{image}/{name}")
        frames[name] = getattr(opened(body), "n_frames", 1)
    assert frames == {"360.webp": 12, "360.light.webp": 1, "360.jpeg": 1}


async def test_hostile_pictures_are_refused_for_every_variant_and_the_mirror_serves_on(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    hostile = {
        "bomb.png": bomb_png(50_000, 50_000),
        "frames.gif": many_frames_gif(10_000),
        "cut.jpg": jpeg_with_secrets(photo(400, 300))[:2000],
        "inside.png": b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>",
        "secrets.jpg": jpeg_with_secrets(photo(1600, 900)),
    }
    for name, body in hostile.items():
        origin.routes[f"/wp-content/{name}"] = serving(body)
    links = running_mirror.app[LINKS]
    timeout = running_mirror.app[CONFIG].server.transform_timeout
    answers = {}
    for name in hostile:
        base = links.path(f"https://chinadigitaltimes.net/wp-content/{name}", Kind.IMAGE)
        for variant in ("", "/1080.webp", "/360.light.jpeg", "/720.jpeg"):
            started = time.monotonic()
            response, body = await running_mirror.get_bytes(base + variant)
            assert time.monotonic() - started < timeout, (name, variant)
            answers[name, variant] = (response.status, body)
    for name in ("bomb.png", "cut.jpg", "inside.png"):
        for variant in ("", "/1080.webp", "/360.light.jpeg", "/720.jpeg"):
            status, body = answers[name, variant]
            assert status == 502 and b"<script" not in body, (name, variant)
    for variant in ("", "/1080.webp", "/360.light.jpeg", "/720.jpeg"):
        status, body = answers["frames.gif", variant]
        assert status == 200 and getattr(opened(body), "n_frames", 1) == 1, variant
        status, made = answers["secrets.jpg", variant]
        assert status == 200 and all(secret not in made for secret in SECRETS), variant
    assert opened(answers["secrets.jpg", ""][1]).size == (1080, 608)
    assert opened(answers["secrets.jpg", "/360.light.jpeg"][1]).size[0] == 360
    response, html = await running_mirror.get(links.path(ARTICLE_URL, Kind.PAGE))
    assert response.status == 200 and "Xinjiang" in html


async def test_downloads_carry_the_small_files_of_pixels_only(
    running_mirror: RunningMirror, origin: Origin
) -> None:
    origin.routes[LEAD_IMAGE_PATH] = serving(jpeg_with_secrets(photo(1600, 900)))
    token = running_mirror.app[LINKS].seal(ARTICLE_URL, Kind.PAGE)
    small = offer_of(running_mirror).small
    _, page = await running_mirror.get_bytes(f"/d/{token}.html")
    inlined = [base64.b64decode(d) for d in re.findall(rb"data:image/webp;base64,([^\"']+)", page)]
    _, book = await running_mirror.get_bytes(f"/d/{token}.epub")
    archive = zipfile.ZipFile(io.BytesIO(book))
    entries = [archive.read(n) for n in archive.namelist() if n.endswith(".webp")]
    lead = [f for f in inlined + entries if opened(f).width == small.width]
    assert len(lead) == 2  # the lead picture once in each file, at the small file's width
    for file in inlined + entries:
        made = opened(file)
        assert made.format == "WEBP" and not made.getexif() and "xmp" not in made.info
        assert all(secret not in file for secret in SECRETS)
    hidden = [secret for secret in SECRETS if secret != b"<html"]  # the page is HTML
    assert all(secret not in page and secret not in book for secret in hidden)
