"""Tests for the trust file: loading, saving, and leaving unusable files untouched."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from kizuna_server.core.device_id import device_id_from_public_key_der
from kizuna_server.core.trust import Permissions, TrustedPeer, TrustSource, TrustStore
from kizuna_server.p2p.trust_file import (
    TRUST_FILE,
    TrustStoreFileError,
    load_trust_store,
    save_trust_store,
)


def make_store(*names: str) -> TrustStore:
    return TrustStore(
        TrustedPeer(
            device_id=device_id_from_public_key_der(name.encode()),
            name=name,
            source=TrustSource.PAIRED,
            trusted_at=1_700_000_000.0,
            permissions=Permissions(),
            certificate_pem=f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n",
            fingerprint=hashlib.sha256(name.encode()).digest().hex(":"),
        )
        for name in names
    )


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_file_is_an_empty_store(tmp_path: Path) -> None:
    assert load_trust_store(tmp_path / TRUST_FILE) == TrustStore()
    assert list(tmp_path.iterdir()) == []


def test_save_then_load_round_trips_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / TRUST_FILE
    store = make_store("alice", "bob")

    save_trust_store(path, store)

    assert load_trust_store(path) == store
    assert mode_of(path) == 0o600
    text = path.read_text()
    assert text.endswith("}\n")
    assert text == json.dumps(store.to_document(), indent=2, sort_keys=True) + "\n"


def test_save_replaces_an_existing_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / TRUST_FILE
    save_trust_store(path, make_store("alice"))
    inode_before = path.stat().st_ino

    save_trust_store(path, make_store("bob"))

    assert load_trust_store(path) == make_store("bob")
    assert path.stat().st_ino != inode_before  # renamed over, not rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == [TRUST_FILE]


@pytest.mark.parametrize(
    ("content", "mode", "expected"),
    [
        pytest.param(b'{"version": 1, "peers": [', 0o600, "not valid JSON", id="corrupt-json"),
        pytest.param(b"\xff\xfe", 0o600, "not UTF-8", id="not-utf8"),
        pytest.param(
            b'{"version": 1, "version": 1, "peers": []}', 0o600, "duplicate key", id="dup-key"
        ),
        pytest.param(b'{"version": 2, "peers": []}', 0o600, "version", id="invalid-document"),
        pytest.param(
            b'{"version": 1, "peers": [{"name": "x"}]}', 0o600, "peers[0]", id="invalid-peer"
        ),
        pytest.param(b'{"version": 1, "peers": []}', 0o644, "mode 644", id="readable-by-others"),
        pytest.param(b'{"version": 1, "peers": []}', 0o620, "mode 620", id="group-writable"),
    ],
)
def test_unusable_file_is_reported_and_left_untouched(
    tmp_path: Path, content: bytes, mode: int, expected: str
) -> None:
    path = tmp_path / TRUST_FILE
    path.write_bytes(content)
    os.chmod(path, mode)

    with pytest.raises(TrustStoreFileError) as caught:
        load_trust_store(path)

    message = str(caught.value)
    assert str(path) in message and expected in message
    assert "move it away" in message
    assert path.read_bytes() == content
    assert mode_of(path) == mode
    assert [p.name for p in tmp_path.iterdir()] == [TRUST_FILE]


def test_a_directory_in_its_place_is_reported(tmp_path: Path) -> None:
    path = tmp_path / TRUST_FILE
    path.mkdir(mode=0o700)

    with pytest.raises(TrustStoreFileError, match="trust store"):
        load_trust_store(path)

    assert path.is_dir()
