"""The per-sender daily limit, counted under an HMAC of the address."""

from __future__ import annotations

import datetime
import secrets

import pytest

from mirror.responder.quota import DailyQuota


def test_each_address_gets_its_number_a_day_whatever_its_case() -> None:
    quota = DailyQuota(secrets.token_bytes(32), per_day=2)
    assert [quota.take("Reader@Mail.example.net") for _ in range(3)] == [True, True, False]
    assert not quota.take("reader@mail.example.net")
    assert quota.take("friend@post.example.com")
    quota.give_back("reader@mail.example.net")
    assert quota.take("reader@mail.example.net")


def test_no_address_is_kept_in_any_form_but_its_hmac() -> None:
    quota = DailyQuota(secrets.token_bytes(32), per_day=3)
    quota.take("reader@mail.example.net")
    kept = repr(quota) + repr(vars(quota))
    assert "reader" not in kept and "example" not in kept
    other = DailyQuota(secrets.token_bytes(32), per_day=3)
    other.take("reader@mail.example.net")
    assert vars(quota)["_counts"].keys() != vars(other)["_counts"].keys()  # keyed, not hashed


def test_counts_start_again_the_next_day(monkeypatch: pytest.MonkeyPatch) -> None:
    quota = DailyQuota(secrets.token_bytes(32), per_day=1)
    assert quota.take("reader@mail.example.net")
    assert not quota.take("reader@mail.example.net")
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    class Tomorrow(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Tomorrow:
            return cls.fromtimestamp(tomorrow.timestamp(), tz)

    monkeypatch.setattr(datetime, "datetime", Tomorrow)
    assert quota.take("reader@mail.example.net")
