"""The peer layer: peer table, trust, links to peers, pairing, and the two peer ports.

Runs on the daemon's event loop. mDNS announcements, UDP beacons, static and added addresses and
incoming connections feed the peer table; a peer is believed only after a TLS handshake showed a
certificate whose key hashes to its ID. Trusted peers get one link each (a gRPC channel over
mutual TLS with both certificates pinned), kept up with keepalive and re-dialled with backoff.
Design notes: docs/peers.md.

`PeerNetwork` is the façade every other module calls (the API's PeerService, the peer ports'
services, capabilities). It starts and stops the layer, serves Hello and Introduce, owns the
trust file and what happens when trust changes, and hands each concern to a collaborator:

    trust_gate.py    TrustGate: who is trusted, pins, the link port's roots, identity alerts
    roster.py        Roster: the live peer table, fed by discovery and incoming calls
    links.py         Links: dialling, Introduce, Hello, watching and re-dialling each link
    pairing_flow.py  PairingFlow: the Pair call from both ends (core/pairing.py on the wire)
    addresses.py     AddressBook: static peers, AddPeer/RemovePeer, DATA/addresses.json
    ports.py         binding the peer ports; LocalDevice, what this daemon says of itself
    callers.py       the caller's address and certificate on a peer port

Collaborators get what they use explicitly; where one needs another built after it (the table
asks the links to dial, the links report back), the call goes through this class.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import grpc.aio
from cryptography.hazmat.primitives.serialization import Encoding

from kizuna_server import PROTOCOL_VERSION, __version__
from kizuna_server.calls.guard import InFlightCalls
from kizuna_server.config import Config, TrustMode
from kizuna_server.core.device_id import format_device_id, parse_device_id
from kizuna_server.core.events import ErrorOccurred, Payload
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.core.pairing import introduce_proof_message
from kizuna_server.core.peers import (
    Connection,
    PairingSnapshot,
    PeerEntry,
    PeerForgotten,
    PeerSnapshot,
    PeerTable,
    Source,
)
from kizuna_server.core.trust import (
    PeerNotFound,
    PeerNotTrusted,
    Permissions,
    TrustedPeer,
    TrustSource,
    TrustStore,
)
from kizuna_server.errors import InvalidArgument, KizunaError
from kizuna_server.p2p import ports
from kizuna_server.p2p.addresses import AddressBook
from kizuna_server.p2p.beacon import Beacon
from kizuna_server.p2p.callers import caller, certificate_from_peer, peer_host
from kizuna_server.p2p.discovery import MAX_SERVICES, Announcement, Discovery
from kizuna_server.p2p.identity import Identity, proof_holds
from kizuna_server.p2p.links import Links
from kizuna_server.p2p.pairing_flow import PairingFlow
from kizuna_server.p2p.ports import LocalDevice, PeerPortsUnavailable
from kizuna_server.p2p.roster import Roster
from kizuna_server.p2p.tls import PeerCertificate
from kizuna_server.p2p.trust_file import TRUST_FILE, load_trust_store, save_trust_store
from kizuna_server.p2p.trust_gate import TrustGate
from kizuna_server.p2p.wire import device_pb2, link_service_pb2, pairing_service_pb2

#: What other modules import from here: the façade, and the error its start raises.
__all__ = ["PeerNetwork", "PeerPortsUnavailable"]

log = logging.getLogger(__name__)


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
        self._trust_path = config.security.key_storage_path / TRUST_FILE
        self._save_lock = asyncio.Lock()
        #: Only a store read from disk is written back at stop (never an empty one after a
        #: start that failed before reading it).
        self._trust_loaded = False
        #: Called with a peer's ID each time its link comes up (capabilities resume work).
        self.on_connected: list[Callable[[str], None]] = []
        #: Awaited when what a peer may do shrinks: with its permissions now, or None when it
        #: is no longer trusted (capabilities end the work it may no longer do, at once).
        self._announced: set[str] = set()
        self.on_revoked: list[Callable[[str, Permissions | None], Awaitable[None]]] = []
        self._servers: list[grpc.aio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._discovery: Discovery | None = None
        self._beacon: Beacon | None = None
        self._stopping = False
        self._links_state = SubsystemState.STARTING
        self._links_detail = "starting"
        self._device_info = device_pb2.DeviceInfo(
            name=config.identity.device_name,
            device_type=config.identity.device_type.upper(),
            protocol_version=PROTOCOL_VERSION,
            software_version=__version__,
            user_name=config.identity.user_name,
        )
        self._local = LocalDevice(self._device_info)
        self._gate = TrustGate(
            config.security.trust_mode, config.security.allowlist, publish, self._save_trust
        )
        self._roster = Roster(
            config,
            self._gate,
            publish,
            pairing_with=self._pairing_with,
            want_link=self._want_link,
        )
        self._links = Links(
            config,
            identity,
            local=self._local,
            roster=self._roster,
            gate=self._gate,
            publish=publish,
            stopping=self._is_stopping,
            accept=self._accept_certificate,
            forgotten_by_peer=self._forgotten_by_peer,
            connected=self._link_up,
        )
        self._pairing = PairingFlow(
            config,
            identity,
            local=self._local,
            roster=self._roster,
            gate=self._gate,
            links=self._links,
            publish=publish,
            spawn=self._spawn,
        )
        self._addresses = AddressBook(
            config,
            own_id=identity.device_id,
            roster=self._roster,
            gate=self._gate,
            links=self._links,
            publish=publish,
            stopping=self._is_stopping,
        )

    @property
    def link_port(self) -> int:
        """The link port, once bound (0 before the start)."""
        return self._local.link_port

    @property
    def pairing_port(self) -> int:
        """The pairing port (link port + 1), once bound."""
        return self._local.pairing_port

    @property
    def table(self) -> PeerTable:
        """The peer table (see `Roster`)."""
        return self._roster.table

    @property
    def _trust(self) -> TrustStore:
        """The trust store in force (see `TrustGate`); unit tests seed and read it here."""
        return self._gate.store

    # --- lifecycle ----------------------------------------------------------------------------

    def offer(self, capability: str) -> bool:
        """Registers a capability this version has built (its service is on the link port);
        it is offered to peers, in the Hello, when `plugins.enabled` lists it. Returns whether
        it is offered. Called by the composition root before `start`."""
        if capability not in self.config.plugins.enabled:
            return False
        offered = self._device_info.capabilities
        if capability not in offered:  # before what plugins announced: built-ins come first
            plugins = sum(1 for name in offered if name in self._announced)
            offered.insert(len(offered) - plugins, capability)
        return True

    def announce(self, capability: str) -> None:
        """Offers a capability a plugin brings (the plugin is on: plugins.enabled listed it).
        Called before `start`."""
        if capability not in self._device_info.capabilities:
            self._device_info.capabilities.append(capability)
            self._announced.add(capability)

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
        self._gate.store = await asyncio.to_thread(load_trust_store, self._trust_path)
        self._trust_loaded = True
        await self._addresses.load()
        self._gate.trust_allowlist()
        self._gate.refresh_roots()
        networking = self.config.networking
        link, pairing, port = ports.bind(
            lambda: servers(self),
            self.identity,
            lambda: self._gate.roots,
            listen_address=networking.listen_address,
            listen_port=networking.listen_port,
            ipv6=networking.enable_ipv6,
        )
        self._local.link_port, self._local.pairing_port = port, port + 1
        self._servers = [link, pairing]
        await link.start()
        await pairing.start()
        self._links_state = SubsystemState.RUNNING
        self._links_detail = (
            f"link port {self.link_port} (mutual TLS), pairing port {self.pairing_port}"
        )
        if self._gate.mode is TrustMode.TRUST_ALL:
            log.warning(
                "security.trust_mode = trust_all: every device that asks is trusted without "
                "comparing codes. Use it only on a lab network."
            )
        for text, source in self._addresses.to_resolve():
            self._spawn(self._addresses.resolve(text, source))
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
        self._pairing.close_all()
        if self._discovery is not None:
            await self._discovery.stop()
        if self._beacon is not None:
            await self._beacon.stop()
        for task in list(self._tasks):
            task.cancel()
        link_tasks = self._links.cancel()
        await asyncio.gather(*self._tasks, *link_tasks, return_exceptions=True)
        await self._links.close_channels()
        await asyncio.gather(*(server.stop(0.5) for server in self._servers))
        # A task cancelled above may have changed trust and not saved it yet (waiting for the
        # save lock, say): what this run trusted must still be trusted after a restart.
        if self._trust_loaded:
            async with self._save_lock:
                snapshot = TrustStore(list(self._gate.store))
                await asyncio.to_thread(save_trust_store, self._trust_path, snapshot)
        self._links_state = SubsystemState.STOPPED

    def subsystems(self) -> list[Subsystem]:
        """The discovery and links subsystems, for NodeService."""
        discovery = _discovery_subsystem(
            self._discovery.subsystem() if self._discovery is not None else None,
            self._beacon,
        )
        connected = sum(1 for e in self.table.entries() if e.connection is Connection.CONNECTED)
        trusted = sum(1 for p in self._gate.store if self._gate.is_trusted(p.device_id))
        links = Subsystem(
            "links",
            self._links_state,
            f"{self._links_detail}; {connected} connected, {len(self.table)} known, "
            f"{trusted} trusted",
        )
        return [discovery, links]

    def endpoints(self) -> list[str]:
        """Where other daemons connect: the link port and the pairing port."""
        return ports.endpoints(
            self.config.networking.listen_address,
            ipv6=self.config.networking.enable_ipv6,
            link_port=self.link_port,
            pairing_port=self.pairing_port,
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, object]) -> None:
        """Runs work the stop cancels and waits for."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _is_stopping(self) -> bool:
        """Asked by the links and the address book before they (re)dial: after `stop` began,
        nothing new starts."""
        return self._stopping

    # --- the peer table and discovery (Roster) ------------------------------------------------

    def snapshot(self, device_id: str) -> PeerSnapshot:
        """A peer as the API shows it; PeerNotFound when neither seen nor trusted."""
        return self._roster.snapshot(device_id)

    def peers(self, *, trusted_only: bool = False, online_only: bool = False) -> list[PeerSnapshot]:
        """Known peers ordered by device ID."""
        return self._roster.peers(trusted_only=trusted_only, online_only=online_only)

    def name_of(self, device_id: str) -> str:
        """The peer's sanitised name, or '' when unknown."""
        return self._roster.name_of(device_id)

    def _entry(self, device_id: str, source: Source) -> PeerEntry:
        """The table entry for `device_id`, created when new (see `Roster.entry`); unit tests
        seed the table through it."""
        return self._roster.entry(device_id, source)

    def _on_found(self, announcement: Announcement, source: Source = Source.MDNS) -> None:
        """An announcement over mDNS or the UDP beacon (`source`): the same hint either way."""
        self._roster.found(announcement, source)

    def _on_lost(self, device_id: str, reason: str, source: Source = Source.MDNS) -> None:
        """An announcement said goodbye or expired (see `Roster.lost`)."""
        self._roster.lost(device_id, reason, source)

    def _pairing_with(self, device_id: str) -> bool:
        """For the roster's snapshots (Trust.PAIRING); the pairing flow is built after it."""
        return self._pairing.pairing_with(device_id)

    # --- addresses people gave (AddressBook) --------------------------------------------------

    async def add_peer(self, text: str, *, persist: bool) -> PeerSnapshot:
        """AddPeer: dials the address, learns the device there, keeps the address."""
        return await self._addresses.add(text, persist=persist)

    async def remove_peer(self, device_id: str) -> None:
        """RemovePeer: drops the entry and its added addresses; trust is kept."""
        await self._addresses.remove(device_id)

    # --- links (Links) ------------------------------------------------------------------------

    def channel_for(self, peer_id: str) -> grpc.aio.Channel:
        """The link channel to a connected peer, shared by every capability."""
        return self._links.channel_for(peer_id)

    async def link_to(self, device_id: str) -> grpc.aio.Channel:
        """The link channel to a trusted peer, dialling it first when it is not connected (as
        ConnectPeer does, within networking.connection_timeout_secs). For capabilities that
        act on a person's request, such as sending files: a peer paired a moment ago, or whose
        link dropped, is reached instead of refused."""
        return await self._links.link_to(device_id)

    async def connect_peer(self, device_id: str) -> PeerSnapshot:
        """ConnectPeer: opens (or reuses) the link and waits for it."""
        return await self._links.connect(device_id)

    async def disconnect_peer(self, device_id: str) -> None:
        """DisconnectPeer: closes the link and holds it closed until ConnectPeer."""
        await self._links.disconnect(device_id)

    def _want_link(self, device_id: str, wake: bool) -> None:
        """For the roster, built before the links: a device it heard of may want a link."""
        self._links.want(device_id, wake=wake)

    def _link_up(self, device_id: str) -> None:
        """A link came up: capabilities registered on `on_connected` resume their work."""
        for callback in self.on_connected:
            callback(device_id)

    # --- serving peers ------------------------------------------------------------------------

    def authorize(self, context: Any) -> KizunaError | None:
        """The link port's check on every call: the caller's certificate is a pinned one."""
        return self._gate.authorize(context)

    async def hello(self, request: Any, context: Any) -> link_service_pb2.HelloResponse:
        cert = caller(context)
        assert cert is not None  # authorize() ran first
        self._gate.newly_paired.discard(cert.device_id)  # it dials us: it trusts us
        self._roster.seen_incoming(cert, peer_host(context), request.link_port, request.device)
        return link_service_pb2.HelloResponse(
            device=self._device_info,
            protocol_version=min(request.device.protocol_version or 1, PROTOCOL_VERSION),
        )

    async def introduce(self, request: Any, context: Any) -> pairing_service_pb2.IntroduceResponse:
        host = peer_host(context)
        cert = certificate_from_peer(request.certificate, "certificate")
        if cert.device_id == self.identity.device_id:
            raise InvalidArgument("this device's own certificate", field="certificate")
        own_cert = self.identity.certificate.public_bytes(Encoding.DER)
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
            self._roster.seen_incoming(cert, host, request.link_port, request.device, trusted=False)
            return pairing_service_pb2.IntroduceResponse(device=self._device_info, trusted=False)
        # A trusted peer's name and addresses change only through its link: the Hello that
        # follows says where it is and what it is called.
        return pairing_service_pb2.IntroduceResponse(device=self._device_info, trusted=True)

    # --- pairing (PairingFlow) ----------------------------------------------------------------

    def pairings(self) -> list[PairingSnapshot]:
        """Pairings in progress whose code is shown."""
        return self._pairing.shown()

    async def confirm_pairing(self, pairing_id: str, code: str | None) -> PairingSnapshot:
        return await self._pairing.confirm(pairing_id, code)

    def reject_pairing(self, pairing_id: str) -> None:
        self._pairing.reject(pairing_id)

    def cancel_pairing(self, pairing_id: str) -> None:
        self._pairing.cancel(pairing_id)

    async def request_pairing(self, device_id: str) -> PairingSnapshot:
        """RequestPairing: runs start/answer/reveal, returns once both sides show the code."""
        return await self._pairing.request(device_id)

    async def serve_pairing(self, context: Any) -> None:
        """The responder's side of a Pair call (PairingService.Pair)."""
        await self._pairing.serve(context)

    # --- trust (TrustGate) and what changes with it -------------------------------------------

    def permissions_of(self, device_id: str) -> Permissions | None:
        """A trusted peer's permissions; None for a device that is not trusted."""
        return self._gate.permissions_of(device_id)

    async def _save_trust(self, snapshot: TrustStore) -> None:
        """Writes the trust store (atomically, off the loop), one write at a time."""
        async with self._save_lock:
            await asyncio.to_thread(save_trust_store, self._trust_path, snapshot)

    async def _accept_certificate(self, cert: PeerCertificate, address: str) -> None:
        """Checks a certificate against the trust store; pins it where the store allows."""
        if await self._gate.accept(cert, address, name=self._roster.name_of(cert.device_id)):
            self._roster.updated(cert.device_id)

    async def trust_peer(self, device_id: str, permissions: Permissions | None) -> PeerSnapshot:
        """TrustPeer: trusts a device by ID; its certificate is pinned at first contact."""
        self._pairing.check_allowed()
        if device_id == self.identity.device_id:
            raise InvalidArgument("that is this device's own ID", field="peer_id")
        existing = self._gate.store.get(device_id)
        if existing is not None:
            if permissions is not None:
                self._gate.store.trust(
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
            self._gate.store.trust(
                TrustedPeer(
                    device_id,
                    self._roster.name_of(device_id),
                    TrustSource.BY_ID,
                    time.time(),
                    permissions or Permissions(),
                )
            )
        await self._gate.changed()
        self._roster.updated(device_id)  # every trust change is an event, seen device or not
        self._links.want(device_id)
        return self._roster.snapshot(device_id)

    async def update_permissions(self, device_id: str, changes: dict[str, bool]) -> PeerSnapshot:
        if not self._gate.is_trusted(device_id):
            if device_id in self.table:
                raise PeerNotTrusted(device_id)
            raise PeerNotFound(device_id)
        before = self._gate.store.require(device_id).permissions
        self._gate.store.update_permissions(device_id, **changes)
        await self._gate.changed()
        after = self._gate.store.require(device_id).permissions
        if any(getattr(before, name) and not getattr(after, name) for name in changes):
            await self._revoked(device_id, after)
        self._roster.updated(device_id)
        return self._roster.snapshot(device_id)

    async def forget_peer(self, device_id: str) -> None:
        """ForgetPeer: removes the pin and permissions and closes the link."""
        if device_id not in self._gate.store:
            if device_id in self.table:
                raise PeerNotTrusted(device_id)
            raise PeerNotFound(device_id)
        await self._untrust(device_id, "the peer forgot the caller", close_link=True)

    async def _untrust(self, device_id: str, why: str, *, close_link: bool) -> None:
        """Removes the pin and permissions; whatever the peer does (a slow reader keeps a
        Fetch open for as long as it likes), its calls and the work shared with it end now."""
        self._gate.store.forget(device_id)
        await self._gate.changed()
        if close_link:
            await self._links.drop(device_id)
        self.calls.end(device_id, PeerNotTrusted(device_id, why))
        await self._revoked(device_id, None)
        self._publish(PeerForgotten(device_id))
        self._roster.updated_if_known(device_id)

    async def _forgotten_by_peer(self, device_id: str) -> None:
        """A peer we paired with says, on its pinned pairing port, that it no longer trusts
        this device: it forgot us, so pairing is over on this side too (as when a person
        unpairs in KDE Connect) instead of re-dialling a peer that will never answer.
        Peers trusted by ID or allowlist wait for the other side to trust them, so they stay."""
        trusted = self._gate.store.get(device_id)
        if trusted is None or trusted.source is not TrustSource.PAIRED:
            return
        if device_id in self._gate.newly_paired:
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

    def parse_id(self, text: str) -> str:
        return parse_device_id(text, field="peer_id")


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
