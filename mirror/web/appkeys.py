"""Typed keys for what the application holds, shared by the server and the page handlers."""

from __future__ import annotations

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses.alternates import AddressBook
from mirror.links import LinkBuilder
from mirror.pipeline import Mirror
from mirror.pool import TransformPool
from mirror.settings import Config
from mirror.share.schedule import AfterCopies
from mirror.share.sitefeeds import SiteFeeds
from mirror.web.responses import Attachment, KeptListings, Rendered, RenderedPages

CONFIG = web.AppKey("config", Config)
MIRROR = web.AppKey("mirror", Mirror)
LINKS = web.AppKey("links", LinkBuilder)
FEEDS = web.AppKey("feeds", SiteFeeds)
RENDERED = web.AppKey("rendered", RenderedPages[Rendered])
DOWNLOADS = web.AppKey("downloads", RenderedPages[Attachment])
POOL = web.AppKey("pool", TransformPool)
LISTINGS = web.AppKey("listings", KeptListings)
SIGNING_KEY = web.AppKey("signing_key", Ed25519PrivateKey)  # the manifest's; signs downloads
ADDRESSES = web.AppKey("addresses", AddressBook)
AFTER_COPIES = web.AppKey("after_copies", AfterCopies)  # publishes soon after a push or capture
