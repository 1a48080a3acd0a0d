"""The sections of the configuration about the mirror's reach beyond its own pages: what the
signed manifest says (``[publisher]``), publishers' pushes (``[push]``), the live list of
addresses (``[alternates]``), exports (``[export]``) and the e-mail responder
(``[responder]``). Split from ``sections`` only to keep each module small."""

from __future__ import annotations

from dataclasses import dataclass

from mirror.settings.checks import (
    alternates,
    countries,
    domain_patterns,
    mail_address,
    no_trailing_slash,
    onion,
    relay,
)
from mirror.settings.table import MIB, at_least, setting


@dataclass(frozen=True)
class PublisherConfig:
    """What the signed manifest says about this mirror."""

    alternates: tuple[str, ...] = setting(
        [],
        "Other addresses of this mirror, in the signed manifest and on every page.",
        parse=alternates,
    )
    manifest_days: int = setting(
        30, "Days a signed mirror manifest stays valid.", parse=at_least(1)
    )
    onion: str = setting(
        "",
        "This mirror's v3 onion name (`<56 characters>.onion`): clearnet answers carry "
        "`Onion-Location`, the manifest and every page list it.",
        parse=onion,
    )

    @property
    def onion_url(self) -> str:
        """The onion service's address as readers' links name it; empty without one."""
        return f"http://{self.onion}" if self.onion else ""


@dataclass(frozen=True)
class PushConfig:
    """Copies sent to the mirror: signed pushes by publishers, captures by contributors."""

    window_seconds: int = setting(
        300,
        "How far a push's signed timestamp may be from the mirror's clock; nonces are kept "
        "this long.",
        parse=at_least(1),
    )
    max_bytes: int = setting(
        4 * MIB, "Largest HTML a publisher may push or a contributor upload.", parse=at_least(1)
    )


@dataclass(frozen=True)
class AlternatesConfig:
    """Fresh addresses on demand, and checks that the listed ones still work."""

    ask_domains: tuple[str, ...] = setting(
        [],
        "Names (`m3.example.org`) and suffix patterns (`*.example-cdn.net`) whose certificates "
        "`/caddy/ask` approves, beside the hosts of the listed addresses.",
        parse=domain_patterns,
    )
    ask_key: str = setting(
        "",
        "Secret that `/caddy/ask` requires (`?key=`); if empty only loopback callers that no "
        "proxy forwarded may ask.",
        secret=True,
    )
    check_seconds: int = setting(
        0,
        "Seconds between checks of every listed address by `mirror serve`; 0: only "
        "`mirror alternates check`.",
        parse=at_least(0),
    )
    ooni_countries: tuple[str, ...] = setting(
        [],
        "Countries (`CN`, `IR`, `RU`) whose recent OONI measurements of each address are "
        "asked for; none if empty.",
        parse=countries,
    )
    ooni_api: str = setting(
        "https://api.ooni.io",
        "Base URL of the OONI measurements API.",
        parse=no_trailing_slash,
    )
    ooni_days: int = setting(7, "Days of OONI measurements considered.", parse=at_least(1))


@dataclass(frozen=True)
class ExportConfig:
    """How much of a site ``mirror export`` writes out."""

    depth: int = setting(
        1,
        "How many links deep `mirror export` follows a site's internal links from its feeds.",
        parse=at_least(0),
    )


@dataclass(frozen=True)
class ResponderConfig:
    """The e-mail responder (``mirror responder``): where it listens, who it is, its relay."""

    listen: str = setting("127.0.0.1:2525", "Address and port `mirror responder` receives mail on.")
    address: str = setting(
        "",
        "The responder's e-mail address: only mail to it is answered, and answers come from it.",
        parse=mail_address,
    )
    relay: str = setting(
        "smtp://127.0.0.1:25",
        "SMTP server that answers are sent through: `smtp://`, `smtp+starttls://` or "
        "`smtps://`, with `user:password@` if it asks for a login.",
        parse=relay,
        secret=True,  # may carry the relay's user name and password
    )
    per_sender_per_day: int = setting(
        3,
        "Most answers one address gets in a day, counted under an HMAC of it (never the address).",
        parse=at_least(1),
    )
