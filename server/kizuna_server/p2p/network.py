"""The peer layer: peer table, trust, links to peers, pairing, and the two peer ports.

Runs on the daemon's event loop. mDNS announcements, UDP beacons, static and added addresses and
incoming connections feed the peer table; a peer is believed only after a TLS handshake showed a
certificate whose key hashes to its ID. Trusted peers get one link each (a gRPC channel over
mutual TLS with both certificates pinned), kept up with keepalive and re-dialled with backoff.
Design notes: docs/peers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import grpc
import grpc.aio
import ifaddr
from cryptography.hazmat.primitives.serialization import Encoding

from kizuna_server import PROTOCOL_VERSION, __version__
from kizuna_server.calls.errors import reason_from_trailers
from kizuna_server.calls.guard import InFlightCalls
from kizuna_server.config import Config, TrustMode, parse_host_port
from kizuna_server.core.device_id import format_device_id, parse_device_id
from kizuna_server.core.events import ErrorOccurred, Payload
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.core.pairing import (
    Answer,
    PairingProtocolError,
    PairingSession,
    PairingThrottle,
    Request,
    Reveal,
    SeenNonces,
    introduce_proof_message,
    start_proof_message,
)
from kizuna_server.core.peers import (
    Address,
    Connection,
    PairingCompleted,
    PairingFailed,
    PairingRequested,
    PairingSnapshot,
    PeerAddressInvalid,
    PeerConnected,
    PeerDisconnected,
    PeerDiscovered,
    PeerEntry,
    PeerForgotten,
    PeerIdentityAlert,
    PeerLost,
    PeerSnapshot,
    PeerTable,
    PeerUpdated,
    Source,
    Trust,
    format_address,
    refuse_announced,
    sanitize_capabilities,
    sanitize_name,
)
from kizuna_server.core.trust import (
    PeerNotFound,
    PeerNotTrusted,
    Permissions,
    PinCheck,
    TrustedPeer,
    TrustSource,
    TrustStore,
)
from kizuna_server.errors import IdentityError, InvalidArgument, KizunaError
from kizuna_server.files import write_file_atomically
from kizuna_server.p2p.beacon import Beacon
from kizuna_server.p2p.discovery import MAX_SERVICES, Announcement, Discovery
from kizuna_server.p2p.identity import Identity, proof_holds, sign_proof
from kizuna_server.p2p.pairings import Hooks, Pairing, Pairings, source_of
from kizuna_server.p2p.tls import (
    HANDSHAKE_TIMEOUT_SECS,
    PeerCertificate,
    PeerIdentityMismatch,
    PeerUnreachable,
    caller_certificate,
    fetch_certificate,
    link_channel_credentials,
    link_channel_options,
    link_server_credentials,
    pairing_channel_credentials,
    pairing_server_credentials,
)
from kizuna_server.p2p.trust_file import TRUST_FILE, load_trust_store, save_trust_store
from kizuna_server.p2p.wire import (
    device_pb2,
    link_service_pb2,
    link_service_pb2_grpc,
    pairing_service_pb2,
    pairing_service_pb2_grpc,
)

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 47120
ADDRESSES_FILE: Final = "addresses.json"
#: Backoff between connection attempts: from this, doubling up to discovery.interval_secs.
FIRST_BACKOFF_SECS: Final = 0.5
#: Largest message on the pairing port, before authentication (a certificate is ~600 bytes).
MAX_PAIRING_MESSAGE_BYTES: Final = 16 * 1024
#: A link connection is re-established (and re-checked) at least this often.
MAX_CONNECTION_AGE_MS: Final = 10 * 60 * 1000


class PeerPortsUnavailable(KizunaError):
    """The link port or the pairing port (link port + 1) cannot be bound."""

    reason = "INTERNAL"


class _BindFailed(Exception):
    """One address of a group could not be bound (`where`: the address and why)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class PeerAlreadyExists(KizunaError):
    """AddPeer of an address already known for that peer."""

    reason = "PEER_ALREADY_EXISTS"


class PairingNotAllowed(KizunaError):
    """The trust mode does not allow pairing (allowlist_only)."""

    reason = "PAIRING_NOT_ALLOWED"


class NotTrustedByPeer(KizunaError):
    """The other device does not trust this one (it has not paired, or forgot it)."""

    reason = "PEER_NOT_TRUSTED"


@dataclass(eq=False)
class _Link:
    """This daemon's link to one peer: the channel and the task that keeps it up."""

    peer_id: str
    channel: grpc.aio.Channel | None = None
    task: asyncio.Task[None] | None = None
    #: Introduce was answered in this run, so the peer has our certificate pinned.
    introduced: bool = False
    #: DisconnectPeer was called: no automatic reconnect until ConnectPeer.
    held: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def settle(self, error: KizunaError | None) -> None:
        """Tells ConnectPeer callers how the latest attempt ended."""
        for waiter in self.waiters:
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)
        self.waiters.clear()


class PeerNetwork:
    """Everything between this daemon and others. Start once, stop once; loop-only methods."""

    def __init__(
        self,
        config: Config,
        identity: Identity,
        publish: Callable[[Payload], None],
        calls: InFlightCalls | None = None,
    ) -> None:
        self.config = config
        #: The calls the peer ports serve now, by caller: forgetting a peer ends its calls.
        self.calls = calls if calls is not None else InFlightCalls()
        self.identity = identity
        self._publish = publish
        self._mode = config.security.trust_mode
        self._allowlist = frozenset(config.security.allowlist)
        self._trust = TrustStore()
        self._trust_path = config.security.key_storage_path / TRUST_FILE
        self._addresses_path = config.paths.data_dir / ADDRESSES_FILE
        self._persisted: list[str] = []
        self._save_lock = asyncio.Lock()
        #: Only a store read from disk is written back at stop (never an empty one after a
        #: start that failed before reading it).
        self._trust_loaded = False
        self._roots: tuple[int, bytes] = (0, b"")
        self.table = PeerTable(config.networking.max_peers)
        self._links: dict[str, _Link] = {}
        #: Called with a peer's ID each time its link comes up (capabilities resume work).
        self.on_connected: list[Callable[[str], None]] = []
        #: Awaited when what a peer may do shrinks: with its permissions now, or None when it
        #: is no longer trusted (capabilities end the work it may no longer do, at once).
        self.on_revoked: list[Callable[[str, Permissions | None], Awaitable[None]]] = []
        self._pairings = Pairings(
            Hooks(completed=self._pairing_completed, ended=self._pairing_ended)
        )
        self._throttle = PairingThrottle()
        #: Peers paired in this run that have not yet shown they trust us: the other side may
        #: still be completing the pairing, so "not trusted" from them is not "forgotten".
        self._newly_paired: set[str] = set()
        #: IPv6 /64s: one host may use many addresses of its /64, and a LAN's devices share
        #: one, so a /64 is locked only after several addresses in it failed.
        self._prefix_throttle = PairingThrottle(max_failures=4 * PairingThrottle().max_failures)
        self._seen = SeenNonces()
        self._servers: list[grpc.aio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._discovery: Discovery | None = None
        self._stopping = False
        self.link_port = 0
        self.pairing_port = 0
        self._links_state = SubsystemState.STARTING
        self._links_detail = "starting"
        self._beacon: Beacon | None = None
        #: How long dialling a peer may take (each attempt, and ConnectPeer's wait for one).
        self._dial_timeout = float(config.networking.connection_timeout_secs)
        self._ipv6 = config.networking.enable_ipv6
        self._device_info = device_pb2.DeviceInfo(
            name=config.identity.device_name,
            device_type=config.identity.device_type.upper(),
            protocol_version=PROTOCOL_VERSION,
            software_version=__version__,
            user_name=config.identity.user_name,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def offer(self, capability: str) -> bool:
        """Registers a capability this version has built (its service is on the link port);
        it is offered to peers, in the Hello, when `plugins.enabled` lists it. Returns whether
        it is offered. Called by the composition root before `start`."""
        if capability not in self.config.plugins.enabled:
            return False
        if capability not in self._device_info.capabilities:
            self._device_info.capabilities.append(capability)
        return True

    @property
    def capabilities(self) -> tuple[str, ...]:
        """What this device offers to peers (see `offer`)."""
        return tuple(self._device_info.capabilities)

    async def start(
        self, servers: Callable[[PeerNetwork], tuple[grpc.aio.Server, grpc.aio.Server]]
    ) -> None:
        """Loads trust, binds and starts the peer ports, starts discovery and static peers.

        `servers(network)` builds the link and pairing servers (services registered, no ports).
        """
        self._trust = await asyncio.to_thread(load_trust_store, self._trust_path)
        self._trust_loaded = True
        self._persisted = await asyncio.to_thread(_load_addresses, self._addresses_path)
        if self._mode is TrustMode.ALLOWLIST_ONLY:
            for device_id in self._allowlist - {p.device_id for p in self._trust}:
                self._trust.trust(
                    TrustedPeer(device_id, "", TrustSource.ALLOWLIST, time.time(), Permissions())
                )
        self._refresh_roots()
        link, pairing = self._bind(servers)
        self._servers = [link, pairing]
        await link.start()
        await pairing.start()
        self._links_state = SubsystemState.RUNNING
        self._links_detail = (
            f"link port {self.link_port} (mutual TLS), pairing port {self.pairing_port}"
        )
        if self._mode is TrustMode.TRUST_ALL:
            log.warning(
                "security.trust_mode = trust_all: every device that asks is trusted without "
                "comparing codes. Use it only on a lab network."
            )
        for text in self.config.discovery.static_peers:
            self._spawn(self._resolve_address(text, Source.STATIC))
        for text in self._persisted:
            self._spawn(self._resolve_address(text, Source.MANUAL))
        discovery = self.config.discovery
        if discovery.enable_mdns:
            self._discovery = Discovery(
                device_id=self.identity.device_id,
                name=self.config.identity.device_name,
                device_type=self.config.identity.device_type,
                protocol_version=PROTOCOL_VERSION,
                link_port=self.link_port,
                pairing_port=self.pairing_port,
                interfaces=discovery.interfaces,
                ipv4=discovery.ipv4,
                ipv6=discovery.ipv6,
                interval=discovery.interval_secs,
                ttl=discovery.timeout_secs,
                # Tracked services push each other out before announced peers fill the table.
                max_services=min(MAX_SERVICES, self.config.networking.max_peers),
                on_found=self._on_found,
                on_lost=self._on_lost,
            )
            await self._discovery.start()
            if self._discovery.state is SubsystemState.FAILED:
                self._publish(
                    ErrorOccurred("SUBSYSTEM_UNAVAILABLE", self._discovery.detail, "discovery")
                )
        if discovery.enable_udp:
            self._beacon = Beacon(
                device_id=self.identity.device_id,
                name=self.config.identity.device_name,
                device_type=self.config.identity.device_type,
                protocol_version=PROTOCOL_VERSION,
                link_port=self.link_port,
                pairing_port=self.pairing_port,
                interfaces=discovery.interfaces,
                ipv4=discovery.ipv4,
                ipv6=discovery.ipv6,
                port=discovery.udp_port,
                interval=discovery.interval_secs,
                ttl=discovery.timeout_secs,
                max_devices=min(MAX_SERVICES, self.config.networking.max_peers),
                on_found=lambda announcement: self._on_found(announcement, Source.UDP),
                on_lost=lambda device_id, reason: self._on_lost(device_id, reason, Source.UDP),
            )
            await self._beacon.start()
            if self._beacon.state is SubsystemState.FAILED:
                self._publish(
                    ErrorOccurred("SUBSYSTEM_UNAVAILABLE", self._beacon.detail, "discovery")
                )

    async def stop(self) -> None:
        """Says goodbye on mDNS and the UDP beacon, ends pairings, closes links and the peer
        ports."""
        self._stopping = True
        self._pairings.close_all()
        if self._discovery is not None:
            await self._discovery.stop()
        if self._beacon is not None:
            await self._beacon.stop()
        for task in list(self._tasks):
            task.cancel()
        for link in list(self._links.values()):
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(
            *self._tasks,
            *(link.task for link in self._links.values() if link.task is not None),
            return_exceptions=True,
        )
        for link in self._links.values():
            if link.channel is not None:
                await link.channel.close(None)
        await asyncio.gather(*(server.stop(0.5) for server in self._servers))
        # A task cancelled above may have changed trust and not saved it yet (waiting for the
        # save lock, say): what this run trusted must still be trusted after a restart.
        if self._trust_loaded:
            async with self._save_lock:
                snapshot = TrustStore(list(self._trust))
                await asyncio.to_thread(save_trust_store, self._trust_path, snapshot)
        self._links_state = SubsystemState.STOPPED

    def subsystems(self) -> list[Subsystem]:
        """The discovery and links subsystems, for NodeService."""
        discovery = _discovery_subsystem(
            self._discovery.subsystem() if self._discovery is not None else None,
            self._beacon,
        )
        connected = sum(1 for e in self.table.entries() if e.connection is Connection.CONNECTED)
        links = Subsystem(
            "links",
            self._links_state,
            f"{self._links_detail}; {connected} connected, {len(self.table)} known, "
            f"{sum(1 for p in self._trust if self._is_trusted(p.device_id))} trusted",
        )
        return [discovery, links]

    def endpoints(self) -> list[str]:
        """Where other daemons connect: the link port and the pairing port."""
        host = self.config.networking.listen_address or ("[::]" if self._ipv6 else "0.0.0.0")  # noqa: S104
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return [f"{host}:{self.link_port}", f"{host}:{self.pairing_port}"]

    def channel_for(self, peer_id: str) -> grpc.aio.Channel:
        """The link channel to a connected peer, shared by every capability."""
        link = self._links.get(peer_id)
        if link is None or link.channel is None:
            raise PeerUnreachable(f"peer {format_device_id(peer_id)} is not connected")
        return link.channel

    def _bind(
        self, servers: Callable[[PeerNetwork], tuple[grpc.aio.Server, grpc.aio.Server]]
    ) -> tuple[grpc.aio.Server, grpc.aio.Server]:
        """Binds the link port and the pairing port (link port + 1) on every address of the
        first group of `bind_hosts` that can be bound; retries when the port is 0."""
        networking = self.config.networking
        groups = bind_hosts(networking.listen_address, ipv6=self._ipv6, ipv4=_local_ipv4())
        last = ""
        for _ in range(20 if networking.listen_port == 0 else 1):
            for hosts in groups:
                link, pairing = servers(self)
                try:
                    port = self._bind_group(link, pairing, hosts, networking.listen_port)
                except _BindFailed as failed:
                    last = failed.where
                    continue
                self.link_port, self.pairing_port = port, port + 1
                return link, pairing
        raise PeerPortsUnavailable(
            f"cannot listen for peers on {last} (the link port and the next one must both be "
            "free); set networking.listen_port to a free port, or 0 to pick one"
        )

    def _bind_group(
        self, link: grpc.aio.Server, pairing: grpc.aio.Server, hosts: list[str], port: int
    ) -> int:
        """Binds both ports on each of `hosts` (port 0: the first picks one for all)."""
        for host in hosts:
            bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
            where = f"{bind_host}:{port or 'any'}"
            try:
                bound = link.add_secure_port(
                    f"{bind_host}:{port}",
                    link_server_credentials(self.identity, lambda: self._roots),
                )
                if not 0 < bound < 65535 or (port and bound != port):
                    raise _BindFailed(f"{where}: bound port {bound}")
                port = bound
                pairing.add_secure_port(
                    f"{bind_host}:{port + 1}", pairing_server_credentials(self.identity)
                )
            except RuntimeError as exc:
                raise _BindFailed(f"{where}: {exc}") from exc
        return port

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- trust --------------------------------------------------------------------------------

    def _is_trusted(self, device_id: str) -> bool:
        if device_id not in self._trust:
            return False
        return self._mode is not TrustMode.ALLOWLIST_ONLY or device_id in self._allowlist

    def permissions_of(self, device_id: str) -> Permissions | None:
        """A trusted peer's permissions; None for a device that is not trusted."""
        peer = self._trust.get(device_id)
        return peer.permissions if peer is not None and self._is_trusted(device_id) else None

    def name_of(self, device_id: str) -> str:
        """The peer's sanitised name, or '' when unknown."""
        return self._name_of(device_id)

    def _refresh_roots(self) -> None:
        pems = b"".join(
            p.certificate_pem.encode()
            for p in self._trust
            if p.pinned and self._is_trusted(p.device_id)
        )
        self._roots = (self._roots[0] + 1, pems)

    async def _trust_changed(self) -> None:
        """Re-lists the link port's roots and saves the store (atomically, off the loop)."""
        self._refresh_roots()
        snapshot = TrustStore(list(self._trust))
        async with self._save_lock:
            await asyncio.to_thread(save_trust_store, self._trust_path, snapshot)

    def _alert(self, peer_id: str, pinned: str, presented: str, address: str) -> None:
        log.warning(
            "peer %s at %s presented certificate %s but %s is pinned: refused",
            peer_id,
            address,
            presented,
            pinned,
        )
        self._publish(PeerIdentityAlert(peer_id, pinned, presented, address))

    def _refuse_impostor(self, cert: PeerCertificate, address: str) -> None:
        """Raises PeerIdentityMismatch (and alerts) when `cert` is not the pinned one of its ID;
        nothing is sent to such a device."""
        if self._trust.check(cert.device_id, cert.fingerprint) is PinCheck.MISMATCH:
            pinned = self._trust.require(cert.device_id).fingerprint
            self._alert(cert.device_id, pinned, cert.fingerprint, address)
            raise PeerIdentityMismatch(
                f"the device at {address} claims to be {format_device_id(cert.device_id)} but "
                "its certificate differs from the pinned one; the pin was kept",
                peer_id=cert.device_id,
                address=address,
            )

    async def _accept_certificate(self, cert: PeerCertificate, address: str) -> None:
        """Checks a certificate against the trust store; pins it where the store allows."""
        check = self._trust.check(cert.device_id, cert.fingerprint)
        if check is PinCheck.TRUSTED and self._is_trusted(cert.device_id):
            return
        if check is PinCheck.MISMATCH:
            self._refuse_impostor(cert, address)
        if check is PinCheck.UNPINNED and self._is_trusted(cert.device_id):
            self._trust.pin(cert.device_id, certificate_pem=cert.pem, fingerprint=cert.fingerprint)
            await self._trust_changed()
            return
        if check is PinCheck.UNKNOWN and self._mode is TrustMode.TRUST_ALL:
            self._trust.trust(
                TrustedPeer(
                    cert.device_id,
                    self._name_of(cert.device_id),
                    TrustSource.AUTO,
                    time.time(),
                    Permissions(),
                    cert.pem,
                    cert.fingerprint,
                )
            )
            await self._trust_changed()
            self._updated(cert.device_id)
            return
        raise PeerNotTrusted(cert.device_id)

    def _name_of(self, device_id: str) -> str:
        entry = self.table.get(device_id)
        return entry.name if entry is not None else ""

    # --- the peer table -----------------------------------------------------------------------

    def _entry(self, device_id: str, source: Source) -> PeerEntry:
        """The entry for `device_id`, created when new (announced by the caller's `_updated`)."""
        entry = self.table.get(device_id)
        if entry is None:
            entry = PeerEntry(device_id, source, last_seen=time.time())
            trusted = self._trust.get(device_id)
            if trusted is not None:
                entry.name = trusted.name
            keep = frozenset(p.device_id for p in self._trust)
            self.table.add(entry, keep=keep)
        return entry

    def _updated(self, device_id: str) -> None:
        """Publishes peer_discovered for an entry's first report, peer_updated after that."""
        entry = self.table.get(device_id)
        if entry is not None and not entry.reported:
            entry.reported = True
            self._publish(PeerDiscovered(self.snapshot(device_id)))
            return
        self._publish(PeerUpdated(self.snapshot(device_id)))

    def _on_found(self, announcement: Announcement, source: Source = Source.MDNS) -> None:
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
        usable = [host for host in usable if self._may_dial(host)]
        if not usable:
            return  # IPv6 addresses only, and networking.enable_ipv6 is false
        try:
            existed = announcement.device_id in self.table
            entry = self._entry(announcement.device_id, source)
        except KizunaError as exc:
            log.warning("peer table: %s", exc.message)
            return
        # An announcement is a hint: it never renames a trusted peer (only its link does) and
        # its addresses are kept apart until a handshake there shows the peer's key (#18, #36).
        trusted = self._is_trusted(entry.device_id)
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
            self._updated(entry.device_id)
        # Only news wakes a link in backoff: beacons repeat every interval, and one repeated
        # (or forged at a high rate) must not make this daemon dial faster than its backoff.
        self._want_link(entry.device_id, wake=newly or new_hint or not existed)

    def _on_lost(self, device_id: str, reason: str, source: Source = Source.MDNS) -> None:
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

    def _may_dial(self, host: str) -> bool:
        """Whether `host` is of a family this daemon uses (networking.enable_ipv6)."""
        return self._ipv6 or ":" not in host

    def _hint_lifetime(self) -> float:
        """How long an announced address stays dialable without being heard again (peers
        re-announce every interval; discovery reports a peer lost when its records expire)."""
        discovery = self.config.discovery
        return 2.0 * max(discovery.interval_secs, discovery.timeout_secs)

    def _seen_incoming(
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
            entry = self._entry(cert.device_id, Source.INCOMING)
        except KizunaError:
            return
        changed = (
            entry.describe(device.name, device.device_type, device.user_name) or not entry.reported
        )
        if not trusted:
            # Anyone can introduce itself: the entry is a hint (like mDNS), named but not dialled.
            entry.last_seen = time.time()
            if changed:
                self._updated(entry.device_id)
            return
        entry.verified = True
        entry.reachable = True
        entry.last_seen = time.time()
        if 1024 <= link_port <= 65534 and host:
            changed |= entry.add_address(Address(host, link_port, Source.INCOMING))
        if device.protocol_version:
            entry.protocol_version = min(device.protocol_version, PROTOCOL_VERSION)
        changed |= self._learn_capabilities(entry, device.capabilities)
        if changed:
            self._updated(entry.device_id)
        self._want_link(entry.device_id)

    def snapshot(self, device_id: str) -> PeerSnapshot:
        """A peer as the API shows it; PeerNotFound when neither seen nor trusted."""
        entry = self.table.get(device_id)
        trusted = self._trust.get(device_id) if self._is_trusted(device_id) else None
        if entry is None and trusted is None:
            raise PeerNotFound(device_id)
        trust = (
            Trust.TRUSTED
            if trusted is not None
            else Trust.PAIRING
            if self._pairings.for_peer(device_id) is not None
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
        ids |= {p.device_id for p in self._trust if self._is_trusted(p.device_id)}
        result = [self.snapshot(i) for i in sorted(ids)]
        if trusted_only:
            result = [p for p in result if p.trust is Trust.TRUSTED]
        if online_only:
            result = [p for p in result if p.online]
        return result

    # --- addresses ----------------------------------------------------------------------------

    async def _identify(self, host: str, port: int, *, link_port: bool = False) -> PeerCertificate:
        """Reads and checks the certificate of the daemon whose link port is host:port.

        It is read from the pairing port (port + 1), which asks for no client certificate, or
        with `link_port` from the link port itself (TLS 1.3 servers send their certificate
        before they see ours); the mutual-TLS handshake there is then pinned to it.
        """
        try:
            der = await fetch_certificate(
                host,
                port if link_port else port + 1,
                limit=min(HANDSHAKE_TIMEOUT_SECS, self._dial_timeout),
                ipv4_only=not self._ipv6,
            )
        except PeerUnreachable as exc:
            if link_port:
                raise
            # Name the address the person gave, not the pairing port read behind it.
            given = format_address(host, port)
            detail = exc.message.partition(f"{format_address(host, port + 1)}: ")[2]
            raise PeerUnreachable(
                f"no Kizuna peer answered at {given} (asked on its pairing port, {port + 1}, "
                f"the one after the link port: {detail or exc.message})",
                address=given,
            ) from exc
        try:
            return PeerCertificate(der)
        except IdentityError as exc:
            raise PeerIdentityMismatch(
                f"the service at {format_address(host, port)} is not a Kizuna device: {exc}",
                address=format_address(host, port),
            ) from exc

    async def _resolve_address(self, text: str, source: Source) -> None:
        """Learns which device listens at a static or persisted address, retrying with backoff."""
        try:
            host, port = parse_host_port(text, default_port=DEFAULT_PORT)
        except ValueError as exc:
            log.warning("peer address %r: %s", text, exc)
            return
        if not self._may_dial(host):
            log.warning(
                "peer address %s is IPv6 and networking.enable_ipv6 is false; ignored", text
            )
            return
        delay = FIRST_BACKOFF_SECS
        while not self._stopping:
            try:
                cert = await self._identify(host, port)
            except KizunaError as exc:
                log.info("static peer %s: %s; retrying in %.1fs", text, exc.message, delay)
                await asyncio.sleep(delay * _jitter())
                delay = min(delay * 2, self.config.discovery.interval_secs)
                continue
            if cert.device_id == self.identity.device_id:
                log.warning("static peer %s is this device; ignored", text)
                return
            try:
                self._refuse_impostor(cert, text)
            except PeerIdentityMismatch as exc:
                log.warning("static peer %s: %s", text, exc.message)
                return
            try:
                entry = self._entry(cert.device_id, source)
            except KizunaError as exc:
                log.warning("peer table: %s", exc.message)
                return
            entry.verified = True
            entry.reachable = True
            entry.last_seen = time.time()
            if entry.add_address(Address(host, port, source)) or not entry.reported:
                self._updated(cert.device_id)
            with contextlib.suppress(KizunaError):  # to learn its name
                await self._introduce(Address(host, port, source), cert)
            self._want_link(cert.device_id)
            return

    async def add_peer(self, text: str, *, persist: bool) -> PeerSnapshot:
        """AddPeer: dials the address, learns the device there, keeps the address."""
        try:
            host, port = parse_host_port(text.strip(), default_port=DEFAULT_PORT)
        except ValueError as exc:
            raise PeerAddressInvalid(f"address {text[:100]!r}: {exc}", address=text[:100]) from exc
        if not 1 <= port <= 65534:
            raise PeerAddressInvalid(f"address {text[:100]!r}: port out of range", address=text)
        if not self._may_dial(host):
            raise PeerAddressInvalid(
                f"address {text[:100]!r} is IPv6 and networking.enable_ipv6 is false",
                address=text[:100],
            )
        cert = await self._identify(host, port)
        if cert.device_id == self.identity.device_id:
            raise PeerAddressInvalid(f"{text} is this device", address=text)
        self._refuse_impostor(cert, format_address(host, port))
        entry = self._entry(cert.device_id, Source.MANUAL)
        known = any((a.host, a.port) == (host, port) for a in entry.addresses)
        if known and any(
            (a.host, a.port, a.source) == (host, port, Source.MANUAL) for a in entry.addresses
        ):
            raise PeerAlreadyExists(
                f"{format_address(host, port)} is already added for "
                f"{format_device_id(cert.device_id)}",
                peer_id=cert.device_id,
            )
        entry.addresses = [a for a in entry.addresses if (a.host, a.port) != (host, port)]
        entry.add_address(Address(host, port, Source.MANUAL))
        entry.verified = True
        entry.reachable = True
        entry.last_seen = time.time()
        with contextlib.suppress(KizunaError):  # only to learn its name; the link checks again
            await self._introduce(Address(host, port, Source.MANUAL), cert)
        if persist and format_address(host, port) not in self._persisted:
            self._persisted.append(format_address(host, port))
            await asyncio.to_thread(_save_addresses, self._addresses_path, list(self._persisted))
        self._updated(cert.device_id)
        self._want_link(cert.device_id)
        return self.snapshot(cert.device_id)

    async def remove_peer(self, device_id: str) -> None:
        """RemovePeer: drops the entry and its added addresses; trust is kept."""
        entry = self.table.get(device_id)
        if entry is None:
            raise PeerNotFound(device_id)
        await self._close_link(device_id)
        snapshot = self.snapshot(device_id)
        self.table.remove(device_id)
        mine = {str(a) for a in entry.addresses if a.source is Source.MANUAL}
        if mine & set(self._persisted):
            self._persisted = [a for a in self._persisted if a not in mine]
            await asyncio.to_thread(_save_addresses, self._addresses_path, list(self._persisted))
        self._publish(PeerLost(snapshot, "removed"))

    # --- links --------------------------------------------------------------------------------

    def _want_link(self, device_id: str, *, wake: bool = True) -> None:
        """Starts keeping a link to a trusted peer with addresses (or to anyone in trust_all);
        with `wake`, a link waiting out its backoff tries again now."""
        if self._stopping:
            return
        entry = self.table.get(device_id)
        if entry is None or not self._dialable(entry):
            return
        if not self._is_trusted(device_id) and self._mode is not TrustMode.TRUST_ALL:
            return
        link = self._links.setdefault(device_id, _Link(device_id))
        if link.held:
            return
        if link.task is None or link.task.done():
            link.task = asyncio.get_running_loop().create_task(self._maintain(link))
        elif wake:
            link.wake.set()

    def _dialable(self, entry: PeerEntry) -> list[Address]:
        """Where to try the peer now, in the families this daemon uses."""
        return [a for a in entry.dialable(time.time()) if self._may_dial(a.host)]

    async def link_to(self, device_id: str) -> grpc.aio.Channel:
        """The link channel to a trusted peer, dialling it first when it is not connected (as
        ConnectPeer does, within networking.connection_timeout_secs). For capabilities that
        act on a person's request, such as sending files: a peer paired a moment ago, or whose
        link dropped, is reached instead of refused."""
        link = self._links.get(device_id)
        if link is not None and link.channel is not None:
            return link.channel
        await self.connect_peer(device_id)
        return self.channel_for(device_id)

    async def connect_peer(self, device_id: str) -> PeerSnapshot:
        """ConnectPeer: opens (or reuses) the link and waits for it."""
        entry = self.table.get(device_id)
        if entry is None:
            if self._is_trusted(device_id):
                raise PeerUnreachable(
                    f"peer {format_device_id(device_id)} is trusted but has not been seen; "
                    "add its address with 'kizuna peers add HOST:PORT'"
                )
            raise PeerNotFound(device_id)
        if not self._is_trusted(device_id) and self._mode is not TrustMode.TRUST_ALL:
            raise PeerNotTrusted(device_id)
        if entry.connection is Connection.CONNECTED:
            return self.snapshot(device_id)
        if not self._dialable(entry):
            raise PeerUnreachable(f"no address is known for {format_device_id(device_id)}")
        link = self._links.setdefault(device_id, _Link(device_id))
        link.held = False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.waiters.append(waiter)
        self._want_link(device_id)
        link.wake.set()
        try:
            # The attempt itself is bounded by the same time (`_connect`); the margin lets its
            # own, more telling error arrive first.
            async with asyncio.timeout(self._dial_timeout + 1.0):
                await waiter
        except TimeoutError:
            raise PeerUnreachable(
                f"no link to {format_device_id(device_id)} within {self._dial_timeout:g}s "
                f"(networking.connection_timeout_secs): {entry.last_error or 'no answer'}"
            ) from None
        finally:
            if waiter in link.waiters:
                link.waiters.remove(waiter)
        return self.snapshot(device_id)

    async def disconnect_peer(self, device_id: str) -> None:
        """DisconnectPeer: closes the link and holds it closed until ConnectPeer."""
        if device_id not in self.table and not self._is_trusted(device_id):
            raise PeerNotFound(device_id)
        link = self._links.setdefault(device_id, _Link(device_id))
        link.held = True
        await self._close_link(device_id)

    async def _close_link(self, device_id: str) -> None:
        link = self._links.get(device_id)
        if link is None:
            return
        if link.task is not None and not link.task.done():
            link.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await link.task
        link.task = None
        if link.channel is not None:
            await link.channel.close(None)
            link.channel = None

    async def _maintain(self, link: _Link) -> None:  # noqa: PLR0915 - one loop, read in order
        """Keeps one link up: dial, watch, re-dial with backoff while the peer is wanted."""
        delay = FIRST_BACKOFF_SECS
        entry: PeerEntry | None = None
        try:
            while not self._stopping:
                entry = self.table.get(link.peer_id)
                if entry is None or not self._dialable(entry):
                    return
                if not self._is_trusted(link.peer_id) and self._mode is not TrustMode.TRUST_ALL:
                    return
                link.wake.clear()
                entry.connection = Connection.CONNECTING
                entry.next_attempt = None
                try:
                    await self._connect(link, entry)
                except KizunaError as exc:
                    entry.last_error = exc.message
                    entry.reachable = isinstance(exc, NotTrustedByPeer | PeerNotTrusted)
                    link.settle(exc)
                    if not self._is_trusted(link.peer_id) and self._mode is not TrustMode.TRUST_ALL:
                        return  # forgotten meanwhile (here, or there and so here): no re-dial
                    entry.connection = Connection.BACKOFF
                    if isinstance(exc, PeerNotTrusted | NotTrustedByPeer | PeerIdentityMismatch):
                        delay = max(delay, float(self.config.discovery.interval_secs))
                    wait = delay * _jitter()
                    entry.next_attempt = time.time() + wait
                    log.info("link to %s: %s; next try in %.1fs", link.peer_id, exc.message, wait)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await link.wake.wait()
                    delay = min(delay * 2, float(self.config.discovery.interval_secs))
                    continue
                delay = FIRST_BACKOFF_SECS
                entry.connection = Connection.CONNECTED
                entry.last_error = ""
                entry.last_seen = time.time()
                link.settle(None)
                self._publish(PeerConnected(self.snapshot(link.peer_id)))
                for callback in self.on_connected:
                    callback(link.peer_id)
                why = await self._watch(link)
                if link.channel is not None:
                    await link.channel.close(None)
                    link.channel = None
                entry.connection = Connection.DISCONNECTED
                entry.reachable = False
                entry.last_error = why
                self._publish(
                    PeerDisconnected(self.snapshot(link.peer_id), "PEER_UNREACHABLE", why)
                )
        finally:
            if entry is not None and entry.connection is not Connection.DISCONNECTED:
                was_connected = entry.connection is Connection.CONNECTED
                entry.connection = Connection.DISCONNECTED
                entry.next_attempt = None
                if was_connected and not self._stopping:
                    self._publish(PeerDisconnected(self.snapshot(link.peer_id)))
            if link.channel is not None:
                channel, link.channel = link.channel, None
                await channel.close(None)

    async def _connect(self, link: _Link, entry: PeerEntry) -> None:
        """Tries each address, most recent first, all within networking.connection_timeout_secs;
        raises the most telling failure."""
        errors: list[KizunaError] = []
        try:
            async with asyncio.timeout(self._dial_timeout):
                for address in self._dialable(entry):
                    try:
                        await self._dial(link, entry, address)
                    except KizunaError as exc:
                        errors.append(exc)
                    else:
                        return
        except TimeoutError:
            errors.append(
                PeerUnreachable(
                    f"dialling {format_device_id(link.peer_id)} took longer than "
                    f"{self._dial_timeout:g}s (networking.connection_timeout_secs)"
                )
            )
        rank = (PeerIdentityMismatch, NotTrustedByPeer, PeerNotTrusted)
        for kind in rank:
            for error in errors:
                if isinstance(error, kind):
                    raise error
        raise errors[0] if errors else PeerUnreachable("no address")

    async def _dial(self, link: _Link, entry: PeerEntry, address: Address) -> None:
        shown = str(address)
        pinned = self._trust.get(link.peer_id)
        # A peer whose certificate is pinned is read and dialled on its link port first: the
        # pairing port is open to strangers, and one holding its connections must not keep a
        # paired peer from reconnecting. Introduce follows only when that fails.
        direct = pinned is not None and pinned.pinned and self._is_trusted(link.peer_id)
        cert = await self._identify(address.host, address.port, link_port=direct)
        if cert.device_id != link.peer_id:
            if pinned is not None and pinned.pinned:
                self._alert(link.peer_id, pinned.fingerprint, cert.fingerprint, shown)
            raise PeerIdentityMismatch(
                f"the device at {shown} is {format_device_id(cert.device_id)}, not "
                f"{format_device_id(link.peer_id)}; not connected",
                peer_id=link.peer_id,
                address=shown,
            )
        await self._accept_certificate(cert, shown)
        entry.verified = True
        if direct or link.introduced:
            try:
                await self._open_link(link, entry, address, cert)
            except PeerUnreachable:
                link.introduced = False  # ask the pairing port why
            else:
                return
        introduced = await self._introduce(address, cert)
        if introduced.trusted:
            self._newly_paired.discard(link.peer_id)
        else:
            # Shielded: forgetting must finish even when the dial's time runs out meanwhile.
            await asyncio.shield(self._forgotten_by_peer(link.peer_id))
            raise NotTrustedByPeer(
                f"{format_device_id(cert.device_id)} has not paired with this device; "
                f"pair with 'kizuna pair {cert.device_id[:8]}'"
            )
        link.introduced = True
        await self._open_link(link, entry, address, cert)

    async def _open_link(
        self, link: _Link, entry: PeerEntry, address: Address, cert: PeerCertificate
    ) -> None:
        """Opens the mutual-TLS channel to the link port and says Hello."""
        shown = str(address)
        channel = grpc.aio.secure_channel(
            shown,
            link_channel_credentials(self.identity, cert.pem),
            options=link_channel_options(link.peer_id),
        )
        try:
            reply = await link_service_pb2_grpc.LinkServiceStub(channel).Hello(
                link_service_pb2.HelloRequest(device=self._device_info, link_port=self.link_port),
                timeout=HANDSHAKE_TIMEOUT_SECS,
            )
        except grpc.aio.AioRpcError as exc:
            await channel.close(None)
            link.introduced = False
            if exc.code() is grpc.StatusCode.UNAUTHENTICATED:
                raise NotTrustedByPeer(
                    f"{format_device_id(link.peer_id)} no longer trusts this device; pair again"
                ) from exc
            raise PeerUnreachable(
                f"link to {shown} failed: {exc.details() or exc.code().name}", address=shown
            ) from exc
        except BaseException:
            # Cancelled (the dial took longer than networking.connection_timeout_secs).
            await channel.close(None)
            link.introduced = False
            raise
        link.channel = channel
        self._newly_paired.discard(link.peer_id)  # its link port let us in: it trusts us
        entry.describe(reply.device.name, reply.device.device_type, reply.device.user_name)
        entry.protocol_version = reply.protocol_version
        self._learn_capabilities(entry, reply.device.capabilities)
        entry.add_address(address)

    @staticmethod
    def _learn_capabilities(entry: PeerEntry, names: Any) -> bool:
        """What a peer's authenticated Hello says it offers; returns whether that changed."""
        capabilities = sanitize_capabilities(names)
        changed = capabilities != entry.capabilities
        entry.capabilities = capabilities
        return changed

    async def _introduce(
        self, address: Address, cert: PeerCertificate
    ) -> pairing_service_pb2.IntroduceResponse:
        """Shows our certificate on the peer's pairing port (so a trust by ID can pin it) and
        learns how the peer describes itself and whether it trusts us."""
        shown = format_address(address.host, address.port + 1)
        own = self.identity.certificate.public_bytes(_DER)
        async with _pairing_channel(shown, cert) as channel:
            try:
                reply: pairing_service_pb2.IntroduceResponse = (
                    await pairing_service_pb2_grpc.PairingServiceStub(channel).Introduce(
                        pairing_service_pb2.IntroduceRequest(
                            certificate=own,
                            device=self._device_info,
                            link_port=self.link_port,
                            proof=sign_proof(self.identity, introduce_proof_message(own, cert.der)),
                        ),
                        timeout=HANDSHAKE_TIMEOUT_SECS,
                    )
                )
            except grpc.aio.AioRpcError as exc:
                if _reason_of(exc) == "PEER_IDENTITY_MISMATCH":
                    raise PeerIdentityMismatch(
                        f"{format_device_id(cert.device_id)} has a different certificate pinned "
                        "for this device; forget this device there and pair again"
                    ) from exc
                raise PeerUnreachable(
                    f"pairing port {shown}: {exc.details() or exc.code().name}", address=shown
                ) from exc
        entry = self.table.get(cert.device_id)
        if entry is not None:
            entry.reachable = True
            if entry.describe(reply.device.name, reply.device.device_type, reply.device.user_name):
                self._updated(cert.device_id)
        return reply

    async def _watch(self, link: _Link) -> str:
        """Returns why the link went down.

        The channel's state shows a dropped connection (keepalive pings find dead peers); every
        `discovery.interval_secs` a Hello also checks that the peer still trusts us, which a
        connection alone would not show until it is re-established.
        """
        channel = link.channel
        assert channel is not None
        stub = link_service_pb2_grpc.LinkServiceStub(channel)
        interval = float(self.config.discovery.interval_secs)
        state = channel.get_state()
        while True:
            try:
                async with asyncio.timeout(interval):
                    await channel.wait_for_state_change(state)
            except TimeoutError:
                pass
            state = channel.get_state()
            if state is grpc.ChannelConnectivity.SHUTDOWN:
                return "the link was closed"
            try:
                reply = await stub.Hello(
                    link_service_pb2.HelloRequest(
                        device=self._device_info, link_port=self.link_port
                    ),
                    # Not wait_for_ready: a peer that is gone fails this at once (a connection
                    # that merely aged out is re-established by the call).
                    timeout=HANDSHAKE_TIMEOUT_SECS,
                )
            except grpc.aio.AioRpcError as exc:
                link.introduced = False
                return f"the link dropped: {exc.details() or exc.code().name}"
            entry = self.table.get(link.peer_id)
            if entry is not None:
                entry.last_seen = time.time()
                device = reply.device
                changed = entry.describe(device.name, device.device_type, device.user_name)
                if self._learn_capabilities(entry, device.capabilities) or changed:
                    self._updated(link.peer_id)
            state = channel.get_state()

    # --- serving peers ------------------------------------------------------------------------

    def authorize(self, context: Any) -> KizunaError | None:
        """The link port's check on every call: the caller's certificate is a pinned one."""
        cert = _caller(context)
        if cert is None:
            return PeerNotTrusted("")
        check = self._trust.check(cert.device_id, cert.fingerprint)
        if check is PinCheck.TRUSTED and self._is_trusted(cert.device_id):
            return None
        if check is PinCheck.MISMATCH:
            pinned = self._trust.require(cert.device_id).fingerprint
            self._alert(cert.device_id, pinned, cert.fingerprint, _peer_host(context))
            return PeerIdentityMismatch("the certificate differs from the pinned one")
        return PeerNotTrusted(cert.device_id)

    async def hello(self, request: Any, context: Any) -> link_service_pb2.HelloResponse:
        cert = _caller(context)
        assert cert is not None  # authorize() ran first
        self._newly_paired.discard(cert.device_id)  # it dials us: it trusts us
        self._seen_incoming(cert, _peer_host(context), request.link_port, request.device)
        return link_service_pb2.HelloResponse(
            device=self._device_info,
            protocol_version=min(request.device.protocol_version or 1, PROTOCOL_VERSION),
        )

    async def introduce(self, request: Any, context: Any) -> pairing_service_pb2.IntroduceResponse:
        host = _peer_host(context)
        cert = _certificate_from_peer(request.certificate, "certificate")
        if cert.device_id == self.identity.device_id:
            raise InvalidArgument("this device's own certificate", field="certificate")
        own_cert = self.identity.certificate.public_bytes(_DER)
        message = introduce_proof_message(request.certificate, own_cert)
        if not proof_holds(cert.certificate, request.proof, message):
            # A stranger with a paired device's public certificate learns nothing (not even
            # whether it is trusted here) and changes nothing.
            raise InvalidArgument(
                "proof: the caller did not prove it holds the key of its certificate",
                field="proof",
            )
        try:
            await self._accept_certificate(cert, host)
        except PeerNotTrusted:
            self._seen_incoming(cert, host, request.link_port, request.device, trusted=False)
            return pairing_service_pb2.IntroduceResponse(device=self._device_info, trusted=False)
        # A trusted peer's name and addresses change only through its link: the Hello that
        # follows says where it is and what it is called.
        return pairing_service_pb2.IntroduceResponse(device=self._device_info, trusted=True)

    # --- pairing ------------------------------------------------------------------------------

    def pairings(self) -> list[PairingSnapshot]:
        self._pairings.expire_due()
        # A pairing is shown once its code exists (on the responder, after the reveal).
        return [p.snapshot() for p in self._pairings.open() if p.session.code is not None]

    async def confirm_pairing(self, pairing_id: str, code: str | None) -> PairingSnapshot:
        return await self._pairings.confirm(pairing_id, code)

    def reject_pairing(self, pairing_id: str) -> None:
        self._pairings.reject(pairing_id)

    def cancel_pairing(self, pairing_id: str) -> None:
        self._pairings.cancel(pairing_id)

    def _check_pairing_allowed(self) -> None:
        if self._mode is TrustMode.ALLOWLIST_ONLY:
            raise PairingNotAllowed(
                "security.trust_mode is allowlist_only: only the devices in security.allowlist "
                "are trusted, and pairing is off"
            )

    async def request_pairing(self, device_id: str) -> PairingSnapshot:
        """RequestPairing: runs start/answer/reveal, returns once both sides show the code."""
        self._check_pairing_allowed()
        entry = self.table.get(device_id)
        if entry is None:
            raise PeerNotFound(device_id)
        dialable = self._dialable(entry)
        if not dialable:
            raise PeerUnreachable(f"no address is known for {format_device_id(device_id)}")
        if self._pairings.for_peer(device_id) is not None:
            raise PairingProtocolError(
                f"a pairing with {format_device_id(device_id)} is already in progress",
                field="peer_id",
                fault="local",
            )
        now = time.time()
        self._throttle.check(device_id, now)
        address = dialable[0]
        shown = format_address(address.host, address.port + 1)
        cert = await self._identify(address.host, address.port)
        cert.expect(device_id, shown)
        session, start = PairingSession.start(
            peer_id=device_id,
            own_cert=self.identity.certificate.public_bytes(_DER),
            peer_cert=cert.der,
            now=now,
            timeout=self.config.security.pairing_timeout_secs,
        )
        pairing = Pairing(session, entry.name, shown, cert.pem)
        self._pairings.admit(pairing)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._spawn(self._run_outgoing(pairing, start, cert, ready))
        await ready
        return pairing.snapshot()

    async def _run_outgoing(
        self,
        pairing: Pairing,
        start: Request,
        cert: PeerCertificate,
        ready: asyncio.Future[None],
    ) -> None:
        session = pairing.session
        try:
            async with _pairing_channel(pairing.address, cert) as channel:
                call: Any = pairing_service_pb2_grpc.PairingServiceStub(channel).Pair(
                    timeout=session.expires - time.time() + 5
                )
                await call.write(
                    pairing_service_pb2.PairRequest(
                        start=pairing_service_pb2.PairStart(
                            pairing_id=start.pairing_id,
                            certificate=start.initiator_cert,
                            commitment=start.commitment,
                            device=self._device_info,
                            link_port=self.link_port,
                            proof=sign_proof(self.identity, start_proof_message(start, cert.der)),
                        )
                    )
                )
                async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS * 2):
                    first = await call.read()
                if first is _EOF or not first.HasField("answer"):
                    await _raise_call_error(call, "no answer to the pairing request")
                reveal: Reveal = session.on_answer(
                    Answer(session.id, first.answer.nonce), now=time.time()
                )
                await call.write(
                    pairing_service_pb2.PairRequest(
                        reveal=pairing_service_pb2.PairReveal(nonce=reveal.initiator_nonce)
                    )
                )
                self._pairing_shown(pairing)
                ready.set_result(None)

                async def read() -> Any:
                    message = await call.read()
                    if message is _EOF or not message.HasField("decision"):
                        return None
                    return message.decision.decision

                async def write(decision: Any) -> None:
                    await call.write(
                        pairing_service_pb2.PairRequest(
                            decision=pairing_service_pb2.PairDecision(decision=decision)
                        )
                    )

                await self._pairings.exchange(pairing, read, write)
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    await call.done_writing()
                    async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS):
                        await call.wait_for_connection()
                        await call.code()  # the responder ends the call once it is done
        except (KizunaError, grpc.aio.AioRpcError, TimeoutError, OSError) as exc:
            error = _as_kizuna_error(exc)
            if not ready.done():
                ready.set_exception(error)
            if not session.finished:
                pairing.error_reason = error.reason
                pairing.error_message = error.message
            self._pairings.close_pairing(pairing, error)
        finally:
            if not ready.done():
                ready.set_exception(PeerUnreachable("the pairing was interrupted"))
            self._pairings.close_pairing(pairing, PeerUnreachable("the pairing was interrupted"))
        if pairing.snapshot().state == "completed":
            self._want_link(pairing.session.peer_id)

    async def serve_pairing(self, context: Any) -> None:  # noqa: PLR0915 - the protocol in order
        """The responder's side of a Pair call (PairingService.Pair)."""
        host = _peer_host(context)
        source, prefix = source_of(host)
        now = time.time()
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS * 2):
            first = await context.read()
        if first is _EOF or not first.HasField("start"):
            raise InvalidArgument("a Pair call starts with PairStart", field="start")
        self._check_pairing_allowed()
        self._throttle.check(source, now)
        if prefix != source:
            self._prefix_throttle.check(prefix, now)
        start = first.start
        cert = _certificate_from_peer(start.certificate, "start.certificate")
        request = Request(start.pairing_id, start.certificate, start.commitment)
        own_cert = self.identity.certificate.public_bytes(_DER)
        if not proof_holds(cert.certificate, start.proof, start_proof_message(request, own_cert)):
            # Anyone can send another device's public certificate: until the caller proves it
            # holds the key, nothing is keyed by that ID. The failure counts against the source.
            self._record_source_failure(source, prefix, now)
            raise InvalidArgument(
                "start.proof: the caller did not prove it holds the key of its certificate",
                field="proof",
            )
        self._throttle.check(cert.device_id, now)
        if self._trust.check(cert.device_id, cert.fingerprint) is PinCheck.MISMATCH:
            pinned = self._trust.require(cert.device_id).fingerprint
            self._alert(cert.device_id, pinned, cert.fingerprint, host)
            raise PeerIdentityMismatch("a different certificate is pinned for this device ID")
        self._seen.add(start.commitment, now, field="commitment")
        session, answer = PairingSession.answer(
            request,
            peer_id=cert.device_id,
            own_cert=own_cert,
            now=now,
            timeout=self.config.security.pairing_timeout_secs,
        )
        pairing = Pairing(
            session,
            sanitize_name(start.device.name),
            host,
            cert.pem,
            source=source,
            prefix=prefix,
            device_type=start.device.device_type,
            link_port=start.link_port,
        )
        self._pairings.admit(pairing)
        try:
            await context.write(
                pairing_service_pb2.PairResponse(
                    answer=pairing_service_pb2.PairAnswer(
                        nonce=answer.responder_nonce, device=self._device_info
                    )
                )
            )
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS * 2):
                second = await context.read()
            if second is _EOF or not second.HasField("reveal"):
                raise InvalidArgument("PairReveal must follow the answer", field="reveal")
            self._seen.add(second.reveal.nonce, time.time(), field="nonce")
            session.on_reveal(Reveal(session.id, second.reveal.nonce), now=time.time())
            self._pairing_shown(pairing)

            async def read() -> Any:
                message = await context.read()
                if message is _EOF or not message.HasField("decision"):
                    return None
                return message.decision.decision

            async def write(decision: Any) -> None:
                await context.write(
                    pairing_service_pb2.PairResponse(
                        decision=pairing_service_pb2.PairDecision(decision=decision)
                    )
                )

            await self._pairings.exchange(pairing, read, write)
        except KizunaError as exc:
            self._pairings.close_pairing(pairing, exc)
            raise
        finally:
            self._pairings.close_pairing(pairing, PeerUnreachable("the pairing was interrupted"))
        if pairing.snapshot().state == "completed":
            self._want_link(cert.device_id)

    def _pairing_shown(self, pairing: Pairing) -> None:
        """Both sides have the code: tell people (and confirm at once in trust_all)."""
        if not pairing.outgoing:
            self._note_initiator(pairing)
        self._publish(PairingRequested(pairing.snapshot()))
        self._updated(pairing.session.peer_id)
        if self._mode is TrustMode.TRUST_ALL:
            self._spawn(self._pairings.confirm(pairing.session.id, None))

    def _note_initiator(self, pairing: Pairing) -> None:
        """Notes an incoming pairing's initiator in the peer table: it proved its key and
        calls from `pairing.address`. A trusted peer's entry is left to its own link."""
        peer_id = pairing.session.peer_id
        if self._is_trusted(peer_id):
            return
        try:
            entry = self._entry(peer_id, Source.INCOMING)
        except KizunaError:
            return
        entry.describe(pairing.peer_name, pairing.device_type)
        if 1024 <= pairing.link_port <= 65534:
            entry.add_address(Address(pairing.address, pairing.link_port, Source.INCOMING))

    def _record_source_failure(self, source: str, prefix: str, now: float) -> None:
        self._throttle.record_failure(source, now)
        if prefix != source:
            self._prefix_throttle.record_failure(prefix, now)

    async def _pairing_completed(self, pairing: Pairing) -> None:
        peer_id = pairing.session.peer_id
        cert = PeerCertificate(pairing.session.peer_cert)
        previous = self._trust.get(peer_id)
        self._trust.trust(
            TrustedPeer(
                peer_id,
                pairing.peer_name,
                TrustSource.PAIRED,
                time.time(),
                previous.permissions if previous is not None else Permissions(),
                cert.pem,
                cert.fingerprint,
            )
        )
        self._throttle.record_success(peer_id)
        self._newly_paired.add(peer_id)
        await self._trust_changed()
        link = self._links.get(peer_id)
        if link is not None:
            link.introduced = False

    def _pairing_ended(self, pairing: Pairing) -> None:
        snapshot = pairing.snapshot()
        peer_id = pairing.session.peer_id
        if snapshot.state == "completed":
            self._publish(PairingCompleted(snapshot, self.snapshot(peer_id)))
            self._updated(peer_id)
            return
        if pairing.session.failed_attempt:
            now = time.time()
            self._throttle.record_failure(peer_id, now)
            if not pairing.outgoing:
                self._record_source_failure(pairing.source, pairing.prefix, now)
        self._publish(PairingFailed(snapshot))
        if peer_id in self.table or self._is_trusted(peer_id):
            self._updated(peer_id)

    # --- trust API ----------------------------------------------------------------------------

    async def trust_peer(self, device_id: str, permissions: Permissions | None) -> PeerSnapshot:
        """TrustPeer: trusts a device by ID; its certificate is pinned at first contact."""
        self._check_pairing_allowed()
        if device_id == self.identity.device_id:
            raise InvalidArgument("that is this device's own ID", field="peer_id")
        existing = self._trust.get(device_id)
        if existing is not None:
            if permissions is not None:
                self._trust.trust(
                    TrustedPeer(
                        device_id,
                        existing.name,
                        existing.source,
                        existing.trusted_at,
                        permissions,
                        existing.certificate_pem,
                        existing.fingerprint,
                    )
                )
        else:
            self._trust.trust(
                TrustedPeer(
                    device_id,
                    self._name_of(device_id),
                    TrustSource.BY_ID,
                    time.time(),
                    permissions or Permissions(),
                )
            )
        await self._trust_changed()
        self._updated_if_known(device_id)
        self._want_link(device_id)
        return self.snapshot(device_id)

    async def update_permissions(self, device_id: str, changes: dict[str, bool]) -> PeerSnapshot:
        if not self._is_trusted(device_id):
            if device_id in self.table:
                raise PeerNotTrusted(device_id)
            raise PeerNotFound(device_id)
        before = self._trust.require(device_id).permissions
        self._trust.update_permissions(device_id, **changes)
        await self._trust_changed()
        after = self._trust.require(device_id).permissions
        if any(getattr(before, name) and not getattr(after, name) for name in changes):
            await self._revoked(device_id, after)
        self._updated(device_id)
        return self.snapshot(device_id)

    async def forget_peer(self, device_id: str) -> None:
        """ForgetPeer: removes the pin and permissions and closes the link."""
        if device_id not in self._trust:
            if device_id in self.table:
                raise PeerNotTrusted(device_id)
            raise PeerNotFound(device_id)
        await self._untrust(device_id, "the peer forgot the caller", close_link=True)

    async def _untrust(self, device_id: str, why: str, *, close_link: bool) -> None:
        """Removes the pin and permissions; whatever the peer does (a slow reader keeps a
        Fetch open for as long as it likes), its calls and the work shared with it end now."""
        self._trust.forget(device_id)
        await self._trust_changed()
        if close_link:
            await self._close_link(device_id)
            self._links.pop(device_id, None)
        self.calls.end(device_id, PeerNotTrusted(device_id, why))
        await self._revoked(device_id, None)
        self._publish(PeerForgotten(device_id))
        self._updated_if_known(device_id)

    async def _forgotten_by_peer(self, device_id: str) -> None:
        """A peer we paired with says, on its pinned pairing port, that it no longer trusts
        this device: it forgot us, so pairing is over on this side too (as when a person
        unpairs in KDE Connect) instead of re-dialling a peer that will never answer.
        Peers trusted by ID or allowlist wait for the other side to trust them, so they stay."""
        trusted = self._trust.get(device_id)
        if trusted is None or trusted.source is not TrustSource.PAIRED:
            return
        if device_id in self._newly_paired:
            return  # its confirmation may still be on the way: the link retries
        log.warning(
            "%s no longer trusts this device (it was forgotten there); forgetting it here too",
            format_device_id(device_id),
        )
        # Called from the link's own task, which ends by itself once the peer is not trusted.
        await self._untrust(device_id, "the caller forgot this device", close_link=False)

    async def _revoked(self, device_id: str, permissions: Permissions | None) -> None:
        for hook in self.on_revoked:
            try:
                await hook(device_id, permissions)
            except Exception:
                log.exception("ending the work of %s after a trust change failed", device_id)

    def _updated_if_known(self, device_id: str) -> None:
        if device_id in self.table:
            self._updated(device_id)

    def parse_id(self, text: str) -> str:
        return parse_device_id(text, field="peer_id")


# --- helpers ----------------------------------------------------------------------------------

_DER = Encoding.DER
#: grpc.aio.EOF (missing from the grpc type stubs): what read() returns at the end of a stream.
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009


@contextlib.asynccontextmanager
async def _pairing_channel(address: str, cert: PeerCertificate) -> Any:
    channel = grpc.aio.secure_channel(
        address,
        pairing_channel_credentials(cert.pem),
        options=(
            ("grpc.ssl_target_name_override", cert.device_id.lower()),
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", MAX_PAIRING_MESSAGE_BYTES),
        ),
    )
    try:
        yield channel
    finally:
        await channel.close(None)


def _caller(context: Any) -> PeerCertificate | None:
    try:
        return caller_certificate(context)
    except (KizunaError, IdentityError):
        return None


def _peer_host(context: Any) -> str:
    """The caller's IP address from grpc's peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return ""


def _certificate_from_peer(der: bytes, field: str) -> PeerCertificate:
    try:
        return PeerCertificate(der)
    except (IdentityError, PeerIdentityMismatch) as exc:
        raise InvalidArgument(f"{field}: not a device certificate ({exc})", field=field) from exc


def _reason_of(error: grpc.aio.AioRpcError) -> str:
    return reason_from_trailers(error.trailing_metadata())


async def _raise_call_error(call: Any, what: str) -> None:
    """Raises what ended a pairing call early: the other side's error, or `what`."""
    code = await call.code()
    if code is grpc.StatusCode.OK:
        raise PeerUnreachable(what)
    reason = reason_from_trailers(await call.trailing_metadata())
    raise _error_for(reason, f"the other device answered: {await call.details() or code.name}")


def _as_kizuna_error(exc: BaseException) -> KizunaError:
    if isinstance(exc, KizunaError):
        return exc
    if isinstance(exc, grpc.aio.AioRpcError):
        return _error_for(
            _reason_of(exc), f"the other device answered: {exc.details() or exc.code().name}"
        )
    if isinstance(exc, TimeoutError):
        return PeerUnreachable("the other device did not answer in time")
    return PeerUnreachable(f"the other device cannot be reached: {exc}")


def bind_hosts(listen_address: str, *, ipv6: bool, ipv4: Sequence[str] = ()) -> list[list[str]]:
    """Where the peer ports listen: groups of addresses bound together, the first group that
    can be bound wins. `listen_address` when set; otherwise every address (other daemons
    reach this one on the LAN): dual-stack "[::]", else "0.0.0.0". With networking.enable_ipv6
    false, each of the `ipv4` addresses (this machine's, at start): grpc turns a wildcard
    "0.0.0.0" into a dual-stack socket, which would listen on IPv6 too."""
    if listen_address:
        try:
            version = ipaddress.ip_address(listen_address.strip("[]")).version
        except ValueError:
            version = 4
        if version == 6 and not ipv6:
            raise PeerPortsUnavailable(
                f"networking.listen_address {listen_address} is IPv6 but "
                "networking.enable_ipv6 is false"
            )
        return [[listen_address]]
    if ipv6:
        return [["[::]"], ["0.0.0.0"]]  # noqa: S104
    if not ipv4:
        raise PeerPortsUnavailable("networking.enable_ipv6 is false and no IPv4 address is up")
    return [list(ipv4)]


def _local_ipv4() -> list[str]:
    """This machine's IPv4 addresses now, loopback included."""
    return sorted(
        {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    )


def _discovery_subsystem(mdns: Subsystem | None, beacon: Beacon | None) -> Subsystem:
    """The discovery subsystem: mDNS and the UDP beacon together (one works without the other)."""
    if beacon is None:
        if mdns is not None:
            return mdns
        return Subsystem(
            "discovery",
            SubsystemState.DISABLED,
            "mDNS is off (discovery.enable_mdns); the UDP beacon is off (discovery.enable_udp)",
        )
    if mdns is None:
        detail = f"mDNS is off (discovery.enable_mdns); {beacon.summary()}"
        return Subsystem("discovery", beacon.state, detail)
    states = {mdns.state, beacon.state}
    troubled = {SubsystemState.FAILED, SubsystemState.DEGRADED}
    if len(states) == 1:
        state = mdns.state
    elif states & troubled:
        state = SubsystemState.DEGRADED  # one of the two works
    elif SubsystemState.STARTING in states:
        state = SubsystemState.STARTING
    else:
        state = mdns.state
    return Subsystem("discovery", state, f"{mdns.detail}; {beacon.summary()}")


def _shown_addresses(entry: PeerEntry, trusted: bool) -> tuple[str, ...]:
    """The addresses the API shows: verified ones, and for a peer that is not trusted also what
    announcements claim (nothing else is known about it); a trusted peer's record shows only
    what was verified, so a spoofed announcement cannot put an address on it."""
    shown = entry.addresses if trusted else entry.dialable(time.time())
    return tuple(str(a) for a in shown)


def _jitter() -> float:
    """Spreads reconnects of many daemons apart (not security-relevant)."""
    return random.uniform(0.8, 1.2)  # noqa: S311


def _error_for(reason: str, message: str) -> KizunaError:
    """The error a peer's answer stands for here (its reason kept, PEER_UNREACHABLE if none)."""
    error = KizunaError(message)
    error.reason = reason or "PEER_UNREACHABLE"
    return error


def _load_addresses(path: Path) -> list[str]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s); added peer addresses are not restored", path, exc)
        return []
    addresses = document.get("addresses") if isinstance(document, dict) else None
    if not isinstance(addresses, list):
        return []
    return [a for a in addresses if isinstance(a, str)][:256]


def _save_addresses(path: Path, addresses: list[str]) -> None:
    data = json.dumps({"version": 1, "addresses": addresses}, indent=2) + "\n"
    write_file_atomically(path, data.encode(), mode=0o600)
