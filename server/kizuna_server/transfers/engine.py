"""Transfers: every transfer of this device, in both directions, and what may be asked of them.

The façade other modules call (the link port's Offer, Fetch and Notify; the API's create,
accept, reject, pause, resume, cancel, get, watch): it holds the table of transfers, their
records and their lifecycle, and hands the rest to the pieces beside it:

- `states.py`     the state machine: which state follows which, what each change saves and
                  publishes, what each request may ask of each state (no I/O);
- `receiving.py`  the receiving side's I/O: the runner that pulls with Fetch into the inbox;
- `sending.py`    the sending side's I/O: offers to the peer and the Fetch calls it makes;
- `notices.py`    what this device tells the peer (Notify), again after a reconnect if lost;
- `activity.py`   what a transfer has while here: its tasks, watchers and throughput;
- `offers.py`, `scan.py`, `admission.py`, `peer_errors.py`: checks and mappings, no state.

Loop-only methods; blocking work (reading, hashing, writing, fsync) runs on one worker thread
per running transfer. The receiving side drives: after its user accepts, it pulls the data with
Fetch from the last verified offset of each file, which is how a transfer resumes after a pause,
a dropped link, a corrupt chunk or a restart of either daemon. See docs/transfers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kizuna_client.memory import give_back
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import ErrorOccurred, Payload
from kizuna_server.core.peers import sanitize_name
from kizuna_server.core.trust import PeerNotTrusted, Permissions
from kizuna_server.errors import (
    InvalidArgument,
    KizunaError,
    LimitExceeded,
    PermissionDeniedByPeer,
)
from kizuna_server.p2p.wire import transfer_service_pb2 as pb
from kizuna_server.transfers.activity import PROGRESS_INTERVAL_SECS, Activity, log_failure
from kizuna_server.transfers.admission import (
    admit_offer,
    admit_upload,
    admit_upload_bytes,
    free_bytes,
)
from kizuna_server.transfers.inbox import Landing
from kizuna_server.transfers.model import (
    Entry,
    InsufficientStorage,
    Pause,
    Progress,
    Skipped,
    State,
    Transfer,
    TransferExpired,
    TransferInvalidState,
    TransferNotFound,
    TransferOffered,
    TransferRejected,
)
from kizuna_server.transfers.names import check_inbox, split_transfer_path
from kizuna_server.transfers.notices import Notices, final_notice_fields
from kizuna_server.transfers.offers import check_offer, choose, free_names
from kizuna_server.transfers.peer_errors import known_reason
from kizuna_server.transfers.queue import RunQueue
from kizuna_server.transfers.receiving import Receiving
from kizuna_server.transfers.scan import scan_sources
from kizuna_server.transfers.sending import Sending
from kizuna_server.transfers.states import (
    KEPT_UNANSWERED_ENTRIES,
    StateMachine,
    mark_accepted,
    require_acceptable,
    require_active,
    require_pausable,
    require_paused,
    require_pending,
    waits_for_link,
)
from kizuna_server.transfers.store import TransferStore

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork
    from kizuna_server.transfers.uploads import Spool

#: KEPT_UNANSWERED_ENTRIES stays importable from here, where bench/startup.py reads it.
__all__ = ["KEPT_UNANSWERED_ENTRIES", "Transfers"]

log = logging.getLogger(__name__)

#: The sender gives the receiver this long past its expiry before giving up on an offer.
_EXPIRY_SLACK_SECS: Final = 30.0


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
        self._requests: dict[str, str] = {}  # request_id -> transfer id
        self._tasks: set[asyncio.Task[Any]] = set()
        self._save_locks: dict[str, asyncio.Lock] = {}
        self._spools: dict[str, Spool] = {}
        self._reserve = config.transfers.free_space_reserve_mib * 1024 * 1024
        self._unsaved: set[str] = set()
        #: Incoming offers the peer's auto-accept permission is answering right now.
        self._accepting: set[str] = set()
        #: Fetch calls served now, by the peer that made them (`Sending` counts them).
        self._fetching: Counter[str] = Counter()
        self._activity = Activity(publish)
        self._machine = StateMachine(
            save=self._save,
            unsaved=lambda transfer: self._unsaved.add(transfer.id),
            changed=self._activity.changed,
            publish=publish,
            ended=self._ended,
        )
        self._notices = Notices(network, self._save)
        self._receiving = Receiving(
            inbox=config.transfers.inbox,
            reserve=self._reserve,
            # Receiving runs that move data at once (the rest are queued).
            queue=RunQueue(config.transfers.max_running, config.transfers.max_running_per_peer),
            store=self._store,
            network=network,
            notices=self._notices,
            machine=self._machine,
            activity=self._activity,
            spawn=self._spawn,
        )
        self._sending = Sending(
            network=network,
            machine=self._machine,
            activity=self._activity,
            spawn=self._spawn,
            save=self._save,
            spool_of=self.spool_of,
            fetching=self._fetching,
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Checks the inbox, loads the records and picks up where the last run stopped."""
        inbox = self.config.transfers.inbox
        await asyncio.to_thread(check_inbox, inbox, home=Path.home())
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
        self._receiving.stopping = True
        for spool in self._spools.values():
            spool.close()  # a Fetch waiting for upload bytes gives up now, not in 10 minutes
        for task in list(self._tasks):
            task.cancel()
        work = self._activity.tasks()
        for task in work:
            task.cancel()
        await asyncio.gather(*self._tasks, *work, return_exceptions=True)
        for transfer_id in list(self._unsaved):
            if (transfer := self._transfers.get(transfer_id)) is not None:
                with contextlib.suppress(OSError):
                    await self._save(transfer)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Runs a background task that stop() cancels."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)

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
            await asyncio.to_thread(self._receiving.recover_commits, transfer)
        await self._machine.restarted(transfer)
        if not transfer.outgoing and waits_for_link(transfer):
            self._receiving.start(transfer)

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
        return self._activity.progress(transfer)

    async def watch(self, transfer_id: str) -> AsyncIterator[Progress]:
        """The progress now, then at each change (at most every 0.25 s), until it ends."""
        transfer = self.get(transfer_id)
        live = self._activity.of(transfer)
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

    def _incoming(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        if transfer.outgoing:
            raise TransferInvalidState(
                "this device sends that transfer; only the receiver accepts or rejects it",
                transfer_id=transfer_id,
                state=transfer.state.value,
            )
        return transfer

    # --- records ----------------------------------------------------------------------------

    async def _save(self, transfer: Transfer) -> None:
        lock = self._save_locks.setdefault(transfer.id, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(self._store.save, transfer)
        self._unsaved.discard(transfer.id)

    async def _ended(self, transfer: Transfer) -> None:
        """A transfer reached a final state: what it held here is let go."""
        self._activity.ended(transfer)
        if transfer.upload:
            self.drop_spool(transfer.id)
            await asyncio.to_thread(shutil.rmtree, self.spool_dir(transfer.id), True)
        await self._forget_old()

    async def _forget_old(self) -> None:
        """Keeps the newest transfers.history_size finished transfers."""
        finished = [t for t in self.all() if t.state.final]
        for transfer in finished[self.config.transfers.history_size :]:
            self._transfers.pop(transfer.id, None)
            self._activity.forget(transfer.id)
            self._save_locks.pop(transfer.id, None)
            if transfer.request_id:
                self._requests.pop(transfer.request_id, None)
            await asyncio.to_thread(self._store.delete, transfer.id)

    # --- the peer link ----------------------------------------------------------------------

    def _peer_connected(self, peer_id: str) -> None:
        for transfer in list(self._transfers.values()):
            if transfer.peer_id != peer_id:
                continue
            if transfer.unsent_notice:
                self._spawn(
                    self._notices.notify_quietly(
                        transfer, transfer.unsent_notice, **final_notice_fields(transfer)
                    )
                )
            elif not transfer.outgoing and waits_for_link(transfer):
                self._receiving.start(transfer)

    async def _revoked(self, peer_id: str, permissions: Permissions | None) -> None:
        """The peer was forgotten (`permissions` None: every transfer with it ends) or lost the
        files permission (what it sends here ends). Ended here at once, whatever the peer does;
        it is told when the link still allows."""
        if permissions is None:
            error: KizunaError = PeerNotTrusted(
                peer_id, "this device forgot the peer; pair again to exchange files"
            )
        elif not permissions.files:
            error = PermissionDeniedByPeer(
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
            await self._activity.stop_work(transfer)
            if not transfer.outgoing:
                await self._receiving.clean(transfer)
            await self._machine.set_state(transfer, State.FAILED, error=error)
            if permissions is not None:
                await self._notices.notify_quietly(
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
            scan_sources, paths, self.config.transfers.max_files, skipped
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
        """Offers the transfer to its peer, then keeps it: one the peer refused never exists."""
        await self._sending.offer(transfer)
        self._transfers[transfer.id] = transfer
        if transfer.request_id:
            self._requests[transfer.request_id] = transfer.id
        await self._save(transfer)
        self._activity.changed(transfer)
        self._schedule_expiry(transfer)

    def _schedule_expiry(self, transfer: Transfer) -> None:
        async def expire() -> None:
            slack = _EXPIRY_SLACK_SECS if transfer.outgoing else 0.0
            await asyncio.sleep(max(0.0, transfer.expires + slack - time.time()))
            if transfer.state is not State.PENDING:
                return
            error = TransferExpired("the offer was not answered in time", transfer_id=transfer.id)
            await self._machine.set_state(transfer, State.FAILED, error=error)
            if not transfer.outgoing:
                await self._notices.notify_quietly(transfer, "expired")

        if transfer.expires:
            self._spawn(expire())

    async def serve_fetch(self, caller: str, request: Any) -> AsyncIterator[pb.FetchResponse]:
        """Streams the data the receiver asks for (the link port's Fetch; `Sending.serve`).
        Closing this stream closes that one at once, so its threads and counts are released
        when this call ends."""
        transfer = self._own(caller, request.transfer_id, outgoing=True)
        async with contextlib.aclosing(self._sending.serve(caller, transfer, request)) as stream:
            async for message in stream:
                yield message

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
            raise PermissionDeniedByPeer(
                "this device does not accept files from yours", peer_id=caller, permission="files"
            )
        try:
            free = await asyncio.to_thread(free_bytes, self.config.transfers.inbox)
            # Before any work on the entries: the declared total is checked against their sizes
            # next, so a lie about it is refused there.
            auto = permissions.auto_accept_files
            self._admit_offer(caller, len(request.files), request.total_bytes, free, auto=auto)
            # Off the event loop: checking 100,000 names takes most of a second.
            entries = await asyncio.to_thread(check_offer, request, self.config.transfers.max_files)
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
        self._activity.changed(transfer)
        self._schedule_expiry(transfer)
        if permissions.auto_accept_files:
            self._accepting.add(transfer.id)
            self._spawn(self._auto_accept(transfer))
        return pb.OfferResponse(expires_in_secs=timeout)

    def _admit_offer(
        self, caller: str, count: int, declared: int, free: int, *, auto: bool
    ) -> None:
        """The limits an offer must pass, against the transfers this device holds now."""
        admit_offer(
            self._transfers.values(),
            self._accepting,
            self.config.transfers,
            caller=caller,
            count=count,
            declared=declared,
            free=free,
            reserve=self._reserve,
            auto=auto,
        )

    async def admit_upload(self, entries: list[Entry]) -> None:
        """Refuses an app's upload beyond the same limits: uploads not ended count like
        offers waiting (their bytes are spooled under the data folder until the transfer
        ends), and the new one's bytes must fit that folder's free space minus the reserve,
        with what the other uploads have still to spool."""
        uploads = [t for t in self._transfers.values() if t.upload and not t.state.final]
        admit_upload(uploads, len(entries), self.config.transfers)
        declared = sum(e.size for e in entries)
        still_coming = sum(
            spool.remaining() for t in uploads if (spool := self._spools.get(t.id)) is not None
        )
        room = await asyncio.to_thread(free_bytes, self.config.paths.data_dir) - self._reserve
        admit_upload_bytes(declared, still_coming, room)

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
        require_acceptable(transfer)
        chosen = choose(transfer.entries, paths)
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
            transfer.renamed = await asyncio.to_thread(free_names, landing, sorted(tops))
        finally:
            landing.close()
        mark_accepted(transfer, chosen)
        await self._machine.set_state(transfer, State.NEGOTIATING)
        self._receiving.start(transfer)
        return transfer

    async def reject(self, transfer_id: str, reason: str) -> None:
        transfer = self._incoming(transfer_id)
        require_pending(transfer)
        message = reason.strip()[:200] or "the offer was rejected"
        error = TransferRejected(message, transfer_id=transfer_id)
        await self._machine.set_state(transfer, State.FAILED, error=error)
        await self._notices.notify_quietly(
            transfer, "rejected", reason=error.reason, message=message
        )

    # --- control (either side) --------------------------------------------------------------

    async def cancel(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        require_active(transfer)
        await self._activity.stop_work(transfer)
        if not transfer.outgoing:
            await self._receiving.clean(transfer)
        await self._machine.set_state(transfer, State.CANCELLED)
        await self._notices.notify_quietly(transfer, "cancelled")
        return transfer

    async def pause(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        require_pausable(transfer)
        await self._activity.stop_work(transfer)
        await self._machine.pause(transfer, Pause.LOCAL)
        await self._notices.notify_quietly(transfer, "paused")
        return transfer

    async def resume(self, transfer_id: str) -> Transfer:
        transfer = self.get(transfer_id)
        require_paused(transfer)
        await self._notices.notify(transfer, "resumed")  # PEER_UNREACHABLE: it stays paused
        await self._machine.resumed(transfer)
        if not transfer.outgoing:
            self._receiving.start(transfer)
        return transfer

    async def notified(self, caller: str, request: Any) -> pb.NotifyResponse:
        """The peer tells this device about a shared transfer."""
        transfer = self._own(caller, request.transfer_id, outgoing=None)
        notice = pb.Notice.Name(request.notice).removeprefix("NOTICE_").lower()
        if transfer.state.final:
            return pb.NotifyResponse()
        detail = sanitize_name(request.message)[:200]
        if transfer.outgoing and notice in ("accepted", "rejected", "expired", "completed"):
            await self._sending.answered(transfer, notice, request, detail)
        elif notice == "queued":
            if (
                transfer.outgoing
                and transfer.state is State.NEGOTIATING
                and not self._activity.of(transfer).fetches
            ):
                await self._machine.set_state(transfer, State.QUEUED)  # shown waiting on both sides
        elif notice in ("paused", "resumed") and transfer.state is State.PENDING:
            pass  # only the receiver's decision moves an offer on; the sender cannot
        elif notice == "paused":
            await self._activity.stop_work(transfer)
            await self._machine.pause(transfer, Pause.PEER)
        elif notice == "resumed":
            await self._machine.resumed(transfer)
            if not transfer.outgoing:
                self._receiving.start(transfer)
        elif notice in ("cancelled", "failed"):
            await self._activity.stop_work(transfer)
            if not transfer.outgoing:
                await self._receiving.clean(transfer)
            if notice == "cancelled":
                await self._machine.set_state(transfer, State.CANCELLED)
            else:
                error = KizunaError(detail or "the peer reported a failure")
                error.reason = known_reason(request.reason)
                await self._machine.set_state(transfer, State.FAILED, error=error)
        return pb.NotifyResponse()
