"""How a setting is declared: ``setting()`` makes a dataclass field carrying its TOML
default, help text and the hook that converts or checks its value (``Setting``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from mirror.errors import ConfigError

Scalar = TypeVar("Scalar", str, int, float, bool)


Number = TypeVar("Number", int, float)


Raw = TypeVar("Raw")


Value = TypeVar("Value")


MIB = 1024 * 1024


def _unchanged(value: object) -> object:
    return value


@dataclass(frozen=True)
class Setting:
    """One configurable value: where it lives, its TOML default, what it does, how it is read."""

    name: str
    default: object
    help: str
    parse: Callable[[Any], object] = _unchanged

    @property
    def type(self) -> Any:
        """The TOML type, read off the default: every list setting is a list of strings."""
        return list[str] if isinstance(self.default, list) else type(self.default)

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def env_var(self) -> str:
        return "MIRROR_" + self.name.replace(".", "_").upper()


@overload
def setting(default: Scalar, help: str, *, secret: bool = False) -> Scalar: ...


@overload
def setting(
    default: Raw, help: str, *, parse: Callable[[Raw], Value], secret: bool = False
) -> Value: ...


def setting(
    default: Any,
    help: str,
    *,
    parse: Callable[[Any], object] = _unchanged,
    secret: bool = False,
) -> Any:
    """A section field that is also a row of ``SETTINGS``; its name is the field's.

    Typed like ``dataclasses.field``, which it returns: the field's default is ``parse``
    applied to the TOML default, so the hook must accept the default. A secret is left
    out of the section's repr, so it never reaches a log line or a traceback.
    """
    row = Setting("", default, help, parse)
    return field(default=parse(default), repr=not secret, metadata={"setting": row})


def at_least(low: Number) -> Callable[[Number], Number]:
    """A hook refusing values below ``low``."""

    def check(value: Number) -> Number:
        if value < low:
            raise ConfigError(f"must be {low} or more")
        return value

    return check


def host_and_port(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8443"`` or ``"[::1]:8443"`` as a host and a port."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)
