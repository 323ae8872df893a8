"""kizuna.v1.StreamService: the control API over the streams engine, and stream conversions."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from kizuna_client.delivery import Delivery
from kizuna_client.framing import Framed
from kizuna_client.v1 import errors_pb2, event_pb2, stream_pb2, stream_service_pb2
from kizuna_client.v1 import stream_service_pb2_grpc as service_grpc
from kizuna_server.calls.errors import reason_enum
from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import InvalidArgument, KizunaError
from kizuna_server.rpc.convert import register_event, timestamp
from kizuna_server.streams.model import (
    MAX_FRAME_BYTES,
    Capture,
    CaptureEnded,
    CaptureStarted,
    Failure,
    Frame,
    Header,
    Kind,
    State,
    Stream,
    StreamEnded,
    StreamOffered,
    StreamStarted,
    StreamStatsUpdated,
    Transport,
    default_delivery,
)
from kizuna_server.streams.session import EOF, Session, Viewer, now_us

if TYPE_CHECKING:
    from kizuna_server.streams.engine import Streams

_KINDS: Final = {
    stream_pb2.STREAM_KIND_CAMERA: Kind.CAMERA,
    stream_pb2.STREAM_KIND_SCREEN: Kind.SCREEN,
    stream_pb2.STREAM_KIND_AUDIO: Kind.AUDIO,
    stream_pb2.STREAM_KIND_DATA: Kind.DATA,
}
_API_KINDS: Final = {kind: number for number, kind in _KINDS.items()}
_DELIVERIES: Final = {
    stream_pb2.STREAM_DELIVERY_RELIABLE: Delivery.RELIABLE,
    stream_pb2.STREAM_DELIVERY_LATEST: Delivery.LATEST,
    stream_pb2.STREAM_DELIVERY_BUFFERED: Delivery.BUFFERED,
}
_API_DELIVERIES: Final = {delivery: number for number, delivery in _DELIVERIES.items()}
_STATES: Final = {
    State.OFFERED: stream_pb2.Stream.STATE_OFFERED,
    State.OPEN: stream_pb2.Stream.STATE_OPEN,
    State.CLOSED: stream_pb2.Stream.STATE_CLOSED,
    State.REJECTED: stream_pb2.Stream.STATE_REJECTED,
    State.FAILED: stream_pb2.Stream.STATE_FAILED,
}
_TRANSPORTS: Final = {
    Transport.NONE: stream_pb2.STREAM_TRANSPORT_UNSPECIFIED,
    Transport.LINK: stream_pb2.STREAM_TRANSPORT_LINK,
    Transport.WEBRTC: stream_pb2.STREAM_TRANSPORT_WEBRTC,
}


# --- conversions ------------------------------------------------------------------------------


def _error(failure: Failure | None) -> errors_pb2.Error | None:
    if failure is None:
        return None
    return errors_pb2.Error(
        reason=reason_enum(failure.reason), message=failure.message, metadata=failure.metadata
    )


def header_to_proto(header: Header) -> stream_pb2.StreamHeader:
    message = stream_pb2.StreamHeader(
        channel=header.channel,
        kind=_API_KINDS[header.kind],
        format=header.format,
        quality=header.quality,
        metadata=header.metadata,
        delivery=_API_DELIVERIES[header.delivery],
    )
    if header.capture is not None:
        message.capture.CopyFrom(
            stream_pb2.CaptureSource(
                device=header.capture.device,
                max_width=header.capture.max_width,
                max_height=header.capture.max_height,
                fps=header.capture.fps,
            )
        )
    return message


def stream_to_proto(stream: Stream) -> stream_pb2.Stream:
    stats = stream.stats
    message = stream_pb2.Stream(
        id=stream.id,
        peer_id=stream.peer_id,
        peer_name=stream.peer_name,
        direction=(
            stream_pb2.Stream.DIRECTION_OUTGOING
            if stream.outgoing
            else stream_pb2.Stream.DIRECTION_INCOMING
        ),
        state=_STATES[stream.state],
        header=header_to_proto(stream.header),
        frames_sent=stream.frames_sent,
        frames_received=stream.frames_received,
        frames_dropped=stream.frames_dropped,
        create_time=timestamp(stream.create_time),
        end_time=timestamp(stream.end_time) if stream.end_time else None,
        error=_error(stream.error),
        transport=_TRANSPORTS[stream.transport],
        stats=stream_pb2.StreamStats(
            bytes_sent=stats.bytes_sent,
            bytes_received=stats.bytes_received,
            bitrate_bps=stats.bitrate_bps,
            fps=stats.fps,
            latency_p50_ms=stats.latency_p50_ms,
            latency_p99_ms=stats.latency_p99_ms,
            max_gap_ms=stats.max_gap_ms,
            keyframe_requests=stats.keyframe_requests,
            rtt_ms=stats.rtt_ms,
        ),
        capturing=stream.capturing,
    )
    message.header.peer_id = stream.peer_id
    return message


def header_from_proto(message: stream_pb2.StreamHeader) -> tuple[Header, str]:
    """An app's header, checked; returns it with the peer's device ID."""
    peer_id = parse_device_id(message.peer_id, field="peer_id")
    kind = _KINDS.get(message.kind)
    if kind is None:
        raise InvalidArgument(
            "kind must be one of STREAM_KIND_CAMERA, _SCREEN, _AUDIO or _DATA", field="kind"
        )
    delivery = _DELIVERIES.get(message.delivery) or default_delivery(kind)
    capture = None
    if message.HasField("capture"):
        source = message.capture
        capture = Capture(
            device=source.device[:256],
            max_width=min(source.max_width, 7680),
            max_height=min(source.max_height, 4320),
            fps=source.fps or 30,
        )
        if not 1 <= capture.fps <= 120:
            raise InvalidArgument(f"capture.fps must be 1-120, not {capture.fps}", field="fps")
    quality = message.quality if message.HasField("quality") else 80
    header = Header(
        kind=kind,
        channel=message.channel,
        format=message.format,
        quality=quality,
        metadata=dict(message.metadata),
        delivery=delivery,
        capture=capture,
    )
    return header, peer_id


def framed(frame: Frame) -> Framed[stream_pb2.Frame]:
    """`frame` for an app's call (its payload is written around protobuf: framing.py)."""
    message = stream_pb2.Frame(sequence=frame.sequence, keyframe=frame.keyframe)
    message.timestamp.seconds, micros = divmod(frame.timestamp_us, 1_000_000)
    message.timestamp.nanos = micros * 1000
    if frame.capture_us:
        message.capture_time.seconds, micros = divmod(frame.capture_us, 1_000_000)
        message.capture_time.nanos = micros * 1000
    return Framed(message, frame.data)


def frame_from_app(framed: Framed[stream_pb2.Frame], session: Session) -> Frame:
    """An app's frame: the daemon numbers it; its size is checked."""
    message, data = framed.frame, framed.payload
    if len(data) > MAX_FRAME_BYTES:
        raise InvalidArgument(
            f"a frame carries at most {MAX_FRAME_BYTES // (1024 * 1024)} MiB, this one "
            f"{len(data)} bytes",
            field="frame.data",
        )
    timestamp_us = message.timestamp.seconds * 1_000_000 + message.timestamp.nanos // 1000
    capture_us = 0
    if message.HasField("capture_time"):
        capture_us = message.capture_time.seconds * 1_000_000 + message.capture_time.nanos // 1000
    return Frame(
        sequence=session.next_sequence(),
        timestamp_us=max(0, timestamp_us),
        keyframe=message.keyframe,
        data=data,
        capture_us=capture_us or now_us(),
    )


register_event(
    StreamOffered.event_type, lambda e: event_pb2.StreamOffered(stream=stream_to_proto(e.stream))
)
register_event(
    StreamStarted.event_type, lambda e: event_pb2.StreamStarted(stream=stream_to_proto(e.stream))
)
register_event(
    StreamEnded.event_type, lambda e: event_pb2.StreamEnded(stream=stream_to_proto(e.stream))
)
register_event(
    StreamStatsUpdated.event_type,
    lambda e: event_pb2.StreamStatsUpdated(stream=stream_to_proto(e.stream)),
)
register_event(
    CaptureStarted.event_type,
    lambda e: event_pb2.CaptureStarted(stream=stream_to_proto(e.stream), device=e.device),
)
register_event(
    CaptureEnded.event_type,
    lambda e: event_pb2.CaptureEnded(
        stream=stream_to_proto(e.stream), device=e.device, error=_error(e.error)
    ),
)


# --- the service ------------------------------------------------------------------------------


class _Writer:
    """One write at a time on a call (frames and control share it)."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self._lock = asyncio.Lock()

    async def write(self, message: Any) -> None:
        async with self._lock:
            await self._context.write(message)


class StreamServicer(service_grpc.StreamServiceServicer):
    """kizuna.v1.StreamService."""

    def __init__(self, streams: Streams) -> None:
        self._streams = streams

    # Bidirectional calls are driven through context.read() and write().
    async def OpenStream(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        first = await context.read()
        if first is EOF or isinstance(first, Framed) or not first.HasField("header"):
            raise InvalidArgument("send a StreamHeader first", field="header")
        header, peer_id = header_from_proto(first.header)
        session = await self._streams.open(peer_id, header)
        writer = _Writer(context)
        viewer = session.attach()  # frames the peer app sends back, and keyframe requests
        try:
            await writer.write(
                stream_service_pb2.OpenStreamResponse(stream=stream_to_proto(session.stream))
            )
            await self._serve(
                session,
                viewer,
                context,
                writer,
                final=lambda stream: stream_service_pb2.OpenStreamResponse(stream=stream),
                keyframe=stream_service_pb2.OpenStreamResponse(
                    keyframe_request=stream_pb2.KeyframeRequest()
                ),
                app_frames=header.capture is None,
                on_app_end=lambda: self._streams.close(
                    session.stream.id, "closed by the sending app"
                ),
            )
        finally:
            # The app cancelled its call, or it failed: the stream ends with it.
            self._streams.close_soon(session.stream.id, "the sending app went away")

    async def AttachStream(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        first = await context.read()
        if first is EOF or isinstance(first, Framed) or not first.HasField("header"):
            raise InvalidArgument("send an AttachHeader first", field="header")
        session, viewer = self._streams.attach(first.header.stream_id)
        writer = _Writer(context)
        try:
            await session.settled()
            await writer.write(
                stream_service_pb2.AttachStreamResponse(stream=stream_to_proto(session.stream))
            )
            await self._serve(
                session,
                viewer,
                context,
                writer,
                final=lambda stream: stream_service_pb2.AttachStreamResponse(stream=stream),
                keyframe=None,
                app_frames=True,
                on_app_end=None,
            )
        finally:
            self._streams.detach(session, viewer)

    async def _serve(
        self,
        session: Session,
        viewer: Viewer,
        context: Any,
        writer: _Writer,
        *,
        final: Any,
        keyframe: Any,
        app_frames: bool,
        on_app_end: Any,
    ) -> None:
        """Moves frames between an app's call and the session until the stream ends; the
        call then ends with the stream's final state (OK when closed, its error otherwise)."""

        async def from_app() -> None:
            while True:
                message = await context.read()
                if message is EOF:
                    if on_app_end is not None:
                        await on_app_end()
                    else:
                        viewer.mailbox.close()
                    return
                if not isinstance(message, Framed):
                    if message.WhichOneof("part") == "keyframe_request":
                        session.ask_keyframe()
                        continue
                    raise InvalidArgument("after the header, send only frames", field="frame")
                if not app_frames:
                    raise InvalidArgument(
                        "this stream's frames come from the built-in capture source",
                        field="frame",
                    )
                if not await session.send(frame_from_app(message, session)):
                    return

        async def keyframes() -> None:
            while True:
                await viewer.keyframe_wanted.wait()
                viewer.keyframe_wanted.clear()
                await writer.write(keyframe)

        reader = asyncio.ensure_future(from_app())
        helpers = [reader]
        if keyframe is not None:
            helpers.append(asyncio.ensure_future(keyframes()))
        try:
            while (frame := await viewer.mailbox.get()) is not None:
                await writer.write(framed(frame))
                if reader.done() and reader.exception() is not None:
                    break
        finally:
            for task in helpers:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        if reader.done() and not reader.cancelled() and (error := reader.exception()) is not None:
            if isinstance(error, KizunaError):
                await self._streams.close(
                    session.stream.id, f"the app's call failed: {error.message}"
                )
            raise error
        stream = session.stream
        if stream.state.final:
            await writer.write(final(stream_to_proto(stream)))
            if stream.state is not State.CLOSED and stream.error is not None:
                error = KizunaError(stream.error.message, **stream.error.metadata)
                error.reason = stream.error.reason
                raise error

    async def AcceptStream(
        self, request: stream_service_pb2.AcceptStreamRequest, context: Any
    ) -> stream_service_pb2.AcceptStreamResponse:
        stream = await self._streams.accept(request.stream_id)
        return stream_service_pb2.AcceptStreamResponse(stream=stream_to_proto(stream))

    async def RejectStream(
        self, request: stream_service_pb2.RejectStreamRequest, context: Any
    ) -> stream_service_pb2.RejectStreamResponse:
        await self._streams.reject(request.stream_id, request.reason)
        return stream_service_pb2.RejectStreamResponse()

    async def CloseStream(
        self, request: stream_service_pb2.CloseStreamRequest, context: Any
    ) -> stream_service_pb2.CloseStreamResponse:
        await self._streams.close(request.stream_id)
        return stream_service_pb2.CloseStreamResponse()

    async def GetStream(
        self, request: stream_service_pb2.GetStreamRequest, context: Any
    ) -> stream_service_pb2.GetStreamResponse:
        return stream_service_pb2.GetStreamResponse(
            stream=stream_to_proto(self._streams.get(request.stream_id))
        )

    async def ListStreams(
        self, request: stream_service_pb2.ListStreamsRequest, context: Any
    ) -> stream_service_pb2.ListStreamsResponse:
        return stream_service_pb2.ListStreamsResponse(
            streams=[stream_to_proto(s) for s in self._streams.all()]
        )
