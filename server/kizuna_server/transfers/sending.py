"""The sending side's I/O: offers to the peer, the Fetch calls it makes, and its answers.

The receiver drives: it pulls with Fetch, and the sender serves what it asks for, reading and
hashing its sources on one worker thread per call (released when the call ends). A source that
changed since the offer starts over (`SourceReader`); the receiver's completion is checked
against the hashes computed while reading.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import grpc.aio

from kizuna_server.errors import InvalidArgument, KizunaError, LimitExceeded
from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.p2p.wire import transfer_service_pb2_grpc as pb_grpc
from kizuna_server.transfers.activity import Activity, Live
from kizuna_server.transfers.digest import content_hash_of
from kizuna_server.transfers.model import (
    CHUNK_BYTES,
    Entry,
    FileState,
    IntegrityCheckFailed,
    Pause,
    SourceNotReadable,
    State,
    Transfer,
    TransferExpired,
    TransferRejected,
)
from kizuna_server.transfers.notices import NOTICE_TIMEOUT_SECS
from kizuna_server.transfers.peer_errors import peer_call, peer_error
from kizuna_server.transfers.receiving import RETRY_SECS
from kizuna_server.transfers.source import Identity, SourceReader, identity_of
from kizuna_server.transfers.states import StateMachine, mark_accepted, require_servable

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork
    from kizuna_server.transfers.uploads import Spool

#: Fetch calls one peer may have served at once (an honest receiver runs a few at a time).
MAX_FETCHES_PER_PEER: Final = 16
#: A sender with no Fetch for this long (after one ended early) shows the transfer paused.
IDLE_SECS: Final = 3 * RETRY_SECS
#: Sending side: messages read and hashed ahead of the one being sent.
_READ_AHEAD: Final = 2
#: Offers at most this many entries per peer message (the link's 8 MiB message cap).
_MAX_OFFER_BYTES: Final = 7 * 1024 * 1024


class Sending:
    """Serves the sending side of this device's transfers. `spawn` runs a background task the
    engine cancels at stop, `save` writes a transfer's record, `spool_of` finds an upload's
    spool, and `fetching` counts the Fetch calls served now, by the peer that made them."""

    def __init__(
        self,
        *,
        network: PeerNetwork,
        machine: StateMachine,
        activity: Activity,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        save: Callable[[Transfer], Coroutine[Any, Any, None]],
        spool_of: Callable[[str], Spool | None],
        fetching: Counter[str],
    ) -> None:
        self._network = network
        self._machine = machine
        self._activity = activity
        self._spawn = spawn
        self._save = save
        self._spool_of = spool_of
        self._fetching = fetching

    async def offer(self, transfer: Transfer) -> None:
        """Offers the transfer's entries to its peer and notes when the offer expires there."""
        request = pb.OfferRequest(
            transfer_id=transfer.id,
            files=[
                pb.OfferedFile(
                    path=e.path,
                    directory=e.directory,
                    size=e.size,
                    mode=e.mode,
                    mtime_ns=e.mtime_ns,
                )
                for e in transfer.entries
            ],
            total_bytes=transfer.total_bytes,
            compression=transfer.compression,
        )
        if request.ByteSize() > _MAX_OFFER_BYTES:
            raise LimitExceeded(
                f"the list of {len(transfer.entries)} entries is too large for one offer; "
                "send fewer files at a time",
                limit="offer_bytes",
            )
        # A peer that is not connected (paired a moment ago, its link dropped) is dialled first,
        # within networking.connection_timeout_secs; PEER_UNREACHABLE when that fails.
        stub = pb_grpc.TransferServiceStub(await self._network.link_to(transfer.peer_id))
        try:
            reply = await peer_call(stub.Offer(request, timeout=NOTICE_TIMEOUT_SECS))
        except grpc.aio.AioRpcError as exc:
            raise peer_error(exc, transfer.peer_id) from None
        transfer.expires = time.time() + reply.expires_in_secs

    async def serve(
        self, caller: str, transfer: Transfer, request: Any
    ) -> AsyncGenerator[pb.FetchResponse, None]:
        """Streams the data the receiver asks for."""
        require_servable(transfer)
        ranges = _wanted(transfer, request)
        if self._fetching[caller] >= MAX_FETCHES_PER_PEER:
            # Each Fetch holds a thread and read-ahead buffers: a peer opening hundreds at once
            # must not make this device hold hundreds (an honest one runs a few at a time).
            raise LimitExceeded(
                f"{MAX_FETCHES_PER_PEER} fetches from this device are already being served; "
                "try again when one ends",
                limit="fetches_per_peer",
            )
        live = self._activity.of(transfer)
        loop = asyncio.get_running_loop()
        reader = SourceReader(
            transfer.entries,
            ranges,
            compression=transfer.compression,
            restarted=lambda i, now, mode: self._source_restarted(transfer, i, now, mode, loop),
            growing=spool.growing() if (spool := self._spool_of(transfer.id)) else None,
        )
        task = asyncio.current_task()
        assert task is not None
        live.fetches.add(task)
        self._fetching[caller] += 1
        # Each Fetch call and each receiving run owns its worker thread and releases it when
        # it ends, whatever state the transfer reached meanwhile.
        worker = ThreadPoolExecutor(1, thread_name_prefix="kizuna-send")
        sent_all = False
        ahead: deque[asyncio.Future[pb.FetchResponse | None]] = deque()
        try:
            await self._machine.set_state(transfer, State.TRANSFERRING)
            while True:
                while len(ahead) < _READ_AHEAD:  # the reader stays ahead of the network
                    ahead.append(loop.run_in_executor(worker, reader.next_message))
                message = await ahead.popleft()
                if message is None:
                    sent_all = True
                    break
                _note_sent(transfer, message)
                self._activity.changed(transfer, progress=True)
                yield message
        except OSError as exc:
            raise SourceNotReadable(
                f"a file cannot be read: {exc}", path=str(exc.filename)
            ) from None
        finally:
            for read in ahead:
                read.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)
            live.fetches.discard(task)
            self._fetching[caller] -= 1
            try:
                await asyncio.shield(loop.run_in_executor(worker, reader.close))
            finally:
                worker.shutdown(wait=False)
            if not sent_all and transfer.state is State.TRANSFERRING and not live.fetches:
                self._spawn(self._idle(transfer, live))

    def _source_restarted(
        self,
        transfer: Transfer,
        index: int,
        now: Identity,
        mode: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """From the reading thread: a source changed; the file starts over with what it is now."""
        entry = transfer.entries[index]
        entry.identity, entry.size, entry.mtime_ns, entry.mode = now, now[2], now[3], mode
        entry.bytes_done = 0
        loop.call_soon_threadsafe(lambda: self._spawn(self._save(transfer)))

    async def _idle(self, transfer: Transfer, live: Live) -> None:
        """Sending side: no Fetch came back after one ended (the receiver or the link went
        away): show the transfer as paused, waiting for the link, until the next Fetch."""
        await asyncio.sleep(IDLE_SECS)
        if transfer.state is State.TRANSFERRING and not live.fetches:
            await self._machine.pause(transfer, Pause.LINK)

    async def answered(self, transfer: Transfer, notice: str, request: Any, detail: str) -> None:
        """The receiver's decision on an offer from this device, or its completion."""
        if notice == "accepted":
            accepted = set(request.accepted_files)
            if transfer.state is State.PENDING:
                mark_accepted(transfer, accepted)
                await self._machine.set_state(transfer, State.NEGOTIATING)
        elif notice == "rejected":
            error: KizunaError = TransferRejected(
                detail or "the peer rejected the offer", transfer_id=transfer.id
            )
            await self._machine.set_state(transfer, State.FAILED, error=error)
        elif notice == "expired":
            error = TransferExpired("the peer did not answer in time", transfer_id=transfer.id)
            await self._machine.set_state(transfer, State.FAILED, error=error)
        else:
            await self._completed_by_peer(transfer, request.files)

    async def _completed_by_peer(self, transfer: Transfer, results: Any) -> None:
        received = {r.file_index: r.content_hash.hex() for r in results}
        for index, entry in enumerate(transfer.entries):
            if entry.state is FileState.SKIPPED:
                continue
            if entry.directory:
                entry.state = FileState.COMPLETED
                continue
            theirs = received.get(index, "")
            if not entry.content_hash:
                # Not read to its end in this run (the receiver had it from before a restart):
                # hash the source now if it is still what was offered.
                entry.content_hash = await asyncio.to_thread(_source_content_hash, entry) or theirs
            if theirs != entry.content_hash:
                error = IntegrityCheckFailed(
                    f"{entry.path}: the peer's content hash differs from the file sent",
                    path=entry.path,
                )
                await self._machine.set_state(transfer, State.FAILED, error=error)
                return
            entry.state, entry.bytes_done = FileState.COMPLETED, entry.size
        await self._machine.set_state(transfer, State.COMPLETED)


def _wanted(transfer: Transfer, request: Any) -> list[tuple[int, int]]:
    """The (file index, offset) pairs of a Fetch request, each an accepted file."""
    ranges = []
    for item in request.files:
        index = item.file_index
        if index >= len(transfer.entries) or transfer.entries[index].directory:
            raise InvalidArgument(f"files: no file {index} in this transfer", field="files")
        if transfer.entries[index].state is FileState.SKIPPED:
            raise InvalidArgument(f"files: file {index} was not accepted", field="files")
        if item.offset % CHUNK_BYTES and item.offset < transfer.entries[index].size:
            raise InvalidArgument(
                f"files: file {index} asked from {item.offset}, not a chunk boundary",
                field="files",
            )
        ranges.append((index, item.offset))
    return ranges


def _note_sent(transfer: Transfer, message: pb.FetchResponse) -> None:
    """Sending side's progress: what each piece of a message says about its file."""
    for piece in message.pieces:
        kind = piece.WhichOneof("kind") or ""
        entry = transfer.entries[getattr(piece, kind).file_index]
        if kind == "start":
            entry.state, entry.bytes_done = FileState.TRANSFERRING, piece.start.offset
        elif kind == "chunk":
            entry.bytes_done = piece.chunk.offset + piece.chunk.length
        else:
            entry.content_hash = piece.end.content_hash.hex()


def _source_content_hash(entry: Entry) -> str:
    """The content hash of a sending-side source that is unchanged since the offer, else ""."""
    try:
        fd = os.open(entry.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        if identity_of(os.fstat(fd)) != entry.identity:
            return ""
        return content_hash_of(fd)
    finally:
        os.close(fd)
