"""Pairing over the wire: the Pair call on the pairing port, from both ends, driving
`core/pairing.py`.

The initiator (`request`, RequestPairing) reads the peer's certificate, sends PairStart with a
proof of key, reads the answer and reveals its nonce; the responder (`serve`, the
PairingService.Pair handler) checks lockouts and the proof before anything is keyed by the
caller's ID, answers, and checks the reveal. Then both show the code and `pairings.Pairings`
runs the decision exchange; a completed pairing trusts and pins the peer and starts its link.
Limits and lockouts: per source address, IPv6 /64 and device ID (#22, #34, #35).
Design notes: docs/peers.md ("Pairing").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import grpc
import grpc.aio
from cryptography.hazmat.primitives.serialization import Encoding

from kizuna_server.calls.errors import reason_from_trailers
from kizuna_server.config import Config, TrustMode
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.pairing import (
    Answer,
    PairingProtocolError,
    PairingSession,
    PairingThrottle,
    Request,
    Reveal,
    SeenNonces,
    start_proof_message,
)
from kizuna_server.core.peers import (
    Address,
    PairingCompleted,
    PairingFailed,
    PairingRequested,
    PairingSnapshot,
    Source,
    format_address,
    sanitize_name,
)
from kizuna_server.core.trust import (
    PeerNotFound,
    Permissions,
    PinCheck,
    TrustedPeer,
    TrustSource,
)
from kizuna_server.errors import InvalidArgument, KizunaError
from kizuna_server.p2p.callers import certificate_from_peer, peer_host
from kizuna_server.p2p.identity import Identity, proof_holds, sign_proof
from kizuna_server.p2p.links import Links, pairing_channel, reason_of
from kizuna_server.p2p.pairings import Hooks, Pairing, Pairings, source_of
from kizuna_server.p2p.ports import LocalDevice
from kizuna_server.p2p.roster import Roster
from kizuna_server.p2p.tls import (
    HANDSHAKE_TIMEOUT_SECS,
    PeerCertificate,
    PeerIdentityMismatch,
    PeerUnreachable,
)
from kizuna_server.p2p.trust_gate import TrustGate
from kizuna_server.p2p.wire import pairing_service_pb2, pairing_service_pb2_grpc

#: grpc.aio.EOF (missing from the grpc type stubs): what read() returns at the end of a stream.
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009


class PairingNotAllowed(KizunaError):
    """The trust mode does not allow pairing (allowlist_only)."""

    reason = "PAIRING_NOT_ALLOWED"


class PairingFlow:
    """Pairings in both directions, their lockouts and replay memory. Loop-only.

    `spawn(coroutine)` runs work that outlives the call starting it (the initiator's side of
    the exchange, trust_all's automatic confirmation) as one of the network's tasks.
    """

    def __init__(
        self,
        config: Config,
        identity: Identity,
        *,
        local: LocalDevice,
        roster: Roster,
        gate: TrustGate,
        links: Links,
        publish: Callable[[Payload], None],
        spawn: Callable[[Coroutine[Any, Any, object]], None],
    ) -> None:
        self._config = config
        self._identity = identity
        self._local = local
        self._roster = roster
        self._gate = gate
        self._links = links
        self._publish = publish
        self._spawn = spawn
        self._pairings = Pairings(Hooks(completed=self._completed, ended=self._ended))
        self._throttle = PairingThrottle()
        #: IPv6 /64s: one host may use many addresses of its /64, and a LAN's devices share
        #: one, so a /64 is locked only after several addresses in it failed.
        self._prefix_throttle = PairingThrottle(max_failures=4 * PairingThrottle().max_failures)
        self._seen = SeenNonces()

    # --- the API ------------------------------------------------------------------------------

    def pairing_with(self, device_id: str) -> bool:
        """Whether a pairing with the device is in progress."""
        return self._pairings.for_peer(device_id) is not None

    def shown(self) -> list[PairingSnapshot]:
        """Pairings in progress, once their code exists (on the responder, after the reveal)."""
        self._pairings.expire_due()
        return [p.snapshot() for p in self._pairings.open() if p.session.code is not None]

    async def confirm(self, pairing_id: str, code: str | None) -> PairingSnapshot:
        return await self._pairings.confirm(pairing_id, code)

    def reject(self, pairing_id: str) -> None:
        self._pairings.reject(pairing_id)

    def cancel(self, pairing_id: str) -> None:
        self._pairings.cancel(pairing_id)

    def close_all(self) -> None:
        """Ends every pairing in progress (the daemon stops)."""
        self._pairings.close_all()

    def check_allowed(self) -> None:
        """PairingNotAllowed in allowlist_only, where only the allowlist is trusted."""
        if self._gate.mode is TrustMode.ALLOWLIST_ONLY:
            raise PairingNotAllowed(
                "security.trust_mode is allowlist_only: only the devices in security.allowlist "
                "are trusted, and pairing is off"
            )

    # --- this device asks ---------------------------------------------------------------------

    async def request(self, device_id: str) -> PairingSnapshot:
        """RequestPairing: runs start/answer/reveal, returns once both sides show the code."""
        self.check_allowed()
        entry = self._roster.table.get(device_id)
        if entry is None:
            raise PeerNotFound(device_id)
        dialable = self._links.dialable(entry)
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
        cert = await self._links.identify(address.host, address.port)
        cert.expect(device_id, shown)
        session, start = PairingSession.start(
            peer_id=device_id,
            own_cert=self._identity.certificate.public_bytes(Encoding.DER),
            peer_cert=cert.der,
            now=now,
            timeout=self._config.security.pairing_timeout_secs,
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
            async with pairing_channel(pairing.address, cert) as channel:
                # Driven through write() and read(): the stubs' request iterator is not used.
                stub: Any = pairing_service_pb2_grpc.PairingServiceStub(channel)
                call: Any = stub.Pair(timeout=session.expires - time.time() + 5)
                await call.write(
                    pairing_service_pb2.PairRequest(
                        start=pairing_service_pb2.PairStart(
                            pairing_id=start.pairing_id,
                            certificate=start.initiator_cert,
                            commitment=start.commitment,
                            device=self._local.info,
                            link_port=self._local.link_port,
                            proof=sign_proof(self._identity, start_proof_message(start, cert.der)),
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
                self._shown(pairing)
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
            self._links.want(pairing.session.peer_id)

    # --- another device asks ------------------------------------------------------------------

    async def serve(self, context: Any) -> None:  # noqa: PLR0915 - the protocol in order
        """The responder's side of a Pair call (PairingService.Pair)."""
        host = peer_host(context)
        source, prefix = source_of(host)
        now = time.time()
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS * 2):
            first = await context.read()
        if first is _EOF or not first.HasField("start"):
            raise InvalidArgument("a Pair call starts with PairStart", field="start")
        self.check_allowed()
        self._throttle.check(source, now)
        if prefix != source:
            self._prefix_throttle.check(prefix, now)
        start = first.start
        cert = certificate_from_peer(start.certificate, "start.certificate")
        request = Request(start.pairing_id, start.certificate, start.commitment)
        own_cert = self._identity.certificate.public_bytes(Encoding.DER)
        if not proof_holds(cert.certificate, start.proof, start_proof_message(request, own_cert)):
            # Anyone can send another device's public certificate: until the caller proves it
            # holds the key, nothing is keyed by that ID. The failure counts against the source.
            self._record_source_failure(source, prefix, now)
            raise InvalidArgument(
                "start.proof: the caller did not prove it holds the key of its certificate",
                field="proof",
            )
        self._throttle.check(cert.device_id, now)
        if self._gate.store.check(cert.device_id, cert.fingerprint) is PinCheck.MISMATCH:
            pinned = self._gate.store.require(cert.device_id).fingerprint
            self._gate.alert(cert.device_id, pinned, cert.fingerprint, host)
            raise PeerIdentityMismatch("a different certificate is pinned for this device ID")
        self._seen.add(start.commitment, now, field="commitment")
        session, answer = PairingSession.answer(
            request,
            peer_id=cert.device_id,
            own_cert=own_cert,
            now=now,
            timeout=self._config.security.pairing_timeout_secs,
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
                        nonce=answer.responder_nonce, device=self._local.info
                    )
                )
            )
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS * 2):
                second = await context.read()
            if second is _EOF or not second.HasField("reveal"):
                raise InvalidArgument("PairReveal must follow the answer", field="reveal")
            self._seen.add(second.reveal.nonce, time.time(), field="nonce")
            session.on_reveal(Reveal(session.id, second.reveal.nonce), now=time.time())
            self._shown(pairing)

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
            self._links.want(cert.device_id)

    # --- both sides ---------------------------------------------------------------------------

    def _shown(self, pairing: Pairing) -> None:
        """Both sides have the code: tell people (and confirm at once in trust_all)."""
        if not pairing.outgoing:
            self._note_initiator(pairing)
        self._publish(PairingRequested(pairing.snapshot()))
        self._roster.updated(pairing.session.peer_id)
        if self._gate.mode is TrustMode.TRUST_ALL:
            self._spawn(self._pairings.confirm(pairing.session.id, None))

    def _note_initiator(self, pairing: Pairing) -> None:
        """Notes an incoming pairing's initiator in the peer table: it proved its key and
        calls from `pairing.address`. A trusted peer's entry is left to its own link."""
        peer_id = pairing.session.peer_id
        if self._gate.is_trusted(peer_id):
            return
        try:
            entry = self._roster.entry(peer_id, Source.INCOMING)
        except KizunaError:
            return
        entry.describe(pairing.peer_name, pairing.device_type)
        if 1024 <= pairing.link_port <= 65534:
            entry.add_address(Address(pairing.address, pairing.link_port, Source.INCOMING))

    def _record_source_failure(self, source: str, prefix: str, now: float) -> None:
        self._throttle.record_failure(source, now)
        if prefix != source:
            self._prefix_throttle.record_failure(prefix, now)

    async def _completed(self, pairing: Pairing) -> None:
        """Both confirmed: trusts and pins the peer at once, so its first link is let in."""
        peer_id = pairing.session.peer_id
        cert = PeerCertificate(pairing.session.peer_cert)
        previous = self._gate.store.get(peer_id)
        self._gate.store.trust(
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
        self._gate.newly_paired.add(peer_id)
        await self._gate.changed()
        self._links.forget_introduction(peer_id)

    def _ended(self, pairing: Pairing) -> None:
        """A pairing is over: publish how, and count a failed attempt against the peer (and,
        for an incoming one, its address)."""
        snapshot = pairing.snapshot()
        peer_id = pairing.session.peer_id
        if snapshot.state == "completed":
            self._publish(PairingCompleted(snapshot, self._roster.snapshot(peer_id)))
            self._roster.updated(peer_id)
            return
        if pairing.session.failed_attempt:
            now = time.time()
            self._throttle.record_failure(peer_id, now)
            if not pairing.outgoing:
                self._record_source_failure(pairing.source, pairing.prefix, now)
        self._publish(PairingFailed(snapshot))
        if peer_id in self._roster.table or self._gate.is_trusted(peer_id):
            self._roster.updated(peer_id)


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
            reason_of(exc), f"the other device answered: {exc.details() or exc.code().name}"
        )
    if isinstance(exc, TimeoutError):
        return PeerUnreachable("the other device did not answer in time")
    return PeerUnreachable(f"the other device cannot be reached: {exc}")


def _error_for(reason: str, message: str) -> KizunaError:
    """The error a peer's answer stands for here (its reason kept, PEER_UNREACHABLE if none)."""
    error = KizunaError(message)
    error.reason = reason or "PEER_UNREACHABLE"
    return error
