"""Transfers: the state machine of every transfer on this device, in both directions.

Loop-only methods; blocking work (reading, hashing, writing, fsync) runs on one worker thread
per running transfer. The receiving side drives: after its user accepts, it pulls the data with
Fetch from the last verified offset of each file, which is how a transfer resumes after a pause,
a dropped link, a corrupt chunk or a restart of either daemon. See docs/transfers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import shutil
import stat
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import grpc
import grpc.aio

from kizuna_server.calls.errors import error_info_from_trailers, reason_from_trailers, reason_names
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import ErrorOccurred, Payload
from kizuna_server.core.memory import give_back
from kizuna_server.core.peers import sanitize_name
from kizuna_server.core.trust import PeerNotTrusted, Permissions
from kizuna_server.errors import InvalidArgument, KizunaError, LimitExceeded
from kizuna_server.p2p.tls import PeerUnreachable
from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.p2p.wire import transfer_service_pb2_grpc as pb_grpc
from kizuna_server.transfers.digest import content_hash_of
from kizuna_server.transfers.inbox import Landing, directory_mode, part_name
from kizuna_server.transfers.model import (
    CHUNK_BYTES,
    Entry,
    Failure,
    FileState,
    InsufficientStorage,
    IntegrityCheckFailed,
    Meter,
    Pause,
    Progress,
    ProtocolViolation,
    Skipped,
    SkipReason,
    SourceNotReadable,
    State,
    Transfer,
    TransferCancelled,
    TransferCompleted,
    TransferExpired,
    TransferFailed,
    TransferInvalidState,
    TransferNotFound,
    TransferOffered,
    TransferPaused,
    TransferProgressed,
    TransferQueued,
    TransferRejected,
    TransferStarted,
)
from kizuna_server.transfers.names import check_inbox, split_transfer_path, unique_name
from kizuna_server.transfers.queue import RunQueue
from kizuna_server.transfers.sink import ChunkCorrupt, FileCorrupt, Sink, destination
from kizuna_server.transfers.source import Identity, SourceReader, identity_of
from kizuna_server.transfers.store import Journal, TransferStore, valid_id

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork
    from kizuna_server.transfers.uploads import Spool

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Progress events per transfer at most this often.
#: Fetch calls one peer may have served at once (an honest receiver runs a few at a time).
MAX_FETCHES_PER_PEER: Final = 16
#: Entries an incoming offer that ended unanswered keeps in its record (as events show).
KEPT_UNANSWERED_ENTRIES: Final = 100
PROGRESS_INTERVAL_SECS: Final = 0.25
#: A chunk or file failing its hash is fetched again at most this often before giving up.
MAX_REFETCHES: Final = 3
#: A receiver whose Fetch broke while the link stayed up tries again after this long.
RETRY_SECS: Final = 1.0
#: A sender with no Fetch for this long (after one ended early) shows the transfer paused.
IDLE_SECS: Final = 3 * RETRY_SECS
#: Notices to the peer give up after this long (final ones are sent again on reconnect).
NOTICE_TIMEOUT_SECS: Final = 10.0
#: The sender gives the receiver this long past its expiry before giving up on an offer.
_EXPIRY_SLACK_SECS: Final = 30.0
#: Receive-side messages being written while the next ones arrive.
_PIPELINE_DEPTH: Final = 2
#: Sending side: messages read and hashed ahead of the one being sent.
_READ_AHEAD: Final = 2
#: Offers at most this many entries per peer message (the link's 8 MiB message cap).
_MAX_OFFER_BYTES: Final = 7 * 1024 * 1024

_NOTICE_NAMES: Final = {
    "accepted": pb.NOTICE_ACCEPTED,
    "rejected": pb.NOTICE_REJECTED,
    "expired": pb.NOTICE_EXPIRED,
    "paused": pb.NOTICE_PAUSED,
    "queued": pb.NOTICE_QUEUED,
    "resumed": pb.NOTICE_RESUMED,
    "cancelled": pb.NOTICE_CANCELLED,
    "completed": pb.NOTICE_COMPLETED,
    "failed": pb.NOTICE_FAILED,
}
#: The event each state is announced with (NEGOTIATING and PENDING have none of their own).
_STATE_EVENTS: Final[dict[State, Callable[[Transfer], Payload]]] = {
    State.TRANSFERRING: TransferStarted,
    State.PAUSED: TransferPaused,
    State.QUEUED: TransferQueued,
    State.COMPLETED: TransferCompleted,
    State.FAILED: TransferFailed,
    State.CANCELLED: TransferCancelled,
}
_FINAL_NOTICES: Final = frozenset({"rejected", "expired", "cancelled", "completed", "failed"})


@dataclass(slots=True)
class _Live:
    """What a transfer has while it is on this daemon: tasks, watchers, throughput."""

    meter: Meter = field(default_factory=Meter)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task[None] | None = None
    fetches: set[asyncio.Task[Any]] = field(default_factory=set)
    last_progress: float = 0.0
    refetches: int = 0
    #: Asked to run while the runner was still finishing: run again once it has ended.
    rerun: bool = False


class Transfers:
    """Every transfer of this daemon. Start once, stop once."""

    def __init__(
        self, config: Config, network: PeerNetwork, publish: Callable[[Payload], None]
    ) -> None:
        self.config = config
        self._network = network
        self._publish = publish
        self._store = TransferStore(config.paths.data_dir)
        self._transfers: dict[str, Transfer] = {}
        self._live: dict[str, _Live] = {}
        self._requests: dict[str, str] = {}  # request_id -> transfer id
        self._tasks: set[asyncio.Task[Any]] = set()
        self._save_locks: dict[str, asyncio.Lock] = {}
        self._spools: dict[str, Spool] = {}
        self._reserve = config.transfers.free_space_reserve_mib * 1024 * 1024
        self._stopping = False
        self._unsaved: set[str] = set()
        #: Incoming offers the peer's auto-accept permission is answering right now.
        self._accepting: set[str] = set()
        #: Fetch calls served now, by the peer that made them.
        self._fetching: Counter[str] = Counter()
        #: Receiving runs that move data at once (the rest are queued).
        self._queue = RunQueue(config.transfers.max_running, config.transfers.max_running_per_peer)
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Checks the inbox, loads the records and picks up where the last run stopped."""
        inbox = self.config.transfers.inbox
        await asyncio.to_thread(check_inbox, inbox, home=Path.home())
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._store.prepare)
        for transfer in await asyncio.to_thread(self._store.load_all):
            self._transfers[transfer.id] = transfer
            if transfer.request_id:
                self._requests[transfer.request_id] = transfer.id
        # Parsing the records freed as much as it kept (37 MiB at the pending limits): return it.
        await asyncio.to_thread(give_back)
        for transfer in list(self._transfers.values()):
            await self._restore(transfer)
        self._network.on_connected.append(self._peer_connected)
        self._network.on_revoked.append(self._revoked)

    async def stop(self) -> None:
        """Stops every running transfer where it is; each resumes after the next start."""
        self._stopping = True
        for spool in self._spools.values():
            spool.close()  # a Fetch waiting for upload bytes gives up now, not in 10 minutes
        for task in list(self._tasks):
            task.cancel()
        runners = [live.runner for live in self._live.values() if live.runner is not None]
        fetches = [task for live in self._live.values() for task in live.fetches]
        for task in (*runners, *fetches):
            task.cancel()
        await asyncio.gather(*self._tasks, *runners, *fetches, return_exceptions=True)
        for transfer_id in list(self._unsaved):
            if (transfer := self._transfers.get(transfer_id)) is not None:
                with contextlib.suppress(OSError):
                    await self._save(transfer)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _restore(self, transfer: Transfer) -> None:
        """After a restart: pending offers keep their expiry, running ones resume."""
        if transfer.state.final:
            return
        if transfer.upload:
            from kizuna_server.transfers.uploads import Spool  # noqa: PLC0415 - import cycle

            spool = Spool(self.spool_dir(transfer.id), [e.size for e in transfer.entries])
            await asyncio.to_thread(spool.measure)
            self._spools[transfer.id] = spool
        if transfer.state is State.PENDING:
            self._schedule_expiry(transfer)
            return
        if not transfer.outgoing:
            await asyncio.to_thread(self._recover_commits, transfer)
        if transfer.pause is Pause.NONE:
            transfer.pause = Pause.LINK
        transfer.state = State.PAUSED
        await self._save(transfer)
        if not transfer.outgoing and transfer.pause is Pause.LINK:
            self._start_runner(transfer)

    def _recover_commits(self, transfer: Transfer) -> None:
        """Applies the journal: verified offsets, and commits a crash interrupted."""
        replay = Journal.replay(self._store.journal_path(transfer.id))
        landing = Landing(self.config.transfers.inbox)
        try:
            for index, entry in enumerate(transfer.entries):
                if entry.directory or entry.state in (FileState.SKIPPED, FileState.COMPLETED):
                    continue
                if index in replay.done:
                    entry.content_hash, entry.saved_path = replay.done[index]
                    entry.bytes_done, entry.state = entry.size, FileState.COMPLETED
                    continue
                folder, name = destination(transfer, entry)
                part = part_name(transfer.id, index)
                if index in replay.commits:
                    digest, _, name = replay.commits[index]
                    directory = landing.directory(folder)
                    if landing.part_exists(directory, part):
                        # Verified and fsynced before the commit line: only the rename is left.
                        saved = landing.commit(directory, part, name)
                        os.fsync(directory)
                        entry.content_hash, entry.saved_path = digest, "/".join((*folder, saved))
                        entry.bytes_done, entry.state = entry.size, FileState.COMPLETED
                        continue
                    if _saved_content_hash(directory, name) == digest:
                        entry.content_hash, entry.saved_path = digest, "/".join((*folder, name))
                        entry.bytes_done, entry.state = entry.size, FileState.COMPLETED
                        continue
                entry.bytes_done = replay.offsets.get(index, 0)
                entry.state = FileState.PENDING
        finally:
            landing.close()

    # --- lookups ----------------------------------------------------------------------------

    def get(self, transfer_id: str) -> Transfer:
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            raise TransferNotFound(
                f"no transfer {transfer_id!r} on this device", transfer_id=transfer_id
            )
        return transfer

    def all(self) -> list[Transfer]:
        """Newest first."""
        return sorted(self._transfers.values(), key=lambda t: (t.created, t.id), reverse=True)

    def progress(self, transfer: Transfer) -> Progress:
        live = self._live.get(transfer.id)
        return Progress(
            transfer_id=transfer.id,
            state=transfer.state,
            bytes_done=transfer.bytes_done,
            total_bytes=transfer.total_bytes,
            files_done=transfer.files_done,
            total_files=transfer.total_files,
            bytes_per_second=live.meter.rate() if live is not None else 0.0,
            current_file=transfer.current_file(),
        )

    async def watch(self, transfer_id: str) -> AsyncIterator[Progress]:
        """The progress now, then at each change (at most every 0.25 s), until it ends."""
        transfer = self.get(transfer_id)
        live = self._live_of(transfer)
        while True:
            live.changed.clear()
            yield self.progress(transfer)
            if transfer.state.final:
                return
            await live.changed.wait()
            # Pacing (at most four reports a second), cut short when the transfer ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROGRESS_INTERVAL_SECS):
                    await live.ended.wait()

    def _live_of(self, transfer: Transfer) -> _Live:
        live = self._live.get(transfer.id)
        if live is None:
            live = self._live[transfer.id] = _Live()
        return live

    # --- changes ----------------------------------------------------------------------------

    async def _save(self, transfer: Transfer) -> None:
        lock = self._save_locks.setdefault(transfer.id, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(self._store.save, transfer)
        self._unsaved.discard(transfer.id)

    def _changed(self, transfer: Transfer, *, progress: bool = False) -> None:
        live = self._live_of(transfer)
        live.changed.set()
        if progress:
            now = time.monotonic()
            live.meter.add(transfer.bytes_done, now)
            if now - live.last_progress >= PROGRESS_INTERVAL_SECS:
                live.last_progress = now
                self._publish(TransferProgressed(self.progress(transfer)))

    def _changed_threadsafe(self, transfer: Transfer) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(lambda: self._changed(transfer, progress=True))

    async def _set_state(
        self, transfer: Transfer, state: State, *, error: KizunaError | None = None
    ) -> None:
        if transfer.state is state or transfer.state.final:
            return
        if state.final:
            _end(transfer, state)
        transfer.state = state
        if state is not State.PAUSED:
            transfer.pause = Pause.NONE
        if error is not None:
            transfer.error = Failure.of(error)
        try:
            await self._save(transfer)
        except OSError as exc:
            # The data folder's disk is full (or failing): the change is still announced and
            # told to the peer; the record is written again at its next change or at stop.
            log.warning("transfer %s: its record could not be saved (%s)", transfer.id, exc)
            self._unsaved.add(transfer.id)
        self._changed(transfer)
        event = _STATE_EVENTS.get(state)
        if event is not None:
            self._publish(event(transfer))
        if state.final:
            live = self._live.get(transfer.id)
            if live is not None:
                live.ended.set()
            if transfer.upload:
                self.drop_spool(transfer.id)
                await asyncio.to_thread(shutil.rmtree, self.spool_dir(transfer.id), True)
            await self._forget_old()

    async def _forget_old(self) -> None:
        """Keeps the newest transfers.history_size finished transfers."""
        finished = [t for t in self.all() if t.state.final]
        for transfer in finished[self.config.transfers.history_size :]:
            self._transfers.pop(transfer.id, None)
            self._live.pop(transfer.id, None)
            self._save_locks.pop(transfer.id, None)
            if transfer.request_id:
                self._requests.pop(transfer.request_id, None)
            await asyncio.to_thread(self._store.delete, transfer.id)

    # --- the peer link ----------------------------------------------------------------------

    def _stub(self, peer_id: str) -> Any:
        """The peer's TransferService on the shared link (aio stubs are untyped)."""
        return pb_grpc.TransferServiceStub(self._network.channel_for(peer_id))

    async def _notify(self, transfer: Transfer, notice: str, **fields: Any) -> None:
        """Tells the peer; a final notice that cannot be delivered is sent again on reconnect."""
        request = pb.NotifyRequest(transfer_id=transfer.id, notice=_NOTICE_NAMES[notice], **fields)
        try:
            await _peer_call(
                self._stub(transfer.peer_id).Notify(request, timeout=NOTICE_TIMEOUT_SECS)
            )
        except (KizunaError, grpc.aio.AioRpcError) as exc:
            log.info("transfer %s: the peer did not get %r yet (%s)", transfer.id, notice, exc)
            if notice in _FINAL_NOTICES:
                transfer.unsent_notice = notice
                await self._save(transfer)
            raise PeerUnreachable(
                f"peer {format_device_id(transfer.peer_id)} did not answer",
                peer_id=transfer.peer_id,
            ) from None
        if transfer.unsent_notice == notice:
            transfer.unsent_notice = ""
            await self._save(transfer)

    async def _notify_quietly(self, transfer: Transfer, notice: str, **fields: Any) -> None:
        with contextlib.suppress(KizunaError):
            await self._notify(transfer, notice, **fields)

    def _final_notice_fields(self, transfer: Transfer) -> dict[str, Any]:
        if transfer.state is State.COMPLETED:
            return {
                "files": [
                    pb.FileResult(file_index=i, content_hash=bytes.fromhex(e.content_hash))
                    for i, e in enumerate(transfer.entries)
                    if e.state is FileState.COMPLETED and e.content_hash
                ]
            }
        if transfer.error is not None:
            return {"reason": transfer.error.reason, "message": transfer.error.message}
        return {}

    def _peer_connected(self, peer_id: str) -> None:
        for transfer in list(self._transfers.values()):
            if transfer.peer_id != peer_id:
                continue
            if transfer.unsent_notice:
                self._spawn(
                    self._notify_quietly(
                        transfer, transfer.unsent_notice, **self._final_notice_fields(transfer)
                    )
                )
            elif (
                not transfer.outgoing
                and transfer.state is State.PAUSED
                and transfer.pause is Pause.LINK
            ):
                self._start_runner(transfer)

    async def _revoked(self, peer_id: str, permissions: Permissions | None) -> None:
        """The peer was forgotten (`permissions` None: every transfer with it ends) or lost the
        files permission (what it sends here ends). Ended here at once, whatever the peer does;
        it is told when the link still allows."""
        if permissions is None:
            error: KizunaError = PeerNotTrusted(
                peer_id, "this device forgot the peer; pair again to exchange files"
            )
        elif not permissions.files:
            error = _PermissionDenied(
                "files from this peer are no longer allowed here",
                peer_id=peer_id,
                permission="files",
            )
        else:
            return
        ending = [
            t
            for t in self._transfers.values()
            if t.peer_id == peer_id
            and not t.state.final
            and (permissions is None or not t.outgoing)
        ]
        for transfer in ending:
            await self._stop_work(transfer)
            if not transfer.outgoing:
                await self._clean_incoming(transfer)
            await self._set_state(transfer, State.FAILED, error=error)
            if permissions is not None:
                await self._notify_quietly(
                    transfer, "failed", reason=error.reason, message=error.message
                )

    # --- sending ----------------------------------------------------------------------------

    async def create(
        self, peer_id: str, paths: Iterable[str], *, compression: bool, request_id: str = ""
    ) -> Transfer:
        """Offers files and folders on this device to a trusted peer."""
        if request_id and request_id in self._requests:
            return self.get(self._requests[request_id])
        paths = list(paths)
        if not paths:
            raise InvalidArgument("paths: give at least one file or folder", field="paths")
        self.require_peer(peer_id)
        skipped = Skipped()
        entries = await asyncio.to_thread(
            _scan_sources, paths, self.config.transfers.max_files, skipped
        )
        transfer = Transfer(
            id=secrets.token_hex(16),
            peer_id=peer_id,
            peer_name=self._network.name_of(peer_id),
            outgoing=True,
            entries=entries,
            compression=compression,
            request_id=request_id,
            skipped=skipped,
        )
        await self._offer(transfer)
        return transfer

    def require_peer(self, peer_id: str) -> None:
        if self._network.permissions_of(peer_id) is None:
            self._network.snapshot(peer_id)  # PEER_NOT_FOUND for an unknown device
            raise PeerNotTrusted(peer_id)
        # No link needed yet: the offer dials a peer that is not connected.

    def by_request(self, request_id: str) -> Transfer | None:
        transfer_id = self._requests.get(request_id)
        return None if transfer_id is None else self._transfers.get(transfer_id)

    def spool_dir(self, transfer_id: str) -> Path:
        return self._store.spool_dir(transfer_id)

    def add_spool(self, transfer_id: str, spool: Spool) -> None:
        self._spools[transfer_id] = spool

    def drop_spool(self, transfer_id: str) -> None:
        spool = self._spools.pop(transfer_id, None)
        if spool is not None:
            spool.close()

    def spool_of(self, transfer_id: str) -> Spool | None:
        return self._spools.get(transfer_id)

    async def offer_upload(self, transfer: Transfer, *, compression: bool) -> None:
        """Offers an upload whose bytes are still arriving (see transfers/uploads.py)."""
        transfer.peer_name = self._network.name_of(transfer.peer_id)
        transfer.compression = compression
        await self._offer(transfer)

    async def _offer(self, transfer: Transfer) -> None:
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
            reply = await _peer_call(stub.Offer(request, timeout=NOTICE_TIMEOUT_SECS))
        except grpc.aio.AioRpcError as exc:
            raise _peer_error(exc, transfer.peer_id) from None
        transfer.expires = time.time() + reply.expires_in_secs
        self._transfers[transfer.id] = transfer
        if transfer.request_id:
            self._requests[transfer.request_id] = transfer.id
        await self._save(transfer)
        self._changed(transfer)
        self._schedule_expiry(transfer)

    def _schedule_expiry(self, transfer: Transfer) -> None:
        async def expire() -> None:
            slack = _EXPIRY_SLACK_SECS if transfer.outgoing else 0.0
            await asyncio.sleep(max(0.0, transfer.expires + slack - time.time()))
            if transfer.state is not State.PENDING:
                return
            error = TransferExpired("the offer was not answered in time", transfer_id=transfer.id)
            await self._set_state(transfer, State.FAILED, error=error)
            if not transfer.outgoing:
                await self._notify_quietly(transfer, "expired")

        if transfer.expires:
            self._spawn(expire())

    def _source_restarted(self, transfer: Transfer, index: int, now: Identity, mode: int) -> None:
        """From the reading thread: a source changed; the file starts over with what it is now."""
        entry = transfer.entries[index]
        entry.identity, entry.size, entry.mtime_ns, entry.mode = now, now[2], now[3], mode
        entry.bytes_done = 0
        loop = self._loop
        assert loop is not None
        loop.call_soon_threadsafe(lambda: self._spawn(self._save(transfer)))

    async def serve_fetch(self, caller: str, request: Any) -> AsyncIterator[pb.FetchResponse]:
        """Streams the data the receiver asks for."""
        transfer = self._own(caller, request.transfer_id, outgoing=True)
        if transfer.state.final or (
            transfer.state is State.PAUSED
            and transfer.pause
            in (
                Pause.LOCAL,
                Pause.PEER,
            )
        ):
            raise TransferInvalidState(
                f"the transfer is {transfer.state.value}",
                transfer_id=transfer.id,
                state=transfer.state.value,
            )
        ranges = _wanted(transfer, request)
        if self._fetching[caller] >= MAX_FETCHES_PER_PEER:
            # Each Fetch holds a thread and read-ahead buffers: a peer opening hundreds at once
            # must not make this device hold hundreds (an honest one runs a few at a time).
            raise LimitExceeded(
                f"{MAX_FETCHES_PER_PEER} fetches from this device are already being served; "
                "try again when one ends",
                limit="fetches_per_peer",
            )
        live = self._live_of(transfer)
        reader = SourceReader(
            transfer.entries,
            ranges,
            compression=transfer.compression,
            restarted=lambda i, now, mode: self._source_restarted(transfer, i, now, mode),
            growing=spool.growing() if (spool := self._spools.get(transfer.id)) else None,
        )
        task = asyncio.current_task()
        assert task is not None
        live.fetches.add(task)
        self._fetching[caller] += 1
        # Each Fetch call and each receiving run owns its worker thread and releases it when
        # it ends, whatever state the transfer reached meanwhile.
        worker = ThreadPoolExecutor(1, thread_name_prefix="kizuna-send")
        loop = asyncio.get_running_loop()
        sent_all = False
        ahead: deque[asyncio.Future[pb.FetchResponse | None]] = deque()
        try:
            await self._set_state(transfer, State.TRANSFERRING)
            while True:
                while len(ahead) < _READ_AHEAD:  # the reader stays ahead of the network
                    ahead.append(loop.run_in_executor(worker, reader.next_message))
                message = await ahead.popleft()
                if message is None:
                    sent_all = True
                    break
                _note_sent(transfer, message)
                self._changed(transfer, progress=True)
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

    async def _idle(self, transfer: Transfer, live: _Live) -> None:
        """Sending side: no Fetch came back after one ended (the receiver or the link went
        away): show the transfer as paused, waiting for the link, until the next Fetch."""
        await asyncio.sleep(IDLE_SECS)
        if transfer.state is State.TRANSFERRING and not live.fetches:
            await self._pause(transfer, Pause.LINK)

    # --- receiving --------------------------------------------------------------------------

    def _offered_again(self, caller: str, transfer_id: str) -> pb.OfferResponse | None:
        """The answer to an offer this device already holds (a retry), else None."""
        existing = self._transfers.get(transfer_id)
        if existing is None:
            return None
        if existing.peer_id != caller or existing.outgoing:
            raise InvalidArgument("transfer_id: already in use", field="transfer_id")
        return pb.OfferResponse(expires_in_secs=max(0, int(existing.expires - time.time())))

    async def offered(self, caller: str, request: Any) -> pb.OfferResponse:
        """A peer offers files to this device."""
        timeout = self.config.transfers.offer_timeout_secs
        if (again := self._offered_again(caller, request.transfer_id)) is not None:
            return again
        permissions = self._network.permissions_of(caller)
        if permissions is None or not permissions.files:
            raise _PermissionDenied(
                "this device does not accept files from yours", peer_id=caller, permission="files"
            )
        try:
            free = await asyncio.to_thread(_free_bytes, self.config.transfers.inbox)
            # Before any work on the entries: the declared total is checked against their sizes
            # next, so a lie about it is refused there.
            auto = permissions.auto_accept_files
            self._admit_offer(caller, len(request.files), request.total_bytes, free, auto=auto)
            # Off the event loop: checking 100,000 names takes most of a second.
            entries = await asyncio.to_thread(
                _check_offer, request, self.config.transfers.max_files
            )
            if (again := self._offered_again(caller, request.transfer_id)) is not None:
                return again  # the same offer, sent twice at once
            # Checked again with nothing awaited before the offer is stored: offers arriving
            # at once cannot pass the limits together.
            self._admit_offer(caller, len(entries), request.total_bytes, free, auto=auto)
        except (LimitExceeded, InsufficientStorage) as exc:
            name = self._network.name_of(caller) or format_device_id(caller)
            self._publish(
                ErrorOccurred(
                    exc.reason,
                    f"an offer from {name} was refused: {exc.message}",
                    "transfers",
                    {"peer_id": caller, **exc.metadata},
                )
            )
            raise
        transfer = Transfer(
            id=request.transfer_id,
            peer_id=caller,
            peer_name=self._network.name_of(caller),
            outgoing=False,
            entries=entries,
            compression=request.compression,
            expires=time.time() + timeout,
        )
        self._transfers[transfer.id] = transfer
        await self._save(transfer)
        self._publish(TransferOffered(transfer))
        self._changed(transfer)
        self._schedule_expiry(transfer)
        if permissions.auto_accept_files:
            self._accepting.add(transfer.id)
            self._spawn(self._auto_accept(transfer))
        return pb.OfferResponse(expires_in_secs=timeout)

    def _admit_offer(
        self, caller: str, count: int, declared: int, free: int, *, auto: bool
    ) -> None:
        """Refuses an offer beyond the pending limits (transfers.max_pending_*), or one whose
        bytes, with those of the offers already waiting, do not fit the inbox's `free` space
        minus the reserve. What peers send cannot grow memory, disk or start-up time beyond
        what the configuration allows.

        The offer counts (per peer, in all) are about offers waiting for a person: one the
        peer's auto-accept permission answers (`auto`) is not held to them. Entries are counted
        for every incoming transfer not moving data yet (pending or queued), whoever answers.
        """
        limits = self.config.transfers
        pending = [t for t in self._transfers.values() if self._waiting(t)]
        from_peer = [t for t in pending if t.peer_id == caller]
        if not auto and len(from_peer) >= limits.max_pending_offers_per_peer:
            raise LimitExceeded(
                f"{len(from_peer)} offers from this device already wait for an answer here "
                "(transfers.max_pending_offers_per_peer); send again once they are answered",
                limit="transfers.max_pending_offers_per_peer",
            )
        if not auto and len(pending) >= limits.max_pending_offers:
            raise LimitExceeded(
                f"{len(pending)} offers already wait for an answer here "
                "(transfers.max_pending_offers); send again later",
                limit="transfers.max_pending_offers",
            )
        held = (
            t
            for t in self._transfers.values()
            if not t.outgoing and t.state in (State.PENDING, State.QUEUED)
        )
        waiting_entries = sum(len(t.entries) for t in held)
        if waiting_entries + count > limits.max_pending_files:
            raise LimitExceeded(
                f"offers waiting here already hold {waiting_entries} entries and this one "
                f"{count}; at most {limits.max_pending_files} wait at once "
                "(transfers.max_pending_files)",
                limit="transfers.max_pending_files",
            )
        room = free - self._reserve
        waiting_bytes = sum(t.total_bytes for t in pending)
        if declared + waiting_bytes > room:
            raise InsufficientStorage(
                f"{declared} bytes do not fit: {max(room, 0)} bytes are free in the inbox above "
                f"the reserve and offers waiting here already hold {waiting_bytes}",
                needed_bytes=declared,
                free_bytes=max(room, 0),
            )

    def _waiting(self, transfer: Transfer) -> bool:
        """An incoming offer waiting for a person's answer."""
        return (
            not transfer.outgoing
            and transfer.state is State.PENDING
            and transfer.id not in self._accepting
        )

    async def admit_upload(self, entries: list[Entry]) -> None:
        """Refuses an app's upload beyond the same limits: uploads not ended count like
        offers waiting (their bytes are spooled under the data folder until the transfer
        ends), and the new one's bytes must fit that folder's free space minus the reserve,
        with what the other uploads have still to spool."""
        limits = self.config.transfers
        uploads = [t for t in self._transfers.values() if t.upload and not t.state.final]
        if len(uploads) >= limits.max_pending_offers:
            raise LimitExceeded(
                f"{len(uploads)} uploads are not finished yet (transfers.max_pending_offers); "
                "upload again once one ended",
                limit="transfers.max_pending_offers",
            )
        spooling = sum(len(t.entries) for t in uploads)
        if spooling + len(entries) > limits.max_pending_files:
            raise LimitExceeded(
                f"unfinished uploads already hold {spooling} entries; at most "
                f"{limits.max_pending_files} at once (transfers.max_pending_files)",
                limit="transfers.max_pending_files",
            )
        declared = sum(e.size for e in entries)
        still_coming = sum(
            spool.remaining() for t in uploads if (spool := self._spools.get(t.id)) is not None
        )
        room = await asyncio.to_thread(_free_bytes, self.config.paths.data_dir) - self._reserve
        if declared + still_coming > room:
            raise InsufficientStorage(
                f"{declared} bytes do not fit: {max(room, 0)} bytes are free in the data folder "
                f"above the reserve and unfinished uploads still bring {still_coming}",
                needed_bytes=declared,
                free_bytes=max(room, 0),
            )

    async def _auto_accept(self, transfer: Transfer) -> None:
        try:
            await self.accept(transfer.id, [])
        except KizunaError as exc:
            log.warning("transfer %s could not be accepted automatically: %s", transfer.id, exc)
        finally:
            self._accepting.discard(transfer.id)

    async def accept(self, transfer_id: str, paths: list[str]) -> Transfer:
        """Accepts an incoming offer, every entry or those at or under `paths`."""
        transfer = self._incoming(transfer_id)
        if transfer.state is not State.PENDING:
            if transfer.error is not None and transfer.error.reason == "TRANSFER_EXPIRED":
                raise TransferExpired("the offer has expired", transfer_id=transfer_id)
            raise TransferInvalidState(
                f"the transfer is {transfer.state.value}, not pending",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        chosen = _choose(transfer.entries, paths)
        needed = sum(e.size for i, e in enumerate(transfer.entries) if i in chosen)
        landing = await asyncio.to_thread(Landing, self.config.transfers.inbox)
        try:
            free = await asyncio.to_thread(landing.free_bytes)
            if free - needed < self._reserve:
                raise InsufficientStorage(
                    f"{needed} bytes do not fit: {free} bytes are free in the inbox and "
                    f"{self._reserve} stay in reserve (transfers.free_space_reserve_mib)",
                    needed_bytes=needed,
                    free_bytes=free,
                )
            tops = {split_transfer_path(transfer.entries[i].path)[0] for i in chosen}
            transfer.renamed = await asyncio.to_thread(_free_names, landing, sorted(tops))
        finally:
            landing.close()
        for index, entry in enumerate(transfer.entries):
            entry.state = FileState.PENDING if index in chosen else FileState.SKIPPED
        await self._set_state(transfer, State.NEGOTIATING)
        self._start_runner(transfer)
        return transfer

    async def reject(self, transfer_id: str, reason: str) -> None:
        transfer = self._incoming(transfer_id)
        if transfer.state is not State.PENDING:
            raise TransferInvalidState(
                f"the transfer is {transfer.state.value}, not pending",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        message = reason.strip()[:200] or "the offer was rejected"
        error = TransferRejected(message, transfer_id=transfer_id)
        await self._set_state(transfer, State.FAILED, error=error)
        await self._notify_quietly(transfer, "rejected", reason=error.reason, message=message)

    def _incoming(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        if transfer.outgoing:
            raise TransferInvalidState(
                "this device sends that transfer; only the receiver accepts or rejects it",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        return transfer

    def _start_runner(self, transfer: Transfer) -> None:
        live = self._live_of(transfer)
        if self._stopping:
            return
        if live.runner is not None and not live.runner.done():
            # A runner that paused for the link may still be closing its files when the link
            # comes back: it runs again as soon as it has ended, instead of never.
            live.rerun = True
            return
        live.rerun = False
        live.runner = asyncio.get_running_loop().create_task(self._receive(transfer, live))
        live.runner.add_done_callback(_log_failure)
        live.runner.add_done_callback(lambda _: self._runner_ended(transfer, live))

    def _runner_ended(self, transfer: Transfer, live: _Live) -> None:
        if live.rerun and transfer.state is State.PAUSED and transfer.pause is Pause.LINK:
            self._start_runner(transfer)

    async def _receive(self, transfer: Transfer, live: _Live) -> None:
        """Pulls every accepted file until all are verified, or the transfer stops."""
        accepted = [i for i, e in enumerate(transfer.entries) if e.state is not FileState.SKIPPED]
        try:
            self._network.channel_for(transfer.peer_id)
        except KizunaError:
            await self._pause(transfer, Pause.LINK)
            return
        try:
            await self._notify(transfer, "accepted", accepted_files=accepted)
        except KizunaError:
            await self._pause(transfer, Pause.LINK)
            return
        peer = transfer.peer_id
        if not self._queue.try_enter(peer):
            await self._set_state(transfer, State.QUEUED)
            await self._notify_quietly(transfer, "queued")
            await self._queue.wait_turn(peer)
        try:
            await self._receive_now(transfer, live)
        finally:
            self._queue.leave(peer)

    async def _receive_now(self, transfer: Transfer, live: _Live) -> None:
        """One receiving run, holding its turn: sink, journal and worker until it stops."""
        loop = asyncio.get_running_loop()
        landing = await asyncio.to_thread(Landing, self.config.transfers.inbox)
        journal = await asyncio.to_thread(Journal, self._store.journal_path(transfer.id))
        sink = Sink(
            transfer,
            landing,
            journal,
            reserve_bytes=self._reserve,
            committed=lambda _: self._changed_threadsafe(transfer),
        )
        worker = ThreadPoolExecutor(1, thread_name_prefix="kizuna-receive")
        try:
            outcome = await self._pull(transfer, live, sink, worker)
            if outcome is None:
                try:
                    await loop.run_in_executor(worker, self._finish_directories, transfer, landing)
                except (KizunaError, OSError) as exc:
                    outcome = _local_error(exc)
            if outcome is None:
                await self._set_state(transfer, State.COMPLETED)
                await self._notify_quietly(
                    transfer, "completed", **self._final_notice_fields(transfer)
                )
                await asyncio.to_thread(self._store.journal_path(transfer.id).unlink, True)
            elif isinstance(outcome, Pause):
                await self._pause(transfer, outcome)
                if outcome is Pause.LINK and self._link_up(transfer.peer_id):
                    self._spawn(self._retry_later(transfer))
            elif isinstance(outcome, _Cancelled):
                await loop.run_in_executor(worker, self._remove_parts, transfer, sink, landing)
                await self._set_state(transfer, State.CANCELLED)
            else:
                await self._fail(transfer, outcome, sink, landing, worker)
        except asyncio.CancelledError:
            sink.halt()
            with contextlib.suppress(Exception):
                await asyncio.shield(loop.run_in_executor(worker, sink.suspend))
            raise
        finally:
            try:
                closing = loop.run_in_executor(worker, _close_all, sink, journal, landing)
                await asyncio.shield(closing)
            finally:
                worker.shutdown(wait=False)

    def _link_up(self, peer_id: str) -> bool:
        try:
            self._network.channel_for(peer_id)
        except KizunaError:
            return False
        return True

    async def _retry_later(self, transfer: Transfer) -> None:
        """The call broke but the link looks up (for example the peer restarted in between):
        try again shortly instead of waiting for a reconnect that may not come."""
        await asyncio.sleep(RETRY_SECS)
        if transfer.state is State.PAUSED and transfer.pause is Pause.LINK:
            self._start_runner(transfer)

    async def _pull(
        self, transfer: Transfer, live: _Live, sink: Sink, worker: ThreadPoolExecutor
    ) -> KizunaError | Pause | None:
        """Fetch calls until every file is in; returns what stopped it (None: all done)."""
        loop = asyncio.get_running_loop()
        while True:
            ranges = [
                (i, e.bytes_done)
                for i, e in enumerate(transfer.entries)
                if not e.directory and e.state in (FileState.PENDING, FileState.TRANSFERRING)
            ]
            if not ranges:
                return None
            await loop.run_in_executor(worker, sink.expect, ranges)
            await self._set_state(transfer, State.TRANSFERRING)
            request = pb.FetchRequest(
                transfer_id=transfer.id,
                files=[pb.FileRange(file_index=i, offset=o) for i, o in ranges],
            )
            try:
                call = self._stub(transfer.peer_id).Fetch(request)
            except KizunaError:
                return Pause.LINK
            pending: deque[asyncio.Future[None]] = deque()
            try:
                async for message in call:
                    pending.append(loop.run_in_executor(worker, sink.feed, message))
                    while len(pending) > _PIPELINE_DEPTH or (pending and pending[0].done()):
                        await pending.popleft()
                        self._changed(transfer, progress=True)
                while pending:
                    await pending.popleft()
                await loop.run_in_executor(worker, sink.done)
                self._changed(transfer, progress=True)
                live.refetches = 0
            except (ChunkCorrupt, FileCorrupt) as exc:
                call.cancel()
                await self._settle(sink, pending, worker)
                live.refetches += 1
                log.warning("transfer %s: %s; fetching it again", transfer.id, exc)
                if live.refetches > MAX_REFETCHES:
                    return IntegrityCheckFailed(
                        f"data kept failing its SHA-256 check ({exc})", path=_path_of(transfer, exc)
                    )
            except grpc.aio.AioRpcError as exc:
                await self._settle(sink, pending, worker)
                return _fetch_outcome(exc)
            except asyncio.CancelledError:
                if _cancelled_here():
                    raise
                # The link's channel closed under the call (the peer went away): keep what is
                # verified and wait for the link, like any other broken call.
                await self._settle(sink, pending, worker)
                return Pause.LINK
            except (KizunaError, OSError) as exc:
                call.cancel()
                await self._settle(sink, pending, worker)
                return _local_error(exc)

    async def _settle(
        self, sink: Sink, pending: deque[asyncio.Future[None]], worker: ThreadPoolExecutor
    ) -> None:
        """After an interruption: let queued writes run out, keep what is verified."""
        sink.halt()
        for future in pending:
            with contextlib.suppress(Exception):
                await future
        pending.clear()
        await asyncio.get_running_loop().run_in_executor(worker, sink.suspend)

    def _finish_directories(self, transfer: Transfer, landing: Landing) -> None:
        """Creates accepted folders (empty ones too) with their modes and times, deepest first."""
        folders = [e for e in transfer.entries if e.directory and e.state is not FileState.SKIPPED]
        folders.sort(key=lambda e: e.path.count("/"), reverse=True)
        for entry in folders:
            folder, name = destination(transfer, entry)
            fd = landing.directory((*folder, name))
            os.fchmod(fd, directory_mode(entry.mode))
            os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
            entry.state, entry.saved_path = FileState.COMPLETED, "/".join((*folder, name))
        landing.sync_directories()

    async def _fail(
        self,
        transfer: Transfer,
        error: KizunaError,
        sink: Sink,
        landing: Landing,
        worker: ThreadPoolExecutor,
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(worker, self._remove_parts, transfer, sink, landing)
        await self._set_state(transfer, State.FAILED, error=error)
        await self._notify_quietly(transfer, "failed", reason=error.reason, message=error.message)

    def _remove_parts(self, transfer: Transfer, sink: Sink | None, landing: Landing) -> None:
        if sink is not None:
            sink.close()
        for index, entry in enumerate(transfer.entries):
            if entry.directory or entry.state is FileState.COMPLETED:
                continue
            if entry.state is FileState.SKIPPED:
                continue
            with contextlib.suppress(OSError, KizunaError):
                folder, _ = destination(transfer, entry)
                landing.remove_part(landing.directory(folder), part_name(transfer.id, index))
        with contextlib.suppress(FileNotFoundError):
            self._store.journal_path(transfer.id).unlink()

    async def _pause(self, transfer: Transfer, why: Pause) -> None:
        if transfer.state.final:
            return
        transfer.pause = why
        if transfer.state is State.PAUSED:
            await self._save(transfer)
            return
        await self._set_state(transfer, State.PAUSED)
        transfer.pause = why
        await self._save(transfer)

    # --- control (either side) --------------------------------------------------------------

    async def cancel(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        self._require_active(transfer)
        await self._stop_work(transfer)
        if not transfer.outgoing:
            await self._clean_incoming(transfer)
        await self._set_state(transfer, State.CANCELLED)
        await self._notify_quietly(transfer, "cancelled")
        return transfer

    async def pause(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        if transfer.state not in (
            State.NEGOTIATING,
            State.QUEUED,
            State.TRANSFERRING,
            State.PAUSED,
        ):
            raise TransferInvalidState(
                f"the transfer is {transfer.state.value}; only a running transfer pauses",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        await self._stop_work(transfer)
        await self._pause(transfer, Pause.LOCAL)
        await self._notify_quietly(transfer, "paused")
        return transfer

    async def resume(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        if transfer.state is not State.PAUSED:
            raise TransferInvalidState(
                f"the transfer is {transfer.state.value}, not paused",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        await self._notify(transfer, "resumed")  # PEER_UNREACHABLE: it stays paused
        transfer.pause = Pause.LINK  # until data moves again
        await self._save(transfer)
        if not transfer.outgoing:
            self._start_runner(transfer)
        return transfer

    def _require_active(self, transfer: Transfer) -> None:
        if transfer.state.final:
            raise TransferInvalidState(
                f"the transfer is already {transfer.state.value}",
                transfer_id=transfer.id,
                state=transfer.state.value,
            )

    async def _stop_work(self, transfer: Transfer) -> None:
        """Stops the runner (receiving) or the fetches being served (sending), and waits."""
        live = self._live.get(transfer.id)
        if live is None:
            return
        tasks = [*live.fetches]
        if live.runner is not None and not live.runner.done():
            tasks.append(live.runner)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _clean_incoming(self, transfer: Transfer) -> None:
        landing = await asyncio.to_thread(Landing, self.config.transfers.inbox)
        try:
            await asyncio.to_thread(self._remove_parts, transfer, None, landing)
        finally:
            landing.close()

    async def notified(self, caller: str, request: Any) -> pb.NotifyResponse:
        """The peer tells this device about a shared transfer."""
        transfer = self._own(caller, request.transfer_id, outgoing=None)
        notice = pb.Notice.Name(request.notice).removeprefix("NOTICE_").lower()
        if transfer.state.final:
            return pb.NotifyResponse()
        detail = sanitize_name(request.message)[:200]
        if transfer.outgoing and notice in ("accepted", "rejected", "expired", "completed"):
            await self._answered(transfer, notice, request, detail)
        elif notice == "queued":
            if (
                transfer.outgoing
                and transfer.state is State.NEGOTIATING
                and not self._live_of(transfer).fetches
            ):
                await self._set_state(transfer, State.QUEUED)  # shown waiting on both sides
        elif notice in ("paused", "resumed") and transfer.state is State.PENDING:
            pass  # only the receiver's decision moves an offer on; the sender cannot
        elif notice == "paused":
            await self._stop_work(transfer)
            await self._pause(transfer, Pause.PEER)
        elif notice == "resumed":
            transfer.pause = Pause.LINK
            await self._save(transfer)
            if not transfer.outgoing:
                self._start_runner(transfer)
        elif notice in ("cancelled", "failed"):
            await self._stop_work(transfer)
            if not transfer.outgoing:
                await self._clean_incoming(transfer)
            if notice == "cancelled":
                await self._set_state(transfer, State.CANCELLED)
            else:
                error = KizunaError(detail or "the peer reported a failure")
                error.reason = _known_reason(request.reason)
                await self._set_state(transfer, State.FAILED, error=error)
        return pb.NotifyResponse()

    async def _answered(self, transfer: Transfer, notice: str, request: Any, detail: str) -> None:
        """The receiver's decision on an offer from this device, or its completion."""
        if notice == "accepted":
            accepted = set(request.accepted_files)
            if transfer.state is State.PENDING:
                for index, entry in enumerate(transfer.entries):
                    entry.state = FileState.PENDING if index in accepted else FileState.SKIPPED
                await self._set_state(transfer, State.NEGOTIATING)
        elif notice == "rejected":
            error: KizunaError = TransferRejected(
                detail or "the peer rejected the offer", transfer_id=transfer.id
            )
            await self._set_state(transfer, State.FAILED, error=error)
        elif notice == "expired":
            error = TransferExpired("the peer did not answer in time", transfer_id=transfer.id)
            await self._set_state(transfer, State.FAILED, error=error)
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
                await self._set_state(transfer, State.FAILED, error=error)
                return
            entry.state, entry.bytes_done = FileState.COMPLETED, entry.size
        await self._set_state(transfer, State.COMPLETED)

    def _own(self, caller: str, transfer_id: str, *, outgoing: bool | None) -> Transfer:
        """A transfer this caller shares with this device (others do not exist for it)."""
        transfer = self._transfers.get(transfer_id)
        if (
            transfer is None
            or transfer.peer_id != caller
            or (outgoing is not None and transfer.outgoing is not outgoing)
        ):
            raise TransferNotFound("no such transfer", transfer_id=transfer_id)
        return transfer


# --- helpers ----------------------------------------------------------------------------------


class _Cancelled(KizunaError):
    """The other side cancelled (learnt from a refused Fetch when its notice was lost)."""

    reason = "TRANSFER_INVALID_STATE"


class _PermissionDenied(KizunaError):
    reason = "PERMISSION_DENIED_BY_PEER"


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


def _end(transfer: Transfer, state: State) -> None:
    """The record of a transfer reaching final `state` (before its state changes)."""
    if transfer.state is State.PENDING and not transfer.outgoing:
        # An offer that ended unanswered moved nothing: keep a short record whatever the peer
        # offered, so history (and the next start) stays small (#33).
        transfer.trim(KEPT_UNANSWERED_ENTRIES)
    transfer.ended = time.time()
    if state is not State.COMPLETED:
        for entry in transfer.entries:
            if entry.state in (FileState.PENDING, FileState.TRANSFERRING):
                entry.state = FileState.FAILED


def _free_bytes(folder: Path) -> int:
    """Free bytes where `folder` is (or will be created: the inbox appears at the first accept)."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


def _cancelled_here() -> bool:
    """Whether a CancelledError is this task's own cancellation. grpc.aio also raises it in
    whoever awaits a call whose channel was closed (the link went down), which is a broken call,
    not a reason for the task to end."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


async def _peer_call(call: Awaitable[T]) -> T:
    """Awaits a unary call on the link; a channel closed under it fails like a dropped link."""
    try:
        return await call
    except asyncio.CancelledError:
        if _cancelled_here():
            raise
        raise PeerUnreachable("the link to the peer closed during the call") from None


def _log_failure(task: asyncio.Task[Any]) -> None:
    """A background task that raised is a bug: say so instead of dropping it silently."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("transfers: a background task failed", exc_info=exc)


def _close_all(sink: Sink, journal: Journal, landing: Landing) -> None:
    sink.close()
    journal.close()
    landing.close()
    give_back()  # the run's buffers are free now: RSS returns to its idle size


def _peer_error(exc: grpc.aio.AioRpcError, peer_id: str) -> KizunaError:
    reason = reason_from_trailers(exc.trailing_metadata())
    if not reason or exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return PeerUnreachable(
            f"peer {format_device_id(peer_id)} did not answer: {exc.details()}", peer_id=peer_id
        )
    _, details = error_info_from_trailers(exc.trailing_metadata())
    shown = sanitize_name(exc.details() or "", limit=_PEER_MESSAGE_CHARS)
    error = KizunaError(f"the peer refused: {shown}")
    error.reason = _known_reason(reason)
    # What the sender can act on (which limit, how much room) passes; the rest stays there.
    error.metadata = {
        "peer_id": peer_id,
        **{
            key: sanitize_name(details[key])
            for key in ("limit", "needed_bytes", "free_bytes")
            if key in details
        },
    }
    return error


#: A peer's refusal is shown up to this many characters (it names the limit and what to do).
_PEER_MESSAGE_CHARS: Final = 300


def _fetch_outcome(exc: grpc.aio.AioRpcError) -> KizunaError | Pause:
    """What a broken Fetch call means for the receiver."""
    reason, metadata = error_info_from_trailers(exc.trailing_metadata())
    if reason == "TRANSFER_INVALID_STATE":
        state = metadata.get("state", "")
        if state == State.CANCELLED.value:
            return _Cancelled("the sender cancelled the transfer")
        if state == State.FAILED.value:
            error = KizunaError("the transfer failed on the sender")
            error.reason = "TRANSFER_INVALID_STATE"
            return error
        return Pause.PEER
    if not reason or reason in ("PEER_UNREACHABLE", "SHUTTING_DOWN", "LIMIT_EXCEEDED"):
        return Pause.LINK  # LIMIT_EXCEEDED: the sender serves enough fetches now; try again
    error = KizunaError(f"the sender stopped: {sanitize_name(exc.details() or '')}")
    error.reason = _known_reason(reason)
    return error


_REASONS: Final = frozenset(reason_names())


def _known_reason(reason: str) -> str:
    """A reason a peer sent, if this version knows it; INTERNAL otherwise (peers may be newer,
    or lie; an unknown name must never reach the API)."""
    return reason if reason in _REASONS else "INTERNAL"


def _local_error(exc: KizunaError | OSError) -> KizunaError:
    if isinstance(exc, KizunaError):
        return exc
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage(
            "the inbox's disk is full; the partial files were removed",
            needed_bytes=0,
            free_bytes=0,
        )
    return KizunaError(f"writing a received file failed: {exc}")


def _path_of(transfer: Transfer, exc: ChunkCorrupt | FileCorrupt) -> str:
    return transfer.entries[exc.index].path


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


def _saved_content_hash(directory: int, name: str) -> str:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    except OSError:
        return ""
    try:
        return content_hash_of(fd)
    finally:
        os.close(fd)


def _free_names(landing: Landing, tops: list[str]) -> dict[str, str]:
    """Top-level names the transfer is saved under: the offered one, or a free variant."""
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for top in tops:
        chosen = unique_name(top, lambda n: landing.taken(n) or n in taken)
        taken.add(chosen)
        if chosen != top:
            renamed[top] = chosen
    return renamed


def _choose(entries: list[Entry], paths: list[str]) -> set[int]:
    """Indexes accepted by `paths` (each an offered path; a folder takes what is under it)."""
    if not paths:
        return set(range(len(entries)))
    offered = {e.path for e in entries}
    for path in paths:
        if path not in offered:
            raise InvalidArgument(f"paths: {path!r} is not in the offer", field="paths")
    chosen = set()
    for index, entry in enumerate(entries):
        for path in paths:
            if entry.path == path or entry.path.startswith(path + "/"):
                chosen.add(index)
    # Folders holding an accepted entry come along, so it has somewhere to go.
    for index, entry in enumerate(entries):
        if entry.directory and any(entries[i].path.startswith(entry.path + "/") for i in chosen):
            chosen.add(index)
    return chosen


def _check_offer(request: Any, max_files: int) -> list[Entry]:
    """The entries of a peer's offer, or the reason it is refused before anything is written."""
    if not valid_id(request.transfer_id):
        raise InvalidArgument("transfer_id: expected 32 hex characters", field="transfer_id")
    count = len(request.files)
    if count == 0:
        raise InvalidArgument("files: an offer needs at least one entry", field="files")
    if count > max_files:
        raise LimitExceeded(
            f"the offer has {count} entries; this device accepts at most {max_files} "
            "(transfers.max_files)",
            limit="transfers.max_files",
        )
    entries: list[Entry] = []
    seen: dict[str, bool] = {}  # path -> is a folder
    split: list[tuple[str, ...]] = []
    for item in request.files:
        split.append(split_transfer_path(item.path))
        if item.path in seen:
            raise InvalidArgument(f"files: {item.path!r} is offered twice", field="files")
        if item.directory and item.size:
            raise InvalidArgument(f"files: folder {item.path!r} has a size", field="files")
        seen[item.path] = item.directory
        entries.append(
            Entry(
                path=item.path,
                directory=item.directory,
                size=item.size,
                mode=item.mode & 0o777,
                mtime_ns=item.mtime_ns,
            )
        )
    if request.total_bytes != sum(e.size for e in entries):
        raise ProtocolViolation("total_bytes does not match the sum of the file sizes")
    # Once every path is known, whatever the order: nothing may sit inside a file. Each entry
    # looks up its own ancestors (linear in the offer; 100,000 entries take milliseconds).
    for entry, parts in zip(entries, split, strict=True):
        for depth in range(1, len(parts)):
            above = "/".join(parts[:depth])
            if seen.get(above) is False:
                raise InvalidArgument(
                    f"files: {entry.path!r} is inside {above!r}, a file", field="files"
                )
    return entries


def _scan_sources(paths: list[str], max_files: int, skipped: Skipped) -> list[Entry]:
    """The entries for local paths: files, and folders walked without following links (what is
    not sent from inside them goes to `skipped`)."""
    entries: list[Entry] = []
    names: set[str] = set()
    for text in paths:
        if not os.path.isabs(text):
            raise InvalidArgument(f"paths: {text!r} is not an absolute path", field="paths")
        path = os.path.realpath(text)  # a link named by the user is what they mean
        try:
            info = os.stat(path)
        except OSError as exc:
            raise SourceNotReadable(f"{text}: {exc.strerror}", path=text) from None
        top = os.path.basename(path.rstrip("/")) or "root"
        if top in names:
            raise InvalidArgument(f"paths: two entries are named {top!r}", field="paths")
        names.add(top)
        if stat.S_ISDIR(info.st_mode):
            _walk(path, top, info, entries, max_files, skipped=skipped)
        elif stat.S_ISREG(info.st_mode):
            if not os.access(path, os.R_OK):
                raise SourceNotReadable(f"{text}: not readable", path=text)
            entries.append(_entry(path, top, info))
        else:
            raise SourceNotReadable(f"{text}: not a regular file or folder", path=text)
        if len(entries) > max_files:
            raise LimitExceeded(
                f"more than {max_files} entries (transfers.max_files)", limit="transfers.max_files"
            )
    for entry in entries:
        split_transfer_path(entry.path)  # names the receiver would refuse fail here, early
    return entries


def _entry(path: str, name: str, info: os.stat_result) -> Entry:
    directory = stat.S_ISDIR(info.st_mode)
    return Entry(
        path=name,
        directory=directory,
        size=0 if directory else info.st_size,
        mode=stat.S_IMODE(info.st_mode),
        mtime_ns=info.st_mtime_ns,
        source="" if directory else path,
        identity=(0, 0, 0, 0) if directory else identity_of(info),
    )


def _walk(
    root: str, top: str, info: os.stat_result, entries: list[Entry], limit: int, *, skipped: Skipped
) -> None:
    entries.append(_entry(root, top, info))
    stack = [(root, top)]
    while stack:
        folder, name = stack.pop()
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError as exc:
            raise SourceNotReadable(f"{folder}: {exc.strerror}", path=folder) from None
        for child in children:
            relative = f"{name}/{child.name}"
            if child.is_symlink():
                log.info("not sending %s: symbolic links are never sent", child.path)
                skipped.add(relative, SkipReason.SYMLINK)
                continue
            child_info = child.stat(follow_symlinks=False)
            if stat.S_ISDIR(child_info.st_mode):
                entries.append(_entry(child.path, relative, child_info))
                stack.append((child.path, relative))
            elif stat.S_ISREG(child_info.st_mode):
                entries.append(_entry(child.path, relative, child_info))
            else:
                log.info("not sending %s: not a regular file", child.path)
                skipped.add(relative, SkipReason.SPECIAL_FILE)
            if len(entries) > limit:
                return
