"""Streams: every live stream of this device, in both directions (docs/streams.md).

Outgoing: an app (or the CLI) opens a stream with its own frames or a built-in capture source;
the engine offers it to the peer over the link and, once accepted, pumps frames both ways.
Incoming: a peer offers; apps and the person see `stream_offered` and attach, accept or reject;
nobody answering within streams.offer_timeout_secs rejects it.

Capture starts only from `open` (a request made on this device), never from anything a peer
sends; while a source captures, `kizuna status` and the capture events say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import grpc
import grpc.aio

from kizuna_client.delivery import Delivery
from kizuna_client.framing import Framed
from kizuna_client.memory import give_back
from kizuna_server.calls.errors import error_info_from_trailers, reason_names
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.core.peers import sanitize_name
from kizuna_server.core.trust import PeerNotTrusted, Permissions
from kizuna_server.errors import (
    CapabilityOff,
    InvalidArgument,
    KizunaError,
    LimitExceeded,
    PermissionDeniedByPeer,
)
from kizuna_server.p2p.network import PeerNetwork
from kizuna_server.p2p.tls import PeerUnreachable
from kizuna_server.p2p.wire import stream_service_pb2 as wire
from kizuna_server.streams.model import (
    HISTORY,
    MAX_CHANNEL_CHARS,
    MAX_FORMAT_CHARS,
    MAX_METADATA_BYTES,
    MAX_METADATA_ENTRIES,
    MAX_REASON_CHARS,
    STREAMS,
    CaptureEnded,
    CaptureStarted,
    CaptureUnavailable,
    Failure,
    Header,
    Kind,
    State,
    Stream,
    StreamClosed,
    StreamEnded,
    StreamNotFound,
    StreamOffered,
    StreamRejected,
    StreamStarted,
    StreamStatsUpdated,
    Transport,
)
from kizuna_server.streams.session import (
    EOF,
    OPEN_METHOD,
    REQUESTS,
    RESPONSES,
    Session,
    Viewer,
    describe,
    now_us,
)
from kizuna_server.streams.sources import Producer, SourceFactory

log = logging.getLogger(__name__)

#: Open streams publish their stats this often.
STATS_INTERVAL_SECS: Final = 2.0
#: After sending its end, a side waits this long for the other's before cutting the call.
_END_GRACE_SECS: Final = 2.0
_KINDS: Final = {
    wire.STREAM_KIND_CAMERA: Kind.CAMERA,
    wire.STREAM_KIND_SCREEN: Kind.SCREEN,
    wire.STREAM_KIND_AUDIO: Kind.AUDIO,
    wire.STREAM_KIND_DATA: Kind.DATA,
}
_WIRE_KINDS: Final = {kind: number for number, kind in _KINDS.items()}
_DELIVERIES: Final = {
    wire.STREAM_DELIVERY_RELIABLE: Delivery.RELIABLE,
    wire.STREAM_DELIVERY_LATEST: Delivery.LATEST,
    wire.STREAM_DELIVERY_BUFFERED: Delivery.BUFFERED,
}
_WIRE_DELIVERIES: Final = {delivery: number for number, delivery in _DELIVERIES.items()}
_REASONS: Final = frozenset(reason_names())
#: Longest SDP offer a peer may send (a few candidates and one media section take ~2 KB).
MAX_SDP_CHARS: Final = 64 * 1024


class Streams:
    """The streams capability's engine."""

    def __init__(
        self,
        config: Config,
        network: PeerNetwork,
        publish: Callable[[Payload], None],
        sources: SourceFactory,
    ) -> None:
        self.config = config
        self._network = network
        self._publish = publish
        self._sources = sources
        self._sessions: dict[str, Session] = {}
        self._ended: OrderedDict[str, Stream] = OrderedDict()
        self._producers: dict[str, Producer] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._warned_webrtc = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._network.on_revoked.append(self._revoked)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await asyncio.gather(
            *(
                self._finish(session, State.CLOSED, reason="the daemon is stopping")
                for session in list(self._sessions.values())
            ),
            return_exceptions=True,
        )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL_SECS)
            for session in list(self._sessions.values()):
                if session.stream.state is State.OPEN:
                    session.refresh_stats()
                    self._publish(StreamStatsUpdated(session.stream))

    # --- lookups ----------------------------------------------------------------------------

    def get(self, stream_id: str) -> Stream:
        session = self._sessions.get(stream_id)
        if session is not None:
            session.refresh_stats()
            return session.stream
        ended = self._ended.get(stream_id)
        if ended is None:
            raise StreamNotFound(stream_id)
        return ended

    def all(self) -> list[Stream]:
        """Offered and open streams, oldest first."""
        for session in self._sessions.values():
            session.refresh_stats()
        return sorted((s.stream for s in self._sessions.values()), key=lambda s: s.create_time)

    def captures(self) -> list[Stream]:
        return [s.stream for s in self._sessions.values() if s.stream.capturing]

    def subsystems(self) -> list[Subsystem]:
        streams = self.all()
        captures = self.captures()
        detail = f"{len(streams)} offered or open"
        if captures:
            detail += "; capturing " + ", ".join(
                f"{s.header.kind.value} ({self._producers[s.id].device}) for "
                f"{s.peer_name or format_device_id(s.peer_id)}"
                for s in captures
                if s.id in self._producers
            )
        return [Subsystem(STREAMS, SubsystemState.RUNNING, detail)]

    # --- outgoing ---------------------------------------------------------------------------

    async def open(self, peer_id: str, header: Header) -> Session:
        """Offers a stream to `peer_id` and returns once it is open (the peer accepted).

        With `header.capture`, a built-in source is opened first (CAPTURE_UNAVAILABLE before
        the peer hears anything) and captures once the stream is open."""
        check_header(header)
        if header.capture is not None:
            self._sources.media(header.kind, header.capture)  # the extra, before anything else
        if self._network.permissions_of(peer_id) is None:
            self._network.snapshot(peer_id)  # PEER_NOT_FOUND for an unknown device
            raise PeerNotTrusted(peer_id, f"peer {peer_id} is not trusted; pair with it first")
        self._admit(peer_id)
        producer: Producer | None = None
        if header.capture is not None:
            producer = await self._sources.open(header.kind, header.capture, header.quality)
            header = Header(
                kind=header.kind,
                channel=header.channel,
                format=producer.format,
                quality=header.quality,
                metadata={**producer.metadata, **header.metadata},
                delivery=header.delivery,
                capture=header.capture,
            )
        stream = Stream(
            id=secrets.token_hex(16),
            peer_id=peer_id,
            peer_name=self._network.name_of(peer_id),
            outgoing=True,
            header=header,
        )
        session = Session(stream, on_keyframe_request=lambda: self._keyframe_wanted(stream.id))
        self._sessions[stream.id] = session
        if producer is not None:
            self._producers[stream.id] = producer
        try:
            await self._offer(session)
        except BaseException as exc:
            error = exc if isinstance(exc, KizunaError) else None
            state = State.REJECTED if isinstance(exc, StreamRejected) else State.FAILED
            await self._finish(
                session,
                state if error is not None else State.CLOSED,
                error=error,
                reason="the opening app went away",
                tell_peer=False,
            )
            raise
        return session

    async def _offer(self, session: Session) -> None:
        stream = session.stream
        header = stream.header
        channel = await self._network.link_to(stream.peer_id)
        proposal = None
        webrtc = self._webrtc(header.kind)
        if webrtc is not None:
            proposal, sdp = await webrtc.WebRtcLink.offer(
                header.kind, lambda: self._keyframe_wanted(stream.id)
            )
            session.webrtc_offer = sdp
        open_call = channel.stream_stream(
            OPEN_METHOD,
            request_serializer=REQUESTS.encode,
            response_deserializer=RESPONSES.decode,
        )
        call: Any = open_call()  # type: ignore[call-arg]
        session.bind(call)
        try:
            await call.write(
                wire.OpenRequest(
                    offer=wire.StreamOffer(
                        stream_id=stream.id,
                        channel=header.channel,
                        kind=_WIRE_KINDS[header.kind],
                        format=header.format,
                        quality=header.quality,
                        metadata=header.metadata,
                        delivery=_WIRE_DELIVERIES[header.delivery],
                        captured=header.capture is not None,
                        webrtc_offer=session.webrtc_offer,
                    )
                )
            )
            answer = await call.read()
        except grpc.aio.AioRpcError as exc:
            await _close_quietly(proposal)
            raise _refusal(exc, stream) from None
        except BaseException:
            await _close_quietly(proposal)
            call.cancel()
            raise
        if answer is EOF or isinstance(answer, Framed) or not answer.HasField("answer"):
            await _close_quietly(proposal)
            call.cancel()
            raise StreamRejected("the peer ended the offer without answering", stream_id=stream.id)
        if proposal is not None and answer.answer.webrtc_answer:
            await proposal.accept(answer.answer.webrtc_answer)
            session.webrtc = proposal
            session.spawn(self._watch_webrtc(session))
        else:
            await _close_quietly(proposal)  # the peer keeps frames on the link
        await session.write(
            wire.OpenRequest(
                sync=wire.ClockSync(
                    answer_sent_unix_us=answer.answer.sent_unix_us, sent_unix_us=now_us()
                )
            )
        )
        self._opened(session)
        session.spawn(self._run_outgoing(session, call))

    async def _run_outgoing(self, session: Session, call: Any) -> None:
        producer = self._producers.get(session.stream.id)
        if producer is not None:
            session.spawn(self._capture(session, producer))
        await self._carry(session)

    async def _carry(self, session: Session) -> None:
        """Moves frames both ways until the stream ends: by an end from either side (closed),
        a broken call (the link was lost) or a failure here (that stream only)."""
        pump = session.spawn(session.pump_out())
        try:
            await session.pump_in(lambda packet: self._from_peer(session, packet))
            if not session.stream.state.final:
                await self._finish(session, State.CLOSED, reason="closed by the peer", peer=True)
        except grpc.aio.AioRpcError as exc:
            await self._link_failed(session, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here ends this stream only
            log.exception("stream %s failed", session.stream.id)
            await self._finish(session, State.FAILED, error=describe(exc))
        finally:
            pump.cancel()

    async def _from_peer(self, session: Session, packet: Any) -> bool:
        """One message from the other side; False once it ended the stream. Only the opener
        sends `origin` and `sync` (an OpenResponse has neither)."""
        if isinstance(packet, Framed):
            await session.take_frame(packet)
            return True
        part = packet.WhichOneof("part")
        if part == "keyframe_request":
            session.keyframe_requested_by_peer()
        elif part == "origin":
            session.capture_origin_us = packet.origin.capture_unix_us
        elif part == "sync":
            session.clock.update(session.answer_sent_us, packet.sync.sent_unix_us, now_us())
        elif part == "webrtc_ready":
            session.peer_webrtc_ready.set()
        elif part == "end":
            await self._finish(
                session, State.CLOSED, reason=_peer_reason(packet.end.reason), peer=True
            )
            return False
        return True

    async def _capture(self, session: Session, producer: Producer) -> None:
        stream = session.stream
        stream.capturing = True
        self._publish(CaptureStarted(stream, producer.device))
        error: KizunaError | None = None
        try:
            await producer.run(session.send, session.next_sequence)
        except asyncio.CancelledError:
            raise
        except KizunaError as exc:
            error = exc
        except Exception as exc:
            log.exception("capture for stream %s failed", stream.id)
            error = CaptureUnavailable(
                f"the {stream.header.kind.value} source failed: {type(exc).__name__}: {exc}",
                source=stream.header.kind.value,
                device=producer.device,
            )
        finally:
            stream.capturing = False
            self._publish(
                CaptureEnded(stream, producer.device, Failure.of(error) if error else None)
            )
        if error is not None:
            await self._finish(session, State.FAILED, error=error)
        elif not stream.state.final:
            await self._finish(session, State.CLOSED, reason="the capture source ended")

    def _keyframe_wanted(self, stream_id: str) -> None:
        producer = self._producers.get(stream_id)
        if producer is not None:
            producer.request_keyframe()
            return
        session = self._sessions.get(stream_id)
        if session is not None:
            for viewer in session.viewers:  # the opener app encodes its own video
                viewer.keyframe_wanted.set()

    # --- incoming ---------------------------------------------------------------------------

    async def serve(self, caller: str, context: Any, *, accepting: bool) -> None:
        """A peer's Open call, from its offer to the stream's end."""
        first = await context.read()
        if first is EOF or isinstance(first, Framed) or not first.HasField("offer"):
            raise InvalidArgument("an Open call starts with a StreamOffer", field="offer")
        offer = first.offer
        if not accepting:
            raise CapabilityOff(
                f"this device does not take streams: '{STREAMS}' is not in its plugins.enabled",
                subsystem=STREAMS,
            )
        permissions = self._network.permissions_of(caller)
        if permissions is None or not permissions.streams:
            raise PermissionDeniedByPeer(
                "this device does not take streams from yours",
                peer_id=caller,
                permission="streams",
            )
        header, stream_id = header_from_offer(offer)
        if offer.webrtc_offer and not header.kind.media:
            raise InvalidArgument("data streams travel on the link only", field="webrtc_offer")
        if len(offer.webrtc_offer) > MAX_SDP_CHARS:
            raise InvalidArgument(
                f"an SDP offer is at most {MAX_SDP_CHARS} characters", field="webrtc_offer"
            )
        if stream_id in self._sessions or stream_id in self._ended:
            raise InvalidArgument("that stream ID is already in use", field="stream_id")
        self._admit(caller)
        stream = Stream(
            id=stream_id,
            peer_id=caller,
            peer_name=self._network.name_of(caller),
            outgoing=False,
            header=header,
        )
        session = Session(stream, on_keyframe_request=lambda: self._keyframe_wanted(stream.id))
        session.webrtc_offer = offer.webrtc_offer
        session.bind(context)
        self._sessions[stream.id] = session
        self._publish(StreamOffered(stream))
        try:
            await self._await_decision(session, context)
            await self._run_incoming(session, context)
        except asyncio.CancelledError:
            # The opener hung up (or the daemon stops): the stream ends here too.
            if not stream.state.final:
                await self._finish(
                    session, State.CLOSED, reason="the opener went away", tell_peer=False
                )
            raise

    async def _await_decision(self, session: Session, context: Any) -> None:
        stream = session.stream
        timeout = self.config.streams.offer_timeout_secs
        # While the offer waits, the opener may withdraw it (EOF or an end message). The read
        # stays pending past the decision and the receive pump takes its result: cancelling a
        # read would abort the call.
        withdrawn = session.read_ahead()
        done, _ = await asyncio.wait(
            {session.decision, withdrawn}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if session.decision in done:
            refusal = session.decision.result()
            if refusal is not None:
                error = StreamRejected(refusal, stream_id=stream.id)
                await self._finish(session, State.REJECTED, error=error, tell_peer=False)
                raise error
            return
        if withdrawn in done:
            await self._finish(
                session, State.CLOSED, reason="withdrawn by the opener", tell_peer=False
            )
            return
        error = StreamRejected(
            f"nobody on the receiving device accepted the stream within {timeout} s",
            stream_id=stream.id,
        )
        await self._finish(session, State.REJECTED, error=error, tell_peer=False)
        raise error

    async def _run_incoming(self, session: Session, context: Any) -> None:
        stream = session.stream
        if stream.state.final:
            return
        answer = wire.StreamAnswer()
        webrtc = self._webrtc(stream.header.kind) if session.webrtc_offer else None
        if webrtc is not None:
            try:
                session.webrtc, answer.webrtc_answer = await webrtc.WebRtcLink.answer(
                    stream.header.kind, session.webrtc_offer, session.take_webrtc_frame
                )
            except Exception:  # an offer aiortc cannot take: frames stay on the link
                log.warning("stream %s: WebRTC offer not usable; using the link", stream.id)
            else:
                session.spawn(self._watch_webrtc(session))
        session.answer_sent_us = now_us()
        answer.sent_unix_us = session.answer_sent_us
        await session.write(wire.OpenResponse(answer=answer))
        self._opened(session)
        await self._carry(session)
        await session.ended.wait()

    def _incoming(self, stream_id: str) -> Session:
        session = self._sessions.get(stream_id)
        if session is None:
            if stream_id in self._ended:
                raise StreamClosed(
                    f"stream {stream_id} has ended ({self._ended[stream_id].state.value})",
                    stream_id=stream_id,
                )
            raise StreamNotFound(stream_id)
        return session

    def attach(self, stream_id: str) -> tuple[Session, Viewer]:
        """Attaches an app to an incoming stream, accepting it if it is still offered."""
        session = self._incoming(stream_id)
        if session.stream.outgoing:
            raise InvalidArgument(
                "AttachStream is for incoming streams; the opener's call carries an outgoing one",
                field="stream_id",
            )
        viewer = session.attach()
        if not session.decision.done():
            session.decision.set_result(None)
        return session, viewer

    def detach(self, session: Session, viewer: Viewer) -> None:
        """An app's AttachStream call ended. When the last app that accepted goes (and no person
        accepted), the stream closes: nobody is watching."""
        session.detach(viewer)
        if (
            not session.viewers
            and not session.accepted_by_person
            and not session.stream.state.final
        ):
            session.spawn(self._finish(session, State.CLOSED, reason="closed by the receiving app"))

    async def accept(self, stream_id: str) -> Stream:
        session = self._incoming(stream_id)
        if session.stream.outgoing:
            raise InvalidArgument("only an incoming stream can be accepted", field="stream_id")
        session.accepted_by_person = True
        if not session.decision.done():
            session.decision.set_result(None)
        return session.stream

    async def reject(self, stream_id: str, reason: str) -> None:
        session = self._incoming(stream_id)
        if session.stream.outgoing or session.decision.done():
            raise StreamClosed(
                f"stream {stream_id} is not waiting for an answer ({session.stream.state.value})",
                stream_id=stream_id,
            )
        session.decision.set_result(sanitize_name(reason, limit=MAX_REASON_CHARS) or "rejected")

    async def close(self, stream_id: str, reason: str = "") -> Stream:
        session = self._incoming(stream_id)
        if session.stream.state is State.OFFERED and not session.stream.outgoing:
            await self.reject(stream_id, reason or "closed before it was accepted")
            return session.stream
        await self._finish(session, State.CLOSED, reason=reason or "closed on this device")
        return session.stream

    def close_soon(self, stream_id: str, reason: str) -> None:
        """Closes a stream from a call being cancelled (the close outlives the call)."""
        session = self._sessions.get(stream_id)
        if session is None or session.stream.state.final:
            return
        task = asyncio.get_running_loop().create_task(
            self._finish(session, State.CLOSED, reason=reason)
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # --- both directions --------------------------------------------------------------------

    def _admit(self, peer_id: str) -> None:
        limits = self.config.streams
        live = [s.stream for s in self._sessions.values()]
        if len(live) >= limits.max_streams:
            raise LimitExceeded(
                f"this device has {len(live)} streams offered or open "
                f"(streams.max_streams is {limits.max_streams}); close one first",
                limit="streams.max_streams",
            )
        with_peer = sum(1 for s in live if s.peer_id == peer_id)
        if with_peer >= limits.max_streams_per_peer:
            raise LimitExceeded(
                f"{with_peer} streams with this peer are offered or open "
                f"(streams.max_streams_per_peer is {limits.max_streams_per_peer})",
                limit="streams.max_streams_per_peer",
            )

    def _webrtc(self, kind: Kind) -> Any:
        """The WebRTC module when media of `kind` should use it: networking.enable_webrtc is
        on, the kind is media, and the media extra is installed. None otherwise."""
        if not kind.media or not self.config.networking.enable_webrtc:
            return None
        try:
            return importlib.import_module("kizuna_server.streams.webrtc")
        except ImportError as exc:
            if not self._warned_webrtc:
                self._warned_webrtc = True
                log.warning(
                    "networking.enable_webrtc is on but the media extra is missing (%s): "
                    "streams use the link; pip install 'kizuna[media]'",
                    exc.name,
                )
            return None

    async def _watch_webrtc(self, session: Session) -> None:
        """Media moves to WebRTC once ICE and DTLS connect; if they do not within a few
        seconds, or fail later, frames stay on (or return to) the link. The receiver tells the
        opener when its side connected; the opener moves media only then."""
        link = session.webrtc
        stream = session.stream
        connected = await link.wait_connected()
        if connected and not stream.outgoing:
            await session.write_quietly(wire.OpenResponse(webrtc_ready=wire.WebRtcReady()))
        if connected and (not stream.outgoing or await link.wait_for(session.peer_webrtc_ready)):
            session.webrtc_ready.set()
            stream.transport = Transport.WEBRTC
            self._keyframe_wanted(stream.id)  # media moves over at the next keyframe
            log.info("stream %s: media over WebRTC", stream.id)
            await link.failed.wait()
            self._keyframe_wanted(stream.id)
            log.warning(
                "stream %s: the WebRTC session failed; media returns to the link", stream.id
            )
        else:
            log.warning("stream %s: WebRTC did not connect; media stays on the link", stream.id)
        stream.transport = Transport.LINK
        session.webrtc = None
        await link.close()

    def _opened(self, session: Session) -> None:
        stream = session.stream
        stream.state = State.OPEN
        stream.transport = Transport.LINK
        session.opened.set()
        self._publish(StreamStarted(stream))

    async def _link_failed(self, session: Session, exc: grpc.aio.AioRpcError) -> None:
        if session.stream.state.final:
            return
        name = session.stream.peer_name or format_device_id(session.stream.peer_id)
        if exc.code() == grpc.StatusCode.CANCELLED and session.peer_ended:
            await self._finish(session, State.CLOSED, reason="closed by the peer", peer=True)
            return
        error = StreamClosed(
            f"the link to {name} was lost ({exc.code().name.lower()}); the stream ended",
            stream_id=session.stream.id,
        )
        await self._finish(session, State.FAILED, error=error, tell_peer=False)

    async def _finish(
        self,
        session: Session,
        state: State,
        *,
        error: KizunaError | None = None,
        reason: str = "",
        peer: bool = False,
        tell_peer: bool = True,
    ) -> None:
        """Ends a stream once: state, the peer told (unless it ended it), viewers released,
        capture stopped, `stream_ended` published."""
        stream = session.stream
        if stream.state.final:
            return
        session.refresh_stats()
        stream.state = state
        stream.end_time = time.time()
        if error is None and (state is not State.CLOSED or reason):
            # A normal close keeps its reason too ("closed by the peer: ...").
            error = StreamClosed(reason or "the stream ended", stream_id=stream.id)
        stream.error = Failure.of(error) if error is not None else None
        session.peer_ended = peer
        if not session.decision.done():
            session.decision.set_result("the stream ended")
        session.outbox.close()
        for viewer in list(session.viewers):
            viewer.mailbox.close()
        session.backlog.close()
        error_text = stream.error.message if stream.error is not None else ""
        # Bookkeeping first, with nothing awaited; the rest runs in a task of its own, so a
        # caller cancelled meanwhile (an app's call ending) still leaves the peer told.
        self._producers.pop(stream.id, None)
        self._sessions.pop(stream.id, None)
        self._ended[stream.id] = stream
        while len(self._ended) > HISTORY:
            self._ended.popitem(last=False)
        session.ended.set()
        self._publish(StreamEnded(stream))
        winding = asyncio.get_running_loop().create_task(
            self._wind_down(session, (reason or error_text) if tell_peer and not peer else None)
        )
        self._closing.add(winding)
        winding.add_done_callback(self._closing.discard)
        await asyncio.shield(winding)

    async def _wind_down(self, session: Session, end_reason: str | None) -> None:
        """Tells the peer (unless `end_reason` is None), closes WebRTC, stops the pumps."""
        if end_reason is not None:
            end = session.packet(end=wire.StreamEnd(reason=end_reason[:MAX_REASON_CHARS]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.write_quietly(end), _END_GRACE_SECS)
        if session.webrtc is not None:
            link, session.webrtc = session.webrtc, None
            await link.close()
        await session.cancel_tasks()
        if not self._sessions:
            await asyncio.to_thread(give_back)  # the frames in flight are freed: RSS to idle

    async def _revoked(self, peer_id: str, permissions: Permissions | None) -> None:
        """The peer was forgotten (every stream with it ends) or lost the streams permission
        (what it sends here ends)."""
        if permissions is not None and permissions.streams:
            return
        for session in list(self._sessions.values()):
            stream = session.stream
            if stream.peer_id != peer_id or (permissions is not None and stream.outgoing):
                continue
            error: KizunaError = (
                PeerNotTrusted(peer_id, "this device forgot the peer")
                if permissions is None
                else PermissionDeniedByPeer(
                    "streams from this peer are no longer allowed here",
                    peer_id=peer_id,
                    permission="streams",
                )
            )
            await self._finish(session, State.FAILED, error=error)


# --- helpers ----------------------------------------------------------------------------------


def check_header(header: Header) -> None:
    """Refuses what the API documents as invalid (INVALID_ARGUMENT naming the field)."""
    if len(header.channel) > MAX_CHANNEL_CHARS:
        raise InvalidArgument(
            f"channel is longer than {MAX_CHANNEL_CHARS} characters", field="channel"
        )
    if len(header.format) > MAX_FORMAT_CHARS:
        raise InvalidArgument(
            f"format is longer than {MAX_FORMAT_CHARS} characters", field="format"
        )
    if not 0 <= header.quality <= 100:
        raise InvalidArgument(f"quality must be 0-100, not {header.quality}", field="quality")
    if len(header.metadata) > MAX_METADATA_ENTRIES or (
        sum(len(k) + len(v) for k, v in header.metadata.items()) > MAX_METADATA_BYTES
    ):
        raise InvalidArgument(
            f"metadata holds at most {MAX_METADATA_ENTRIES} entries, "
            f"{MAX_METADATA_BYTES // 1024} KiB in all",
            field="metadata",
        )
    if header.capture is not None and not header.kind.media:
        raise InvalidArgument(
            "a built-in capture source is for camera, screen and audio streams", field="capture"
        )


def header_from_offer(offer: wire.StreamOffer) -> tuple[Header, str]:
    """A peer's offer, checked like an app's header (a peer may be newer, or lie)."""
    stream_id = offer.stream_id
    if len(stream_id) != 32 or not all(c in "0123456789abcdef" for c in stream_id):
        raise InvalidArgument("stream_id must be 32 lowercase hex characters", field="stream_id")
    kind = _KINDS.get(offer.kind)
    if kind is None:
        raise InvalidArgument("the offer names no stream kind this device knows", field="kind")
    header = Header(
        kind=kind,
        channel=offer.channel,
        format=offer.format,
        quality=offer.quality,
        metadata=dict(offer.metadata),
        delivery=_DELIVERIES.get(offer.delivery, Delivery.RELIABLE),
    )
    check_header(header)
    return header, stream_id


async def _close_quietly(link: Any) -> None:
    if link is not None:
        with contextlib.suppress(Exception):
            await link.close()


def _peer_reason(text: str) -> str:
    shown = sanitize_name(text, limit=MAX_REASON_CHARS)
    return f"closed by the peer: {shown}" if shown else "closed by the peer"


def _refusal(exc: grpc.aio.AioRpcError, stream: Stream) -> KizunaError:
    """What a failed offer means for the opening app."""
    reason, details = error_info_from_trailers(exc.trailing_metadata())
    name = stream.peer_name or format_device_id(stream.peer_id)
    if not reason or exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return PeerUnreachable(
            f"peer {name} did not answer: {sanitize_name(exc.details() or '', limit=200)}",
            peer_id=stream.peer_id,
        )
    error = KizunaError(
        f"{name} refused the stream: {sanitize_name(exc.details() or '', limit=300)}"
    )
    error.reason = reason if reason in _REASONS else "INTERNAL"
    kept: dict[str, str] = {
        k: sanitize_name(details[k]) for k in ("limit", "permission", "subsystem") if k in details
    }
    error.metadata = {"peer_id": stream.peer_id, "stream_id": stream.id, **kept}
    return error
