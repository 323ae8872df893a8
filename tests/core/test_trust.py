"""Tests for the trust store: permissions, pinning, checks and the document form."""

import copy
import hashlib

import pytest

from kizuna_server.core.device_id import device_id_from_public_key_der, format_device_id
from kizuna_server.core.trust import (
    PeerNotFound,
    PeerNotTrusted,
    Permissions,
    PinCheck,
    PinMismatch,
    TrustedPeer,
    TrustSource,
    TrustStore,
    TrustStoreInvalid,
)
from kizuna_server.errors import InvalidArgument

ALICE = device_id_from_public_key_der(b"alice")
BOB = device_id_from_public_key_der(b"bob")
CAROL = device_id_from_public_key_der(b"carol")


def fingerprint(seed: bytes) -> str:
    return hashlib.sha256(seed).digest().hex(":")


def pem(seed: str) -> str:
    return f"-----BEGIN CERTIFICATE-----\n{seed}\n-----END CERTIFICATE-----\n"


def paired(device_id: str = ALICE, seed: str = "one") -> TrustedPeer:
    return TrustedPeer(
        device_id=device_id,
        name="Alice's laptop",
        source=TrustSource.PAIRED,
        trusted_at=1_700_000_000.5,
        permissions=Permissions(),
        certificate_pem=pem(seed),
        fingerprint=fingerprint(seed.encode()),
    )


def by_id(device_id: str = BOB) -> TrustedPeer:
    return TrustedPeer(
        device_id=device_id,
        name="bob",
        source=TrustSource.BY_ID,
        trusted_at=1_700_000_100.0,
        permissions=Permissions(commands=True),
    )


def sample_store() -> TrustStore:
    return TrustStore([paired(), by_id()])


# --- permissions ------------------------------------------------------------------------------


def test_new_pairings_get_files_and_streams_but_not_commands() -> None:
    assert Permissions() == Permissions(
        files=True, auto_accept_files=False, streams=True, commands=False
    )


def test_changed_applies_changes_and_leaves_the_original() -> None:
    original = Permissions()

    changed = original.changed(commands=True, auto_accept_files=True)

    assert changed == Permissions(auto_accept_files=True, commands=True)
    assert original == Permissions()


def test_changed_refuses_unknown_names() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Permissions().changed(telepathy=True)

    assert caught.value.metadata == {"field": "telepathy"}


def test_changed_refuses_auto_accept_without_files() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Permissions().changed(files=False, auto_accept_files=True)
    assert caught.value.metadata == {"field": "auto_accept_files"}

    with pytest.raises(InvalidArgument):
        Permissions(auto_accept_files=True).changed(files=False)


# --- trust, get, require, forget --------------------------------------------------------------


def test_trust_get_require_and_forget() -> None:
    store = TrustStore()
    peer = paired()

    store.trust(peer)

    assert store.get(ALICE) == peer
    assert store.require(ALICE) == peer
    assert ALICE in store and BOB not in store
    assert len(store) == 1
    assert store.forget(ALICE) == peer
    assert store.get(ALICE) is None
    assert len(store) == 0


def test_iteration_is_sorted_by_device_id() -> None:
    store = TrustStore([paired(CAROL), paired(ALICE), by_id(BOB)])

    assert [peer.device_id for peer in store] == sorted([ALICE, BOB, CAROL])


def test_require_unknown_raises_peer_not_trusted() -> None:
    with pytest.raises(PeerNotTrusted) as caught:
        TrustStore().require(ALICE)

    assert caught.value.reason == "PEER_NOT_TRUSTED"
    assert caught.value.metadata == {"peer_id": ALICE}


def test_forget_unknown_raises_peer_not_found() -> None:
    with pytest.raises(PeerNotFound) as caught:
        sample_store().forget(CAROL)

    assert caught.value.reason == "PEER_NOT_FOUND"
    assert caught.value.metadata == {"peer_id": CAROL}


def test_trusted_peer_needs_a_canonical_device_id() -> None:
    with pytest.raises(InvalidArgument):
        paired(format_device_id(ALICE))


def test_retrusting_replaces_the_pin() -> None:
    store = TrustStore([paired(seed="old")])

    store.trust(paired(seed="new"))

    assert store.require(ALICE).fingerprint == fingerprint(b"new")
    assert store.check(ALICE, fingerprint(b"new")) is PinCheck.TRUSTED
    assert store.check(ALICE, fingerprint(b"old")) is PinCheck.MISMATCH


# --- pinning and checks -----------------------------------------------------------------------


def test_pin_on_first_contact_then_a_different_pin_is_refused() -> None:
    store = sample_store()
    assert not store.require(BOB).pinned

    pinned = store.pin(BOB, certificate_pem=pem("bob"), fingerprint=fingerprint(b"bob"))

    assert pinned.pinned
    assert store.require(BOB) == pinned
    assert store.pin(BOB, certificate_pem=pem("bob"), fingerprint=fingerprint(b"bob")) == pinned
    with pytest.raises(PinMismatch) as caught:
        store.pin(BOB, certificate_pem=pem("mallory"), fingerprint=fingerprint(b"mallory"))
    assert caught.value.reason == "PEER_IDENTITY_MISMATCH"
    assert caught.value.metadata == {"peer_id": BOB}
    assert store.require(BOB) == pinned


def test_pin_refuses_a_malformed_fingerprint_and_keeps_the_peer_unpinned() -> None:
    store = sample_store()

    with pytest.raises(InvalidArgument):
        store.pin(BOB, certificate_pem=pem("bob"), fingerprint="not-a-fingerprint")

    assert store.require(BOB) == by_id()


def test_pin_unknown_peer_raises_peer_not_trusted() -> None:
    with pytest.raises(PeerNotTrusted):
        sample_store().pin(CAROL, certificate_pem=pem("c"), fingerprint=fingerprint(b"c"))


def test_check_has_four_outcomes() -> None:
    store = sample_store()

    assert store.check(ALICE, fingerprint(b"one")) is PinCheck.TRUSTED
    assert store.check(ALICE, fingerprint(b"two")) is PinCheck.MISMATCH
    assert store.check(ALICE, "ünïcode") is PinCheck.MISMATCH
    assert store.check(BOB, fingerprint(b"bob")) is PinCheck.UNPINNED
    assert store.check(CAROL, fingerprint(b"one")) is PinCheck.UNKNOWN
    assert store == sample_store()


# --- permissions in the store -----------------------------------------------------------------


def test_update_permissions() -> None:
    store = sample_store()

    updated = store.update_permissions(ALICE, streams=False, commands=True)

    assert updated.permissions == Permissions(streams=False, commands=True)
    assert store.require(ALICE) == updated
    assert updated.fingerprint == paired().fingerprint


def test_update_permissions_refusal_changes_nothing() -> None:
    store = sample_store()

    with pytest.raises(InvalidArgument):
        store.update_permissions(ALICE, files=False, auto_accept_files=True)
    with pytest.raises(PeerNotTrusted):
        store.update_permissions(CAROL, files=False)

    assert store == sample_store()


# --- document form ----------------------------------------------------------------------------


def test_document_round_trip() -> None:
    store = sample_store()

    document = store.to_document()

    assert document["version"] == 1
    assert TrustStore.from_document(copy.deepcopy(document)) == store
    assert TrustStore.from_document(TrustStore().to_document()) == TrustStore()


def test_document_lists_peers_in_device_id_order() -> None:
    document = TrustStore([paired(CAROL), by_id(BOB), paired(ALICE)]).to_document()
    peers = document["peers"]

    assert isinstance(peers, list)
    assert [peer["device_id"] for peer in peers] == sorted([ALICE, BOB, CAROL])


def _defect(path: str, value: object) -> object:
    """A valid two-peer document with `value` put at `path` (``"-"`` removes the key)."""
    document: dict[str, object] = sample_store().to_document()
    *parents, last = path.split(".")
    target: object = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]  # type: ignore[index]
    if isinstance(target, list):
        target[int(last)] = value
    elif value == "-":
        assert isinstance(target, dict)
        del target[last]
    else:
        assert isinstance(target, dict)
        target[last] = value
    return document


FP = fingerprint(b"x")
INVALID_DOCUMENTS = [
    pytest.param([], "document", id="not-an-object"),
    pytest.param(_defect("version", 2), "version", id="wrong-version"),
    pytest.param(_defect("version", True), "version", id="bool-version"),
    pytest.param(_defect("peers", {}), "peers", id="peers-not-a-list"),
    pytest.param(_defect("extra", 1), "document: unknown field 'extra'", id="extra-top-field"),
    pytest.param(_defect("peers.1.name", "-"), "peers[1]: missing field 'name'", id="missing"),
    pytest.param(_defect("peers.0.colour", "red"), "peers[0]: unknown field", id="extra-field"),
    pytest.param(_defect("peers.1", "bob"), "peers[1]: expected an object", id="peer-string"),
    pytest.param(
        _defect("peers.0.device_id", format_device_id(ALICE)), "peers[0].device_id", id="grouped"
    ),
    pytest.param(
        _defect("peers.0.device_id", ALICE.lower()), "peers[0].device_id", id="lower-case-id"
    ),
    pytest.param(_defect("peers.1.device_id", 7), "peers[1].device_id", id="id-not-string"),
    pytest.param(_defect("peers.1.device_id", ALICE), "peers[1].device_id: duplicate", id="dup"),
    pytest.param(_defect("peers.0.name", "n" * 65), "peers[0].name", id="long-name"),
    pytest.param(_defect("peers.0.name", None), "peers[0].name", id="null-name"),
    pytest.param(_defect("peers.0.source", "mdns"), "peers[0].source", id="bad-source"),
    pytest.param(_defect("peers.0.trusted_at", "today"), "peers[0].trusted_at", id="text-time"),
    pytest.param(_defect("peers.0.trusted_at", -1), "peers[0].trusted_at", id="negative-time"),
    pytest.param(_defect("peers.0.trusted_at", True), "peers[0].trusted_at", id="bool-time"),
    pytest.param(_defect("peers.0.trusted_at", float("nan")), "peers[0].trusted_at", id="nan"),
    pytest.param(
        _defect("peers.1.permissions.files", "yes"),
        "peers[1].permissions.files: expected true or false",
        id="text-permission",
    ),
    pytest.param(
        _defect("peers.1.permissions.files", 1), "peers[1].permissions.files", id="int-permission"
    ),
    pytest.param(
        _defect("peers.1.permissions.streams", "-"),
        "peers[1].permissions: missing field 'streams'",
        id="missing-permission",
    ),
    pytest.param(_defect("peers.1.permissions", None), "peers[1].permissions", id="null-perms"),
    pytest.param(
        _defect(
            "peers.0.permissions",
            {"files": False, "auto_accept_files": True, "streams": True, "commands": False},
        ),
        "peers[0].permissions.auto_accept_files",
        id="auto-accept-without-files",
    ),
    pytest.param(_defect("peers.0.fingerprint", FP.upper()), "peers[0].fingerprint", id="upper"),
    pytest.param(_defect("peers.0.fingerprint", FP[:-3]), "peers[0].fingerprint", id="short-fp"),
    pytest.param(
        _defect("peers.0.fingerprint", FP.replace(":", "")), "peers[0].fingerprint", id="no-colons"
    ),
    pytest.param(_defect("peers.0.fingerprint", ""), "peers[0].fingerprint", id="pem-without-fp"),
    pytest.param(_defect("peers.1.fingerprint", FP), "peers[1].fingerprint", id="fp-without-pem"),
    pytest.param(
        _defect("peers.0.certificate_pem", "hello"), "peers[0].certificate_pem", id="not-pem"
    ),
]


@pytest.mark.parametrize(("document", "location"), INVALID_DOCUMENTS)
def test_from_document_refuses_defects(document: object, location: str) -> None:
    with pytest.raises(TrustStoreInvalid) as caught:
        TrustStore.from_document(document)

    assert caught.value.reason == "INTERNAL"
    assert location in str(caught.value)
