"""Every relayed picture decoded and made again: only its pixels reach the reader.

An origin's image file carries more than its picture: EXIF (a phone's GPS position, its
serial number, the time), XMP, comments, colour profiles, and sometimes bytes after the
image's end (a polyglot: HTML or a script that some tool may one day sniff). Relaying the
file relays all of it. Here the picture is decoded with Pillow, once, and new files are
encoded from its pixels alone, one per ``Variant`` (``transform.variants``: each width,
WebP and JPEG, full and light): orientation applied, colour converted to sRGB, at most
``images.max_width`` wide and never wider than the picture, at ``images.quality`` (or
``images.light_quality``, an animation's first frame only, for the light mode). Nothing of
the origin's file but the pixels survives.

Runs in a transform process (``mirror.pool``), never on the event loop. Decoding is where a
hostile file costs, so the limits come from settings and are checked before any pixel is
decoded: the size a header declares (``images.max_pixels``, which also sets Pillow's own
``MAX_IMAGE_PIXELS`` in place of its default), an animation's frames (``images.max_frames``:
a longer one is shown as its first frame), a colour profile's size
(``images.max_profile_bytes``). A large JPEG is decoded at the smallest scale its widest
variant needs (libjpeg's DCT scaling, ``Image.draft``). A file Pillow cannot read, or only
part of, is refused (``OriginBroken``); a picture over a limit is refused (``TooLarge``);
one that still runs past ``server.transform_timeout`` has its process replaced by the pool.
Each refusal happens before anything is stored, so nothing half-made is ever served.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from mirror.errors import OriginBroken, TooLarge
from mirror.settings import ImagesConfig
from mirror.transform.variants import Variant

# The formats Pillow may decode: the raster types ``images.raster_type`` lets through, and
# no other of Pillow's many decoders (each one more parser for a hostile file to aim at).
DECODERS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
CONTENT_TYPE = "image/webp"  # the plain file's
WEBP_METHOD = 4  # libwebp's effort (0-6): 4 is its default balance of size and time
SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Recipe:
    """How a picture is made again, from ``[images]`` settings (plain values, so a
    transform process can take them)."""

    max_width: int
    quality: int
    max_pixels: int
    max_frames: int
    max_profile_bytes: int
    light_quality: int = 40

    @classmethod
    def of(cls, images: ImagesConfig) -> Recipe:
        return cls(
            images.max_width,
            images.quality,
            images.max_pixels,
            images.max_frames,
            images.max_profile_bytes,
            images.light_quality,
        )


@dataclass(frozen=True)
class Made:
    """The files made of one picture, by ``Variant.name``, and the size they were made from
    (the picture's, or a JPEG's decoded at a scale at least as wide as every variant)."""

    width: int
    height: int
    files: dict[str, bytes]


def remade(body: bytes, recipe: Recipe) -> bytes:
    """``body`` as one new WebP file, at most ``recipe.max_width`` wide, of its pixels only."""
    plain = Variant(recipe.max_width)
    return made(body, recipe, (plain,)).files[plain.name]


def made(body: bytes, recipe: Recipe, variants: tuple[Variant, ...]) -> Made:
    """``body`` (an image file already proven raster by its bytes) decoded once and encoded
    again as every one of ``variants``; ``TooLarge`` or ``OriginBroken`` for what is refused."""
    Image.MAX_IMAGE_PIXELS = recipe.max_pixels
    widest = min(recipe.max_width, max(v.width for v in variants))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(body), formats=DECODERS) as image:
                _check(image, recipe)
                if image.format == "JPEG":
                    image.draft("RGB", (widest, widest))
                frames = _frames(image, widest, recipe)
                timing = (image.info.get("duration"), image.info.get("loop"))
                files = _files(frames, timing, recipe, variants)
                return Made(frames[0].width, frames[0].height, files)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge("The picture is too large to decode.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise OriginBroken("The picture is damaged or cut short.") from exc


def _check(image: Image.Image, recipe: Recipe) -> None:
    """Refuse before decoding: a declared size or profile over the limits."""
    width, height = image.size
    if width * height > recipe.max_pixels:
        raise TooLarge(f"The picture is {width}x{height}, over {recipe.max_pixels} pixels.")
    profile = image.info.get("icc_profile") or b""
    if len(profile) > recipe.max_profile_bytes:
        raise TooLarge("The picture's colour profile is over the limit.")


def _frames(image: Image.Image, widest: int, recipe: Recipe) -> list[Image.Image]:
    """The picture's frames, each made clean; an animation over ``max_frames`` frames (or
    whose frames together are over ``max_pixels``) is its first frame only."""
    count = 1
    if getattr(image, "is_animated", False):
        per_frame = max(1, image.size[0] * image.size[1])
        allowed = min(recipe.max_frames, recipe.max_pixels // per_frame)
        count = _frame_count(image, allowed + 1)
        if count > allowed:
            count = 1
    frames = []
    for frame in ImageSequence.Iterator(image):
        frames.append(_clean(frame, widest))
        if len(frames) == count:
            break
    return frames


def _frame_count(image: Image.Image, stop: int) -> int:
    """How many frames ``image`` has, counting no further than ``stop`` (``n_frames`` would
    read every frame of a 10,000-frame GIF first)."""
    count = 0
    try:
        while count < stop:
            image.seek(count)
            count += 1
    except EOFError:
        pass
    image.seek(0)
    return count


def _clean(frame: Image.Image, widest: int) -> Image.Image:
    """One frame as plain sRGB pixels: oriented, converted, scaled down, no metadata."""
    frame.load()
    profile = frame.info.get("icc_profile")
    oriented = ImageOps.exif_transpose(frame)
    rgb = _scaled(_in_srgb(oriented, profile), widest)
    # A new image from the pixels alone: nothing of the origin's ``info`` comes along.
    return Image.frombytes(rgb.mode, rgb.size, rgb.tobytes())


def _scaled(frame: Image.Image, width: int) -> Image.Image:
    if frame.width <= width:
        return frame
    height = max(1, round(frame.height * width / frame.width))
    return frame.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _files(
    frames: list[Image.Image],
    timing: tuple[object, object],
    recipe: Recipe,
    variants: tuple[Variant, ...],
) -> dict[str, bytes]:
    """Each variant encoded from frames scaled once per width (a JPEG, or the light mode,
    takes an animation's first frame only)."""
    scaled: dict[tuple[int, bool], list[Image.Image]] = {}
    files = {}
    for variant in variants:
        still = variant.light or variant.format == "jpeg" or len(frames) == 1
        key = (min(variant.width, frames[0].width), still)
        if key not in scaled:
            scaled[key] = [_scaled(frame, key[0]) for frame in (frames[:1] if still else frames)]
        quality = recipe.light_quality if variant.light else recipe.quality
        files[variant.name] = _encoded(scaled[key], timing, variant.format, quality)
    return files


def _in_srgb(frame: Image.Image, profile: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB, from any mode (CMYK, 16-bit, palette, grey) and profile."""
    alpha = frame.mode in {"RGBA", "LA", "PA"} or "transparency" in frame.info
    if frame.mode in {"I;16", "I;16B", "I;16L", "I"}:
        frame = frame.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    mode = "RGBA" if alpha else "RGB"
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            base = frame if frame.mode in {"RGB", "CMYK"} and not alpha else frame.convert(mode)
            return ImageCms.profileToProfile(base, source, SRGB, outputMode=mode)  # type: ignore[return-value]
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the numbers are taken as sRGB
    return frame.convert(mode)


def _encoded(
    frames: list[Image.Image], timing: tuple[object, object], fmt: str, quality: int
) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        _opaque(frames[0]).save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        return out.getvalue()
    options: dict[str, object] = {"quality": quality, "method": WEBP_METHOD}
    duration, loop = timing
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], minimize_size=False)
        if isinstance(duration, int | float):
            options["duration"] = int(duration)
        if isinstance(loop, int):
            options["loop"] = loop
    frames[0].save(out, "WEBP", **options)
    return out.getvalue()


def _opaque(frame: Image.Image) -> Image.Image:
    """A JPEG has no transparency: see-through pixels are laid on white, as a page shows them."""
    if frame.mode != "RGBA":
        return frame
    ground = Image.new("RGB", frame.size, "white")
    ground.paste(frame, mask=frame.getchannel("A"))
    return ground
