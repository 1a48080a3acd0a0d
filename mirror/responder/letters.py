"""Reading a mail to the responder, and writing its answer; no network, no store.

Whether to answer at all is the first question, because an answering machine that answers
machines makes mail loops: bounces (an empty envelope sender, ``MAILER-DAEMON``, a delivery
report), other auto-replies (``Auto-Submitted``, ``Precedence: bulk``, ``X-Autoreply``, RFC
3834) and mail from the responder's own address get no answer. The answer says so itself
(``Auto-Submitted: auto-replied``), and it echoes nothing of the mail it answers (not the
subject, not the text): whoever forges a sender cannot make the mirror carry their words.

The language is the one the mail asks for: a language's name or tag in the subject
("Русский", "中文", "fa"), else the mail's ``Content-Language`` or ``Accept-Language``,
else English.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid, parseaddr

from mirror.render.i18n import DEFAULT, LANGUAGES, negotiate, translations

MAX_ARTICLES = 3  # articles attached to one answer: bounds what one small mail can make us send
MAX_TEXT_CHARS = 100_000  # of each text part, searched for addresses
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list"})
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
URL_TAIL = ".,;:!?)\u00bb\u201d\u2019"  # closing punctuation, guillemet and quotes
# Words in a subject that ask for a language, most specific first ("繁體中文" holds "中文").
SUBJECT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("zh-Hant", ("zh-hant", "zh-tw", "zh-hk", "traditional", "繁體", "繁体", "正體")),
    ("zh-Hans", ("zh-hans", "zh-cn", "zh", "chinese", "中文", "简体", "汉语", "普通话")),
    ("ug", ("ug", "uyghur", "uighur", "ئۇيغۇرچە", "ئۇيغۇر")),
    ("fa", ("fa", "farsi", "persian", "فارسی", "پارسی")),
    ("ru", ("ru", "russian", "русский", "по-русски")),
    ("en", ("en", "english")),
)
ASCII_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def same_address(one: str, other: str) -> bool:
    return bool(one) and one.strip().casefold() == other.strip().casefold()


def why_not_answered(mail_from: str, message: Message, own_address: str) -> str | None:
    """``None`` when the mail gets an answer, else why not (a fixed word, fit for a log)."""
    sender = mail_from.strip().strip("<>")
    if not sender or sender.rpartition("@")[0].casefold() in BOUNCE_SENDERS:
        return "bounce"
    if message.get_content_type() == "multipart/report":
        return "bounce"
    from_header = parseaddr(str(message.get("From", "")))[1]
    if same_address(sender, own_address) or same_address(from_header, own_address):
        return "own address"
    auto_submitted = str(message.get("Auto-Submitted", "no")).split(";")[0].strip().casefold()
    precedence = str(message.get("Precedence", "")).strip().casefold()
    if auto_submitted != "no" or precedence in AUTO_PRECEDENCE or "X-Autoreply" in message:
        return "auto-reply"
    return None


def language_of(message: Message) -> str:
    """The interface language the mail asks for, by subject word, then by header."""
    subject = str(message.get("Subject", "")).casefold()
    words = set(ASCII_WORD.findall(subject))
    for tag, names in SUBJECT_WORDS:
        if any(name in words if name.isascii() else name in subject for name in names):
            return tag
    for part in (message, *_text_parts(message)):
        for header in ("Content-Language", "Accept-Language"):
            asked = negotiate(str(part.get(header, "")))
            if asked != DEFAULT:
                return asked
    return DEFAULT


def urls_in(message: Message, wanted: Callable[[str], bool]) -> tuple[str, ...]:
    """The first ``MAX_ARTICLES`` distinct addresses in the mail's text that ``wanted``."""
    found: dict[str, None] = {}
    for part in _text_parts(message):
        text = _text(part)
        if part.get_content_subtype() == "html":
            text = html.unescape(text)
        for match in URL.finditer(text):
            url = match.group().rstrip(URL_TAIL)
            if wanted(url):
                found[url] = None
            if len(found) >= MAX_ARTICLES:
                return tuple(found)
    return tuple(found)


def _text_parts(message: Message) -> Iterator[Message]:
    return (part for part in message.walk() if part.get_content_maintype() == "text")


def _text(part: Message) -> str:
    """The part's text, decoded as it declares (or as UTF-8, replacing what is not)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_TEXT_CHARS * 4].decode(charset, "replace")[:MAX_TEXT_CHARS]
    except LookupError:
        return payload[: MAX_TEXT_CHARS * 4].decode("utf-8", "replace")[:MAX_TEXT_CHARS]


@dataclass(frozen=True)
class Attached:
    """An article file for the answer: its title (said in the text) and its file."""

    title: str
    file_name: str
    data: bytes


@dataclass(frozen=True)
class Answer:
    """Everything the answer says, gathered by the service."""

    addresses: tuple[str, ...]
    manifest: bytes
    public_key: str
    sites: tuple[str, ...]
    articles: tuple[Attached, ...] = ()
    missed: int = 0


def answer_mail(answer: Answer, language: str, own_address: str, to: str) -> EmailMessage:
    """The answer as a mail from ``own_address`` to ``to``, in ``language``."""
    gettext = translations(language).gettext
    message = EmailMessage()
    message["From"] = own_address
    message["To"] = to
    message["Subject"] = gettext("Addresses of this mirror")
    message["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
    message["Message-ID"] = make_msgid(domain=own_address.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: no machine answers it
    message["X-Auto-Response-Suppress"] = "All"  # nor Exchange's out-of-office
    message.set_content(_text_of(answer, gettext))
    message.add_attachment(
        answer.manifest, maintype="application", subtype="json", filename="mirrors.json"
    )
    for article in answer.articles:
        message.add_attachment(
            article.data, maintype="text", subtype="html", filename=article.file_name
        )
    message["Content-Language"] = LANGUAGES[language].tag  # last: set_content drops Content-*
    return message


def _text_of(answer: Answer, gettext: Callable[[str], str]) -> str:
    lines = [gettext("If this address is blocked, try:"), *answer.addresses, ""]
    lines.append(
        gettext(
            "The list is signed with this mirror's key: it is attached as mirrors.json, and "
            "“mirror manifest verify” checks it against this public key:"
        )
    )
    lines += [answer.public_key, ""]
    if answer.articles:
        lines.append(
            gettext(
                "The articles you asked for are attached, each as one web page that opens "
                "without a network:"
            )
        )
        lines += [f"- {article.title}" for article in answer.articles]
        lines.append("")
    if answer.missed:
        lines += [gettext("Some articles could not be fetched now; ask again later."), ""]
    lines.append(
        gettext(
            "Send the address of an article of %(sites)s to this address to get it as a file. "
            "Write a language in the subject to get the answer in it: English, 中文, 繁體, "
            "ئۇيغۇرچە, فارسی, Русский."
        )
        % {"sites": ", ".join(answer.sites)}
    )
    return "\n".join(lines) + "\n"
