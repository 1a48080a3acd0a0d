"""Pages from templates, with autoescaping; the only place HTML for readers is made."""

from __future__ import annotations

import datetime
from functools import cache

import jinja2

from mirror.errors import MirrorError
from mirror.pipeline import Served
from mirror.settings import Site


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mirror", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_home(sites: tuple[Site, ...]) -> str:
    return environment().get_template("home.html").render(sites=sites)


def render_article(served: Served, body_html: str) -> str:
    """``body_html`` is the rewritten, sanitised body; everything else is escaped."""
    article = served.stored.article
    fetched = datetime.datetime.fromtimestamp(served.stored.fetched_at, datetime.UTC)
    return (
        environment()
        .get_template("article.html")
        .render(
            article=article,
            body=body_html,
            stale=served.stale,
            fetched=fetched.strftime("%Y-%m-%d %H:%M UTC"),
            lang=article.lang or "en",
            direction="ltr",
        )
    )


def render_error(error: MirrorError) -> str:
    return (
        environment()
        .get_template("error.html")
        .render(title=error.title, detail=error.detail, hint=error.hint)
    )
