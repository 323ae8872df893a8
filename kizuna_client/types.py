"""Typed, immutable views of the API's messages, in the words apps use.

Enum values become lower-case strings ("connected", "transferring"); timestamps become aware
datetimes; each class keeps the message it came from as `.message` for fields not mirrored here.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kizuna_client.v1 import (
    command_pb2,
    errors_pb2,
    event_pb2,
    event_service_pb2,
    node_pb2,
    peer_pb2,
    stream_pb2,
    transfer_pb2,
)

M = TypeVar("M", bound=Message)


def enum_name(enum_type: Any, value: int, prefix: str) -> str:
    """'STATE_READY' -> 'ready' for an enum value; 'unspecified' when unknown."""
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return "unspecified"
    return name.removeprefix(prefix).lower()


def _time(stamp: Timestamp, present: bool = True) -> datetime | None:
    if not present or (stamp.seconds == 0 and stamp.nanos == 0):
        return None
    return stamp.ToDatetime(tzinfo=UTC)


@dataclass(frozen=True)
class Subsystem:
    """A part of the daemon and how it is doing."""

    name: str
    state: str
    detail: str


@dataclass(frozen=True)
class NodeInfo:
    """This device's daemon: identity, version, listeners, state."""

    device_id: str
    device_id_display: str
    name: str
    device_type: str
    certificate_fingerprint: str
    version: str
    protocol_version: int
    state: str
    api_endpoints: tuple[str, ...]
    subsystems: tuple[Subsystem, ...]
    start_time: datetime | None
    message: node_pb2.Node = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, node: node_pb2.Node) -> NodeInfo:
        return cls(
            device_id=node.device_id,
            device_id_display=node.device_id_display,
            name=node.name,
            device_type=enum_name(node_pb2.DeviceType, node.device_type, "DEVICE_TYPE_"),
            certificate_fingerprint=node.certificate_fingerprint,
            version=node.version,
            protocol_version=node.protocol_version,
            state=enum_name(node_pb2.Node.State, node.state, "STATE_"),
            api_endpoints=tuple(
                ("unix:" if e.transport == node_pb2.Endpoint.TRANSPORT_UNIX else "") + e.address
                for e in node.api_endpoints
            ),
            subsystems=tuple(
                Subsystem(
                    enum_name(node_pb2.SubsystemName, s.name, "SUBSYSTEM_NAME_"),
                    enum_name(node_pb2.Subsystem.State, s.state, "STATE_"),
                    s.detail,
                )
                for s in node.subsystems
            ),
            start_time=_time(node.start_time, node.HasField("start_time")),
            message=node,
        )


@dataclass(frozen=True)
class PeerPermissions:
    """What a trusted peer may do on this device."""

    files: bool = True
    auto_accept_files: bool = False
    streams: bool = True
    commands: bool = False

    @classmethod
    def from_proto(cls, p: peer_pb2.PeerPermissions) -> PeerPermissions:
        return cls(p.files, p.auto_accept_files, p.streams, p.commands)

    def to_proto(self) -> peer_pb2.PeerPermissions:
        return peer_pb2.PeerPermissions(
            files=self.files,
            auto_accept_files=self.auto_accept_files,
            streams=self.streams,
            commands=self.commands,
        )


@dataclass(frozen=True)
class PeerInfo:
    """Another device the daemon knows about.

    Canonical names, with the seed binding's beside them: `device_id` (`id`), `source`
    (`discovery_method`: "mdns", "udp", "static", "manual", "incoming" or "trust_store").
    `capabilities` are what the peer offers ("transfers", ...), from its authenticated Hello:
    empty until the peer is paired and its link has come up once in this run. `user_name` is
    the person's name the peer shows beside its device name (may be empty).
    """

    device_id: str
    device_id_display: str
    name: str
    user_name: str
    device_type: str
    addresses: list[str] = field(hash=False)
    source: str
    trust: str
    connection: str
    online: bool
    permissions: PeerPermissions
    certificate_fingerprint: str
    capabilities: list[str] = field(hash=False)
    last_seen: datetime | None
    message: peer_pb2.Peer = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """The device ID (the seed's name for `device_id`)."""
        return self.device_id

    @property
    def discovery_method(self) -> str:
        """How the daemon learned of the peer (the seed's name for `source`)."""
        return self.source

    @property
    def trusted(self) -> bool:
        """True once paired."""
        return self.trust == "trusted"

    @property
    def connected(self) -> bool:
        """True while an authenticated link is up."""
        return self.connection == "connected"

    @classmethod
    def from_proto(cls, peer: peer_pb2.Peer) -> PeerInfo:
        return cls(
            device_id=peer.device_id,
            device_id_display=peer.device_id_display,
            name=peer.name,
            user_name=peer.user_name,
            device_type=enum_name(node_pb2.DeviceType, peer.device_type, "DEVICE_TYPE_"),
            addresses=list(peer.addresses),
            source=enum_name(peer_pb2.Peer.Source, peer.source, "SOURCE_"),
            trust=enum_name(peer_pb2.Peer.Trust, peer.trust, "TRUST_"),
            connection=enum_name(peer_pb2.Peer.Connection, peer.connection, "CONNECTION_"),
            online=peer.online,
            permissions=PeerPermissions.from_proto(peer.permissions),
            certificate_fingerprint=peer.certificate_fingerprint,
            capabilities=list(peer.capabilities),
            last_seen=_time(peer.last_seen_time, peer.HasField("last_seen_time")),
            message=peer,
        )


@dataclass(frozen=True)
class PairingInfo:
    """A pairing: compare `code` with the other device's, then confirm or reject."""

    id: str
    peer_id: str
    peer_name: str
    direction: str  # "outgoing" | "incoming"
    state: str  # "awaiting_confirmation", "awaiting_peer", "completed", "rejected", ...
    code: str
    expire_time: datetime | None
    error_reason: str
    error_message: str
    message: peer_pb2.Pairing = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, pairing: peer_pb2.Pairing) -> PairingInfo:
        return cls(
            id=pairing.id,
            peer_id=pairing.peer_id,
            peer_name=pairing.peer_name,
            direction=enum_name(peer_pb2.Pairing.Direction, pairing.direction, "DIRECTION_"),
            state=enum_name(peer_pb2.Pairing.State, pairing.state, "STATE_"),
            code=pairing.code,
            expire_time=_time(pairing.expire_time, pairing.HasField("expire_time")),
            error_reason=(
                enum_name(errors_pb2.ErrorReason, pairing.error.reason, "ERROR_REASON_").upper()
                if pairing.HasField("error")
                else ""
            ),
            error_message=pairing.error.message,
            message=pairing,
        )


#: Transfer states after which nothing changes.
FINAL_TRANSFER_STATES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class TransferProgress:
    """Where a transfer stands.

    Canonical names, with the seed binding's beside them: `bytes_done` (`bytes_transferred`),
    `bytes_per_second` (`speed_bps`, whole bytes), `fraction` 0.0-1.0 (`percentage()` 0-100).
    """

    transfer_id: str
    state: str
    bytes_done: int
    total_bytes: int
    files_done: int
    total_files: int
    bytes_per_second: float
    eta_seconds: float | None
    current_file: str

    @property
    def fraction(self) -> float:
        """Share of bytes done, 0.0-1.0 (1.0 for an empty transfer)."""
        return self.bytes_done / self.total_bytes if self.total_bytes else 1.0

    @property
    def bytes_transferred(self) -> int:
        """Bytes done (the seed's name)."""
        return self.bytes_done

    @property
    def speed_bps(self) -> int:
        """Current speed in bytes per second (the seed's name)."""
        return round(self.bytes_per_second)

    def percentage(self) -> float:
        """Share of bytes done, 0.0-100.0 (the seed's form of `fraction`)."""
        return self.fraction * 100.0

    @property
    def finished(self) -> bool:
        """True in a final state."""
        return self.state in FINAL_TRANSFER_STATES

    @classmethod
    def from_proto(cls, p: transfer_pb2.TransferProgress) -> TransferProgress:
        return cls(
            transfer_id=p.transfer_id,
            state=enum_name(transfer_pb2.Transfer.State, p.state, "STATE_"),
            bytes_done=p.bytes_done,
            total_bytes=p.total_bytes,
            files_done=p.files_done,
            total_files=p.total_files,
            bytes_per_second=p.bytes_per_second,
            eta_seconds=p.eta.ToNanoseconds() / 1e9 if p.HasField("eta") else None,
            current_file=p.current_file,
        )


@dataclass(frozen=True)
class TransferInfo:
    """A transfer's full record."""

    id: str
    peer_id: str
    peer_name: str
    direction: str
    state: str
    total_bytes: int
    bytes_done: int
    total_files: int
    files_done: int
    error: str
    message: transfer_pb2.Transfer = field(repr=False, compare=False)

    @classmethod
    def placeholder(cls, transfer_id: str) -> TransferInfo:
        """Only the ID, until the handle's first refresh."""
        return cls.from_proto(transfer_pb2.Transfer(id=transfer_id))

    @property
    def files(self) -> list[transfer_pb2.TransferFile]:
        """The transfer's first entries (saved_path tells where each incoming file landed,
        relative to the inbox): up to 1,000, or 100 from a list or an event;
        `Kizuna.transfer_files` returns all."""
        return list(self.message.files)

    @property
    def entry_count(self) -> int:
        """How many entries (files and folders) the transfer holds."""
        return self.message.entry_count

    @classmethod
    def from_proto(cls, t: transfer_pb2.Transfer) -> TransferInfo:
        return cls(
            id=t.id,
            peer_id=t.peer_id,
            peer_name=t.peer_name,
            direction=enum_name(transfer_pb2.Transfer.Direction, t.direction, "DIRECTION_"),
            state=enum_name(transfer_pb2.Transfer.State, t.state, "STATE_"),
            total_bytes=t.total_bytes,
            bytes_done=t.bytes_done,
            total_files=t.total_files,
            files_done=t.files_done,
            error=t.error.message,
            message=t,
        )


@dataclass(frozen=True)
class CommandResult:
    """How a command run on a peer ended.

    `stdout` and `stderr` are text, as in the seed (UTF-8; undecodable bytes become U+FFFD);
    the exact bytes are `stdout_bytes` and `stderr_bytes`.
    """

    run_id: str
    command_id: str
    state: str
    exit_code: int
    stdout_bytes: bytes
    stderr_bytes: bytes
    output_truncated: bool

    @property
    def stdout(self) -> str:
        """Standard output as text."""
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        """Standard error as text."""
        return self.stderr_bytes.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        """True when the program exited with status 0."""
        return self.state == "exited" and self.exit_code == 0

    @classmethod
    def from_run(
        cls, run: command_pb2.CommandRun, stdout: bytes, stderr: bytes, truncated: bool
    ) -> CommandResult:
        return cls(
            run_id=run.id,
            command_id=run.command_id,
            state=enum_name(command_pb2.CommandRun.State, run.state, "STATE_"),
            exit_code=run.exit_code,
            stdout_bytes=stdout,
            stderr_bytes=stderr,
            output_truncated=truncated,
        )


@dataclass(frozen=True)
class KizunaEvent:
    """Something that happened in the daemon.

    `type` is the payload's name ("peer_discovered", "transfer_progress", "node_state_changed",
    "error", ...), `payload` the typed message for it (see kizuna.v1.Event). The seed's names:
    `event_type` (= `type`) and `data` (the payload as a JSON string, proto field names).
    """

    sequence: int
    run_id: str
    type: str
    payload: Message
    message: event_pb2.Event = field(repr=False, compare=False)

    @property
    def event_type(self) -> str:
        """The payload's name (the seed's name for `type`)."""
        return self.type

    @property
    def transfer(self) -> TransferInfo | None:
        """The transfer a transfer_* event is about (for example the offer of transfer_offered:
        accept it with ``accept_transfer(event.transfer.id)``); None for other events."""
        found = self._field("transfer", transfer_pb2.Transfer)
        return TransferInfo.from_proto(found) if found is not None else None

    @property
    def peer(self) -> PeerInfo | None:
        """The peer a peer_* event is about; None for other events."""
        found = self._field("peer", peer_pb2.Peer)
        return PeerInfo.from_proto(found) if found is not None else None

    @property
    def pairing(self) -> PairingInfo | None:
        """The pairing a pairing_* event is about (with its code); None for other events."""
        found = self._field("pairing", peer_pb2.Pairing)
        return PairingInfo.from_proto(found) if found is not None else None

    @property
    def stream(self) -> stream_pb2.Stream | None:
        """The stream a stream_* or capture_* event is about (for stream_offered, attach with
        ``attach_stream(event.stream.id)``); None for other events."""
        return self._field("stream", stream_pb2.Stream)

    def _field(self, name: str, kind: builtins.type[M]) -> M | None:
        fields = self.payload.DESCRIPTOR.fields_by_name
        if name in fields and fields[name].message_type is kind.DESCRIPTOR:
            value = getattr(self.payload, name)
            return value if isinstance(value, kind) else None
        return None

    @cached_property
    def data(self) -> str:
        """The payload as JSON (field names as in the .proto; 64-bit integers as strings)."""
        return json_format.MessageToJson(
            self.payload, preserving_proto_field_name=True, indent=None
        )

    @cached_property
    def time(self) -> datetime | None:
        """When it happened (converted on first use: most consumers never read it)."""
        return _time(self.message.time, self.message.HasField("time"))

    @classmethod
    def from_proto(cls, event: event_pb2.Event) -> KizunaEvent:
        kind = event.WhichOneof("payload") or "unspecified"
        payload: Message = getattr(event, kind) if kind != "unspecified" else event
        return cls(
            sequence=event.sequence, run_id=event.run_id, type=kind, payload=payload, message=event
        )


@dataclass(frozen=True)
class EventGap:
    """Events this subscription did not receive (it fell behind, or they left the replay buffer).

    Re-read state with the List calls when you see one. `type` is always "gap", so code that
    branches on `event.type` handles it without an isinstance check.
    """

    first_sequence: int
    last_sequence: int
    reason: str
    type: Literal["gap"] = "gap"

    @property
    def event_type(self) -> str:
        """ "gap" (the seed's name for `type`), so seed-style loops handle gaps too."""
        return self.type

    @property
    def data(self) -> str:
        """The gap as JSON, as KizunaEvent.data is."""
        return json.dumps(
            {
                "first_sequence": self.first_sequence,
                "last_sequence": self.last_sequence,
                "reason": self.reason,
            }
        )

    @classmethod
    def from_proto(cls, gap: event_service_pb2.EventGap) -> EventGap:
        reason = enum_name(event_service_pb2.EventGap.Reason, gap.reason, "REASON_")
        return cls(gap.first_sequence, gap.last_sequence, reason)


@dataclass(frozen=True)
class StreamFrame:
    """One frame received on a stream. `timestamp` is seconds since the stream started;
    `capture_time` seconds since the epoch on the sender's clock (0.0 when unknown). Gaps in
    `sequence` are frames dropped on the way (live delivery)."""

    sequence: int
    timestamp: float
    keyframe: bool
    data: bytes
    capture_time: float = 0.0

    @classmethod
    def from_proto(cls, frame: stream_pb2.Frame, payload: bytes | memoryview) -> StreamFrame:
        """`frame` with its payload read apart (kizuna_client/framing.py)."""
        return cls(
            frame.sequence,
            frame.timestamp.ToNanoseconds() / 1e9,
            frame.keyframe,
            bytes(payload),
            frame.capture_time.ToNanoseconds() / 1e9 if frame.HasField("capture_time") else 0.0,
        )
