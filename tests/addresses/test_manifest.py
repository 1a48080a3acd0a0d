"""The signed mirror manifest: any changed byte, another key or age makes it invalid."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.addresses import manifest
from mirror.addresses.manifest import ManifestError
from mirror.cli import main

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
MIRRORS = ["https://mirror.example.org", "https://mirror2.example.net"]


def signed(tmp_path: Path) -> tuple[bytes, Ed25519PrivateKey]:
    key = manifest.load_signing_key(tmp_path)
    return manifest.sign(key, MIRRORS, days=30, now=NOW), key


def test_signed_manifest_verifies(tmp_path: Path) -> None:
    document, key = signed(tmp_path)
    checked = manifest.verify(document, key.public_key(), now=NOW)
    assert checked.mirrors == tuple(MIRRORS)
    assert checked.expires == NOW + datetime.timedelta(days=30)
    assert stat.S_IMODE((tmp_path / manifest.MANIFEST_KEY_FILE).stat().st_mode) == 0o600


def test_every_single_byte_change_is_rejected(tmp_path: Path) -> None:
    document, key = signed(tmp_path)
    for position in range(len(document)):
        for delta in (1, 32):
            changed = bytearray(document)
            changed[position] = (changed[position] + delta) % 256
            with pytest.raises(ManifestError):
                manifest.verify(bytes(changed), key.public_key(), now=NOW)


def test_another_key_and_expiry_are_rejected(tmp_path: Path) -> None:
    document, _ = signed(tmp_path)
    stranger = manifest.load_signing_key(tmp_path / "other")
    with pytest.raises(ManifestError, match="another key"):
        manifest.verify(document, stranger.public_key(), now=NOW)
    later = NOW + datetime.timedelta(days=31)
    with pytest.raises(ManifestError, match="expired"):
        manifest.verify(document, manifest.load_signing_key(tmp_path).public_key(), now=later)


def test_resigned_by_an_impostor_is_rejected(tmp_path: Path) -> None:
    document, key = signed(tmp_path)
    impostor = manifest.load_signing_key(tmp_path / "impostor")
    forged = manifest.sign(impostor, ["https://censor.example"], days=30, now=NOW)
    with pytest.raises(ManifestError):
        manifest.verify(forged, key.public_key(), now=NOW)
    assert document != forged


def run(capsys: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    code = main(["manifest", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_signs_and_verify_rejects_one_changed_byte(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = tmp_path / "mirror.toml"
    config.write_text(
        '[server]\npublic_url = "https://mirror.example.org"\n'
        '[publisher]\nalternates = ["https://mirror2.example.net/"]\n'
    )
    code, document, err = run(capsysbinary, "sign", "--config", str(config))
    assert code == 0, err
    public_key = err.decode().split("public key ", 1)[1].strip()
    good = tmp_path / "mirrors.json"
    good.write_bytes(document)
    code, out, err = run(capsysbinary, "verify", str(good), f"--public-key={public_key}")
    assert code == 0, err
    assert b"https://mirror.example.org https://mirror2.example.net" in out
    assert run(capsysbinary, "verify", str(good), "--config", str(config))[0] == 0

    tampered = bytearray(document)
    tampered[document.index(b"mirror2") + 1] ^= 0x01
    bad = tmp_path / "tampered.json"
    bad.write_bytes(bytes(tampered))
    code, _, err = run(capsysbinary, "verify", str(bad), f"--public-key={public_key}")
    assert code == 1
    assert b"invalid manifest" in err


def test_cli_verify_without_a_key_makes_none(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = tmp_path / "mirror.toml"
    config.write_text("[server]\n")
    (tmp_path / "m.json").write_bytes(b"{}\n")
    code, _, err = run(capsysbinary, "verify", str(tmp_path / "m.json"), "--config", str(config))
    assert code == 1 and b"--public-key" in err
    assert not (tmp_path / "data" / manifest.MANIFEST_KEY_FILE).exists()
