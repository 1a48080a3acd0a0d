from __future__ import annotations

import pytest

import mirror.errors as errors_module
from mirror.errors import (
    AddressNotAllowed,
    FetchError,
    MirrorError,
    NotAnArticle,
    NotAtOrigin,
    OriginBroken,
    OriginStatus,
    OriginTimeout,
    OriginUnreachable,
    TooLarge,
    TooManyRedirects,
    UnreadablePage,
    described,
)


def all_errors() -> list[type[MirrorError]]:
    found: list[type[MirrorError]] = []
    pending: list[type[MirrorError]] = [MirrorError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_is_drawn_in_the_module_tree() -> None:
    doc = errors_module.__doc__ or ""
    for cls in all_errors():
        if cls.__module__ == errors_module.__name__:
            assert cls.__name__ in doc, cls.__name__


def test_statuses_are_http_errors_and_fetch_errors_are_502_family() -> None:
    for cls in all_errors():
        assert 400 <= cls.status < 600
        assert cls.title and cls.hint
    statuses = {c.status for c in all_errors() if issubclass(c, FetchError)}
    assert statuses <= {403, 404, 415, 502, 504}


def test_an_absent_page_is_a_404_that_knows_its_site() -> None:
    absent = NotAtOrigin(410, "https://news.example:8443/2024/gone/")
    assert isinstance(absent, OriginStatus) and absent.status == 404
    assert (absent.origin_status, absent.host) == (410, "news.example")
    assert "410" in absent.detail


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OriginUnreachable, 502),
        (OriginTimeout, 504),
        (TooLarge, 502),
        (NotAnArticle, 415),
        (AddressNotAllowed, 403),
        (TooManyRedirects, 502),
        (OriginBroken, 502),
    ],
)
def test_fetch_errors_carry_the_statuses_readers_see(error: type[FetchError], status: int) -> None:
    assert error.status == status


def test_an_unreadable_page_is_our_fault_not_the_origins() -> None:
    error = UnreadablePage("extract")
    assert not isinstance(error, FetchError)
    assert error.status == 500 and error.title != FetchError.title
    assert error.detail == "Reading stopped at its extract stage."


def look_up_the_secret() -> None:
    raise KeyError("s3cret-key from 10.1.2.3")


def fail_on_behalf_of_a_reader() -> None:
    try:
        look_up_the_secret()
    except KeyError as exc:
        raise RuntimeError("https://origin.example/x for 10.1.2.3") from exc


def test_an_exception_is_described_by_its_types_and_frames_not_its_words() -> None:
    with pytest.raises(RuntimeError) as failed:
        fail_on_behalf_of_a_reader()
    text = described(failed.value)
    outer, inner = text.split("\ncaused by ")
    assert outer.startswith("RuntimeError\n") and outer.endswith("in fail_on_behalf_of_a_reader")
    assert inner.startswith("KeyError\n") and inner.endswith("in look_up_the_secret")
    assert f'File "{__file__}", line ' in inner
    for kept in ("s3cret", "10.1.2.3", "origin.example", "raise "):  # nor the source lines
        assert kept not in text, kept
