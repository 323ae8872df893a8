"""What a transfer is: its entries, states, errors and events, shared by both directions.

Plain data with the few rules that belong to it (which states are final, what a transfer's
totals are); the engine in `transfers/engine.py` changes them and `transfers/store.py` keeps
them on disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final

from kizuna_server.errors import KizunaError

#: Data per chunk: 1 MiB messages are where gRPC's throughput levels off (docs/transfers.md).
#: Every chunk but a file's last is exactly this long, and the file's content hash is built from
#: the chunks' digests (digest.py), so this is part of the protocol: changing it changes hashes.
CHUNK_BYTES: Final = 1024 * 1024
#: Things left out of an outgoing offer that a transfer lists by path (it counts all of them).
SKIPPED_LISTED: Final = 100


class State(StrEnum):
    """kizuna.v1.Transfer.State."""

    PENDING = "pending"
    NEGOTIATING = "negotiating"
    QUEUED = "queued"
    TRANSFERRING = "transferring"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (State.COMPLETED, State.FAILED, State.CANCELLED)


class FileState(StrEnum):
    """kizuna.v1.TransferFile.State."""

    PENDING = "pending"
    TRANSFERRING = "transferring"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"


class SkipReason(StrEnum):
    """kizuna.v1.SkippedSource.Reason: why something inside a sent folder is not sent."""

    SYMLINK = "symlink"
    SPECIAL_FILE = "special_file"  # a device, FIFO or socket


@dataclass(slots=True)
class Skipped:
    """What a sending scan left out of the offer: the first SKIPPED_LISTED as (path inside the
    transfer, reason), and how many in all. Only the sender knows; the receiver never sees them."""

    listed: list[tuple[str, SkipReason]] = field(default_factory=list)
    count: int = 0

    def add(self, path: str, reason: SkipReason) -> None:
        self.count += 1
        if len(self.listed) < SKIPPED_LISTED:
            self.listed.append((path, reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "listed": [[path, reason.value] for path, reason in self.listed],
            "count": self.count,
        }

    @classmethod
    def from_json(cls, data: Any) -> Skipped:
        if not isinstance(data, dict):
            return cls()
        listed = [(str(path), SkipReason(reason)) for path, reason in data.get("listed", [])]
        return cls(listed[:SKIPPED_LISTED], max(int(data.get("count", 0)), len(listed)))


class Pause(StrEnum):
    """Why a transfer is paused: a person on this side, the peer, or a lost link."""

    NONE = ""
    LOCAL = "local"
    PEER = "peer"
    LINK = "link"


class TransferNotFound(KizunaError):
    reason = "TRANSFER_NOT_FOUND"


class TransferInvalidState(KizunaError):
    reason = "TRANSFER_INVALID_STATE"


class TransferExpired(KizunaError):
    reason = "TRANSFER_EXPIRED"


class TransferRejected(KizunaError):
    reason = "TRANSFER_REJECTED"


class SourceNotReadable(KizunaError):
    reason = "SOURCE_NOT_READABLE"


class InsufficientStorage(KizunaError):
    reason = "INSUFFICIENT_STORAGE"


class IntegrityCheckFailed(KizunaError):
    reason = "INTEGRITY_CHECK_FAILED"


class ProtocolViolation(KizunaError):
    """The peer sent what it had not declared (more bytes or files, data out of order)."""

    reason = "PEER_PROTOCOL_VIOLATION"


@dataclass(slots=True)
class Entry:
    """One file or directory of a transfer, on either side."""

    path: str  # '/'-separated, relative, checked by transfers.names on the receiving side
    directory: bool
    size: int
    mode: int
    mtime_ns: int
    state: FileState = FileState.PENDING
    bytes_done: int = 0
    content_hash: str = ""  # digest.py
    saved_path: str = ""  # receiving side, relative to the inbox
    # Sending side: where the bytes come from and what the file looked like when offered.
    source: str = ""
    identity: tuple[int, int, int, int] = (0, 0, 0, 0)  # dev, ino, size, mtime_ns
    # The size in the offer: a file that changed may start over smaller, never larger.
    offered: int = -1

    def __post_init__(self) -> None:
        if self.offered < 0:
            self.offered = self.size

    def to_json(self) -> dict[str, Any]:
        # Fields at their defaults are left out (from_json restores them): an incoming offer's
        # entries are mostly defaults, and records are parsed at every start.
        data: dict[str, Any] = {
            "path": self.path,
            "directory": self.directory,
            "size": self.size,
            "mode": self.mode,
            "mtime_ns": self.mtime_ns,
        }
        if self.state is not FileState.PENDING:
            data["state"] = self.state.value
        if self.bytes_done:
            data["bytes_done"] = self.bytes_done
        if self.content_hash:
            data["hash"] = self.content_hash
        if self.saved_path:
            data["saved_path"] = self.saved_path
        if self.source:
            data["source"] = self.source
        if any(self.identity):
            data["identity"] = list(self.identity)
        if self.offered != self.size:
            data["offered"] = self.offered
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        identity = tuple(int(x) for x in data.get("identity", (0, 0, 0, 0)))
        return cls(
            path=str(data["path"]),
            directory=bool(data["directory"]),
            size=int(data["size"]),
            mode=int(data["mode"]),
            mtime_ns=int(data["mtime_ns"]),
            state=FileState(data.get("state", "pending")),
            bytes_done=int(data.get("bytes_done", 0)),
            content_hash=str(data.get("hash", "")),
            saved_path=str(data.get("saved_path", "")),
            source=str(data.get("source", "")),
            identity=(identity[0], identity[1], identity[2], identity[3]),
            offered=int(data.get("offered", -1)),
        )


@dataclass(slots=True)
class Failure:
    """Why a transfer failed or was cancelled: an ErrorReason name and a message."""

    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, error: KizunaError) -> Failure:
        return cls(error.reason, error.message, dict(error.metadata))


@dataclass(slots=True)
class Transfer:
    """A transfer's whole state, as persisted and as shown through the API."""

    id: str
    peer_id: str
    peer_name: str
    outgoing: bool
    entries: list[Entry]
    state: State = State.PENDING
    compression: bool = True
    created: float = field(default_factory=time.time)
    expires: float = 0.0
    ended: float = 0.0
    error: Failure | None = None
    pause: Pause = Pause.NONE
    request_id: str = ""
    # Receiving side: top-level names renamed so nothing in the inbox is merged or replaced.
    renamed: dict[str, str] = field(default_factory=dict)
    # Final notice the peer has not acknowledged yet (sent again when the link returns).
    unsent_notice: str = ""
    upload: bool = False  # sending side: the bytes come from an app's UploadTransfer
    #: Entries (and of them files, and their bytes) dropped by `trim`; the totals count them.
    omitted: tuple[int, int, int] = (0, 0, 0)
    #: Sending side: what inside the sent folders is not sent (links, special files).
    skipped: Skipped = field(default_factory=Skipped)

    # --- derived ----------------------------------------------------------------------------

    def accepted(self) -> list[int]:
        """Indexes of the entries that are (or will be) moved."""
        return [i for i, e in enumerate(self.entries) if e.state is not FileState.SKIPPED]

    @property
    def entry_count(self) -> int:
        return len(self.entries) + self.omitted[0]

    @property
    def total_bytes(self) -> int:
        kept = sum(e.size for e in self.entries if e.state is not FileState.SKIPPED)
        return kept + self.omitted[2]

    @property
    def bytes_done(self) -> int:
        return sum(e.bytes_done for e in self.entries if e.state is not FileState.SKIPPED)

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if not e.directory]

    @property
    def total_files(self) -> int:
        return sum(1 for e in self.files if e.state is not FileState.SKIPPED) + self.omitted[1]

    @property
    def files_done(self) -> int:
        return sum(1 for e in self.files if e.state is FileState.COMPLETED)

    def trim(self, keep: int) -> None:
        """Keeps the first `keep` entries of a transfer that moved nothing (an offer that ended
        unanswered): its record stays small whatever a peer offered, and the totals remain."""
        dropped = [e for e in self.entries[keep:] if e.state is not FileState.SKIPPED]
        files = [e for e in dropped if not e.directory]
        entries, count, size = self.omitted
        self.omitted = (
            entries + len(self.entries[keep:]),
            count + len(files),
            size + sum(e.size for e in files),
        )
        del self.entries[keep:]

    def current_file(self) -> str:
        for entry in self.entries:
            if entry.state is FileState.TRANSFERRING:
                return entry.path
        return ""

    # --- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "id": self.id,
            "peer_id": self.peer_id,
            "peer_name": self.peer_name,
            "outgoing": self.outgoing,
            "state": self.state.value,
            "compression": self.compression,
            "created": self.created,
            "expires": self.expires,
            "ended": self.ended,
            "error": None
            if self.error is None
            else {
                "reason": self.error.reason,
                "message": self.error.message,
                "metadata": self.error.metadata,
            },
            "pause": self.pause.value,
            "request_id": self.request_id,
            "renamed": self.renamed,
            "unsent_notice": self.unsent_notice,
            "upload": self.upload,
            "omitted": list(self.omitted),
            **({"skipped": self.skipped.to_json()} if self.skipped.count else {}),
            "entries": [e.to_json() for e in self.entries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transfer:
        error = data.get("error")
        return cls(
            id=str(data["id"]),
            peer_id=str(data["peer_id"]),
            peer_name=str(data.get("peer_name", "")),
            outgoing=bool(data["outgoing"]),
            entries=[Entry.from_json(e) for e in data["entries"]],
            state=State(data["state"]),
            compression=bool(data.get("compression", True)),
            created=float(data.get("created", 0.0)),
            expires=float(data.get("expires", 0.0)),
            ended=float(data.get("ended", 0.0)),
            error=None
            if not error
            else Failure(
                str(error["reason"]),
                str(error["message"]),
                {str(k): str(v) for k, v in error.get("metadata", {}).items()},
            ),
            pause=Pause(data.get("pause", "")),
            request_id=str(data.get("request_id", "")),
            renamed={str(k): str(v) for k, v in data.get("renamed", {}).items()},
            unsent_notice=str(data.get("unsent_notice", "")),
            upload=bool(data.get("upload", False)),
            omitted=_omitted(data.get("omitted")),
            skipped=Skipped.from_json(data.get("skipped")),
        )


def _omitted(value: Any) -> tuple[int, int, int]:
    if isinstance(value, list) and len(value) == 3:
        return int(value[0]), int(value[1]), int(value[2])
    return 0, 0, 0


class Meter:
    """Recent throughput over a sliding window of (time, bytes) samples."""

    __slots__ = ("_samples", "_window")

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: list[tuple[float, int]] = []

    def add(self, done: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] > self._window:
            self._samples.pop(0)

    def reset(self) -> None:
        self._samples.clear()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """A transfer's progress at one moment (kizuna.v1.TransferProgress)."""

    transfer_id: str
    state: State
    bytes_done: int
    total_bytes: int
    files_done: int
    total_files: int
    bytes_per_second: float
    current_file: str

    @property
    def eta(self) -> float | None:
        if self.bytes_per_second <= 0 or self.state is not State.TRANSFERRING:
            return None
        return max(0, self.total_bytes - self.bytes_done) / self.bytes_per_second


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferOffered:
    event_type: ClassVar[str] = "transfer_offered"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferStarted:
    event_type: ClassVar[str] = "transfer_started"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferProgressed:
    event_type: ClassVar[str] = "transfer_progress"
    progress: Progress


@dataclass(frozen=True, slots=True)
class TransferPaused:
    event_type: ClassVar[str] = "transfer_paused"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferQueued:
    event_type: ClassVar[str] = "transfer_queued"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    event_type: ClassVar[str] = "transfer_completed"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferFailed:
    event_type: ClassVar[str] = "transfer_failed"
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferCancelled:
    event_type: ClassVar[str] = "transfer_cancelled"
    transfer: Transfer
