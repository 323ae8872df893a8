"""Which accepted transfers move data now: at most `total` at once and `per_peer` with one peer.

The rest wait in the order they asked. Memory and threads then grow with the limits, not with
how many transfers people (or peers) start; one runs on the event loop, no I/O here.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque


class RunQueue:
    """Turns to run, granted first come, first served among those whose peer has room."""

    def __init__(self, total: int, per_peer: int) -> None:
        self._total = total
        self._per_peer = per_peer
        self._running: Counter[str] = Counter()
        self._waiting: deque[tuple[str, asyncio.Future[None]]] = deque()

    def running(self, peer: str | None = None) -> int:
        """How many hold a turn (with `peer`, or in all)."""
        return self._running[peer] if peer is not None else self._running.total()

    def waiting(self) -> int:
        return sum(1 for _, turn in self._waiting if not turn.done())

    def try_enter(self, peer: str) -> bool:
        """Takes a turn now if there is room (nobody who could run is waiting: they are woken
        as soon as room appears); pair it with `leave`."""
        if not self._has_room(peer):
            return False
        self._running[peer] += 1
        return True

    async def wait_turn(self, peer: str) -> None:
        """Waits for a turn after `try_enter` said no; pair it with `leave` once it returns."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((peer, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave(peer)  # granted just as the waiter was cancelled: give it back
            else:
                turn.cancel()
                self._waiting = deque(w for w in self._waiting if w[1] is not turn)
            raise

    def leave(self, peer: str) -> None:
        """Gives a turn back and hands room to the first waiters that fit."""
        self._running[peer] -= 1
        if self._running[peer] <= 0:
            del self._running[peer]
        for waiter in list(self._waiting):
            waiting_peer, turn = waiter
            if turn.done():
                self._waiting.remove(waiter)
            elif self._has_room(waiting_peer):
                self._waiting.remove(waiter)
                self._running[waiting_peer] += 1
                turn.set_result(None)

    def _has_room(self, peer: str) -> bool:
        return self._running.total() < self._total and self._running[peer] < self._per_peer
