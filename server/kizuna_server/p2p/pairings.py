"""Pairings in progress: a PairingSession (core/pairing.py) plus the call that carries it.

Both sides run the same exchange once the code exists: decisions from this device's person
come through `confirm`/`reject`/`cancel` (the API), the other side's arrive on the call, and
whatever this side decided is written to the call in order. The network supplies the hooks
that trust the peer on completion and publish events.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

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
from kizuna_server.p2p.wire import pairing_service_pb2 as pairing_pb2

log = logging.getLogger(__name__)

#: A kizuna.peer.v1.PairDecision.Decision value.
Decision = int
CONFIRM: Final[Decision] = pairing_pb2.PairDecision.DECISION_CONFIRM
REJECT: Final[Decision] = pairing_pb2.PairDecision.DECISION_REJECT
CANCEL: Final[Decision] = pairing_pb2.PairDecision.DECISION_CANCEL
#: Pairings in progress at once, in each direction. Incoming ones are also limited per source
#: address, per IPv6 /64 (one host can hold a whole /64 of addresses) and to one per device.
MAX_OPEN: Final = 16
MAX_OPEN_PER_ADDRESS: Final = 1
MAX_OPEN_PER_PREFIX: Final = 4
#: A peer hanging up this close to our own deadline expired (clocks and start times differ).
EXPIRY_SLACK_SECS: Final = 2.0


def source_of(host: str) -> tuple[str, str]:
    """The keys an incoming pairing is counted under: its address, and its network (the
    address itself for IPv4, the /64 for IPv6, where one host may use every address of one).

    >>> source_of("fd00:6b7a:1::2a")
    ('fd00:6b7a:1::2a', 'fd00:6b7a:1::/64')
    >>> source_of("::ffff:10.0.0.7")
    ('10.0.0.7', '10.0.0.7')
    """
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host, host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip), str(ip)
    return str(ip), str(ipaddress.IPv6Network((ip, 64), strict=False))


@dataclass(eq=False)
class Pairing:
    """One pairing in progress and its outbox of this side's decisions.

    `address` is where the other device is (shown to people); `source` and `prefix` are what an
    incoming pairing counts under for the limits and the lockout (see `source_of`).
    """

    session: PairingSession
    peer_name: str
    address: str
    peer_cert_pem: str
    source: str = ""
    prefix: str = ""
    #: How an incoming pairing's initiator described itself and where it listens; noted in the
    #: peer table once the code is shown (never before the caller proved its key).
    device_type: str = ""
    link_port: int = 0
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

    def admit(self, pairing: Pairing) -> None:
        """Adds a pairing, within the limits (LimitExceeded otherwise).

        When every incoming slot is taken, the oldest incoming pairing this device's person has
        not acted on gives way (it ends as failed, which counts against the device that started
        it): strangers who start pairings and stall cannot keep a person's real one out.
        Pairings this device starts have their own slots.
        """
        if pairing.session.id in self._open:
            raise PairingProtocolError(
                "a pairing_id already in use", field="pairing_id", fault="peer"
            )
        same_way = [p for p in self._open.values() if p.outgoing == pairing.outgoing]
        if not pairing.outgoing:
            self._admit_incoming(pairing, same_way)
        elif len(same_way) >= MAX_OPEN:
            raise LimitExceeded(
                f"{MAX_OPEN} pairings are already in progress; try again in a minute",
                limit="pairings",
            )
        self._open[pairing.session.id] = pairing

    def _admit_incoming(self, pairing: Pairing, incoming: list[Pairing]) -> None:
        if self.for_peer(pairing.session.peer_id) is not None:
            raise LimitExceeded(
                "a pairing with this device is already in progress", limit="pairings_per_device"
            )
        if pairing.source and sum(p.source == pairing.source for p in incoming) >= (
            MAX_OPEN_PER_ADDRESS
        ):
            raise LimitExceeded(
                f"{pairing.source} already has a pairing in progress",
                limit="pairings_per_address",
            )
        if pairing.prefix and sum(p.prefix == pairing.prefix for p in incoming) >= (
            MAX_OPEN_PER_PREFIX
        ):
            raise LimitExceeded(
                f"{pairing.prefix} already has {MAX_OPEN_PER_PREFIX} pairings in progress",
                limit="pairings_per_address",
            )
        if len(incoming) < MAX_OPEN:
            return
        idle = sorted(
            (p for p in incoming if not p.session.local_confirmed),
            key=lambda p: p.session.created,
        )
        if not idle:
            raise LimitExceeded(
                f"{MAX_OPEN} pairings are already in progress; try again in a minute",
                limit="pairings",
            )
        evicted = idle[0]
        log.info("pairing %s gives way to a newer one: nobody here answered it", evicted.session.id)
        evicted.outbox.put_nowait(REJECT)  # wakes its call, which tells the other side
        self._fail(evicted, "LIMIT_EXCEEDED", "newer pairing requests took its place")

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
