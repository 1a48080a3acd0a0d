"""The responder's SMTP server (aiosmtpd) and its relay client (aiosmtplib).

It accepts mail for ``responder.address`` only (any other recipient is refused at ``RCPT``,
so it never relays), reads it, and answers through ``responder.relay`` before it says
``250`` to the sender: an answer that the relay refuses is a ``451``, and the sender's server
tries again later. Articles come through the mirror's own pipeline (``Mirror.page``: the
store first, the origin only when needed), as the same single-file HTML as ``/d/``.

What it keeps and says: nothing of a mail is stored, and its log lines name only what was
done ("answered, 1 article", "not answered: bounce"). aiosmtpd itself logs every command,
senders and recipients included, so its logger is switched off while the responder runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from mirror.addresses import manifest
from mirror.addresses.alternates import address_book, all_addresses
from mirror.errors import MirrorError, described
from mirror.keys import load_cache_key, load_token_ring
from mirror.links import Kind, LinkBuilder
from mirror.pipeline import Mirror
from mirror.render.html import Reader
from mirror.render.i18n import LANGUAGES
from mirror.resources import static_bytes
from mirror.responder.letters import (
    Answer,
    Attached,
    answer_mail,
    language_of,
    same_address,
    urls_in,
    why_not_answered,
)
from mirror.responder.quota import DailyQuota
from mirror.settings import RELAY_SCHEMES, Config, host_and_port, public_url
from mirror.share.download import Download, download_images, file_name, single_file
from mirror.share.feeds import FeedLinks
from mirror.web.readers import MANIFEST_PATH

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 1024 * 1024  # a request for articles is a few lines; refuse more at DATA
RELAY_TIMEOUT = 60.0
AIOSMTPD_LOGGER = "mail.log"


class Responder:
    """The aiosmtpd handler: refuses other recipients, answers what deserves an answer."""

    def __init__(self, config: Config, mirror: Mirror) -> None:
        data_dir = config.server.data_dir
        self._config = config
        self._own = config.responder.address
        self._mirror = mirror
        self._links = LinkBuilder(load_token_ring(data_dir, config.server.token_key))
        self._signing_key = manifest.load_signing_key(data_dir)
        self._book = address_book(config)
        self._quota = DailyQuota(load_cache_key(data_dir), config.responder.per_sender_per_day)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not same_address(address, self._own):
            return "550 5.7.1 This server takes mail for its own address only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        try:
            return await self.respond(envelope.mail_from or "", content)
        except Exception as exc:
            log.error("responder: internal error: %s", described(exc))
            return "451 4.3.0 Try again later"

    async def respond(self, mail_from: str, content: bytes) -> str:
        """Answer one mail if it deserves it; the SMTP reply to its sender."""
        message = message_from_bytes(content, policy=policy.default)
        reason = why_not_answered(mail_from, message, self._own)
        if reason is not None:
            log.info("responder: not answered: %s", reason)
            return "250 OK"
        sender = mail_from.strip().strip("<>")
        if not self._quota.take(sender):
            log.info("responder: not answered: over the daily limit")
            return "250 OK"
        sent = False
        try:
            language = language_of(message)
            urls = urls_in(message, lambda url: self._config.site_for(url) is not None)
            answer = await self._answer(urls, language)
            await self._send(answer_mail(answer, language, self._own, sender), sender)
            sent = True
        except aiosmtplib.SMTPException as exc:
            log.warning("responder: the relay refused the answer: %s", type(exc).__name__)
            return "451 4.3.0 Try again later"
        finally:
            if not sent:  # the sender's server tries again later, and that try may be answered
                self._quota.give_back(sender)
        log.info(
            "responder: answered, %d article(s), %d missed", len(answer.articles), answer.missed
        )
        return "250 OK"

    async def _answer(self, urls: tuple[str, ...], language: str) -> Answer:
        articles = []
        for url in urls:
            try:
                articles.append(await self._article(url, language))
            except MirrorError:
                continue
        key = self._signing_key
        addresses = all_addresses(self._config, self._book)
        return Answer(
            addresses=tuple(addresses),
            manifest=manifest.sign(key, addresses, self._config.publisher.manifest_days),
            public_key=manifest.public_key_text(key),
            sites=tuple(site.display_name for site in self._config.sites),
            articles=tuple(articles),
            missed=len(urls) - len(articles),
        )

    async def _article(self, url: str, language: str) -> Attached:
        """The article as the single-file HTML of ``/d/``; its link to read it online is a
        share link made for this answer alone (``LinkBuilder.seal_fresh``)."""
        served = await self._mirror.page(url)
        stored = served.stored
        base = public_url(self._config)
        site = self._config.site_for(url)
        details = Download(
            stored=stored,
            share_url=f"{base}/{Kind.PAGE.value}/{self._links.seal_fresh(url, Kind.PAGE)}",
            manifest_url=f"{base}{MANIFEST_PATH}",
            key=self._signing_key,
            site_name=site.display_name if site else stored.article.site_name,
        )
        budget = self._config.reader.download_image_bytes
        images = await download_images(stored.article, self._mirror.pictures.small_file, budget)
        href_for = FeedLinks(base, self._links, self._mirror.is_mirrored).page
        reader = Reader(LANGUAGES[language], "full")
        css = static_bytes("mirror.css").decode("utf-8")
        page = single_file(reader, details, stored.article.body, images, css, href_for)
        title = stored.article.title
        return Attached(title, file_name(title, "html"), page)

    async def _send(self, message: EmailMessage, to: str) -> None:
        relay = urlsplit(self._config.responder.relay)
        await aiosmtplib.send(
            message,
            sender=self._own,
            recipients=[to],
            hostname=relay.hostname,
            port=relay.port or RELAY_SCHEMES[relay.scheme],
            username=unquote(relay.username) if relay.username else None,
            password=unquote(relay.password) if relay.password else None,
            use_tls=relay.scheme == "smtps",
            start_tls=relay.scheme == "smtp+starttls",
            timeout=RELAY_TIMEOUT,
        )


@asynccontextmanager
async def listening(config: Config, mirror: Mirror) -> AsyncIterator[asyncio.Server]:
    """The responder accepting mail at ``responder.listen`` while the context lasts."""
    smtp_log = logging.getLogger(AIOSMTPD_LOGGER)
    was_disabled, smtp_log.disabled = smtp_log.disabled, True
    responder = Responder(config, mirror)
    loop = asyncio.get_running_loop()
    domain = config.responder.address.rpartition("@")[2]
    server = await loop.create_server(
        lambda: SMTP(
            responder,
            hostname=domain,
            ident="mirror responder",
            data_size_limit=MAX_MAIL_BYTES,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        *host_and_port(config.responder.listen),
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
        smtp_log.disabled = was_disabled
