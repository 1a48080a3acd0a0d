from __future__ import annotations

import re
import ssl
from pathlib import Path

from mirror.web.tls import ensure_self_signed, fingerprint, server_context


def test_self_signed_is_made_once_and_reused(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path, ["localhost", "127.0.0.1"])
    first = fingerprint(cert)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", first)
    assert oct(key.stat().st_mode)[-3:] == "600"
    again, _ = ensure_self_signed(tmp_path, ["localhost"])
    assert fingerprint(again) == first


def test_server_context_refuses_old_tls(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path, ["localhost"])
    context = server_context(cert, key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
