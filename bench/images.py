"""Bytes served ÷ origin bytes for re-encoded pictures, with their SSIM, against a plain
Pillow resize-and-save baseline measured in the same run.

    .venv/bin/pip install -e '.[bench]'   # scikit-image: its data module ships real photographs
    .venv/bin/python bench/images.py [--quality N]

Three sets, all made offline:

- photographs: scikit-image's bundled ``skimage/data`` (astronaut, chelsea, coffee, rocket,
  motorcycle, hubble, retina), each first saved as a phone-like JPEG at quality 92;
- screenshots: PNGs drawn here like a news site's page (a header bar, lines of text, a
  button, a photo block), 1280 x 800;
- GIFs: animations drawn here (a shape moving over a gradient, 24 frames, 480 x 270) and a
  still palette diagram.

Per set and width (360, 720): the file the article page offers at that width
(``transform.pictures.made``, full WebP at ``images.quality``) and the light mode's
(``images.light_quality``), against the baseline (Pillow ``thumbnail`` and a save in the
origin's own format: JPEG quality 85, optimised PNG, GIF: what a plain resizing proxy does),
each compared by SSIM with the origin scaled the same way (an animation by its first
frame). Then the milliseconds of CPU to make every variant of a picture at once (what the
mirror does on its first request), and AVIF (libavif in Pillow) beside WebP on the photos
at 360 px, the measurement behind leaving AVIF out.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

from mirror.settings import ImagesConfig
from mirror.transform.pictures import Recipe, made
from mirror.transform.variants import Offer, Variant

PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
)
WIDTHS = (360, 720)
WORDS = ("camp", "Xinjiang", "report", "the", "of", "detained", "families")


def photographs() -> list[bytes]:
    data = Path(skimage.__file__).parent / "data"
    return [_saved(Image.open(data / name).convert("RGB"), "JPEG", quality=92) for name in PHOTOS]


def screenshots() -> list[bytes]:
    """News-page screenshots: flat colours, text and one photo block, as PNG."""
    photo = Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB")
    shots = []
    for seed in range(4):
        rng = random.Random(seed)
        shot = Image.new("RGB", (1280, 800), "white")
        draw = ImageDraw.Draw(shot)
        draw.rectangle((0, 0, 1280, 64), fill=(20 + 40 * seed, 40, 90))
        draw.text((24, 20), "CHINA DIGITAL TIMES  news  opinion  about", fill="white")
        for line in range(34):
            words = " ".join(
                rng.choice(["camp", "Xinjiang", "report", "the", "of"]) * 1 for _ in range(14)
            )
            draw.text((24, 96 + line * 20), words, fill=(30, 30, 30))
        shot.paste(photo.resize((420, 280)), (820, 100))
        draw.rounded_rectangle((24, 760, 184, 790), radius=8, fill=(0, 102, 204))
        shots.append(_saved(shot, "PNG", optimize=True))
    return shots


def gifs() -> list[bytes]:
    """An animation (a disc crossing a gradient) and a still palette diagram."""
    ground = Image.linear_gradient("L").resize((480, 270)).convert("RGB")
    frames = []
    for step in range(24):
        frame = ground.copy()
        x = 20 + step * 18
        ImageDraw.Draw(frame).ellipse((x, 100, x + 70, 170), fill=(200, 40, 40))
        frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE))
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=60, loop=0)
    diagram = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(diagram)
    for i in range(6):
        draw.rectangle((40 + i * 95, 360 - i * 50, 110 + i * 95, 360), fill=(40 * i, 90, 160))
    return [out.getvalue(), _saved(diagram.convert("P"), "GIF")]


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def scaled(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image
    return image.resize(
        (width, round(image.height * width / image.width)), Image.Resampling.LANCZOS
    )


def ssim(a: Image.Image, b: Image.Image) -> float:
    x, y = np.asarray(a.convert("L")), np.asarray(b.convert("L").resize(a.size))
    return float(structural_similarity(x, y, data_range=255))


def baseline(body: bytes, width: int) -> bytes:
    """A plain resizing proxy: Pillow's thumbnail, saved again in the origin's format."""
    image = Image.open(io.BytesIO(body))
    fmt = image.format or "JPEG"
    image.thumbnail((width, 10 * width))
    options: dict[str, object] = {"quality": 85} if fmt == "JPEG" else {"optimize": True}
    return _saved(image, fmt, **options)


def measure(
    name: str, bodies: list[bytes], make: Callable[[bytes, int], bytes], width: int
) -> None:
    rows = []
    for body in bodies:
        reference = scaled(Image.open(io.BytesIO(body)).convert("RGB"), width)
        start = time.process_time()
        file = make(body, width)
        ms = (time.process_time() - start) * 1000
        rows.append((len(file) / len(body), ssim(reference, Image.open(io.BytesIO(file))), ms))
    print(
        f"{width}px {name:16s} bytes/origin {statistics.mean(r[0] for r in rows):.3f}  "
        f"SSIM mean {statistics.mean(r[1] for r in rows):.3f} min {min(r[1] for r in rows):.3f}  "
        f"{statistics.mean(r[2] for r in rows):.1f} ms/image/core  ({len(rows)} pictures)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    defaults = ImagesConfig()
    parser.add_argument("--quality", type=int, default=defaults.quality)
    recipe = Recipe.of(defaults)
    recipe = Recipe(**{**recipe.__dict__, "quality": parser.parse_args().quality})

    def variant(light: bool, fmt: str = "webp") -> Callable[[bytes, int], bytes]:
        def make(body: bytes, width: int) -> bytes:
            wanted = Variant(width, fmt, light)
            return made(body, recipe, (wanted,)).files[wanted.name]

        return make

    sets = {"photos": photographs(), "screenshots": screenshots(), "gifs": gifs()}
    for label, bodies in sets.items():
        print(f"-- {label}: {len(bodies)} pictures, {sum(map(len, bodies)) // 1024} KB of origin")
        for width in WIDTHS:
            measure(f"{label} served", bodies, variant(False), width)
            measure(f"{label} light", bodies, variant(True), width)
            measure(f"{label} baseline", bodies, baseline, width)
        every = Offer.of(defaults).variants()
        start = time.process_time()
        for body in bodies:
            made(body, recipe, every)
        ms = (time.process_time() - start) * 1000 / len(bodies)
        print(f"every variant ({len(every)} files) at once: {ms:.1f} ms/image/core")
    measure("photos avif q60", sets["photos"], _avif, 360)


def _avif(body: bytes, width: int) -> bytes:
    """AVIF at the quality whose SSIM matches WebP's at ``images.quality`` (speed 8)."""
    image = scaled(Image.open(io.BytesIO(body)).convert("RGB"), width)
    return _saved(image, "AVIF", quality=60, speed=8)


if __name__ == "__main__":
    main()
