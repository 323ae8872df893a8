"""Links: one pinned mutual-TLS channel to each trusted peer, dialled, greeted and kept up.

A link's life, in `_maintain`: read the peer's certificate (on its link port when it is pinned,
else on its pairing port), check it against the pins, Introduce ourselves on the pairing port
when the peer may not have our certificate yet, open the channel to the link port pinned to
the peer's certificate and say Hello. While up, the channel's state and a periodic Hello watch
it; when it drops, it is re-dialled with jittered exponential backoff. ConnectPeer and
`link_to` wait for an attempt; DisconnectPeer holds a link down until ConnectPeer.
Design notes: docs/peers.md ("Dialling", "Keeping links up").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
import grpc.aio
from cryptography.hazmat.primitives.serialization import Encoding

from kizuna_server.calls.errors import reason_from_trailers
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.pairing import introduce_proof_message
from kizuna_server.core.peers import (
    Address,
    Connection,
    PeerConnected,
    PeerDisconnected,
    PeerEntry,
    PeerSnapshot,
    format_address,
)
from kizuna_server.core.trust import PeerNotFound, PeerNotTrusted
from kizuna_server.errors import IdentityError, KizunaError
from kizuna_server.p2p.identity import Identity, sign_proof
from kizuna_server.p2p.ports import LocalDevice, may_dial
from kizuna_server.p2p.roster import Roster, learn_capabilities
from kizuna_server.p2p.tls import (
    HANDSHAKE_TIMEOUT_SECS,
    PeerCertificate,
    PeerIdentityMismatch,
    PeerUnreachable,
    fetch_certificate,
    link_channel_credentials,
    link_channel_options,
    pairing_channel_credentials,
)
from kizuna_server.p2p.trust_gate import TrustGate
from kizuna_server.p2p.wire import (
    link_service_pb2,
    link_service_pb2_grpc,
    pairing_service_pb2,
    pairing_service_pb2_grpc,
)

log = logging.getLogger(__name__)

#: Backoff between connection attempts: from this, doubling up to discovery.interval_secs.
FIRST_BACKOFF_SECS: Final = 0.5
#: Largest message on the pairing port, before authentication (a certificate is ~600 bytes).
MAX_PAIRING_MESSAGE_BYTES: Final = 16 * 1024


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


class Links:
    """Every link of this daemon, by peer ID. Loop-only.

    What a link learns goes to the peer table (`roster`); trust decisions are the gate's.
    The network is told through three calls: `accept(cert, address)` checks (and may pin) a
    dialled peer's certificate, `forgotten_by_peer(id)` ends the trust in a paired peer that
    no longer trusts us, and `connected(id)` runs each time a link comes up. While
    `stopping()`, no link is started or re-dialled.
    """

    def __init__(
        self,
        config: Config,
        identity: Identity,
        *,
        local: LocalDevice,
        roster: Roster,
        gate: TrustGate,
        publish: Callable[[Payload], None],
        stopping: Callable[[], bool],
        accept: Callable[[PeerCertificate, str], Awaitable[None]],
        forgotten_by_peer: Callable[[str], Coroutine[Any, Any, None]],
        connected: Callable[[str], None],
    ) -> None:
        self._config = config
        self._identity = identity
        self._local = local
        self._roster = roster
        self._gate = gate
        self._publish = publish
        self._stopping = stopping
        self._accept = accept
        self._forgotten_by_peer = forgotten_by_peer
        self._connected = connected
        self._links: dict[str, _Link] = {}
        #: How long dialling a peer may take (each attempt, and ConnectPeer's wait for one).
        self._dial_timeout = float(config.networking.connection_timeout_secs)
        self._ipv6 = config.networking.enable_ipv6

    # --- what the network asks ----------------------------------------------------------------

    def want(self, device_id: str, *, wake: bool = True) -> None:
        """Starts keeping a link to a trusted peer with addresses (or to anyone in trust_all);
        with `wake`, a link waiting out its backoff tries again now."""
        if self._stopping():
            return
        entry = self._roster.table.get(device_id)
        if entry is None or not self.dialable(entry):
            return
        if not self._gate.linkable(device_id):
            return
        link = self._links.setdefault(device_id, _Link(device_id))
        if link.held:
            return
        if link.task is None or link.task.done():
            link.task = asyncio.get_running_loop().create_task(self._maintain(link))
        elif wake:
            link.wake.set()

    def dialable(self, entry: PeerEntry) -> list[Address]:
        """Where to try the peer now, in the families this daemon uses."""
        return [a for a in entry.dialable(time.time()) if may_dial(a.host, ipv6=self._ipv6)]

    def channel_for(self, peer_id: str) -> grpc.aio.Channel:
        """The link channel to a connected peer, shared by every capability."""
        link = self._links.get(peer_id)
        if link is None or link.channel is None:
            raise PeerUnreachable(f"peer {format_device_id(peer_id)} is not connected")
        return link.channel

    async def link_to(self, device_id: str) -> grpc.aio.Channel:
        """The link channel to a trusted peer, dialling it first when it is not connected (see
        `PeerNetwork.link_to`)."""
        link = self._links.get(device_id)
        if link is not None and link.channel is not None:
            return link.channel
        await self.connect(device_id)
        return self.channel_for(device_id)

    async def connect(self, device_id: str) -> PeerSnapshot:
        """ConnectPeer: opens (or reuses) the link and waits for it."""
        entry = self._roster.table.get(device_id)
        if entry is None:
            if self._gate.is_trusted(device_id):
                raise PeerUnreachable(
                    f"peer {format_device_id(device_id)} is trusted but has not been seen; "
                    "add its address with 'kizuna peers add HOST:PORT'"
                )
            raise PeerNotFound(device_id)
        if not self._gate.linkable(device_id):
            raise PeerNotTrusted(device_id)
        if entry.connection is Connection.CONNECTED:
            return self._roster.snapshot(device_id)
        if not self.dialable(entry):
            raise PeerUnreachable(f"no address is known for {format_device_id(device_id)}")
        link = self._links.setdefault(device_id, _Link(device_id))
        link.held = False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.waiters.append(waiter)
        self.want(device_id)
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
        return self._roster.snapshot(device_id)

    async def disconnect(self, device_id: str) -> None:
        """DisconnectPeer: closes the link and holds it closed until ConnectPeer."""
        if device_id not in self._roster.table and not self._gate.is_trusted(device_id):
            raise PeerNotFound(device_id)
        link = self._links.setdefault(device_id, _Link(device_id))
        link.held = True
        await self.close(device_id)

    async def close(self, device_id: str) -> None:
        """Ends the link's task and closes its channel; the record (and a hold) stays."""
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

    async def drop(self, device_id: str) -> None:
        """Closes the link and forgets its record: the peer is no longer trusted."""
        await self.close(device_id)
        self._links.pop(device_id, None)

    def forget_introduction(self, peer_id: str) -> None:
        """A pairing with the peer just completed: the next dial introduces us again."""
        link = self._links.get(peer_id)
        if link is not None:
            link.introduced = False

    def cancel(self) -> list[asyncio.Task[None]]:
        """Cancels every link's task (the daemon stops); returns them, to be awaited."""
        for link in list(self._links.values()):
            if link.task is not None:
                link.task.cancel()
        return [link.task for link in self._links.values() if link.task is not None]

    async def close_channels(self) -> None:
        """Closes the channels the cancelled tasks left open."""
        for link in self._links.values():
            if link.channel is not None:
                await link.channel.close(None)

    # --- reaching a peer ----------------------------------------------------------------------

    async def identify(self, host: str, port: int, *, link_port: bool = False) -> PeerCertificate:
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

    async def introduce(
        self, address: Address, cert: PeerCertificate
    ) -> pairing_service_pb2.IntroduceResponse:
        """Shows our certificate on the peer's pairing port (so a trust by ID can pin it) and
        learns how the peer describes itself and whether it trusts us."""
        shown = format_address(address.host, address.port + 1)
        own = self._identity.certificate.public_bytes(Encoding.DER)
        async with pairing_channel(shown, cert) as channel:
            try:
                reply: pairing_service_pb2.IntroduceResponse = (
                    await pairing_service_pb2_grpc.PairingServiceStub(channel).Introduce(
                        pairing_service_pb2.IntroduceRequest(
                            certificate=own,
                            device=self._local.info,
                            link_port=self._local.link_port,
                            proof=sign_proof(
                                self._identity, introduce_proof_message(own, cert.der)
                            ),
                        ),
                        timeout=HANDSHAKE_TIMEOUT_SECS,
                    )
                )
            except grpc.aio.AioRpcError as exc:
                if reason_of(exc) == "PEER_IDENTITY_MISMATCH":
                    raise PeerIdentityMismatch(
                        f"{format_device_id(cert.device_id)} has a different certificate pinned "
                        "for this device; forget this device there and pair again"
                    ) from exc
                raise PeerUnreachable(
                    f"pairing port {shown}: {exc.details() or exc.code().name}", address=shown
                ) from exc
        entry = self._roster.table.get(cert.device_id)
        if entry is not None:
            entry.reachable = True
            if entry.describe(reply.device.name, reply.device.device_type, reply.device.user_name):
                self._roster.updated(cert.device_id)
        return reply

    # --- one link's life ----------------------------------------------------------------------

    async def _maintain(self, link: _Link) -> None:  # noqa: PLR0915 - one loop, read in order
        """Keeps one link up: dial, watch, re-dial with backoff while the peer is wanted."""
        delay = FIRST_BACKOFF_SECS
        entry: PeerEntry | None = None
        try:
            while not self._stopping():
                entry = self._roster.table.get(link.peer_id)
                if entry is None or not self.dialable(entry):
                    return
                if not self._gate.linkable(link.peer_id):
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
                    if not self._gate.linkable(link.peer_id):
                        return  # forgotten meanwhile (here, or there and so here): no re-dial
                    entry.connection = Connection.BACKOFF
                    if isinstance(exc, PeerNotTrusted | NotTrustedByPeer | PeerIdentityMismatch):
                        delay = max(delay, float(self._config.discovery.interval_secs))
                    wait = delay * jitter()
                    entry.next_attempt = time.time() + wait
                    log.info("link to %s: %s; next try in %.1fs", link.peer_id, exc.message, wait)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await link.wake.wait()
                    delay = min(delay * 2, float(self._config.discovery.interval_secs))
                    continue
                delay = FIRST_BACKOFF_SECS
                entry.connection = Connection.CONNECTED
                entry.last_error = ""
                entry.last_seen = time.time()
                link.settle(None)
                self._publish(PeerConnected(self._roster.snapshot(link.peer_id)))
                self._connected(link.peer_id)
                why = await self._watch(link)
                if link.channel is not None:
                    await link.channel.close(None)
                    link.channel = None
                entry.connection = Connection.DISCONNECTED
                entry.reachable = False
                entry.last_error = why
                self._publish(
                    PeerDisconnected(self._roster.snapshot(link.peer_id), "PEER_UNREACHABLE", why)
                )
        finally:
            if entry is not None and entry.connection is not Connection.DISCONNECTED:
                was_connected = entry.connection is Connection.CONNECTED
                entry.connection = Connection.DISCONNECTED
                entry.next_attempt = None
                if was_connected and not self._stopping():
                    self._publish(PeerDisconnected(self._roster.snapshot(link.peer_id)))
            if link.channel is not None:
                channel, link.channel = link.channel, None
                await channel.close(None)

    async def _connect(self, link: _Link, entry: PeerEntry) -> None:
        """Tries each address, most recent first, all within networking.connection_timeout_secs;
        raises the most telling failure."""
        errors: list[KizunaError] = []
        try:
            async with asyncio.timeout(self._dial_timeout):
                for address in self.dialable(entry):
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
        pinned = self._gate.store.get(link.peer_id)
        # A peer whose certificate is pinned is read and dialled on its link port first: the
        # pairing port is open to strangers, and one holding its connections must not keep a
        # paired peer from reconnecting. Introduce follows only when that fails.
        direct = pinned is not None and pinned.pinned and self._gate.is_trusted(link.peer_id)
        cert = await self.identify(address.host, address.port, link_port=direct)
        if cert.device_id != link.peer_id:
            if pinned is not None and pinned.pinned:
                self._gate.alert(link.peer_id, pinned.fingerprint, cert.fingerprint, shown)
            raise PeerIdentityMismatch(
                f"the device at {shown} is {format_device_id(cert.device_id)}, not "
                f"{format_device_id(link.peer_id)}; not connected",
                peer_id=link.peer_id,
                address=shown,
            )
        await self._accept(cert, shown)
        entry.verified = True
        if direct or link.introduced:
            try:
                await self._open(link, entry, address, cert)
            except PeerUnreachable:
                link.introduced = False  # ask the pairing port why
            else:
                return
        introduced = await self.introduce(address, cert)
        if introduced.trusted:
            self._gate.newly_paired.discard(link.peer_id)
        else:
            # Shielded: forgetting must finish even when the dial's time runs out meanwhile.
            await asyncio.shield(self._forgotten_by_peer(link.peer_id))
            raise NotTrustedByPeer(
                f"{format_device_id(cert.device_id)} has not paired with this device; "
                f"pair with 'kizuna pair {cert.device_id[:8]}'"
            )
        link.introduced = True
        await self._open(link, entry, address, cert)

    async def _open(
        self, link: _Link, entry: PeerEntry, address: Address, cert: PeerCertificate
    ) -> None:
        """Opens the mutual-TLS channel to the link port and says Hello."""
        shown = str(address)
        channel = grpc.aio.secure_channel(
            shown,
            link_channel_credentials(self._identity, cert.pem),
            options=link_channel_options(link.peer_id),
        )
        try:
            reply = await link_service_pb2_grpc.LinkServiceStub(channel).Hello(
                link_service_pb2.HelloRequest(
                    device=self._local.info, link_port=self._local.link_port
                ),
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
        self._gate.newly_paired.discard(link.peer_id)  # its link port let us in: it trusts us
        entry.describe(reply.device.name, reply.device.device_type, reply.device.user_name)
        entry.protocol_version = reply.protocol_version
        learn_capabilities(entry, reply.device.capabilities)
        entry.add_address(address)

    async def _watch(self, link: _Link) -> str:
        """Returns why the link went down.

        The channel's state shows a dropped connection (keepalive pings find dead peers); every
        `discovery.interval_secs` a Hello also checks that the peer still trusts us, which a
        connection alone would not show until it is re-established.
        """
        channel = link.channel
        assert channel is not None
        stub = link_service_pb2_grpc.LinkServiceStub(channel)
        interval = float(self._config.discovery.interval_secs)
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
                        device=self._local.info, link_port=self._local.link_port
                    ),
                    # Not wait_for_ready: a peer that is gone fails this at once (a connection
                    # that merely aged out is re-established by the call).
                    timeout=HANDSHAKE_TIMEOUT_SECS,
                )
            except grpc.aio.AioRpcError as exc:
                link.introduced = False
                return f"the link dropped: {exc.details() or exc.code().name}"
            entry = self._roster.table.get(link.peer_id)
            if entry is not None:
                entry.last_seen = time.time()
                device = reply.device
                changed = entry.describe(device.name, device.device_type, device.user_name)
                if learn_capabilities(entry, device.capabilities) or changed:
                    self._roster.updated(link.peer_id)
            state = channel.get_state()


@contextlib.asynccontextmanager
async def pairing_channel(address: str, cert: PeerCertificate) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a peer's pairing port, pinned to the certificate read there (Introduce,
    Pair), closed on leaving."""
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


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason a peer's error carries ('' without one)."""
    return reason_from_trailers(error.trailing_metadata())


def jitter() -> float:
    """Spreads reconnects of many daemons apart (not security-relevant)."""
    return random.uniform(0.8, 1.2)  # noqa: S311
