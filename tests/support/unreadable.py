"""Pages the mirror cannot read, made so through its real seams, not by patching it.

Reader mode is made to raise by a site rule in the data dir, as an operator could write one:
its second ``body:`` XPath has a namespace prefix, which compiles (so the rule loads) but
fails when evaluated, and it is evaluated only on a page the first one finds nothing in
(``UNRULY_PAGE``, which has no ``<article>``); the CDT article still reads.
``BROKEN_LINK_PAGE`` links to a broken IPv6 address, which ``urlsplit`` refuses: it once made
the whole page unreadable, and now must read with that one link dropped.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.configs import ORIGIN_HOST

FAILING_RULE = "body: //article\nbody: //og:body\n"
PROSE = b"<p>A paragraph of the story, long enough to be kept as its prose.</p>" * 6
UNRULY_PAGE = (
    b"<html><head><title>A story</title></head><body><div id='story'><h1>A story</h1>"
    + PROSE
    + b"</div></body></html>"
)
BROKEN_LINK_PAGE = (
    b"<html><head><title>A story</title></head><body><article><h1>A story</h1>"
    + PROSE
    + b'<p>See <a href="http://[::1/notes">the notes</a>.</p></article></body></html>'
)


def break_reader_mode(data_dir: Path, host: str = ORIGIN_HOST) -> None:
    """From the next start of a mirror on ``data_dir``, reader mode raises on ``host``'s
    pages that have no ``<article>``."""
    folder = data_dir / "site-rules"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{host}.txt").write_text(FAILING_RULE, "utf-8")
