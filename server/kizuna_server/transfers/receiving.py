"""The receiving side's I/O: one runner per accepted transfer pulls its files with Fetch.

A run waits for a turn (`RunQueue`, transfers.max_running), then holds a Landing in the inbox,
the transfer's Journal, a Sink and one worker thread, and releases all of them when it ends,
whatever state the transfer reached meanwhile. It asks from the last verified offset of each
file, which is how a transfer resumes after a pause, a dropped link, a corrupt chunk or a
restart of either daemon. What stopped a run (every file in, a pause, a cancel, an error)
becomes a state change through the `StateMachine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import grpc.aio

from kizuna_client.memory import give_back
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.transfers.activity import Activity, Live, log_failure
from kizuna_server.transfers.digest import content_hash_of
from kizuna_server.transfers.inbox import Landing, directory_mode, part_name
from kizuna_server.transfers.model import (
    FileState,
    InsufficientStorage,
    IntegrityCheckFailed,
    Pause,
    State,
    Transfer,
)
from kizuna_server.transfers.notices import Notices, final_notice_fields
from kizuna_server.transfers.peer_errors import Cancelled, cancelled_here, fetch_outcome
from kizuna_server.transfers.queue import RunQueue
from kizuna_server.transfers.sink import ChunkCorrupt, FileCorrupt, Sink, destination
from kizuna_server.transfers.states import StateMachine, waits_for_link
from kizuna_server.transfers.store import Journal, TransferStore

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork

log = logging.getLogger(__name__)

#: A chunk or file failing its hash is fetched again at most this often before giving up.
MAX_REFETCHES: Final = 3
#: A receiver whose Fetch broke while the link stayed up tries again after this long.
RETRY_SECS: Final = 1.0
#: Receive-side messages being written while the next ones arrive.
_PIPELINE_DEPTH: Final = 2


class Receiving:
    """Runs the receiving side of accepted transfers. `spawn` runs a background task the
    engine cancels at stop; `stopping` is set when the daemon stops, after which no run starts.
    """

    def __init__(
        self,
        *,
        inbox: Path,
        reserve: int,
        queue: RunQueue,
        store: TransferStore,
        network: PeerNetwork,
        notices: Notices,
        machine: StateMachine,
        activity: Activity,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._inbox = inbox
        self._reserve = reserve
        self._queue = queue
        self._store = store
        self._network = network
        self._notices = notices
        self._machine = machine
        self._activity = activity
        self._spawn = spawn
        self.stopping = False

    def start(self, transfer: Transfer) -> None:
        """Starts the transfer's runner, unless one is running (then it runs again after)."""
        live = self._activity.of(transfer)
        if self.stopping:
            return
        if live.runner is not None and not live.runner.done():
            # A runner that paused for the link may still be closing its files when the link
            # comes back: it runs again as soon as it has ended, instead of never.
            live.rerun = True
            return
        live.rerun = False
        live.runner = asyncio.get_running_loop().create_task(self._receive(transfer, live))
        live.runner.add_done_callback(log_failure)
        live.runner.add_done_callback(lambda _: self._runner_ended(transfer, live))

    def _runner_ended(self, transfer: Transfer, live: Live) -> None:
        if live.rerun and waits_for_link(transfer):
            self.start(transfer)

    async def _receive(self, transfer: Transfer, live: Live) -> None:
        """Pulls every accepted file until all are verified, or the transfer stops."""
        accepted = [i for i, e in enumerate(transfer.entries) if e.state is not FileState.SKIPPED]
        try:
            self._network.channel_for(transfer.peer_id)
        except KizunaError:
            await self._machine.pause(transfer, Pause.LINK)
            return
        try:
            await self._notices.notify(transfer, "accepted", accepted_files=accepted)
        except KizunaError:
            await self._machine.pause(transfer, Pause.LINK)
            return
        peer = transfer.peer_id
        if not self._queue.try_enter(peer):
            await self._machine.set_state(transfer, State.QUEUED)
            await self._notices.notify_quietly(transfer, "queued")
            await self._queue.wait_turn(peer)
        try:
            await self._receive_now(transfer, live)
        finally:
            self._queue.leave(peer)

    async def _receive_now(self, transfer: Transfer, live: Live) -> None:
        """One receiving run, holding its turn: sink, journal and worker until it stops."""
        loop = asyncio.get_running_loop()

        def committed(_: list[int]) -> None:  # called on the worker thread
            loop.call_soon_threadsafe(lambda: self._activity.changed(transfer, progress=True))

        landing = await asyncio.to_thread(Landing, self._inbox)
        journal = await asyncio.to_thread(Journal, self._store.journal_path(transfer.id))
        sink = Sink(transfer, landing, journal, reserve_bytes=self._reserve, committed=committed)
        worker = ThreadPoolExecutor(1, thread_name_prefix="kizuna-receive")
        try:
            outcome = await self._pull(transfer, live, sink, worker)
            if outcome is None:
                try:
                    await loop.run_in_executor(worker, _finish_directories, transfer, landing)
                except (KizunaError, OSError) as exc:
                    outcome = _local_error(exc)
            if outcome is None:
                await self._machine.set_state(transfer, State.COMPLETED)
                await self._notices.notify_quietly(
                    transfer, "completed", **final_notice_fields(transfer)
                )
                await asyncio.to_thread(self._store.journal_path(transfer.id).unlink, True)
            elif isinstance(outcome, Pause):
                await self._machine.pause(transfer, outcome)
                if outcome is Pause.LINK and self._link_up(transfer.peer_id):
                    self._spawn(self._retry_later(transfer))
            elif isinstance(outcome, Cancelled):
                await loop.run_in_executor(worker, self.remove_parts, transfer, sink, landing)
                await self._machine.set_state(transfer, State.CANCELLED)
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
        if waits_for_link(transfer):
            self.start(transfer)

    async def _pull(
        self, transfer: Transfer, live: Live, sink: Sink, worker: ThreadPoolExecutor
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
            await self._machine.set_state(transfer, State.TRANSFERRING)
            request = pb.FetchRequest(
                transfer_id=transfer.id,
                files=[pb.FileRange(file_index=i, offset=o) for i, o in ranges],
            )
            try:
                call = self._notices.stub(transfer.peer_id).Fetch(request)
            except KizunaError:
                return Pause.LINK
            pending: deque[asyncio.Future[None]] = deque()
            try:
                async for message in call:
                    pending.append(loop.run_in_executor(worker, sink.feed, message))
                    while len(pending) > _PIPELINE_DEPTH or (pending and pending[0].done()):
                        await pending.popleft()
                        self._activity.changed(transfer, progress=True)
                while pending:
                    await pending.popleft()
                await loop.run_in_executor(worker, sink.done)
                self._activity.changed(transfer, progress=True)
                live.refetches = 0
            except (ChunkCorrupt, FileCorrupt) as exc:
                call.cancel()
                await _settle(sink, pending, worker)
                live.refetches += 1
                log.warning("transfer %s: %s; fetching it again", transfer.id, exc)
                if live.refetches > MAX_REFETCHES:
                    return IntegrityCheckFailed(
                        f"data kept failing its SHA-256 check ({exc})",
                        path=transfer.entries[exc.index].path,
                    )
            except grpc.aio.AioRpcError as exc:
                await _settle(sink, pending, worker)
                return fetch_outcome(exc)
            except asyncio.CancelledError:
                if cancelled_here():
                    raise
                # The link's channel closed under the call (the peer went away): keep what is
                # verified and wait for the link, like any other broken call.
                await _settle(sink, pending, worker)
                return Pause.LINK
            except (KizunaError, OSError) as exc:
                call.cancel()
                await _settle(sink, pending, worker)
                return _local_error(exc)

    async def _fail(
        self,
        transfer: Transfer,
        error: KizunaError,
        sink: Sink,
        landing: Landing,
        worker: ThreadPoolExecutor,
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(worker, self.remove_parts, transfer, sink, landing)
        await self._machine.set_state(transfer, State.FAILED, error=error)
        await self._notices.notify_quietly(
            transfer, "failed", reason=error.reason, message=error.message
        )

    def remove_parts(self, transfer: Transfer, sink: Sink | None, landing: Landing) -> None:
        """Removes the part files of the files not completed, and the journal (on a thread)."""
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

    async def clean(self, transfer: Transfer) -> None:
        """An incoming transfer that ends without completing leaves no part files behind."""
        landing = await asyncio.to_thread(Landing, self._inbox)
        try:
            await asyncio.to_thread(self.remove_parts, transfer, None, landing)
        finally:
            landing.close()

    def recover_commits(self, transfer: Transfer) -> None:
        """After a restart (on a thread): applies the journal, the verified offsets and the
        commits a crash interrupted."""
        replay = Journal.replay(self._store.journal_path(transfer.id))
        landing = Landing(self._inbox)
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


async def _settle(
    sink: Sink, pending: deque[asyncio.Future[None]], worker: ThreadPoolExecutor
) -> None:
    """After an interruption: let queued writes run out, keep what is verified."""
    sink.halt()
    for future in pending:
        with contextlib.suppress(Exception):
            await future
    pending.clear()
    await asyncio.get_running_loop().run_in_executor(worker, sink.suspend)


def _finish_directories(transfer: Transfer, landing: Landing) -> None:
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


def _close_all(sink: Sink, journal: Journal, landing: Landing) -> None:
    sink.close()
    journal.close()
    landing.close()
    give_back()  # the run's buffers are free now: RSS returns to its idle size


def _local_error(exc: KizunaError | OSError) -> KizunaError:
    """What a failure on this side means: a full disk is INSUFFICIENT_STORAGE."""
    if isinstance(exc, KizunaError):
        return exc
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage(
            "the inbox's disk is full; the partial files were removed",
            needed_bytes=0,
            free_bytes=0,
        )
    return KizunaError(f"writing a received file failed: {exc}")


def _saved_content_hash(directory: int, name: str) -> str:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    except OSError:
        return ""
    try:
        return content_hash_of(fd)
    finally:
        os.close(fd)
