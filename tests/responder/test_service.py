"""The responder over real SMTP on loopback: the test sends the mail and is the relay too."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from mirror.addresses import manifest
from mirror.pipeline import Mirror
from mirror.render.i18n import LANGUAGES, translations
from mirror.responder.service import listening
from mirror.settings import Config, ResponderConfig
from tests.conftest import ARTICLE_PATH, ARTICLE_URL, Origin
from tests.share.test_download import external_references
from tests.support.browser import launch, new_context, visit
from tests.support.mail_fixtures import Relay, running_relay
from tests.support.mail_fixtures import mail as reader_mail
from tests.support.mail_fixtures import send as send_mail

OWN = "answers@mirror.example.org"
SENDER = "reader@mail.example.net"
OTHER = "friend@post.example.com"
ADDRESSES = ("https://mirror.example.org", "https://mirror-two.example.net")
BLOCKED_LINE = "If this address is blocked, try:"


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    async with running_relay() as state:
        yield state


def responder_config(config: Config, relay_port: int, per_day: int = 2) -> Config:
    return replace(
        config,
        server=replace(config.server, public_url=ADDRESSES[0]),
        publisher=replace(config.publisher, alternates=ADDRESSES[1:]),
        responder=ResponderConfig(
            listen="127.0.0.1:0",
            address=OWN,
            relay=f"smtp://127.0.0.1:{relay_port}",
            per_sender_per_day=per_day,
        ),
    )


@pytest.fixture
async def responder(config: Config, relay: Relay, mirror_service: Mirror) -> AsyncIterator[int]:
    """The responder's port, answering through ``relay``."""
    async with listening(responder_config(config, relay.port), mirror_service) as server:
        yield server.sockets[0].getsockname()[1]


def mail(
    sender: str = SENDER, subject: str = "hello", body: str = "", **headers: str
) -> EmailMessage:
    return reader_mail(sender, OWN, subject, body, **headers)


async def send(
    port: int, message: EmailMessage | bytes, sender: str = SENDER, to: str = OWN
) -> None:
    await send_mail(port, message, sender, to)


def text_of(answer: EmailMessage) -> str:
    body = answer.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


async def test_an_article_url_gets_one_answer_with_the_addresses_and_the_article(
    responder: int, relay: Relay, origin: Origin, config: Config, tmp_path: Path
) -> None:
    body = (
        f"Hello, could you send me this one?\n\n<{ARTICLE_URL}>.\nAnd https://elsewhere.example/x"
    )
    await send(responder, mail(body=body))
    [answer] = relay.mails()
    assert relay.received[0].rcpt_tos == [SENDER]
    assert answer["To"] == SENDER and answer["From"] == OWN
    assert answer["Auto-Submitted"] == "auto-replied"
    text = text_of(answer)
    for address in ADDRESSES:
        assert address in text
    assert "Western Countries Turn Up the Heat on Xinjiang" in text
    files = {part.get_filename(): part for part in answer.iter_attachments()}
    assert set(files) == {"mirrors.json", "Western Countries Turn Up the Heat on Xinjiang.html"}
    signed = files["mirrors.json"].get_content()
    trusted = manifest.load_signing_key(config.server.data_dir).public_key()
    assert manifest.verify(signed, trusted).mirrors == ADDRESSES
    assert manifest.public_key_text(trusted) in text
    page = files["Western Countries Turn Up the Heat on Xinjiang.html"].get_content()
    assert external_references(page) == []
    assert origin.hits[ARTICLE_PATH] == 1  # through the pipeline, fetched once
    saved = tmp_path / "attached.html"
    saved.write_text(page, "utf-8")
    async with launch() as browser, new_context(browser, offline=True) as context:
        opened = await visit(context, saved.as_uri(), "load")
        assert "Western Countries Turn Up the Heat" in await opened.page.inner_text("body")
        widths = await opened.page.locator("img").evaluate_all(
            "all => all.map(i => i.complete && i.naturalWidth)"
        )
        assert widths and all(widths), widths
        assert {url.split(":", 1)[0] for url in opened.requests} <= {"file", "data"}


@pytest.mark.parametrize(
    ("headers", "tag"),
    [
        ({"subject": "Русский, пожалуйста"}, "ru"),
        ({"subject": "请用中文回复"}, "zh-Hans"),
        ({"subject": "繁體中文"}, "zh-Hant"),
        ({"Content_Language": "fa"}, "fa"),
        ({"Accept_Language": "ug, en;q=0.5"}, "ug"),
        ({"subject": "addresses"}, "en"),
    ],
)
async def test_the_answer_is_in_the_language_the_mail_asks_for(
    responder: int, relay: Relay, headers: dict[str, str], tag: str
) -> None:
    await send(responder, mail(**headers))
    [answer] = relay.mails()
    assert answer["Content-Language"] == tag
    translated = translations(tag).gettext(BLOCKED_LINE)
    assert (translated == BLOCKED_LINE) == (tag == "en")
    assert translated in text_of(answer)
    assert answer["Subject"] == translations(tag).gettext("Addresses of this mirror")
    assert tag in LANGUAGES


async def test_each_sender_gets_at_most_the_daily_number_of_answers(
    responder: int, relay: Relay
) -> None:
    for sender in (SENDER, SENDER.upper(), SENDER, OTHER):
        await send(responder, mail(sender), sender=sender)
    assert [envelope.rcpt_tos for envelope in relay.received] == [
        [SENDER],
        [SENDER.upper()],
        [OTHER],
    ]


def report() -> bytes:
    return (
        b"From: Mail Delivery System <robot@mail.example.net>\r\nTo: " + OWN.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n"
    )


@pytest.mark.parametrize(
    ("message", "sender"),
    [
        (mail(""), ""),
        (mail("MAILER-DAEMON@mail.example.net"), "MAILER-DAEMON@mail.example.net"),
        (report(), "robot@mail.example.net"),
        (mail(OWN), OWN),
        (mail(OWN), SENDER),
        (mail(Auto_Submitted="auto-replied"), SENDER),
        (mail(Precedence="bulk"), SENDER),
        (mail(Precedence="list"), SENDER),
        (mail(X_Autoreply="yes"), SENDER),
    ],
    ids=[
        "empty-sender", "mailer-daemon", "report", "own-envelope", "own-from",
        "auto-submitted", "precedence-bulk", "precedence-list", "x-autoreply",
    ],
)  # fmt: skip
async def test_bounces_auto_replies_and_our_own_mail_get_no_answer(
    responder: int, relay: Relay, message: EmailMessage | bytes, sender: str
) -> None:
    await send(responder, message, sender=sender)
    assert relay.received == []
    await send(responder, mail())  # the same responder answers a reader
    assert len(relay.received) == 1


async def test_mail_for_any_other_address_is_refused(responder: int, relay: Relay) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(responder, mail(), to="someone@elsewhere.example")
    assert relay.received == []


async def test_an_answer_the_relay_refuses_is_a_try_again_later(
    responder: int, relay: Relay
) -> None:
    relay.refuse = True
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send(responder, mail())
    assert refused.value.code == 451
    relay.refuse = False
    for _ in range(2):  # the refused answer did not count against the sender's two
        await send(responder, mail())
    assert len(relay.received) == 2


async def test_the_logs_hold_no_sender_address_and_no_subject(
    responder: int, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    subject = "Quiet subject 4711"
    for _ in range(3):  # two answers, then over the limit
        await send(responder, mail(subject=subject, body=f"please {ARTICLE_URL}"))
    await send(responder, mail("", subject=subject), sender="")
    assert len(relay.received) == 2
    said = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert "responder: answered, 1 article(s)" in said
    assert "over the daily limit" in said and "bounce" in said
    for secret in (SENDER, "mail.example.net", "4711", "Quiet subject", OWN):
        assert secret not in said
