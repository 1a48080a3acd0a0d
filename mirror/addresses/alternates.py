"""The live list of this mirror's other addresses, and what the last check found of each.

An address is blocked sooner or later, so the list must change while the mirror runs:
``mirror alternates add|remove`` edits ``alternates.json`` in the data dir, ``mirror
alternates check`` (or ``serve``'s periodic check, ``mirror.addresses.checks``) writes what it
found into ``alternates-state.json``, and every process re-reads both when they change.
Readers (the signed manifest, the "if this address is blocked, try" line) are shown the
addresses of ``publisher.alternates`` and of the list, less those last found dead or an
impostor: a reader must not be sent to an address that does not answer, or that answers
as someone else.

Files are replaced whole (written beside, then renamed), so a reader of a file never sees
half of one; writers take a lock, so two commands at once do not lose an address. Reading
costs one clock read per call and a ``stat`` of each file at most once a second
(``REREAD_SECONDS``): the article hot path asks for the list on every page.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mirror import counters
from mirror.errors import ConfigError
from mirror.locks import held_if_free
from mirror.settings import Config, alternate_address

log = logging.getLogger(__name__)

LIST_FILE = "alternates.json"
STATE_FILE = "alternates-state.json"
LOCK_FILE = "alternates.lock"
REREAD_SECONDS = 1.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
COUNTRY = re.compile(r"[A-Z]{2}")  # metric labels: nothing else from the file reaches one


class State(enum.StrEnum):
    """What the last check of an address found."""

    UNCHECKED = "unchecked"
    OK = "ok"
    DEAD = "dead"  # no answer, an error status, or a certificate that is not valid for it
    IMPOSTOR = "impostor"  # answers, but with another key's manifest or a changed one


HIDDEN = frozenset({State.DEAD, State.IMPOSTOR})


@dataclass(frozen=True)
class Status:
    """One address's last check: its state, when, why, and where OONI measured it blocked."""

    state: State
    checked: str = ""
    detail: str = ""
    blocked_in: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "checked": self.checked,
            "detail": self.detail,
            "blocked_in": list(self.blocked_in),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Status:
        return cls(
            state=State(value.get("state", State.UNCHECKED)),
            checked=str(value.get("checked", "")),
            detail=str(value.get("detail", "")),
            blocked_in=tuple(
                c
                for c in value.get("blocked_in", ())
                if isinstance(c, str) and COUNTRY.fullmatch(c)
            ),
        )


UNCHECKED = Status(State.UNCHECKED)


def now_text(now: datetime.datetime | None = None) -> str:
    return (now or datetime.datetime.now(datetime.UTC)).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


class AddressBook:
    """This mirror's alternate addresses as the data dir has them now.

    ``on_change`` is called after a re-read found either file changed (the server drops
    the pages it keeps rendered, whose footer names the addresses).
    """

    def __init__(
        self,
        data_dir: Path,
        configured: tuple[str, ...],
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._configured = configured
        self._on_change = on_change
        self._checked_at = time.monotonic()
        self._seen: tuple[object, object] = (None, None)
        self._added: tuple[str, ...] = ()
        self._statuses: dict[str, Status] = {}
        self._all: tuple[str, ...] = configured
        self._shown: tuple[str, ...] = configured
        self._reload(force=True)

    @property
    def configured(self) -> tuple[str, ...]:
        return self._configured

    def addresses(self) -> tuple[str, ...]:
        """Every listed address, shown or not: those of the configuration first."""
        self.refresh()
        return self._all

    def shown(self) -> tuple[str, ...]:
        """The addresses readers are shown: every listed one not found dead or an impostor."""
        self.refresh()
        return self._shown

    def statuses(self) -> dict[str, Status]:
        """Each listed address's last check (``UNCHECKED`` when it has none)."""
        self.refresh()
        return {address: self._statuses.get(address, UNCHECKED) for address in self._all}

    def hosts(self) -> frozenset[str]:
        """The host names of the listed https addresses (whose certificates we may want)."""
        hosts = set()
        for address in self.addresses():
            parts = urlsplit(address)
            if parts.scheme == "https" and parts.hostname:
                hosts.add(parts.hostname.lower())
        return frozenset(hosts)

    def refresh(self) -> None:
        """Re-read the files if a second has passed since the last look and they changed."""
        now = time.monotonic()
        if now - self._checked_at >= REREAD_SECONDS:
            self._checked_at = now
            self._reload()

    def _reload(self, force: bool = False) -> None:
        seen = (_identity(self._data_dir / LIST_FILE), _identity(self._data_dir / STATE_FILE))
        if seen == self._seen and not force:
            return
        self._seen = seen
        try:
            self._added = read_list(self._data_dir)
            self._statuses = read_states(self._data_dir)
        except ConfigError as exc:  # keep what was read last: pages must not fail for it
            log.warning("alternates: %s", exc.detail)
            return
        self._all = tuple(dict.fromkeys((*self._configured, *self._added)))
        states = {a: self._statuses.get(a, UNCHECKED).state for a in self._all}
        self._shown = tuple(a for a in self._all if states[a] not in HIDDEN)
        blocked: dict[str, int] = {}
        for address in self._all:
            for country in self._statuses.get(address, UNCHECKED).blocked_in:
                blocked[country] = blocked.get(country, 0) + 1
        counters.count_alternates(
            {str(s): sum(1 for v in states.values() if v == s) for s in State}, blocked
        )
        if self._on_change is not None and not force:
            self._on_change()


def address_book(config: Config, on_change: Callable[[], None] | None = None) -> AddressBook:
    return AddressBook(config.server.data_dir, config.publisher.alternates, on_change)


def all_addresses(config: Config, book: AddressBook) -> list[str]:
    """This mirror's public address (when one is set) first, then the alternates shown to
    readers (configured and added, less dead and impostors), then
    the onion service's."""
    own = [config.server.public_url] if config.server.public_url else []
    onion = [config.publisher.onion_url] if config.publisher.onion else []
    return [*own, *book.shown(), *onion]


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is replaced or written: inode, modification time, size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def read_list(data_dir: Path) -> tuple[str, ...]:
    """The addresses ``mirror alternates add`` listed; a damaged file is an error, not an
    empty list (that would silently take every address off the readers' pages)."""
    document = _read_json(data_dir / LIST_FILE, {"addresses": []})
    addresses = document.get("addresses") if isinstance(document, dict) else None
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise ConfigError(f"{data_dir / LIST_FILE} is not a list of addresses")
    return tuple(addresses)


def read_states(data_dir: Path) -> dict[str, Status]:
    document = _read_json(data_dir / STATE_FILE, {"addresses": {}})
    states = document.get("addresses") if isinstance(document, dict) else None
    if not isinstance(states, dict):
        raise ConfigError(f"{data_dir / STATE_FILE} is not a record of checks")
    try:
        return {str(a): Status.from_json(s) for a, s in states.items()}
    except (ValueError, AttributeError) as exc:
        raise ConfigError(f"{data_dir / STATE_FILE} is not a record of checks") from exc


def last_check(data_dir: Path) -> datetime.datetime | None:
    """When the last full check ended, if one ever did (and its record is readable)."""
    try:
        document = _read_json(data_dir / STATE_FILE, {})
    except ConfigError:
        return None
    return parse_time(str(document.get("checked", ""))) if isinstance(document, dict) else None


def add(config: Config, address: str) -> tuple[str, bool]:
    """Add ``address`` to the list; the normalised address, and whether it was new."""
    address = alternate_address(address)
    with _locked(config.server.data_dir):
        listed = read_list(config.server.data_dir)
        if address in listed or address in config.publisher.alternates:
            return address, False
        _write_json(config.server.data_dir / LIST_FILE, {"addresses": [*listed, address]})
    return address, True


def remove(config: Config, address: str) -> tuple[str, bool]:
    """Take ``address`` off the list; the normalised address, and whether it was there.
    An address of ``publisher.alternates`` is the configuration's to remove."""
    address = alternate_address(address)
    if address in config.publisher.alternates:
        raise ConfigError(f"{address} is in publisher.alternates: remove it from the config")
    with _locked(config.server.data_dir):
        listed = read_list(config.server.data_dir)
        if address not in listed:
            return address, False
        kept = [a for a in listed if a != address]
        _write_json(config.server.data_dir / LIST_FILE, {"addresses": kept})
    return address, True


def record(data_dir: Path, statuses: Mapping[str, Status], checked: str) -> None:
    """Keep what a check found, replacing the previous check's record whole."""
    document = {
        "checked": checked,
        "addresses": {address: status.as_json() for address, status in statuses.items()},
    }
    with _locked(data_dir):
        _write_json(data_dir / STATE_FILE, document)


@contextlib.contextmanager
def check_lock(data_dir: Path) -> Iterator[bool]:
    """Whether this process may check now: False while another process (a worker, a replica
    sharing the data dir, a `mirror alternates check`) holds the check lock."""
    with held_if_free(data_dir / (LOCK_FILE + ".check")) as ours:
        yield ours


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path: Path, absent: Any) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return absent
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _write_json(path: Path, document: object) -> None:
    """Write beside, flush to disk, rename over: a reader sees the old file or the new one."""
    data = json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
