"""Every relayed picture decoded and made again: only its pixels reach the reader.

An origin's image file carries more than its picture: EXIF (a phone's GPS position, its
serial number, the time), XMP, comments, colour profiles, and sometimes bytes after the
image's end (a polyglot: HTML or a script that some tool may one day sniff). Relaying the
file relays all of it. Here the picture is decoded with Pillow and a new file is encoded
from its pixels alone: WebP (every current browser shows it), orientation applied, colour
converted to sRGB, at most ``images.max_width`` wide (never made wider), at
``images.quality``. Nothing of the origin's file but the pixels survives.

Runs in a transform process (``mirror.pool``), never on the event loop. Decoding is where a
hostile file costs, so the limits come from settings and are checked before any pixel is
decoded: the size a header declares (``images.max_pixels``, which also sets Pillow's own
``MAX_IMAGE_PIXELS`` in place of its default), an animation's frames (``images.max_frames``:
a longer one is shown as its first frame), a colour profile's size
(``images.max_profile_bytes``). A file Pillow cannot read, or only part of, is refused
(``OriginBroken``); a picture over a limit is refused (``TooLarge``); one that still runs
past ``server.transform_timeout`` has its process replaced by the pool. Each refusal
happens before anything is stored, so nothing half-made is ever served.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from mirror.errors import OriginBroken, TooLarge

# The formats Pillow may decode: the raster types ``images.raster_type`` lets through, and
# no other of Pillow's many decoders (each one more parser for a hostile file to aim at).
DECODERS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
CONTENT_TYPE = "image/webp"
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


def remade(body: bytes, recipe: Recipe) -> bytes:
    """``body`` (an image file already proven raster by its bytes) as a new WebP file made
    of its pixels only; ``TooLarge`` or ``OriginBroken`` for what is refused."""
    Image.MAX_IMAGE_PIXELS = recipe.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(body), formats=DECODERS) as image:
                _check(image, recipe)
                frames = _frames(image, recipe)
                return _encoded(frames, image.info.get("duration"), image.info.get("loop"), recipe)
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


def _frames(image: Image.Image, recipe: Recipe) -> list[Image.Image]:
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
        frames.append(_clean(frame, recipe))
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


def _clean(frame: Image.Image, recipe: Recipe) -> Image.Image:
    """One frame as plain sRGB pixels: oriented, converted, scaled down, no metadata."""
    frame.load()
    profile = frame.info.get("icc_profile")
    oriented = ImageOps.exif_transpose(frame)
    rgb = _in_srgb(oriented, profile)
    if rgb.width > recipe.max_width:
        height = max(1, round(rgb.height * recipe.max_width / rgb.width))
        rgb = rgb.resize((recipe.max_width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    # A new image from the pixels alone: nothing of the origin's ``info`` comes along.
    return Image.frombytes(rgb.mode, rgb.size, rgb.tobytes())


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


def _encoded(frames: list[Image.Image], duration: object, loop: object, recipe: Recipe) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"quality": recipe.quality, "method": WEBP_METHOD}
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], minimize_size=False)
        if isinstance(duration, int | float):
            options["duration"] = int(duration)
        if isinstance(loop, int):
            options["loop"] = loop
    frames[0].save(out, "WEBP", **options)
    return out.getvalue()
