"""One holder at a time for a periodic job's lock; the others are told at once."""

from __future__ import annotations

from pathlib import Path

from mirror.locks import held_if_free


def test_a_held_lock_is_refused_at_once_and_free_again_after(tmp_path: Path) -> None:
    path = tmp_path / "jobs" / "lock"  # its folder is made when missing
    with held_if_free(path) as first:
        assert first
        with held_if_free(path) as second:  # another open file, as another process has
            assert not second
    with held_if_free(path) as again:
        assert again
