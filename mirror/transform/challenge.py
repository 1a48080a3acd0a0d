"""Bot walls: the page a CDN or an anti-bot service sends instead of the article.

Such a page (often with status 200) asks the browser to run a script or solve a puzzle;
processed as an article it would be stored and served as the site's copy, replacing the real
one. The markers that give one away are data (``data/challenge-markers.txt``, each service
named with its source); finding one means the origin refused the mirror.
"""

from __future__ import annotations

from functools import cache

from mirror.resources import packaged

MARKERS_FILE = "data/challenge-markers.txt"
SCAN_BYTES = 256 * 1024  # markers sit in the head and the first script; pages are small


@cache
def markers() -> tuple[bytes, ...]:
    text = packaged("mirror.transform", MARKERS_FILE).read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line.lower().encode("utf-8") for line in lines if line and line[0] != "#")


def is_challenge(body: bytes) -> bool:
    """Whether ``body`` is a bot wall's page rather than the site's own."""
    head = body[:SCAN_BYTES].lower()
    return any(marker in head for marker in markers())
