"""Reading mail to the responder and writing its answer, without any network."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from mirror.responder.letters import (
    MAX_ARTICLES,
    Answer,
    Attached,
    answer_mail,
    language_of,
    urls_in,
    why_not_answered,
)
from tests.support.mail_fixtures import mail

OWN = "answers@mirror.example.org"
SENDER = "reader@mail.example.net"
SITE = "https://chinadigitaltimes.net/"


def on_site(url: str) -> bool:
    return url.startswith(SITE)


@pytest.mark.parametrize(
    ("subject", "headers", "tag"),
    [
        ("Русский", {}, "ru"),
        ("please answer in russian", {}, "ru"),
        ("中文", {}, "zh-Hans"),
        ("请发繁體中文版", {}, "zh-Hant"),
        ("zh-TW please", {}, "zh-Hant"),
        ("فارسی لطفا", {}, "fa"),
        ("ئۇيغۇرچە", {}, "ug"),
        ("Uyghur", {}, "ug"),
        ("Re: fan mail", {}, "en"),  # "fa" inside a word asks for nothing
        ("hello", {"Content_Language": "ru"}, "ru"),
        ("hello", {"Accept_Language": "de, zh-HK;q=0.8"}, "zh-Hant"),
        ("hello", {"Content_Language": "de"}, "en"),
        ("English", {"Content_Language": "ru"}, "en"),
    ],
)
def test_the_language_comes_from_the_subject_then_the_headers(
    subject: str, headers: dict[str, str], tag: str
) -> None:
    assert language_of(mail(SENDER, OWN, subject, **headers)) == tag


def test_urls_of_configured_sites_are_found_in_text_and_html() -> None:
    message = mail(SENDER, OWN, body=f"see {SITE}2018/11/a/, and ({SITE}2018/11/b/).")
    message.add_alternative(
        f'<p><a href="{SITE}2018/11/c/?a=1&amp;b=2">c</a> <a href="https://other.example/">x</a>',
        subtype="html",
    )
    assert urls_in(message, on_site) == (
        f"{SITE}2018/11/a/",
        f"{SITE}2018/11/b/",
        f"{SITE}2018/11/c/?a=1&b=2",
    )


def test_at_most_a_few_articles_are_taken_from_one_mail() -> None:
    body = " ".join(f"{SITE}2018/11/{n}/" for n in range(20))
    assert len(urls_in(mail(SENDER, OWN, body=body), on_site)) == MAX_ARTICLES


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        (SENDER, {}, None),
        (SENDER, {"Auto_Submitted": "no"}, None),
        ("", {}, "bounce"),
        ("<>", {}, "bounce"),
        ("postmaster@mail.example.net", {}, "bounce"),
        ("ANSWERS@mirror.example.org", {}, "own address"),
        (SENDER, {"Auto_Submitted": "auto-generated"}, "auto-reply"),
        (SENDER, {"Precedence": "Junk"}, "auto-reply"),
        (SENDER, {"X_Autoreply": "yes"}, "auto-reply"),
    ],
)
def test_what_gets_no_answer(sender: str, headers: dict[str, str], reason: str | None) -> None:
    assert why_not_answered(sender, mail(sender, OWN, **headers), OWN) == reason


def test_the_answer_says_nothing_of_the_mail_it_answers() -> None:
    answer = Answer(
        addresses=("https://mirror.example.org",),
        manifest=b'{"manifest":{}}\n',
        public_key="KEY",
        sites=("China Digital Times",),
        articles=(Attached("A title", "A title.html", b"<html></html>"),),
        missed=1,
    )
    written = answer_mail(answer, "zh-Hans", OWN, SENDER)
    parsed = message_from_bytes(written.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Content-Language"] == "zh-Hans"
    assert parsed["Subject"] == "本镜像的地址"
    body = parsed.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "https://mirror.example.org" in text and "KEY" in text and "A title" in text
    assert "China Digital Times" in text
    names = [part.get_filename() for part in parsed.iter_attachments()]
    assert names == ["mirrors.json", "A title.html"]
