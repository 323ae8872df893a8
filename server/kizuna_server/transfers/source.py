"""The sending side of Fetch: reads files, hashes every chunk (which gives every file's content
hash, digest.py), compresses when it pays, and notices a source that changed since the offer
(the file then restarts from zero instead of splicing old and new bytes, THREATS #12).

Blocking: one SourceReader serves one Fetch call from a worker thread, a message at a time.
"""

from __future__ import annotations

import contextlib
import os
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.transfers.digest import ContentHash, hash_prefix, read_block
from kizuna_server.transfers.model import CHUNK_BYTES, Entry, SourceNotReadable

#: A message carries at most this much data, or this many pieces (many small files share one).
_MESSAGE_BYTES: Final = CHUNK_BYTES
_MESSAGE_PIECES: Final = 512
#: Compress a file only when its first chunk shrinks to this fraction or less.
_WORTH_COMPRESSING: Final = 0.85
#: Whether a file compresses is judged on this much of its first chunk...
_PROBE_BYTES: Final = 64 * 1024
#: ... and after this many files in a row that did not, the rest of the call is sent as is.
_GIVE_UP_AFTER: Final = 8
_COMPRESSED_SUFFIXES: Final = frozenset(
    (  # noqa: SIM905 - a word list reads better than 44 quoted strings
        ".7z .aac .apk .avif .br .bz2 .cab .deb .docx .epub .flac .gif .gz .heic .jar .jpeg "
        ".jpg .lz .lz4 .lzma .m4a .mkv .mov .mp3 .mp4 .odt .ogg .opus .pdf .png .pptx .rar "
        ".rpm .tgz .webm .webp .whl .xlsx .xz .zip .zst"
    ).split()
)
#: A file that keeps changing while it is read is given up after this many restarts.
_MAX_RESTARTS: Final = 3

Identity = tuple[int, int, int, int]


def identity_of(info: os.stat_result) -> Identity:
    """What a file looked like: device, inode, size, mtime. Any change restarts the file."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(slots=True)
class Growing:
    """How an uploaded (spooled) file grows: blocks until `size` bytes exist or it failed."""

    wait: Callable[[int, int], None]  # (file index, bytes wanted)


class SourceReader:
    """Produces the FetchResponse messages for one Fetch call."""

    def __init__(
        self,
        entries: list[Entry],
        ranges: list[tuple[int, int]],
        *,
        compression: bool,
        restarted: Callable[[int, Identity, int], None],
        growing: Growing | None = None,
    ) -> None:
        self._entries = entries
        self._ranges = list(reversed(ranges))
        self._compression = compression
        self._restarted = restarted  # (index, new identity, mode): the engine records it
        self._growing = growing
        self._fd: int | None = None
        self._index = -1
        self._offset = 0
        self._size = 0
        self._file_hash = ContentHash()
        self._compress = False
        self._misses = 0
        self._probed = False
        self._restarts = 0
        self.bytes_read = 0

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def next_message(self) -> pb.FetchResponse | None:
        """The next message, or None when every asked file was sent."""
        message = pb.FetchResponse()
        size = 0
        while size < _MESSAGE_BYTES and len(message.pieces) < _MESSAGE_PIECES:
            if self._fd is None:
                if not self._ranges:
                    break
                index, offset = self._ranges.pop()
                message.pieces.add().start.CopyFrom(self._open(index, offset, restart=False))
                continue
            size += self._read(message)
        return message if message.pieces else None

    # --- one file -------------------------------------------------------------------------

    def _open(self, index: int, offset: int, *, restart: bool) -> pb.FileStart:
        entry = self._entries[index]
        try:
            fd = os.open(entry.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise SourceNotReadable(
                f"{entry.path}: cannot be read ({exc.strerror})", path=entry.path
            ) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise SourceNotReadable(f"{entry.path}: no longer a regular file", path=entry.path)
        now = identity_of(info)
        if self._growing is None and now != entry.identity and info.st_size > entry.offered:
            os.close(fd)
            raise SourceNotReadable(
                f"{entry.path}: grew since it was offered ({entry.offered} → {info.st_size} "
                "bytes); send it again",
                path=entry.path,
            )
        if self._growing is None and now != entry.identity:
            # Changed since the offer (or since the last fetch): start this file over.
            restart = True
            self._restarted(index, now, stat.S_IMODE(info.st_mode))
        if restart or offset > entry.size:
            offset = 0
            restart = True
        self._fd, self._index, self._size = fd, index, entry.size
        self._file_hash = ContentHash()
        if offset and hash_prefix(fd, offset, self._file_hash) < offset:
            offset, restart = 0, True  # shrank under us; the identity check catches it at the end
            self._file_hash = ContentHash()
        self._offset = offset
        self._compress = (
            self._compression and self._misses < _GIVE_UP_AFTER and _compressible(entry.path)
        )
        self._probed = False
        return pb.FileStart(
            file_index=index,
            size=entry.size,
            mode=entry.mode,
            mtime_ns=entry.mtime_ns,
            restarted=restart,
            offset=offset,
        )

    def _read(self, message: pb.FetchResponse) -> int:
        """Adds the next piece of the open file to `message`; returns the data bytes added.

        Pieces are filled in place: constructing a Chunk and then wrapping or appending it
        would copy its megabyte each time (protobuf copies submessages on assignment).
        """
        assert self._fd is not None
        index = self._index
        if self._offset >= self._size:
            self._finish(message)
            return 0
        want = min(CHUNK_BYTES, self._size - self._offset)
        if self._growing is not None:
            self._growing.wait(index, self._offset + want)
        data = read_block(self._fd, self._offset, want)
        if len(data) < want:  # the file shrank under us
            message.pieces.add().start.CopyFrom(self._restart())
            return 0
        chunk = message.pieces.add().chunk
        chunk.file_index = index
        chunk.offset = self._offset
        chunk.sha256 = self._file_hash.add_block(data)
        chunk.length = len(data)
        if self._compress and not self._probed:
            self._probed = True
            sample = data[:_PROBE_BYTES]
            if len(zlib.compress(sample, 1)) > len(sample) * _WORTH_COMPRESSING:
                self._compress = False
                self._misses += 1
            else:
                self._misses = 0
        if self._compress:
            packed = zlib.compress(data, 1)
            if len(packed) <= len(data) * _WORTH_COMPRESSING:
                chunk.data, chunk.compressed = packed, True
            else:
                chunk.data, self._compress = data, False  # does not pay for this file
        else:
            chunk.data = data
        self._offset += len(data)
        self.bytes_read += len(data)
        return len(data)

    def _finish(self, message: pb.FetchResponse) -> None:
        assert self._fd is not None
        if (
            self._growing is None
            and identity_of(os.fstat(self._fd)) != self._entries[self._index].identity
        ):
            message.pieces.add().start.CopyFrom(self._restart())  # changed while it was read
            return
        end = message.pieces.add().end
        end.file_index, end.content_hash = self._index, self._file_hash.digest()
        self.close()
        self._restarts = 0

    def _restart(self) -> pb.FileStart:
        index = self._index
        entry = self._entries[index]
        self.close()
        self._restarts += 1
        if self._restarts > _MAX_RESTARTS:
            raise SourceNotReadable(
                f"{entry.path}: keeps changing while it is read; send it again once it is "
                "written completely",
                path=entry.path,
            )
        return self._open(index, 0, restart=True)


def _compressible(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return dot <= 0 or name[dot:] not in _COMPRESSED_SUFFIXES
