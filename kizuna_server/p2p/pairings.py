"""Pairings in progress: a PairingSession (core/pairing.py) plus the call that carries it.

Both sides run the same exchange once the code exists: decisions from this device's person
come through `confirm`/`reject`/`cancel` (the API), the other side's arrive on the call, and
whatever this side decided is written to the call in order. The network supplies the hooks
that trust the peer on completion and publish events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from kizuna.peer.v1 import pairing_service_pb2 as pairing_pb2
from kizuna_server.core.pairing import (
    Confirm,
    PairingExpired,
    PairingNotFound,
    PairingProtocolError,
    PairingRejected,
    PairingSession,
    Role,
    State,
)
from kizuna_server.core.peers import PairingSnapshot
from kizuna_server.errors import KizunaError, LimitExceeded

log = logging.getLogger(__name__)

#: A kizuna.peer.v1.PairDecision.Decision value.
Decision = int
CONFIRM: Final[Decision] = pairing_pb2.PairDecision.DECISION_CONFIRM
REJECT: Final[Decision] = pairing_pb2.PairDecision.DECISION_REJECT
CANCEL: Final[Decision] = pairing_pb2.PairDecision.DECISION_CANCEL
#: Pairings in progress at once, in each direction, and incoming ones per source address.
MAX_OPEN: Final = 16
MAX_OPEN_PER_ADDRESS: Final = 2
#: A peer hanging up this close to our own deadline expired (clocks and start times differ).
EXPIRY_SLACK_SECS: Final = 2.0


@dataclass(eq=False)
class Pairing:
    """One pairing in progress and its outbox of this side's decisions."""

    session: PairingSession
    peer_name: str
    address: str
    peer_cert_pem: str
    outbox: asyncio.Queue[Decision] = field(default_factory=asyncio.Queue)
    error_reason: str = ""
    error_message: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def outgoing(self) -> bool:
        return self.session.role is Role.INITIATOR

    def snapshot(self) -> PairingSnapshot:
        session = self.session
        return PairingSnapshot(
            id=session.id,
            peer_id=session.peer_id,
            peer_name=self.peer_name,
            outgoing=self.outgoing,
            state=session.state.value,
            code=session.code or "",
            created=session.created,
            expires=session.expires,
            error_reason=self.error_reason,
            error_message=self.error_message or session.failure,
        )


class Hooks:
    """What the exchange needs from the network."""

    def __init__(
        self,
        *,
        completed: Callable[[Pairing], Awaitable[None]],
        ended: Callable[[Pairing], None],
    ) -> None:
        self.completed = completed
        self.ended = ended


class Pairings:
    """The open pairings by ID; every method runs on the event loop."""

    def __init__(self, hooks: Hooks) -> None:
        self._hooks = hooks
        self._open: dict[str, Pairing] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self) -> list[Pairing]:
        """Open pairings, oldest first."""
        return sorted(self._open.values(), key=lambda p: p.session.created)

    def get(self, pairing_id: str) -> Pairing:
        pairing = self._open.get(pairing_id)
        if pairing is None:
            raise PairingNotFound(pairing_id)
        return pairing

    def for_peer(self, peer_id: str) -> Pairing | None:
        return next((p for p in self._open.values() if p.session.peer_id == peer_id), None)

    def admit(self, pairing: Pairing, *, address: str = "") -> None:
        """Adds a pairing, within the limits (LimitExceeded otherwise)."""
        same_way = [p for p in self._open.values() if p.outgoing == pairing.outgoing]
        if len(same_way) >= MAX_OPEN:
            raise LimitExceeded(
                f"{MAX_OPEN} pairings are already in progress; try again in a minute",
                limit="pairings",
            )
        if address and sum(p.address == address for p in same_way) >= MAX_OPEN_PER_ADDRESS:
            raise LimitExceeded(
                f"{address} already has {MAX_OPEN_PER_ADDRESS} pairings in progress",
                limit="pairings_per_address",
            )
        if pairing.session.id in self._open:
            raise PairingProtocolError(
                "a pairing_id already in use", field="pairing_id", fault="peer"
            )
        self._open[pairing.session.id] = pairing

    # --- this side's decisions (API) ------------------------------------------------------------

    async def confirm(self, pairing_id: str, typed_code: str | None) -> PairingSnapshot:
        pairing = self.get(pairing_id)
        try:
            pairing.session.confirm(now=time.time(), typed_code=typed_code)
        except PairingProtocolError as exc:
            if pairing.session.finished:
                pairing.outbox.put_nowait(REJECT)
                self._finish(pairing, "INVALID_ARGUMENT", exc.message)
            raise
        except (PairingExpired, PairingRejected):
            self._finish_if_over(pairing)
            raise
        if pairing.session.state is State.COMPLETED:
            await self._complete(pairing)  # trust first, so the peer can connect at once
        pairing.outbox.put_nowait(CONFIRM)
        snapshot = pairing.snapshot()
        if pairing.session.finished:
            self._finish(pairing)
        return snapshot

    def reject(self, pairing_id: str) -> None:
        pairing = self.get(pairing_id)
        try:
            pairing.session.reject(now=time.time())
        finally:
            self._finish_if_over(pairing)
        pairing.outbox.put_nowait(REJECT)

    def cancel(self, pairing_id: str) -> None:
        pairing = self.get(pairing_id)
        if not pairing.outgoing:
            raise PairingProtocolError(
                "only the device that asked can cancel a pairing; reject it instead",
                field="pairing_id",
                fault="local",
            )
        try:
            pairing.session.cancel(now=time.time())
        finally:
            self._finish_if_over(pairing)
        pairing.outbox.put_nowait(CANCEL)

    # --- the call ---------------------------------------------------------------------------

    async def exchange(
        self,
        pairing: Pairing,
        read: Callable[[], Awaitable[Decision | None]],
        write: Callable[[Decision], Awaitable[None]],
    ) -> None:
        """Runs the decision phase until the pairing ends; writes this side's decisions."""
        reader = asyncio.get_running_loop().create_task(self._read(pairing, read))
        taking: asyncio.Future[Decision] | None = None
        try:
            while not pairing.session.finished:
                taking = asyncio.ensure_future(pairing.outbox.get())
                remaining = max(0.0, pairing.session.expires - time.time())
                done, _ = await asyncio.wait(
                    {taking, reader}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if taking in done:
                    await write(taking.result())
                    continue
                taking.cancel()
                if reader in done:
                    if not pairing.session.finished:
                        self._fail(pairing, "PEER_UNREACHABLE", "the other device went away")
                    break
                if pairing.session.expire_if_due(time.time()):
                    self._finish(pairing, "PAIRING_EXPIRED")
            while not pairing.outbox.empty():  # this side's last word (confirm, reject, cancel)
                with contextlib.suppress(Exception):
                    await write(pairing.outbox.get_nowait())
        finally:
            if taking is not None and not taking.done():
                taking.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if not pairing.session.finished:
                self._fail(pairing, "PEER_UNREACHABLE", "the pairing was interrupted")
            self._finish(pairing)

    async def _read(self, pairing: Pairing, read: Callable[[], Awaitable[Decision | None]]) -> None:
        session = pairing.session
        while not session.finished:
            decision = await read()
            if decision is None:
                return
            now = time.time()
            try:
                if decision == CONFIRM:
                    session.on_confirm(Confirm(session.id), now=now)
                    if session.state is State.COMPLETED:
                        await self._complete(pairing)
                elif decision == REJECT:
                    session.reject(now=now, by_peer=True)
                    self._finish(pairing, "PAIRING_REJECTED")
                elif decision == CANCEL and not pairing.outgoing:
                    session.cancel(now=now, by_peer=True)
                    self._finish(pairing, "PAIRING_REJECTED")
                else:
                    raise PairingProtocolError(
                        f"decision {decision}", field="decision", fault="peer"
                    )
            except KizunaError as exc:
                self._fail(pairing, exc.reason, f"the other device sent {exc.message}")
                return

    # --- endings ----------------------------------------------------------------------------

    async def _complete(self, pairing: Pairing) -> None:
        await self._hooks.completed(pairing)
        self._finish(pairing)

    def _fail(self, pairing: Pairing, reason: str, message: str) -> None:
        if not pairing.session.finished:
            # The other side hangs up when its own deadline passes, which may be a moment
            # before ours: that is an expiry, not a failure.
            now = time.time()
            if now >= pairing.session.expires - EXPIRY_SLACK_SECS:
                now = max(now, pairing.session.expires)
            if pairing.session.expire_if_due(now):
                self._finish(pairing, "PAIRING_EXPIRED")
                return
        if not pairing.session.finished:
            pairing.session.state = State.FAILED
            pairing.session.failure = message
        self._finish(pairing, reason, message)

    def _finish_if_over(self, pairing: Pairing) -> None:
        if pairing.session.finished:
            reason = {
                State.EXPIRED: "PAIRING_EXPIRED",
                State.REJECTED: "PAIRING_REJECTED",
                State.CANCELLED: "PAIRING_REJECTED",
            }.get(pairing.session.state, "")
            self._finish(pairing, reason)

    def _finish(self, pairing: Pairing, reason: str = "", message: str = "") -> None:
        """Ends a finished pairing once: removes it, tells the network, wakes waiters."""
        if pairing.done.is_set() or not pairing.session.finished:
            return
        if pairing.session.state is not State.COMPLETED:
            pairing.error_reason = pairing.error_reason or reason or "PAIRING_REJECTED"
            pairing.error_message = pairing.error_message or message or pairing.session.failure
        self._open.pop(pairing.session.id, None)
        pairing.done.set()
        self._hooks.ended(pairing)

    def expire_due(self) -> None:
        """Expires pairings whose time is up (the exchange loops also do, on their own)."""
        for pairing in list(self._open.values()):
            if pairing.session.expire_if_due(time.time()):
                self._finish(pairing, "PAIRING_EXPIRED")

    def close_pairing(self, pairing: Pairing, error: KizunaError) -> None:
        """Ends a pairing whose call failed; nothing happens to one that already ended."""
        if pairing.done.is_set() or pairing.session.id not in self._open:
            return
        self._fail(pairing, error.reason, error.message)

    def close_all(self) -> None:
        """The daemon stops: every open pairing fails."""
        for pairing in list(self._open.values()):
            self._fail(pairing, "SHUTTING_DOWN", "the daemon stopped")
