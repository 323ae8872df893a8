"""A transfer's state machine: which state follows which, and what each change does.

Rules over `model.Transfer` only, with no grpc and no files, so they read (and test) without a
daemon. What a change does outside the transfer (write its record, wake its watchers, publish
its event, let go of what it held) the engine hands to `StateMachine` as callables.

Each side keeps its own copy of a shared transfer and tells the other with Notify. Who moves a
transfer where (`set_state` itself enforces two rules only: a change to the current state does
nothing, and a final state is never left):

    from                                    to            when
    pending                                 negotiating   the receiver accepts (sender: told)
    negotiating, paused                     queued        the receiver has no turn to run yet
                                                          (the sender: told, no Fetch served)
    pending, negotiating, queued, paused    transferring  the receiver's Fetch starts; the
                                                          sender serves one (pending: its
                                                          accepted notice was lost)
    negotiating, queued, transferring       paused        a person here (`pause`), the peer
                                                          (Notify) or the link (a broken Fetch;
                                                          the sender: no Fetch for IDLE_SECS)
    any state not final                     completed     every accepted file is verified
                                                          (the sender: the peer's hashes match)
    any state not final                     failed        an error, a rejection, an expiry, the
                                                          peer's trust or files permission lost
    any state not final                     cancelled     `cancel` on either side
    not final, not pending (at start)       paused        `restarted`: waiting for the link
                                                          unless a person or the peer paused it

A paused transfer keeps why in `Transfer.pause`: `LOCAL` (a person here), `PEER` (the peer) or
`LINK` (waiting for the link, which resumes it by itself). Resuming (`resumed`) leaves it paused
for the link until data moves again; any state but paused clears the reason. The `require_*`
checks are what a request may ask of each state (accept, reject, cancel, pause, resume, Fetch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Final

from kizuna_server.core.events import Payload
from kizuna_server.errors import KizunaError
from kizuna_server.transfers.model import (
    Failure,
    FileState,
    Pause,
    State,
    Transfer,
    TransferCancelled,
    TransferCompleted,
    TransferExpired,
    TransferFailed,
    TransferInvalidState,
    TransferPaused,
    TransferQueued,
    TransferStarted,
)

log = logging.getLogger(__name__)

#: Entries an incoming offer that ended unanswered keeps in its record (as events show).
KEPT_UNANSWERED_ENTRIES: Final = 100
#: The event each state is announced with (NEGOTIATING and PENDING have none of their own).
STATE_EVENTS: Final[dict[State, Callable[[Transfer], Payload]]] = {
    State.TRANSFERRING: TransferStarted,
    State.PAUSED: TransferPaused,
    State.QUEUED: TransferQueued,
    State.COMPLETED: TransferCompleted,
    State.FAILED: TransferFailed,
    State.CANCELLED: TransferCancelled,
}
#: The states a person may pause (pausing a paused transfer makes it paused here).
PAUSABLE: Final = frozenset({State.NEGOTIATING, State.QUEUED, State.TRANSFERRING, State.PAUSED})


class StateMachine:
    """Changes a transfer's state and does what the change does, in this order: the record is
    written, watchers are woken, the state's event is published, and a transfer that ended lets
    go of what it held.

    `save` writes a transfer's record (OSError when the data folder's disk refuses),
    `unsaved` remembers one a state change could not write, `changed` wakes its watchers,
    `publish` sends an event and `ended` releases what a transfer that reached a final state
    held (its live state, an upload's spool, old history).
    """

    def __init__(
        self,
        *,
        save: Callable[[Transfer], Awaitable[None]],
        unsaved: Callable[[Transfer], None],
        changed: Callable[[Transfer], None],
        publish: Callable[[Payload], None],
        ended: Callable[[Transfer], Awaitable[None]],
    ) -> None:
        self._save = save
        self._unsaved = unsaved
        self._changed = changed
        self._publish = publish
        self._ended = ended

    async def set_state(
        self, transfer: Transfer, state: State, *, error: KizunaError | None = None
    ) -> None:
        """Moves `transfer` to `state` (with the `error` that made it fail, if any)."""
        if transfer.state is state or transfer.state.final:
            return
        if state.final:
            end_record(transfer, state)
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
            self._unsaved(transfer)
        self._changed(transfer)
        event = STATE_EVENTS.get(state)
        if event is not None:
            self._publish(event(transfer))
        if state.final:
            await self._ended(transfer)

    async def pause(self, transfer: Transfer, why: Pause) -> None:
        """Pauses a transfer not ended yet, or records a new reason for a paused one."""
        if transfer.state.final:
            return
        transfer.pause = why
        if transfer.state is State.PAUSED:
            await self._save(transfer)
            return
        await self.set_state(transfer, State.PAUSED)
        transfer.pause = why
        await self._save(transfer)

    async def resumed(self, transfer: Transfer) -> None:
        """Resumed here or by the peer: still paused, waiting for the link, until data moves."""
        transfer.pause = Pause.LINK
        await self._save(transfer)

    async def restarted(self, transfer: Transfer) -> None:
        """After a restart of the daemon, a transfer that was past pending waits paused: for
        the link, unless a person or the peer had paused it. Written without an event: this
        runs while the daemon starts, before anyone can watch."""
        if transfer.pause is Pause.NONE:
            transfer.pause = Pause.LINK
        transfer.state = State.PAUSED
        await self._save(transfer)


def end_record(transfer: Transfer, state: State) -> None:
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


def mark_accepted(transfer: Transfer, chosen: Collection[int]) -> None:
    """The receiver's decision on each entry: moved (pending) if chosen, else skipped."""
    for index, entry in enumerate(transfer.entries):
        entry.state = FileState.PENDING if index in chosen else FileState.SKIPPED


def waits_for_link(transfer: Transfer) -> bool:
    """Paused only because the link is missing: it resumes by itself when the link is back."""
    return transfer.state is State.PAUSED and transfer.pause is Pause.LINK


def require_pending(transfer: Transfer) -> None:
    """Only an offer waiting for its answer is accepted or rejected."""
    if transfer.state is not State.PENDING:
        raise TransferInvalidState(
            f"the transfer is {transfer.state.value}, not pending",
            transfer_id=transfer.id,
            state=transfer.state.value,
        )


def require_acceptable(transfer: Transfer) -> None:
    """As `require_pending`, saying so when the offer is not pending because it expired."""
    if transfer.state is not State.PENDING and (
        transfer.error is not None and transfer.error.reason == "TRANSFER_EXPIRED"
    ):
        raise TransferExpired("the offer has expired", transfer_id=transfer.id)
    require_pending(transfer)


def require_active(transfer: Transfer) -> None:
    """Only a transfer that has not ended is cancelled."""
    if transfer.state.final:
        raise TransferInvalidState(
            f"the transfer is already {transfer.state.value}",
            transfer_id=transfer.id,
            state=transfer.state.value,
        )


def require_pausable(transfer: Transfer) -> None:
    """Only a running transfer (accepted, not ended) pauses."""
    if transfer.state not in PAUSABLE:
        raise TransferInvalidState(
            f"the transfer is {transfer.state.value}; only a running transfer pauses",
            transfer_id=transfer.id,
            state=transfer.state.value,
        )


def require_paused(transfer: Transfer) -> None:
    """Only a paused transfer resumes."""
    if transfer.state is not State.PAUSED:
        raise TransferInvalidState(
            f"the transfer is {transfer.state.value}, not paused",
            transfer_id=transfer.id,
            state=transfer.state.value,
        )


def require_servable(transfer: Transfer) -> None:
    """The sender serves a Fetch unless the transfer ended or a person or the peer paused it
    (paused for the link, it is the Fetch that resumes it)."""
    if transfer.state.final or (
        transfer.state is State.PAUSED and transfer.pause in (Pause.LOCAL, Pause.PEER)
    ):
        raise TransferInvalidState(
            f"the transfer is {transfer.state.value}",
            transfer_id=transfer.id,
            state=transfer.state.value,
        )
