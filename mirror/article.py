"""The article as the pipeline hands it from stage to stage and stores it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeadImage:
    """The picture that heads the article (absolute URLs, as the origin gave them)."""

    src: str
    srcset: str = ""
    alt: str = ""


@dataclass(frozen=True)
class Article:
    """A reader-mode article. ``body`` is HTML with absolute URLs to the origin.

    Mirror URLs never appear here: they are made at render time, so rotating token keys
    or moving the mirror never invalidates what is stored. ``extracted_by`` says which site
    rule or heuristic chose the body; ``full_page`` is set when extraction kept too little and
    the whole (sanitised) page is served instead, so the reader is told and metrics can count it.
    """

    url: str
    title: str
    body: str
    byline: str = ""
    published: str = ""
    lang: str = ""
    direction: str = "ltr"
    lead_image: LeadImage | None = None
    site_name: str = ""
    extracted_by: str = ""
    full_page: bool = False
