"""Pages the mirror cannot read, made so through its real seams, not by patching it.

Reader mode is made to raise by a site rule in the data dir, as an operator would write
one: an XPath with a namespace prefix compiles (so the rule loads) but fails when evaluated.
A hostile page raises on its own: a link to a broken IPv6 address, which ``urlsplit``
refuses while the body's links are cleaned.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.configs import ORIGIN_HOST

FAILING_RULE = "body: //article | //og:body\n"
BROKEN_LINK_PAGE = (
    b"<html><head><title>A story</title></head><body><article><h1>A story</h1>"
    + b"<p>A paragraph of the story, long enough to be kept as its prose.</p>" * 6
    + b'<p>See <a href="http://[::1/notes">the notes</a>.</p></article></body></html>'
)


def break_reader_mode(data_dir: Path, host: str = ORIGIN_HOST) -> None:
    """From the next start of the mirror on ``data_dir``, reader mode raises on ``host``."""
    folder = data_dir / "site-rules"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{host}.txt").write_text(FAILING_RULE, "utf-8")
