"""Live streams: what one is, its states, its errors and its events. No I/O here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final

from kizuna_client.delivery import Delivery
from kizuna_client.framing import Payload
from kizuna_server.errors import KizunaError

#: The capability's name (Peer.capabilities, plugins.enabled).
STREAMS: Final = "streams"
#: Largest frame payload, as the API documents (the link's message cap is 8 MiB).
MAX_FRAME_BYTES: Final = 4 * 1024 * 1024
MAX_METADATA_ENTRIES: Final = 64
MAX_METADATA_BYTES: Final = 8 * 1024
MAX_FORMAT_CHARS: Final = 64
MAX_CHANNEL_CHARS: Final = 128
MAX_REASON_CHARS: Final = 256
#: Ended streams kept for GetStream and ListStreams.
HISTORY: Final = 64


class Kind(StrEnum):
    CAMERA = "camera"
    SCREEN = "screen"
    AUDIO = "audio"
    DATA = "data"

    @property
    def media(self) -> bool:
        return self is not Kind.DATA


def default_delivery(kind: Kind) -> Delivery:
    """Video: latest wins; audio: a short buffer; data: every frame."""
    if kind is Kind.DATA:
        return Delivery.RELIABLE
    return Delivery.BUFFERED if kind is Kind.AUDIO else Delivery.LATEST


class State(StrEnum):
    OFFERED = "offered"
    OPEN = "open"
    CLOSED = "closed"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (State.CLOSED, State.REJECTED, State.FAILED)


class Transport(StrEnum):
    NONE = ""
    LINK = "link"
    WEBRTC = "webrtc"


@dataclass(frozen=True, slots=True)
class Frame:
    """One unit of stream data, as both planes carry it."""

    sequence: int
    timestamp_us: int
    keyframe: bool
    #: The payload; a view into the message it arrived in (kizuna_client/framing.py).
    data: Payload
    #: Capture time on the producing device's clock (µs since the epoch); 0 when unknown.
    capture_us: int = 0


@dataclass(frozen=True, slots=True)
class Header:
    """What the opener declared (kizuna.v1.StreamHeader / kizuna.peer.v1.StreamOffer)."""

    kind: Kind
    channel: str = ""
    format: str = ""
    quality: int = 80
    metadata: dict[str, str] = field(default_factory=dict)
    delivery: Delivery = Delivery.RELIABLE
    #: Set when a built-in source of the opener produces the frames.
    capture: Capture | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    """A request for a built-in capture source of this device."""

    device: str = ""
    max_width: int = 0
    max_height: int = 0
    fps: int = 30


@dataclass(slots=True)
class Stats:
    bytes_sent: int = 0
    bytes_received: int = 0
    bitrate_bps: int = 0
    fps: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    max_gap_ms: float = 0.0
    keyframe_requests: int = 0
    rtt_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    message: str
    metadata: dict[str, str]

    @classmethod
    def of(cls, error: KizunaError) -> Failure:
        return cls(error.reason, error.message, dict(error.metadata))


@dataclass(slots=True)
class Stream:
    """One stream as this device sees it."""

    id: str
    peer_id: str
    peer_name: str
    outgoing: bool
    header: Header
    state: State = State.OFFERED
    transport: Transport = Transport.NONE
    frames_sent: int = 0
    frames_received: int = 0
    frames_dropped: int = 0
    stats: Stats = field(default_factory=Stats)
    capturing: bool = False
    create_time: float = field(default_factory=time.time)
    end_time: float = 0.0
    error: Failure | None = None


# --- errors -----------------------------------------------------------------------------------


class StreamNotFound(KizunaError):
    reason = "STREAM_NOT_FOUND"

    def __init__(self, stream_id: str) -> None:
        super().__init__(
            f"no stream {stream_id[:40]!r} here; 'kizuna streams' lists them",
            stream_id=stream_id[:40],
        )


class StreamRejected(KizunaError):
    reason = "STREAM_REJECTED"


class StreamClosed(KizunaError):
    reason = "STREAM_CLOSED"


class CaptureUnavailable(KizunaError):
    reason = "CAPTURE_UNAVAILABLE"


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamOffered:
    event_type: ClassVar[str] = "stream_offered"
    stream: Stream


@dataclass(frozen=True, slots=True)
class StreamStarted:
    event_type: ClassVar[str] = "stream_started"
    stream: Stream


@dataclass(frozen=True, slots=True)
class StreamEnded:
    event_type: ClassVar[str] = "stream_ended"
    stream: Stream


@dataclass(frozen=True, slots=True)
class StreamStatsUpdated:
    event_type: ClassVar[str] = "stream_stats"
    stream: Stream


@dataclass(frozen=True, slots=True)
class CaptureStarted:
    event_type: ClassVar[str] = "capture_started"
    stream: Stream
    device: str


@dataclass(frozen=True, slots=True)
class CaptureEnded:
    event_type: ClassVar[str] = "capture_ended"
    stream: Stream
    device: str
    error: Failure | None = None
