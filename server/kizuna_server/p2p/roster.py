"""The live peer table: what discovery and incoming calls tell this daemon about other devices,
and the snapshots the API shows of them.

`core/peers.py` holds the table's rules (entries, hints, eviction, names); this keeps it up to
date from the network. Announcements (mDNS, the UDP beacon) are hints: they name an untrusted
device and suggest where it may be, but never rename a trusted peer or add to its verified
addresses (#18, #36). What a peer proved on a handshake (an incoming Hello, an Introduce) is
recorded as verified. Each change is published once, as peer_discovered or peer_updated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kizuna_server import PROTOCOL_VERSION
from kizuna_server.config import Config
from kizuna_server.core.events import Payload
from kizuna_server.core.peers import (
    Address,
    Connection,
    PeerDiscovered,
    PeerEntry,
    PeerLost,
    PeerSnapshot,
    PeerTable,
    PeerUpdated,
    Source,
    Trust,
    refuse_announced,
    sanitize_capabilities,
)
from kizuna_server.core.trust import PeerNotFound
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.discovery import Announcement
from kizuna_server.p2p.ports import may_dial
from kizuna_server.p2p.tls import PeerCertificate
from kizuna_server.p2p.trust_gate import TrustGate

log = logging.getLogger(__name__)


class Roster:
    """The peer table and what feeds it. Loop-only.

    `pairing_with(id)` says whether a pairing with the device is in progress (its snapshot
    then shows PAIRING); `want_link(id, wake)` is told whenever a device may be worth a link
    (the links decide).
    """

    def __init__(
        self,
        config: Config,
        gate: TrustGate,
        publish: Callable[[Payload], None],
        *,
        pairing_with: Callable[[str], bool],
        want_link: Callable[[str, bool], None],
    ) -> None:
        self._config = config
        self._gate = gate
        self._publish = publish
        self._pairing_with = pairing_with
        self._want_link = want_link
        self._ipv6 = config.networking.enable_ipv6
        self.table = PeerTable(config.networking.max_peers)

    def entry(self, device_id: str, source: Source) -> PeerEntry:
        """The entry for `device_id`, created when new (announced by the caller's `updated`)."""
        entry = self.table.get(device_id)
        if entry is None:
            entry = PeerEntry(device_id, source, last_seen=time.time())
            trusted = self._gate.store.get(device_id)
            if trusted is not None:
                entry.name = trusted.name
            keep = frozenset(p.device_id for p in self._gate.store)
            self.table.add(entry, keep=keep)
        return entry

    def updated(self, device_id: str) -> None:
        """Publishes peer_discovered for an entry's first report, peer_updated after that."""
        entry = self.table.get(device_id)
        if entry is not None and not entry.reported:
            entry.reported = True
            self._publish(PeerDiscovered(self.snapshot(device_id)))
            return
        self._publish(PeerUpdated(self.snapshot(device_id)))

    def updated_if_known(self, device_id: str) -> None:
        if device_id in self.table:
            self.updated(device_id)

    def name_of(self, device_id: str) -> str:
        """The peer's sanitised name, or '' when unknown."""
        entry = self.table.get(device_id)
        return entry.name if entry is not None else ""

    def found(self, announcement: Announcement, source: Source) -> None:
        """An announcement over mDNS or the UDP beacon (`source`): the same hint either way."""
        usable = [
            host
            for host in announcement.addresses
            if refuse_announced(host, announcement.link_port) is None
            and refuse_announced(host, announcement.link_port + 1) is None
        ]
        if not usable:
            log.warning(
                "ignoring the announcement of %s: it points at %s port %d, which is never "
                "dialled from an announcement",
                announcement.device_id,
                ", ".join(announcement.addresses) or "no address",
                announcement.link_port,
            )
            return
        usable = [host for host in usable if may_dial(host, ipv6=self._ipv6)]
        if not usable:
            return  # IPv6 addresses only, and networking.enable_ipv6 is false
        try:
            existed = announcement.device_id in self.table
            entry = self.entry(announcement.device_id, source)
        except KizunaError as exc:
            log.warning("peer table: %s", exc.message)
            return
        # An announcement is a hint: it never renames a trusted peer (only its link does) and
        # its addresses are kept apart until a handshake there shows the peer's key (#18, #36).
        trusted = self._gate.is_trusted(entry.device_id)
        changed = not trusted and entry.describe(announcement.name, announcement.device_type)
        newly = not (entry.announced or entry.beaconed)
        changed |= newly
        if source is Source.MDNS:
            entry.announced = True
            if entry.source is Source.UDP:
                # The beacon is the fallback for networks that filter mDNS: once mDNS reaches
                # this daemon too, the peer shows as announced over mDNS.
                entry.source = Source.MDNS
                changed = True
        else:
            entry.beaconed = True
        entry.protocol_version = entry.protocol_version or announcement.protocol_version
        now = time.time()
        entry.last_seen = now
        hints = [Address(host, announcement.link_port, source) for host in usable]
        new_hint = entry.set_hints(hints, now + self._hint_lifetime())
        changed |= new_hint and not trusted
        if changed or not existed:
            self.updated(entry.device_id)
        # Only news wakes a link in backoff: beacons repeat every interval, and one repeated
        # (or forged at a high rate) must not make this daemon dial faster than its backoff.
        self._want_link(entry.device_id, newly or new_hint or not existed)

    def lost(self, device_id: str, reason: str, source: Source) -> None:
        """An announcement said goodbye or expired; the peer is lost once neither mDNS nor the
        UDP beacon announces it."""
        entry = self.table.get(device_id)
        if entry is None:
            return
        if source is Source.MDNS:
            if not entry.announced:
                return
            entry.announced = False
        else:
            if not entry.beaconed:
                return
            entry.beaconed = False
        # Verified addresses stay: a goodbye is as unauthenticated as a hello.
        entry.drop_hints(source)
        if entry.announced or entry.beaconed:
            return  # still announced the other way
        entry.reachable = False
        self._publish(PeerLost(self.snapshot(device_id), reason))

    def _hint_lifetime(self) -> float:
        """How long an announced address stays dialable without being heard again (peers
        re-announce every interval; discovery reports a peer lost when its records expire)."""
        discovery = self._config.discovery
        return 2.0 * max(discovery.interval_secs, discovery.timeout_secs)

    def seen_incoming(
        self,
        cert: PeerCertificate,
        host: str,
        link_port: int,
        device: Any,
        *,
        trusted: bool = True,
    ) -> None:
        """A peer reached us: note where it listens; dial a trusted one back if not linked."""
        try:
            entry = self.entry(cert.device_id, Source.INCOMING)
        except KizunaError:
            return
        changed = (
            entry.describe(device.name, device.device_type, device.user_name) or not entry.reported
        )
        if not trusted:
            # Anyone can introduce itself: the entry is a hint (like mDNS), named but not dialled.
            entry.last_seen = time.time()
            if changed:
                self.updated(entry.device_id)
            return
        entry.verified = True
        entry.reachable = True
        entry.last_seen = time.time()
        if 1024 <= link_port <= 65534 and host:
            changed |= entry.add_address(Address(host, link_port, Source.INCOMING))
        if device.protocol_version:
            entry.protocol_version = min(device.protocol_version, PROTOCOL_VERSION)
        changed |= learn_capabilities(entry, device.capabilities)
        if changed:
            self.updated(entry.device_id)
        self._want_link(entry.device_id, True)

    def snapshot(self, device_id: str) -> PeerSnapshot:
        """A peer as the API shows it; PeerNotFound when neither seen nor trusted."""
        entry = self.table.get(device_id)
        trusted = self._gate.store.get(device_id) if self._gate.is_trusted(device_id) else None
        if entry is None and trusted is None:
            raise PeerNotFound(device_id)
        trust = (
            Trust.TRUSTED
            if trusted is not None
            else Trust.PAIRING
            if self._pairing_with(device_id)
            else Trust.UNTRUSTED
        )
        return PeerSnapshot(
            device_id=device_id,
            name=(entry.name if entry is not None else "") or (trusted.name if trusted else ""),
            device_type=entry.device_type if entry is not None else "",
            addresses=_shown_addresses(entry, trusted is not None) if entry is not None else (),
            source=entry.source if entry is not None else Source.TRUST_STORE,
            trust=trust,
            connection=entry.connection if entry is not None else Connection.DISCONNECTED,
            permissions=trusted.permissions if trusted is not None else None,
            fingerprint=trusted.fingerprint if trusted is not None else "",
            protocol_version=entry.protocol_version if entry is not None else 0,
            capabilities=entry.capabilities if entry is not None else (),
            last_seen=entry.last_seen if entry is not None else 0.0,
            paired_time=trusted.trusted_at if trusted is not None else None,
            next_attempt=entry.next_attempt if entry is not None else None,
            online=entry.online if entry is not None else False,
            user_name=entry.user_name if entry is not None else "",
        )

    def peers(self, *, trusted_only: bool = False, online_only: bool = False) -> list[PeerSnapshot]:
        """Known peers ordered by device ID."""
        ids = {e.device_id for e in self.table.entries()}
        ids |= {p.device_id for p in self._gate.store if self._gate.is_trusted(p.device_id)}
        result = [self.snapshot(i) for i in sorted(ids)]
        if trusted_only:
            result = [p for p in result if p.trust is Trust.TRUSTED]
        if online_only:
            result = [p for p in result if p.online]
        return result


def learn_capabilities(entry: PeerEntry, names: Iterable[str]) -> bool:
    """What a peer's authenticated Hello says it offers; returns whether that changed."""
    capabilities = sanitize_capabilities(names)
    changed = capabilities != entry.capabilities
    entry.capabilities = capabilities
    return changed


def _shown_addresses(entry: PeerEntry, trusted: bool) -> tuple[str, ...]:
    """The addresses the API shows: verified ones, and for a peer that is not trusted also what
    announcements claim (nothing else is known about it); a trusted peer's record shows only
    what was verified, so a spoofed announcement cannot put an address on it."""
    shown = entry.addresses if trusted else entry.dialable(time.time())
    return tuple(str(a) for a in shown)
