"""The files a picture is offered as: one per width, format and level, each its own URL.

A reader's browser picks a width through ``srcset``/``sizes`` and a format through
``<picture>``, so every file has an address of its own (``/r/<token>/720.webp``,
``/r/<token>/360.light.jpeg``) that a browser, a proxy or a CDN caches as it is: no
``Vary: Accept``. Only the names an ``Offer`` lists are made or served, so a reader cannot
make the mirror encode a picture at widths nobody configured.

WebP for every current browser, JPEG for the rest (a ``<picture>``'s ``<img>``). AVIF was
measured and left out: at the SSIM of WebP quality 75 (0.955 on the photographs at 360 px)
it saved 5 % of the bytes for twice the CPU with the libavif in Pillow, and would add a
third set of files to every picture (``bench/images.py`` prints both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirror.settings import ImagesConfig

CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
FORMATS = tuple(CONTENT_TYPES)  # in the order a <picture> offers them
LIGHT = ".light"
_NAME = re.compile(r"([1-9][0-9]{1,4})(\.light)?\.(webp|jpeg)")


@dataclass(frozen=True, order=True)
class Variant:
    """One file of a picture: at most ``width`` pixels wide, in ``format``, ``light`` at the
    light mode's quality (and an animation's first frame only)."""

    width: int
    format: str = "webp"
    light: bool = False

    @property
    def name(self) -> str:
        """Its part of the URL: ``720.webp``, ``360.light.jpeg``."""
        return f"{self.width}{LIGHT if self.light else ''}.{self.format}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @classmethod
    def parse(cls, name: str) -> Variant | None:
        match = _NAME.fullmatch(name)
        if match is None:
            return None
        return cls(int(match[1]), match[3], bool(match[2]))


@dataclass(frozen=True)
class Offer:
    """Which variants the mirror makes of each picture, from ``[images]``."""

    widths: tuple[int, ...] = (360, 720, 1080)
    light_widths: tuple[int, ...] = (360, 720)
    max_width: int = 1080

    @classmethod
    def of(cls, images: ImagesConfig) -> Offer:
        return cls(images.widths, images.light_widths, images.max_width)

    @property
    def plain(self) -> Variant:
        """What ``/r/<token>`` alone serves: the widest full WebP."""
        return Variant(self.max_width)

    @property
    def small(self) -> Variant:
        """What single-file downloads and EPUBs carry: the light mode's widest WebP."""
        return Variant(self.widths_for(True)[-1], light=True)

    def widths_for(self, light: bool) -> tuple[int, ...]:
        chosen = self.light_widths if light else self.widths
        return tuple(w for w in chosen if w <= self.max_width) or (self.max_width,)

    def variants(self) -> tuple[Variant, ...]:
        """Every file made of a picture, the plain one first."""
        made = [
            Variant(width, fmt, light)
            for light in (False, True)
            for fmt in FORMATS
            for width in self.widths_for(light)
        ]
        return tuple(dict.fromkeys([self.plain, *made]))

    def allows(self, variant: Variant) -> bool:
        return variant in self.variants()
