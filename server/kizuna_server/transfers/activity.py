"""What transfers have while they are on this daemon: their tasks, watchers and throughput.

Nothing here is saved: a restart begins with none of it. The receiving runner and the Fetch
calls being served register their tasks here, so that a cancel, a pause or a stop of the daemon
finds and stops them whichever side started them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kizuna_server.core.events import Payload
from kizuna_server.transfers.model import Meter, Progress, Transfer, TransferProgressed

log = logging.getLogger(__name__)

#: Progress events per transfer at most this often.
PROGRESS_INTERVAL_SECS: Final = 0.25


@dataclass(slots=True)
class Live:
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


class Activity:
    """Every transfer's `Live`, made when first needed, and the announcing of its changes."""

    def __init__(self, publish: Callable[[Payload], None]) -> None:
        self._publish = publish
        self._live: dict[str, Live] = {}

    def of(self, transfer: Transfer) -> Live:
        live = self._live.get(transfer.id)
        if live is None:
            live = self._live[transfer.id] = Live()
        return live

    def forget(self, transfer_id: str) -> None:
        self._live.pop(transfer_id, None)

    def tasks(self) -> list[asyncio.Task[Any]]:
        """Every receiving runner, then every Fetch being served (what a stop cancels)."""
        runners = [live.runner for live in self._live.values() if live.runner is not None]
        fetches = [task for live in self._live.values() for task in live.fetches]
        return [*runners, *fetches]

    async def stop_work(self, transfer: Transfer) -> None:
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

    def ended(self, transfer: Transfer) -> None:
        """The transfer reached a final state: watchers stop waiting for the next report."""
        live = self._live.get(transfer.id)
        if live is not None:
            live.ended.set()

    def changed(self, transfer: Transfer, *, progress: bool = False) -> None:
        """Wakes the transfer's watchers; with `progress`, also measures the throughput and
        publishes a progress event (at most every PROGRESS_INTERVAL_SECS)."""
        live = self.of(transfer)
        live.changed.set()
        if progress:
            now = time.monotonic()
            live.meter.add(transfer.bytes_done, now)
            if now - live.last_progress >= PROGRESS_INTERVAL_SECS:
                live.last_progress = now
                self._publish(TransferProgressed(self.progress(transfer)))

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


def log_failure(task: asyncio.Task[Any]) -> None:
    """A background task that raised is a bug: say so instead of dropping it silently."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("transfers: a background task failed", exc_info=exc)
