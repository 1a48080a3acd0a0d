"""Pictures made again from their pixels: metadata and trailing bytes gone, limits kept."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from mirror.errors import OriginBroken, TooLarge
from mirror.transform.pictures import Recipe, remade
from tests.support.pictures import TRAILER, bomb_png, jpeg_with_secrets, many_frames_gif, photo

RECIPE = Recipe(
    max_width=720, quality=60, max_pixels=4_000_000, max_frames=50, max_profile_bytes=64 * 1024
)


def opened(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def test_metadata_and_trailing_bytes_are_gone() -> None:
    origin = jpeg_with_secrets(photo())
    assert b"secret-place" in origin and TRAILER in origin
    made = remade(origin, RECIPE)
    image = opened(made)
    assert image.format == "WEBP"
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    for secret in (b"secret-place", b"Secret Camera", b"12345", b"<html", b"Exif", b"XMP"):
        assert secret not in made


def test_wide_pictures_are_scaled_down_never_up() -> None:
    assert opened(remade(jpeg_with_secrets(photo(1600, 900)), RECIPE)).size == (720, 405)
    assert opened(remade(jpeg_with_secrets(photo(300, 200)), RECIPE)).size == (300, 200)


def test_orientation_is_applied() -> None:
    made = opened(remade(jpeg_with_secrets(photo(400, 200), orientation=6), RECIPE))
    assert made.size == (200, 400)


def test_photos_come_out_smaller() -> None:
    origin = jpeg_with_secrets(photo(1600, 1000))
    assert len(remade(origin, RECIPE)) < len(origin) / 2


def test_cmyk_with_a_profile_and_16_bit_grey_become_rgb() -> None:
    out = io.BytesIO()
    photo(300, 200).convert("CMYK").save(out, "JPEG")
    assert opened(remade(out.getvalue(), RECIPE)).mode == "RGB"
    out = io.BytesIO()
    Image.linear_gradient("L").convert("I").point(lambda v: v * 256).convert("I;16").save(
        out, "PNG"
    )
    low, high = opened(remade(out.getvalue(), RECIPE)).convert("L").getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    assert high > 200 and low < 50  # the 16-bit range scaled, not clipped to white


def test_an_srgb_profile_is_used_and_not_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    photo(300, 200).save(out, "JPEG", icc_profile=profile)
    made = opened(remade(out.getvalue(), RECIPE))
    assert "icc_profile" not in made.info


def test_a_huge_profile_is_refused() -> None:
    out = io.BytesIO()
    photo(100, 100).save(out, "JPEG", icc_profile=b"\0" * (200 * 1024))
    with pytest.raises(TooLarge):
        remade(out.getvalue(), RECIPE)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = bomb_png(50_000, 50_000)
    assert len(bomb) < 10_000
    with pytest.raises(TooLarge):
        remade(bomb, RECIPE)


def test_a_short_animation_stays_animated() -> None:
    made = opened(remade(many_frames_gif(5, 32), RECIPE))
    assert getattr(made, "n_frames", 1) == 5


def test_an_animation_of_too_many_frames_is_its_first_frame() -> None:
    made = opened(remade(many_frames_gif(10_000), RECIPE))
    assert getattr(made, "n_frames", 1) == 1


def test_truncated_and_corrupt_files_are_refused() -> None:
    whole = jpeg_with_secrets(photo(400, 300))
    for broken in (whole[: len(whole) // 3], b"\xff\xd8\xff" + b"garbage" * 100, b"GIF89a"):
        with pytest.raises(OriginBroken):
            remade(broken, RECIPE)


def test_html_or_svg_inside_is_refused() -> None:
    for body in (b"<svg onload=alert(1)>", b"\x89PNG\r\n\x1a\n<html>", b"<!doctype html>"):
        with pytest.raises(OriginBroken):
            remade(body, RECIPE)


def test_transparency_is_kept() -> None:
    image = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert opened(remade(out.getvalue(), RECIPE)).mode == "RGBA"


def test_the_pixel_limit_is_the_settings_not_pillows_default() -> None:
    bomb = bomb_png(3000, 3000)  # 9 MP: under Pillow's default limit, over this recipe's
    with pytest.raises(TooLarge):
        remade(bomb, RECIPE)
    roomy = Recipe(720, 60, 20_000_000, 50, 64 * 1024)
    with pytest.raises(OriginBroken):  # decoded as far as its few rows go, then cut short
        remade(bomb, roomy)
