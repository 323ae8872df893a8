"""The receiving side of Fetch: checks every piece against the offer, verifies every chunk and
every file's content hash (digest.py), writes inside the inbox only, and gives a file its final
name only once it is verified and fsynced (THREATS #8, #10-#12).

Blocking: one Sink per incoming transfer, fed from a single worker thread. Finished files are
committed in batches: one syncfs for the batch's data, one journal write naming the files and
their hashes, the renames, one fsync per directory. A batch is at most 64 files or 64 MiB, and
is committed before the Fetch call that filled it is considered done.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import mmap
import os
import threading
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.transfers.digest import ContentHash, hash_prefix
from kizuna_server.transfers.inbox import Landing, file_mode, part_name, sync_filesystem
from kizuna_server.transfers.model import (
    CHUNK_BYTES,
    Entry,
    FileState,
    ProtocolViolation,
    Transfer,
)
from kizuna_server.transfers.names import split_transfer_path
from kizuna_server.transfers.store import Journal

#: A large file records a verified offset this often, so a crash costs at most this much again.
CHECKPOINT_BYTES: Final = 64 * 1024 * 1024
#: Writes run on this many threads: a small file's creation costs more kernel time than its
#: hashing, so on a 2-core machine two writers keep both cores busy.
_WRITE_THREADS: Final = 2
#: Data queued for the writers before verification waits for them.
_WRITES_AHEAD_BYTES: Final = 4 * CHUNK_BYTES
_BATCH_FILES: Final = 64
_BATCH_BYTES: Final = 64 * 1024 * 1024


class ChunkCorrupt(Exception):
    """A chunk's SHA-256 did not match: fetch again from the file's verified offset."""

    def __init__(self, index: int, offset: int) -> None:
        super().__init__(f"chunk at {offset} of file {index} failed its SHA-256 check")
        self.index = index
        self.offset = offset


class FileCorrupt(Exception):
    """Every chunk verified but the file's content hash did not: fetch it again from zero."""

    def __init__(self, index: int) -> None:
        super().__init__(f"file {index} failed its content hash check")
        self.index = index


@dataclass(slots=True)
class _Open:
    index: int
    entry: Entry
    fd: int
    directory: int
    folder: tuple[str, ...]
    name: str
    part: str
    offset: int
    hasher: ContentHash
    checkpointed: int
    finishes_itself: bool = False  # a one-chunk file: its write task also sets mode and mtime
    direct: bool = False  # whole chunks bypass the page cache (O_DIRECT)
    # The first write of this file that failed (ENOSPC...), set on a writer thread. A file with
    # a failed write is never committed, and its offset is known good only to the checkpoint.
    failure: OSError | None = None


@dataclass(slots=True)
class _Finished:
    file: _Open
    content_hash: str


class Sink:
    """Writes one incoming transfer's data; every method runs on the transfer's worker thread."""

    def __init__(
        self,
        transfer: Transfer,
        landing: Landing,
        journal: Journal,
        *,
        reserve_bytes: int,
        committed: Callable[[list[int]], None],
    ) -> None:
        self._transfer = transfer
        self._landing = landing
        self._journal = journal
        self._reserve = reserve_bytes
        self._committed = committed  # called (on this thread) with each batch made final
        self._expected: list[int] = []
        self._open: _Open | None = None
        self._finished: list[_Finished] = []
        self._finished_bytes = 0
        self._halted = False
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="kizuna-checkpoint")
        # Writes run on their own threads, so verifying the next chunk overlaps writing this one.
        self._writer = ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="kizuna-write")
        self._writes: deque[tuple[Future[None], int]] = deque()  # (write, bytes)
        self._queued = 0
        self._buffers = _AlignedBuffers()

    # --- a Fetch call -----------------------------------------------------------------------

    def expect(self, ranges: list[tuple[int, int]]) -> None:
        """The files (and offsets) the next Fetch call will carry, in order."""
        self._expected = [index for index, _ in reversed(ranges)]

    def halt(self) -> None:
        """From the event loop: the call broke off; messages still queued are ignored."""
        self._halted = True

    def feed(self, message: pb.FetchResponse) -> None:
        if self._halted:
            return
        try:
            self._feed(message)
        except BaseException:
            self._halted = True
            raise

    def _feed(self, message: pb.FetchResponse) -> None:
        for piece in message.pieces:
            kind = piece.WhichOneof("kind")
            if kind == "start":
                self._start(piece.start)
            elif kind == "chunk":
                self._chunk(piece.chunk)
            elif kind == "end":
                self._end(piece.end)
            else:
                raise ProtocolViolation("the sender sent an empty piece")
        if len(self._finished) >= _BATCH_FILES or self._finished_bytes >= _BATCH_BYTES:
            self.flush()

    def done(self) -> None:
        """The Fetch call ended normally: everything asked must have arrived."""
        if self._open is not None or self._expected:
            raise ProtocolViolation("the sender ended the data before every file was sent")
        self.flush()

    def suspend(self) -> None:
        """The call broke off: commit finished files, record the open file's verified offset.

        Never raises an I/O error (a full disk, a failed write): the caller is already dealing
        with whatever stopped the call, and a file this cannot commit or record comes again
        from an offset known to be good (its last checkpoint, or zero).
        """
        self._halted = False
        with contextlib.suppress(OSError):  # flush keeps what it could and drops the rest
            self.flush()
        self._drain_writes(strict=False)
        current, self._open = self._open, None
        self._expected = []
        if current is None:
            return
        # A write that failed leaves a hole: only the last checkpoint is known good then.
        offset = current.checkpointed if current.failure is not None else current.offset
        try:
            os.fdatasync(current.fd)
            self._journal.write({"at": current.index, "offset": offset})
        except OSError:
            offset = current.checkpointed
        finally:
            with contextlib.suppress(OSError):
                os.close(current.fd)
        current.entry.bytes_done = offset

    def close(self) -> None:
        """Drops open descriptors without committing (failure or cancel)."""
        self._drain_writes(strict=False)
        self._writer.shutdown(wait=True)
        self._syncer.shutdown(wait=True)
        self._buffers.close()
        for finished in self._finished:
            with contextlib.suppress(OSError):
                os.close(finished.file.fd)
        self._finished.clear()
        self._finished_bytes = 0
        if self._open is not None:
            with contextlib.suppress(OSError):
                os.close(self._open.fd)
            self._open = None

    # --- pieces -----------------------------------------------------------------------------

    def _start(self, start: pb.FileStart) -> None:
        index = start.file_index
        current = self._open
        if start.restarted and current is not None and current.index == index:
            self._drain_writes(strict=False)  # the file starts over: its old bytes do not matter
            os.close(current.fd)
            self._open = None
        elif current is not None:
            raise ProtocolViolation(f"file {index} started before file {current.index} ended")
        elif not self._expected or self._expected[-1] != index:
            raise ProtocolViolation(f"the sender sent file {index}, which was not asked for")
        else:
            self._expected.pop()
        entry = self._entry(index)
        if start.restarted:
            self._restarted(entry, start)
        elif start.size != entry.size or start.offset != entry.bytes_done:
            raise ProtocolViolation(
                f"{entry.path}: the sender declared {start.size} bytes from {start.offset}, "
                f"the offer {entry.size} from {entry.bytes_done}"
            )
        folder, name = destination(self._transfer, entry)
        directory = self._landing.directory(folder)
        part = part_name(self._transfer.id, index)
        fd, offset = self._landing.open_part(directory, part, start.offset)
        hasher = ContentHash()
        if offset != start.offset or hash_prefix(fd, offset, hasher) != offset:
            # The part file is shorter than recorded: fetch again from what it holds.
            os.close(fd)
            entry.bytes_done = offset - offset % CHUNK_BYTES
            self._journal.write({"at": index, "offset": entry.bytes_done})
            raise ChunkCorrupt(index, entry.bytes_done)
        _reserve_space(fd, offset, entry.size)
        entry.state = FileState.TRANSFERRING
        entry.bytes_done = offset
        self._open = _Open(index, entry, fd, directory, folder, name, part, offset, hasher, offset)
        self._open.direct = entry.size - offset > CHUNK_BYTES and _set_direct(fd, on=True)

    def _restarted(self, entry: Entry, start: pb.FileStart) -> None:
        if start.offset != 0:
            raise ProtocolViolation(f"{entry.path}: a restarted file must start at 0")
        if start.size > entry.offered:
            raise ProtocolViolation(
                f"{entry.path}: the sender restarted it with {start.size} bytes, more than the "
                f"{entry.offered} it offered"
            )
        entry.size, entry.mode, entry.mtime_ns = start.size, start.mode & 0o777, start.mtime_ns
        entry.bytes_done = 0

    def _chunk(self, chunk: pb.Chunk) -> None:
        current = self._current(chunk.file_index)
        if chunk.offset != current.offset:
            raise ProtocolViolation(
                f"{current.entry.path}: data at {chunk.offset}, expected {current.offset}"
            )
        length = chunk.length
        if length != min(CHUNK_BYTES, current.entry.size - current.offset):
            raise ProtocolViolation(
                f"{current.entry.path}: {length} bytes at {chunk.offset}; a chunk is 1 MiB, "
                f"or the rest of the declared {current.entry.size} bytes"
            )
        data = chunk.data
        if chunk.compressed:
            try:
                inflater = zlib.decompressobj()
                data = inflater.decompress(chunk.data, length + 1)  # never more than declared
            except zlib.error:
                raise ChunkCorrupt(current.index, current.offset) from None
        if len(data) != length or hashlib.sha256(data).digest() != chunk.sha256:
            raise ChunkCorrupt(current.index, current.offset)
        current.hasher.add(chunk.sha256)
        entry = current.entry
        if length == entry.size:  # the whole file: mode and mtime once its data is written
            current.finishes_itself = True
            self._write(current, length, _write_file, current.fd, data, entry.mode, entry.mtime_ns)
        elif current.direct and length == CHUNK_BYTES:
            buffer = self._buffers.take()
            buffer[:] = data
            self._write(current, length, self._write_direct, current.fd, buffer, current.offset)
        else:
            if current.direct:  # the file's short last chunk: O_DIRECT needs whole blocks
                self._drain_writes(strict=True)
                _set_direct(current.fd, on=False)
                current.direct = False
            self._write(current, length, _write_at, current.fd, data, current.offset)
        current.offset += length
        current.entry.bytes_done = current.offset
        if current.offset - current.checkpointed >= CHECKPOINT_BYTES:
            self._drain_writes(strict=True)
            # On its own thread: the disk catches up while the next chunks are verified.
            self._syncer.submit(
                _checkpoint, os.dup(current.fd), self._journal, current.index, current.offset
            )
            current.checkpointed = current.offset

    def _write_direct(self, fd: int, buffer: mmap.mmap, offset: int) -> None:
        try:
            _write_at(fd, buffer, offset)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # The filesystem took the flag but not the write: through the page cache, then.
            _set_direct(fd, on=False)
            _write_at(fd, buffer, offset)
        finally:
            self._buffers.give(buffer)

    def _write(self, file: _Open, length: int, task: Callable[..., None], *args: object) -> None:
        """Queues a write of `file`; waits for the oldest ones while too much data is queued."""
        self._writes.append((self._writer.submit(_tracked, file, task, *args), length))
        self._queued += length
        while self._queued > _WRITES_AHEAD_BYTES:
            write, size = self._writes.popleft()
            self._queued -= size
            write.result()  # raises what the write raised (ENOSPC...)

    def _drain_writes(self, *, strict: bool) -> bool:
        """Waits for queued writes; raises the first failure (strict) or returns False.
        A descriptor is never closed while a write to it may still be queued."""
        ok = True
        while self._writes:
            write, size = self._writes.popleft()
            self._queued -= size
            try:
                write.result()
            except OSError:
                if strict:
                    self._drain_writes(strict=False)
                    raise
                ok = False
        return ok

    def _end(self, end: pb.FileEnd) -> None:
        current = self._current(end.file_index)
        entry = current.entry
        if current.offset != entry.size:
            raise ProtocolViolation(
                f"{entry.path}: the sender ended the file at {current.offset} of {entry.size} bytes"
            )
        if current.hasher.digest() != end.content_hash:
            self._drain_writes(strict=False)
            os.close(current.fd)
            self._open = None
            self._landing.remove_part(current.directory, current.part)
            entry.bytes_done = 0
            raise FileCorrupt(current.index)
        if not current.finishes_itself:
            self._drain_writes(strict=True)  # a later write would change the mtime again
            _set_attributes(current.fd, entry.mode, entry.mtime_ns)
        self._finished.append(_Finished(current, current.hasher.hexdigest()))
        self._finished_bytes += entry.size
        self._open = None

    def _current(self, index: int) -> _Open:
        current = self._open
        if current is None or current.index != index:
            raise ProtocolViolation(f"the sender sent data of file {index} out of order")
        return current

    def _entry(self, index: int) -> Entry:
        entries = self._transfer.entries
        if not 0 <= index < len(entries) or entries[index].directory:
            raise ProtocolViolation(f"the sender sent file {index}, which is not in the offer")
        entry = entries[index]
        if entry.state in (FileState.SKIPPED, FileState.COMPLETED):
            raise ProtocolViolation(f"the sender sent {entry.path}, which was not asked for")
        return entry

    # --- commits ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Makes the finished files durable, then gives them their final names.

        A file whose data did not all reach the disk (a write failed: ENOSPC...) never gets
        its final name: its part file is removed at once (a full disk gets the space back) and
        it comes again from zero. The first such error is raised once every file that is whole
        has been committed.
        """
        batch, self._finished, self._finished_bytes = self._finished, [], 0
        if not batch:
            return
        error: OSError | None = None
        try:
            self._drain_writes(strict=True)
        except OSError as exc:
            error = exc
        whole: list[_Finished] = []
        for finished in batch:
            failure = finished.file.failure
            if failure is None:
                whole.append(finished)
                continue
            error = error or failure
            self._drop(finished.file)
        if whole:
            self._commit(whole)
        if error is not None:
            raise error

    def _drop(self, file: _Open) -> None:
        """Forgets a file whose data is not all on disk: it must come again from zero."""
        with contextlib.suppress(OSError):
            os.close(file.fd)
        with contextlib.suppress(OSError):
            self._landing.remove_part(file.directory, file.part)
        file.entry.bytes_done = 0

    def _commit(self, batch: list[_Finished]) -> None:
        try:
            if len(batch) == 1:
                os.fsync(batch[0].file.fd)
            else:
                sync_filesystem(self._landing.root)
        except OSError:
            for finished in batch:  # not known to be on disk: never renamed
                self._drop(finished.file)
            raise
        for finished in batch:
            with contextlib.suppress(OSError):
                os.close(finished.file.fd)
        self._journal.write(
            *(
                {
                    "commit": f.file.index,
                    "hash": f.content_hash,
                    "dir": "/".join(f.file.folder),
                    "name": f.file.name,
                }
                for f in batch
            ),
            sync=True,
        )
        saved: list[tuple[_Finished, str]] = []
        try:
            for finished in batch:
                file = finished.file
                name = self._landing.commit(file.directory, file.part, file.name)
                saved.append((finished, "/".join((*file.folder, name))))
            for directory in {f.file.directory for f in batch}:
                os.fsync(directory)
        finally:
            # Files renamed before a failure (ENOSPC growing a folder...) are in place and
            # verified: they are recorded as completed, whatever happened after them.
            self._completed(saved)

    def _completed(self, saved: list[tuple[_Finished, str]]) -> None:
        if not saved:
            return
        for finished, path in saved:
            entry = finished.file.entry
            entry.content_hash, entry.saved_path = finished.content_hash, path
            entry.bytes_done, entry.state = entry.size, FileState.COMPLETED
        try:
            self._journal.write(
                *(
                    {"done": f.file.index, "hash": f.content_hash, "saved": path}
                    for f, path in saved
                )
            )
        finally:
            self._committed([finished.file.index for finished, _ in saved])


class _AlignedBuffers:
    """Page-aligned 1 MiB buffers for O_DIRECT writes, reused (at most one per queued write)."""

    def __init__(self) -> None:
        self._free: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        with self._lock:
            if self._free:
                return self._free.pop()
        return mmap.mmap(-1, CHUNK_BYTES)

    def give(self, buffer: mmap.mmap) -> None:
        with self._lock:
            self._free.append(buffer)

    def close(self) -> None:
        with self._lock:
            for buffer in self._free:
                buffer.close()
            self._free.clear()


def _set_direct(fd: int, *, on: bool) -> bool:
    """Turns O_DIRECT on or off for `fd`; False where the filesystem refuses it (tmpfs...).

    Whole chunks of a large file are written around the page cache: filling fresh page-cache
    pages cost the receiver up to 1.5 CPU seconds per GiB on the development VM (and evicts
    what the user is working with), while direct 1 MiB writes cost about 0.15 s. Durability
    is unchanged: checkpoints and the commit still fdatasync/syncfs (metadata, device cache).
    """
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
    except OSError:
        return False
    return True


def _tracked(file: _Open, task: Callable[..., None], *args: object) -> None:
    """Runs a write task of `file` on a writer thread, noting on the file when it fails."""
    try:
        task(*args)
    except OSError as exc:
        if file.failure is None:
            file.failure = exc
        raise


def _write_at(fd: int, data: bytes | mmap.mmap, offset: int) -> None:
    view = memoryview(data)
    while view:  # a short write is legal; the next call reports why (ENOSPC...)
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "the disk accepted no data")
        view, offset = view[written:], offset + written


def _write_file(fd: int, data: bytes, mode: int, mtime_ns: int) -> None:
    _write_at(fd, data, 0)
    _set_attributes(fd, mode, mtime_ns)


def _set_attributes(fd: int, mode: int, mtime_ns: int) -> None:
    os.fchmod(fd, file_mode(mode))
    os.utime(fd, ns=(mtime_ns, mtime_ns))


def _reserve_space(fd: int, offset: int, size: int) -> None:
    """Allocates the rest of a multi-chunk file now: a full disk shows at once (ENOSPC), and
    the kernel writes into allocated blocks instead of allocating page by page. (A one-chunk
    file is written in one call, which allocates as well.)"""
    if size <= max(offset, CHUNK_BYTES):
        return
    try:
        os.posix_fallocate(fd, offset, size - offset)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            os.close(fd)
            raise


def _checkpoint(fd: int, journal: Journal, index: int, offset: int) -> None:
    """Records `offset` as verified once the data before it is on disk (`fd` is a duplicate)."""
    try:
        os.fdatasync(fd)
        journal.write({"at": index, "offset": offset})
    except OSError:
        pass  # the next checkpoint, or a resume from an earlier one, covers it
    finally:
        os.close(fd)


def destination(transfer: Transfer, entry: Entry) -> tuple[tuple[str, ...], str]:
    """The folder (inside the inbox) and name an entry of an incoming offer is saved as."""
    parts = split_transfer_path(entry.path)
    parts = (transfer.renamed.get(parts[0], parts[0]), *parts[1:])
    return parts[:-1], parts[-1]
