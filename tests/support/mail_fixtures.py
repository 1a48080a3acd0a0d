"""A real SMTP relay on loopback (aiosmtpd) that keeps what it is given, and mail to send."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Relay:
    """An SMTP server keeping every mail sent through it; ``refuse`` makes it say 554."""

    port: int = 0
    received: list[Envelope] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "554 5.7.1 Refused"
        self.received.append(envelope)
        return "250 OK"

    def mails(self) -> list[EmailMessage]:
        found = []
        for envelope in self.received:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found


@asynccontextmanager
async def running_relay() -> AsyncIterator[Relay]:
    state = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(state, hostname="relay.test", loop=loop), "127.0.0.1", 0
    )
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def mail(
    sender: str, to: str, subject: str = "hello", body: str = "", **headers: str
) -> EmailMessage:
    """A reader's mail; ``headers`` spelled with ``_`` for ``-`` (``Auto_Submitted``)."""
    message = EmailMessage()
    message["From"] = sender or "nobody@mail.example.net"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body or "Please send me the list of addresses.")
    for name, value in headers.items():  # after set_content, which drops Content-* headers
        message[name.replace("_", "-")] = value
    return message


async def send(port: int, message: EmailMessage | bytes, sender: str, to: str) -> Any:
    """Send over SMTP on loopback with ``sender`` as the envelope's (``""``: a bounce)."""
    return await aiosmtplib.send(
        message, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, start_tls=False
    )
