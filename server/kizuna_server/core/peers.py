"""The peer table: every device this daemon knows of right now, and the rules for believing them.

Plain values and pure functions; `p2p/network.py` owns the live table and the network. An entry
learned from an announcement (mDNS or the UDP beacon) is a hint until a TLS handshake showed a
certificate whose key hashes to the announced ID (`verified`); the trust store (core/trust.py)
says whether it is trusted.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final

from kizuna_server.core.trust import Permissions
from kizuna_server.errors import KizunaError, LimitExceeded

#: Longest peer name kept, in characters (proto Peer.name).
MAX_NAME: Final = 64
#: Addresses kept per peer.
MAX_ADDRESSES: Final = 8
#: Unverified addresses (from announcements) kept per peer.
MAX_HINTS: Final = 4
#: Ports below this are never dialled because an announcement says so (THREATS #16).
MIN_ANNOUNCED_PORT: Final = 1024
#: Capabilities kept from a peer's Hello, and the longest name one may have.
MAX_CAPABILITIES: Final = 16
_MAX_CAPABILITY: Final = 32
# Control, format (bidi overrides, zero-width), separators other than space, surrogates,
# private-use and unassigned characters are removed from names.
_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class Source(StrEnum):
    """How the daemon learned of a peer (kizuna.v1.Peer.Source)."""

    MDNS = "mdns"
    #: Announced by the UDP multicast beacon only (mDNS, when it arrives, takes over).
    UDP = "udp"
    STATIC = "static"
    MANUAL = "manual"
    INCOMING = "incoming"
    TRUST_STORE = "trust_store"


class Connection(StrEnum):
    """State of this daemon's link to a peer (kizuna.v1.Peer.Connection)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"


class PeerAddressInvalid(KizunaError):
    """An address that cannot be dialled (metadata: `address`)."""

    reason = "PEER_ADDRESS_INVALID"


def sanitize_name(text: str, *, limit: int = MAX_NAME) -> str:
    """A peer-supplied name (or other short text) made safe to show: no control or format
    characters, at most `limit` characters (64 for names).

    >>> sanitize_name("Bob\\u202e's\\x1b[31m  phone")
    "Bob's[31m phone"
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in unicodedata.normalize("NFC", text[: limit * 4])
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    return " ".join(kept.split())[:limit]


def sanitize_capabilities(names: Iterable[str]) -> tuple[str, ...]:
    """Capabilities a peer says it offers, as shown: short lower-case words (letters, digits,
    '-', '_', '.'), each once, at most MAX_CAPABILITIES; anything else is dropped.

    >>> sanitize_capabilities(["transfers", "TRANSFERS", "x\x1b[31m", "streams"])
    ('transfers', 'streams')
    """
    kept: list[str] = []
    for name in names:
        if len(kept) == MAX_CAPABILITIES:
            break
        if (
            0 < len(name) <= _MAX_CAPABILITY
            and name.isascii()
            and all(ch.islower() or ch.isdigit() or ch in "-_." for ch in name)
            and name not in kept
        ):
            kept.append(name)
    return tuple(kept)


def _spot(address: Address) -> tuple[str, int]:
    return address.host, address.port


def format_address(host: str, port: int) -> str:
    """``host:port``, with brackets around IPv6 addresses."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def refuse_announced(host: str, port: int) -> str | None:  # noqa: PLR0911 - a rule table
    """Why an address announced over mDNS or the UDP beacon must not be dialled, or None.

    Announcements are unauthenticated: one pointing at loopback, an unspecified, multicast or
    broadcast address, or a privileged port would make the daemon connect to another service
    on the people's behalf. Static peers and AddPeer are chosen by a person and skip this.
    """
    if not MIN_ANNOUNCED_PORT <= port <= 65535:
        return f"port {port} is below {MIN_ANNOUNCED_PORT} or out of range"
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return f"{host!r} is not an IP address"
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{ip} is a loopback, unspecified, multicast or reserved address"
    if isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return refuse_announced(str(ip.ipv4_mapped), port)
    if ip.is_link_local and "%" not in host:
        return f"{ip} is link-local without an interface scope"
    return None


@dataclass(frozen=True, slots=True)
class Address:
    """Where a peer can be dialled (its link port) and how the address was learned."""

    host: str
    port: int
    source: Source

    def __str__(self) -> str:
        return format_address(self.host, self.port)


@dataclass(frozen=True, slots=True)
class Hint:
    """An address someone unauthenticated (an mDNS announcement, a UDP beacon) says the peer is
    at, until `expires`: dialled, but believed only once a TLS handshake there shows the peer's
    key. `address.source` says which kind of announcement said so."""

    address: Address
    expires: float


@dataclass(slots=True)
class PeerEntry:
    """One peer as this daemon sees it now; trust lives in the trust store.

    `addresses` are verified: the peer's certificate was seen there in a TLS handshake, it
    called from there with its key, or a person added it. `hints` are what announcements
    claim; anyone on the LAN can announce any ID at any address, so hints never become
    addresses without a handshake, are bounded and expire.
    """

    device_id: str
    source: Source
    name: str = ""
    device_type: str = ""
    #: The peer's person, as the peer describes itself (identity.user_name), sanitised.
    user_name: str = ""
    addresses: list[Address] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    #: A certificate whose key hashes to `device_id` was seen (TLS) at one of the addresses.
    verified: bool = False
    #: Announced over mDNS now.
    announced: bool = False
    #: Its UDP beacon was heard and has not expired or said goodbye.
    beaconed: bool = False
    #: Answered at one of its addresses recently (a handshake, a call from it).
    reachable: bool = False
    connection: Connection = Connection.DISCONNECTED
    protocol_version: int = 0
    capabilities: tuple[str, ...] = ()
    last_seen: float = 0.0
    next_attempt: float | None = None
    #: The most recent link failure, for ConnectPeer errors and the CLI.
    last_error: str = ""
    #: peer_discovered was published for this entry (later changes are peer_updated).
    reported: bool = False

    @property
    def online(self) -> bool:
        """Announced on the network, connected, or answering at an address right now."""
        return (
            self.announced
            or self.beaconed
            or self.reachable
            or self.connection is Connection.CONNECTED
        )

    def add_address(self, address: Address) -> bool:
        """Puts verified `address` first (most recent); returns whether it was new."""
        self.hints = [h for h in self.hints if _spot(h.address) != _spot(address)]
        known = [a for a in self.addresses if (a.host, a.port) == (address.host, address.port)]
        rest = [a for a in self.addresses if (a.host, a.port) != (address.host, address.port)]
        # A person's choice (static, manual) outranks what an announcement said.
        kept = address
        if known and known[0].source in (Source.STATIC, Source.MANUAL):
            kept = known[0]
        self.addresses = [kept, *rest][:MAX_ADDRESSES]
        return not known

    def drop_addresses(self, source: Source) -> None:
        """Forgets the addresses learned from `source`."""
        self.addresses = [a for a in self.addresses if a.source is not source]

    def set_hints(self, addresses: list[Address], expires: float) -> bool:
        """Replaces the hints of the announcement's kind (the addresses' source: mDNS or the
        UDP beacon) with what its latest one says; hints from the other kind stay after them.
        Verified addresses are not repeated; returns whether a new one appeared. At most
        MAX_HINTS are kept."""
        verified = {_spot(a) for a in self.addresses}
        before = {_spot(h.address) for h in self.hints}
        fresh = [a for a in addresses if _spot(a) not in verified]
        said = {_spot(a) for a in fresh}
        kinds = {a.source for a in addresses}
        others = [
            h for h in self.hints if h.address.source not in kinds and _spot(h.address) not in said
        ]
        self.hints = [*(Hint(a, expires) for a in fresh), *others][:MAX_HINTS]
        return any(_spot(h.address) not in before for h in self.hints)

    def drop_hints(self, source: Source) -> None:
        """Forgets what announcements of one kind said (it said goodbye or expired)."""
        self.hints = [h for h in self.hints if h.address.source is not source]

    def live_hints(self, now: float) -> list[Address]:
        """Hints not yet expired (expired ones are dropped)."""
        self.hints = [h for h in self.hints if h.expires > now]
        return [h.address for h in self.hints]

    def dialable(self, now: float) -> list[Address]:
        """Where to try the peer: verified addresses first, most recent first, then hints."""
        return [*self.addresses, *self.live_hints(now)]

    def describe(self, name: str, device_type: str, user_name: str | None = None) -> bool:
        """Updates the descriptive fields; returns whether anything changed.

        `user_name` None leaves it as it is (announcements do not carry it); "" clears it (the
        peer described itself and sets none).
        """
        name = sanitize_name(name)
        device_type = device_type.lower() if device_type.isascii() else ""
        changed = (name and name != self.name) or (device_type and device_type != self.device_type)
        if name:
            self.name = name
        if device_type:
            self.device_type = device_type[:16]
        if user_name is not None:
            user_name = sanitize_name(user_name)
            changed = changed or user_name != self.user_name
            self.user_name = user_name
        return bool(changed)


class PeerTable:
    """The peers known right now, bounded by `capacity`.

    When full, a new peer takes the place of the least recently seen peer that is neither
    trusted nor online nor added by a person; if there is none it is refused (LimitExceeded),
    so a flood of announcements cannot grow memory or push out the peers people use.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[str, PeerEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._entries

    def get(self, device_id: str) -> PeerEntry | None:
        return self._entries.get(device_id)

    def entries(self) -> list[PeerEntry]:
        """Every entry, ordered by device ID."""
        return [self._entries[key] for key in sorted(self._entries)]

    def add(self, entry: PeerEntry, *, keep: frozenset[str] = frozenset()) -> None:
        """Adds a new entry, evicting as described above; `keep` names IDs never evicted."""
        if entry.device_id in self._entries:
            raise ValueError(f"{entry.device_id} is already in the table")
        if len(self._entries) >= self.capacity:
            victim = self._evictable(keep)
            if victim is None:
                raise LimitExceeded(
                    f"the peer table is full ({self.capacity} peers); raise networking.max_peers",
                    limit="networking.max_peers",
                )
            del self._entries[victim.device_id]
        self._entries[entry.device_id] = entry

    def remove(self, device_id: str) -> PeerEntry | None:
        return self._entries.pop(device_id, None)

    def _evictable(self, keep: frozenset[str]) -> PeerEntry | None:
        candidates = [
            e
            for e in self._entries.values()
            if e.device_id not in keep
            and not e.online
            and not any(a.source in (Source.STATIC, Source.MANUAL) for a in e.addresses)
        ]
        return min(candidates, key=lambda e: e.last_seen, default=None)


# --- what the API and events see ------------------------------------------------------------


class Trust(StrEnum):
    """kizuna.v1.Peer.Trust."""

    UNTRUSTED = "untrusted"
    PAIRING = "pairing"
    TRUSTED = "trusted"


@dataclass(frozen=True, slots=True)
class PeerSnapshot:
    """A peer at one moment (kizuna.v1.Peer)."""

    device_id: str
    name: str
    device_type: str
    addresses: tuple[str, ...]
    source: Source
    trust: Trust
    connection: Connection
    permissions: Permissions | None
    fingerprint: str
    protocol_version: int
    capabilities: tuple[str, ...]
    last_seen: float
    paired_time: float | None
    next_attempt: float | None
    online: bool
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class PairingSnapshot:
    """A pairing at one moment (kizuna.v1.Pairing); `error_reason` is an ErrorReason name."""

    id: str
    peer_id: str
    peer_name: str
    outgoing: bool
    state: str  # core.pairing.State value
    code: str
    created: float
    expires: float
    error_reason: str = ""
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class PeerDiscovered:
    event_type: ClassVar[str] = "peer_discovered"
    peer: PeerSnapshot


@dataclass(frozen=True, slots=True)
class PeerUpdated:
    event_type: ClassVar[str] = "peer_updated"
    peer: PeerSnapshot


@dataclass(frozen=True, slots=True)
class PeerLost:
    """`reason`: "goodbye", "expired" or "removed"."""

    event_type: ClassVar[str] = "peer_lost"
    peer: PeerSnapshot
    reason: str


@dataclass(frozen=True, slots=True)
class PeerConnected:
    event_type: ClassVar[str] = "peer_connected"
    peer: PeerSnapshot


@dataclass(frozen=True, slots=True)
class PeerDisconnected:
    """`error_reason` is empty for a normal close."""

    event_type: ClassVar[str] = "peer_disconnected"
    peer: PeerSnapshot
    error_reason: str = ""
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class PeerIdentityAlert:
    """A device presented a certificate that does not match the pin of the ID it claimed."""

    event_type: ClassVar[str] = "peer_identity_mismatch"
    peer_id: str
    expected_fingerprint: str
    presented_fingerprint: str
    address: str


@dataclass(frozen=True, slots=True)
class PeerForgotten:
    event_type: ClassVar[str] = "peer_forgotten"
    peer_id: str


@dataclass(frozen=True, slots=True)
class PairingRequested:
    event_type: ClassVar[str] = "pairing_requested"
    pairing: PairingSnapshot


@dataclass(frozen=True, slots=True)
class PairingCompleted:
    event_type: ClassVar[str] = "pairing_completed"
    pairing: PairingSnapshot
    peer: PeerSnapshot


@dataclass(frozen=True, slots=True)
class PairingFailed:
    event_type: ClassVar[str] = "pairing_failed"
    pairing: PairingSnapshot
