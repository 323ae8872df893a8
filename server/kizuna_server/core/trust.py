"""The trust store: which devices this one trusts, their pinned certificates and permissions.

Pure state and its JSON-ready document form; `p2p/trust_file.py` reads and writes the file.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import InvalidArgument, KizunaError

DOCUMENT_VERSION: Final = 1
MAX_NAME_LENGTH: Final = 64
#: SHA-256 as lower-case hex pairs joined by ':', as `identity.certificate_fingerprint` gives.
_FINGERPRINT = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){31}")
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PERMISSION_FIELDS: Final = ("files", "auto_accept_files", "streams", "commands")
_PEER_FIELDS: Final = (
    "device_id",
    "name",
    "source",
    "trusted_at",
    "permissions",
    "certificate_pem",
    "fingerprint",
)


# --- errors ---------------------------------------------------------------------------------


class PeerNotFound(KizunaError):
    """No peer with that device ID is in the trust store (metadata: `peer_id`)."""

    reason = "PEER_NOT_FOUND"

    def __init__(self, peer_id: str) -> None:
        super().__init__(f"no trusted peer with device ID {peer_id}", peer_id=peer_id)
        self.peer_id = peer_id


class PeerNotTrusted(KizunaError):
    """The peer is not trusted (not paired, not allow-listed) (metadata: `peer_id`)."""

    reason = "PEER_NOT_TRUSTED"

    def __init__(self, peer_id: str, message: str = "") -> None:
        super().__init__(
            message or f"peer {peer_id} is not trusted; pair with it first", peer_id=peer_id
        )
        self.peer_id = peer_id


class PinMismatch(KizunaError):
    """The peer's certificate differs from the one pinned for its ID (metadata: `peer_id`)."""

    reason = "PEER_IDENTITY_MISMATCH"

    def __init__(self, peer_id: str, *, pinned: str, presented: str) -> None:
        super().__init__(
            f"peer {peer_id} presented certificate {presented} but {pinned} is pinned; "
            "if that device was reinstalled, forget it and pair again",
            peer_id=peer_id,
        )
        self.peer_id = peer_id


class TrustStoreInvalid(KizunaError):
    """A trust store document is malformed; `location` says where (``peers[2].name``)."""

    reason = "INTERNAL"

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permissions:
    """What a trusted peer may do here (proto `PeerPermissions`); defaults suit new pairings."""

    files: bool = True
    auto_accept_files: bool = False
    streams: bool = True
    commands: bool = False

    def __post_init__(self) -> None:
        if self.auto_accept_files and not self.files:
            raise InvalidArgument(
                "auto_accept_files: needs files to be allowed too", field="auto_accept_files"
            )

    def changed(self, **changes: bool) -> Permissions:
        """A copy with `changes` applied; unknown names and non-booleans are refused."""
        for name, value in changes.items():
            if name not in _PERMISSION_FIELDS:
                raise InvalidArgument(f"{name}: no such permission", field=name)
            if not isinstance(value, bool):
                raise InvalidArgument(f"{name}: expected true or false", field=name)
        return dataclasses.replace(self, **changes)


class TrustSource(StrEnum):
    """How a peer came to be trusted."""

    PAIRED = "paired"
    BY_ID = "by_id"
    ALLOWLIST = "allowlist"
    AUTO = "auto"  # security.trust_mode = trust_all


@dataclass(frozen=True)
class TrustedPeer:
    """A trusted device; BY_ID and ALLOWLIST peers are unpinned until their first contact."""

    device_id: str  # canonical
    name: str
    source: TrustSource
    trusted_at: float  # seconds since the epoch
    permissions: Permissions
    certificate_pem: str = ""
    fingerprint: str = ""  # lower-case SHA-256 hex pairs joined by ':'

    def __post_init__(self) -> None:
        if parse_device_id(self.device_id, field="device_id") != self.device_id:
            raise InvalidArgument(
                f"device_id: {self.device_id!r} is not in canonical form", field="device_id"
            )
        if bool(self.certificate_pem) != bool(self.fingerprint):
            raise InvalidArgument(
                "fingerprint: a pin needs both the certificate and its fingerprint",
                field="fingerprint",
            )
        if self.fingerprint and not _FINGERPRINT.fullmatch(self.fingerprint):
            raise InvalidArgument(
                f"fingerprint: {self.fingerprint!r} is not a SHA-256 fingerprint",
                field="fingerprint",
            )

    @property
    def pinned(self) -> bool:
        """Whether a certificate is pinned for this peer."""
        return bool(self.fingerprint)


class PinCheck(StrEnum):
    """The outcome of comparing a presented certificate with the store."""

    TRUSTED = "trusted"  # pinned and matching
    UNPINNED = "unpinned"  # trusted, nothing pinned yet: pin on this contact
    UNKNOWN = "unknown"  # not in the store
    MISMATCH = "mismatch"  # pinned and different


# --- the store ------------------------------------------------------------------------------


class TrustStore:
    """The trusted peers by canonical device ID. Not thread-safe; callers serialise access."""

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, peers: Iterable[TrustedPeer] = ()) -> None:
        self._peers: dict[str, TrustedPeer] = {}
        for peer in peers:
            self.trust(peer)

    def get(self, device_id: str) -> TrustedPeer | None:
        return self._peers.get(device_id)

    def require(self, device_id: str) -> TrustedPeer:
        """The trusted peer, or `PeerNotTrusted`."""
        peer = self._peers.get(device_id)
        if peer is None:
            raise PeerNotTrusted(device_id)
        return peer

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._peers

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self) -> Iterator[TrustedPeer]:
        return iter([self._peers[key] for key in sorted(self._peers)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrustStore):
            return NotImplemented
        return self._peers == other._peers

    def __repr__(self) -> str:
        return f"TrustStore({list(self)!r})"

    def trust(self, peer: TrustedPeer) -> None:
        """Adds or replaces `peer`; pairing again replaces the pin, on purpose."""
        self._peers[peer.device_id] = peer

    def pin(self, device_id: str, *, certificate_pem: str, fingerprint: str) -> TrustedPeer:
        """Pins the certificate a BY_ID or ALLOWLIST peer presented on first contact.

        Pinning the same fingerprint again is a no-op; a different one raises `PinMismatch` and
        leaves the stored pin as it was.
        """
        peer = self.require(device_id)
        if peer.pinned:
            if not _same(peer.fingerprint, fingerprint):
                raise PinMismatch(device_id, pinned=peer.fingerprint, presented=fingerprint)
            return peer
        pinned = dataclasses.replace(peer, certificate_pem=certificate_pem, fingerprint=fingerprint)
        self._peers[device_id] = pinned
        return pinned

    def check(self, device_id: str, fingerprint: str) -> PinCheck:
        """Compares a presented certificate fingerprint with the pin, in constant time."""
        peer = self._peers.get(device_id)
        if peer is None:
            return PinCheck.UNKNOWN
        if not peer.pinned:
            return PinCheck.UNPINNED
        return PinCheck.TRUSTED if _same(peer.fingerprint, fingerprint) else PinCheck.MISMATCH

    def update_permissions(self, device_id: str, **changes: bool) -> TrustedPeer:
        """Applies `Permissions.changed(**changes)` to a trusted peer and returns the result."""
        peer = self.require(device_id)
        updated = dataclasses.replace(peer, permissions=peer.permissions.changed(**changes))
        self._peers[device_id] = updated
        return updated

    def forget(self, device_id: str) -> TrustedPeer:
        """Removes a peer and returns it; an unknown ID raises `PeerNotFound`."""
        try:
            return self._peers.pop(device_id)
        except KeyError:
            raise PeerNotFound(device_id) from None

    def to_document(self) -> dict[str, object]:
        """The JSON-ready form: ``{"version": 1, "peers": [...]}`` sorted by device ID."""
        return {
            "version": DOCUMENT_VERSION,
            "peers": [_peer_to_document(peer) for peer in self],
        }

    @classmethod
    def from_document(cls, document: object) -> TrustStore:
        """Parses `to_document`'s form strictly; any defect raises `TrustStoreInvalid`."""
        top = _object(document, "document", ("version", "peers"))
        version = top["version"]
        if type(version) is not int or version != DOCUMENT_VERSION:
            raise TrustStoreInvalid("version", f"expected {DOCUMENT_VERSION}, got {version!r}")
        peers = top["peers"]
        if not isinstance(peers, list):
            raise TrustStoreInvalid("peers", "expected a list")
        seen: dict[str, int] = {}
        store = cls()
        for index, item in enumerate(peers):
            where = f"peers[{index}]"
            peer = _peer_from_document(item, where)
            if peer.device_id in seen:
                raise TrustStoreInvalid(
                    f"{where}.device_id", f"duplicate of peers[{seen[peer.device_id]}]"
                )
            seen[peer.device_id] = index
            store.trust(peer)
        return store


def _same(pinned: str, presented: str) -> bool:
    return hmac.compare_digest(pinned.encode(), presented.encode())


def _peer_to_document(peer: TrustedPeer) -> dict[str, object]:
    return {
        "device_id": peer.device_id,
        "name": peer.name,
        "source": peer.source.value,
        "trusted_at": peer.trusted_at,
        "permissions": dataclasses.asdict(peer.permissions),
        "certificate_pem": peer.certificate_pem,
        "fingerprint": peer.fingerprint,
    }


def _object(value: object, where: str, fields: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TrustStoreInvalid(where, "expected an object")
    for key in value:
        if key not in fields:
            raise TrustStoreInvalid(where, f"unknown field {key!r}")
    for key in fields:
        if key not in value:
            raise TrustStoreInvalid(where, f"missing field {key!r}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TrustStoreInvalid(where, "expected a string")
    return value


def _peer_from_document(item: object, where: str) -> TrustedPeer:
    fields = _object(item, where, _PEER_FIELDS)

    device_id = _string(fields["device_id"], f"{where}.device_id")
    try:
        canonical = parse_device_id(device_id, field="device_id")
    except InvalidArgument:
        canonical = ""
    if canonical != device_id:
        raise TrustStoreInvalid(
            f"{where}.device_id", f"{device_id[:80]!r} is not a canonical device ID"
        )

    name = _string(fields["name"], f"{where}.name")
    if len(name) > MAX_NAME_LENGTH:
        raise TrustStoreInvalid(f"{where}.name", f"longer than {MAX_NAME_LENGTH} characters")

    source_text = _string(fields["source"], f"{where}.source")
    try:
        source = TrustSource(source_text)
    except ValueError:
        expected = ", ".join(s.value for s in TrustSource)
        raise TrustStoreInvalid(
            f"{where}.source", f"{source_text[:80]!r} is not one of {expected}"
        ) from None

    trusted_at = fields["trusted_at"]
    if (
        not isinstance(trusted_at, int | float)
        or isinstance(trusted_at, bool)
        or not math.isfinite(trusted_at)
        or trusted_at < 0
    ):
        raise TrustStoreInvalid(f"{where}.trusted_at", "expected seconds since the epoch")

    raw_permissions = _object(fields["permissions"], f"{where}.permissions", _PERMISSION_FIELDS)
    flags: dict[str, bool] = {}
    for key in _PERMISSION_FIELDS:
        flag = raw_permissions[key]
        if not isinstance(flag, bool):
            raise TrustStoreInvalid(f"{where}.permissions.{key}", "expected true or false")
        flags[key] = flag
    try:
        permissions = Permissions(**flags)
    except InvalidArgument:
        raise TrustStoreInvalid(
            f"{where}.permissions.auto_accept_files", "needs files to be true"
        ) from None

    certificate_pem = _string(fields["certificate_pem"], f"{where}.certificate_pem")
    fingerprint = _string(fields["fingerprint"], f"{where}.fingerprint")
    if fingerprint and not _FINGERPRINT.fullmatch(fingerprint):
        raise TrustStoreInvalid(
            f"{where}.fingerprint", "expected a SHA-256 as lower-case hex pairs joined by ':'"
        )
    if certificate_pem and not certificate_pem.startswith(_PEM_BEGIN):
        raise TrustStoreInvalid(f"{where}.certificate_pem", "expected a PEM certificate")
    if bool(certificate_pem) != bool(fingerprint):
        raise TrustStoreInvalid(
            f"{where}.fingerprint", "certificate_pem and fingerprint must be both set or both empty"
        )

    return TrustedPeer(
        device_id=device_id,
        name=name,
        source=source,
        trusted_at=float(trusted_at),
        permissions=permissions,
        certificate_pem=certificate_pem,
        fingerprint=fingerprint,
    )
