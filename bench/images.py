"""Bytes served ÷ origin bytes for re-encoded pictures, with their SSIM, against a plain
Pillow resize-and-save baseline measured in the same run.

    .venv/bin/pip install scikit-image   # its data module ships real photographs
    .venv/bin/python bench/images.py [--quality N]

Photographs: scikit-image's bundled ``skimage/data`` (astronaut, chelsea, coffee, rocket,
motorcycle, hubble, retina), each first saved as a phone-like JPEG at quality 92 with EXIF
(the origin). Per width (360, 720): ``remade`` (``images.quality``) against the baseline
(Pillow ``thumbnail`` + JPEG quality 85, what a plain resizing proxy does), both compared by
SSIM with the origin scaled the same way.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
import skimage
from PIL import Image
from skimage.metrics import structural_similarity

from mirror.settings import ImagesConfig
from mirror.transform.pictures import Recipe, remade

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


def origin_jpeg(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).convert("RGB").save(out, "JPEG", quality=92)
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
    image = Image.open(io.BytesIO(body))
    image.thumbnail((width, 10 * width))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    defaults = ImagesConfig()
    parser.add_argument("--quality", type=int, default=defaults.quality)
    quality_setting = parser.parse_args().quality
    data = Path(skimage.__file__).parent / "data"
    for width in WIDTHS:
        recipe = Recipe(
            width,
            quality_setting,
            defaults.max_pixels,
            defaults.max_frames,
            defaults.max_profile_bytes,
        )
        rows: dict[str, list[tuple[float, float, float]]] = {"remade": [], "baseline": []}
        for name in PHOTOS:
            body = origin_jpeg(data / name)
            reference = scaled(Image.open(io.BytesIO(body)).convert("RGB"), width)
            for label in ("remade", "baseline"):
                start = time.process_time()
                made = remade(body, recipe) if label == "remade" else baseline(body, width)
                ms = (time.process_time() - start) * 1000
                rows[label].append(
                    (len(made) / len(body), ssim(reference, Image.open(io.BytesIO(made))), ms)
                )
        for label, values in rows.items():
            ratio = statistics.mean(v[0] for v in values)
            quality = min(v[1] for v in values)
            mean_quality = statistics.mean(v[1] for v in values)
            ms = statistics.mean(v[2] for v in values)
            print(
                f"{width}px {label:9s} bytes/origin {ratio:.3f}  "
                f"SSIM mean {mean_quality:.3f} min {quality:.3f}  "
                f"{ms:.1f} ms/image/core  ({len(values)} photos)"
            )


if __name__ == "__main__":
    main()
