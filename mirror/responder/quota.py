"""At most so many answers per sender and day, counted without keeping any address.

A responder answers whoever its mail claims to come from, so a forged sender could turn it
into a mail cannon aimed at someone else. The daily limit bounds that, and it is counted
under an HMAC of the address (a key derived from the cache key, so the counts cannot be
turned back into addresses by trying a list of them without that key). Counts live in
memory only and are forgotten when the day (UTC) changes: nothing about who wrote is ever
written down. A restart forgets them too, which a forger cannot cause.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections import Counter

from mirror.keys import derive

SENDER_KEY_INFO = b"mirror responder sender"


class DailyQuota:
    """Answers given today, by HMAC of the sender's address."""

    def __init__(self, secret: bytes, per_day: int) -> None:
        self._key = derive(secret, SENDER_KEY_INFO)
        self._per_day = per_day
        self._day = datetime.date.min
        self._counts: Counter[bytes] = Counter()

    def __repr__(self) -> str:
        return f"DailyQuota(per_day={self._per_day}, senders_today={len(self._counts)})"

    def take(self, address: str) -> bool:
        """Count one answer to ``address``; ``False`` (and nothing counted) past the limit."""
        name = self._name(address)
        if self._counts[name] >= self._per_day:
            return False
        self._counts[name] += 1
        return True

    def give_back(self, address: str) -> None:
        """Uncount an answer that could not be sent, so that a retry of the mail is answered."""
        name = self._name(address)
        if self._counts[name] > 0:
            self._counts[name] -= 1

    def _name(self, address: str) -> bytes:
        today = datetime.datetime.now(datetime.UTC).date()
        if today != self._day:
            self._day, self._counts = today, Counter()
        return hmac.new(
            self._key, address.strip().casefold().encode("utf-8"), hashlib.sha256
        ).digest()
