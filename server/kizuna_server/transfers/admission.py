"""What peers and apps can make this device hold (#33): the limits an offer or an upload must
pass before anything is stored, and the free space they are measured against.

What peers send cannot grow memory, disk or start-up time beyond what the configuration
allows. The checks take the transfers they count explicitly; `free_bytes` is the one
measurement (docs/transfers.md, "What a peer can make this device hold").
"""

from __future__ import annotations

import os
from collections.abc import Collection, Container
from pathlib import Path

from kizuna_server.config import TransfersConfig
from kizuna_server.errors import LimitExceeded
from kizuna_server.transfers.model import InsufficientStorage, State, Transfer


def free_bytes(folder: Path) -> int:
    """Free bytes where `folder` is (or will be created: the inbox appears at the first accept)."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


def waiting_for_answer(transfer: Transfer, accepting: Container[str]) -> bool:
    """An incoming offer waiting for a person's answer (`accepting`: the offers the peer's
    auto-accept permission is answering right now)."""
    return (
        not transfer.outgoing and transfer.state is State.PENDING and transfer.id not in accepting
    )


def admit_offer(
    transfers: Collection[Transfer],
    accepting: Container[str],
    limits: TransfersConfig,
    *,
    caller: str,
    count: int,
    declared: int,
    free: int,
    reserve: int,
    auto: bool,
) -> None:
    """Refuses an offer of `count` entries and `declared` bytes from `caller` beyond the
    pending limits (transfers.max_pending_*), or one whose bytes, with those of the offers
    already waiting, do not fit the inbox's `free` space minus the `reserve`.

    The offer counts (per peer, in all) are about offers waiting for a person: one the
    peer's auto-accept permission answers (`auto`) is not held to them. Entries are counted
    for every incoming transfer not moving data yet (pending or queued), whoever answers.
    """
    pending = [t for t in transfers if waiting_for_answer(t, accepting)]
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
    held = (t for t in transfers if not t.outgoing and t.state in (State.PENDING, State.QUEUED))
    waiting_entries = sum(len(t.entries) for t in held)
    if waiting_entries + count > limits.max_pending_files:
        raise LimitExceeded(
            f"offers waiting here already hold {waiting_entries} entries and this one "
            f"{count}; at most {limits.max_pending_files} wait at once "
            "(transfers.max_pending_files)",
            limit="transfers.max_pending_files",
        )
    room = free - reserve
    waiting_bytes = sum(t.total_bytes for t in pending)
    if declared + waiting_bytes > room:
        raise InsufficientStorage(
            f"{declared} bytes do not fit: {max(room, 0)} bytes are free in the inbox above "
            f"the reserve and offers waiting here already hold {waiting_bytes}",
            needed_bytes=declared,
            free_bytes=max(room, 0),
        )


def admit_upload(uploads: Collection[Transfer], count: int, limits: TransfersConfig) -> None:
    """Refuses an app's upload of `count` entries beyond the offer limits: `uploads` not ended
    count like offers waiting (their bytes are spooled until the transfer ends)."""
    if len(uploads) >= limits.max_pending_offers:
        raise LimitExceeded(
            f"{len(uploads)} uploads are not finished yet (transfers.max_pending_offers); "
            "upload again once one ended",
            limit="transfers.max_pending_offers",
        )
    spooling = sum(len(t.entries) for t in uploads)
    if spooling + count > limits.max_pending_files:
        raise LimitExceeded(
            f"unfinished uploads already hold {spooling} entries; at most "
            f"{limits.max_pending_files} at once (transfers.max_pending_files)",
            limit="transfers.max_pending_files",
        )


def admit_upload_bytes(declared: int, still_coming: int, room: int) -> None:
    """Refuses an upload of `declared` bytes that, with the `still_coming` bytes of the other
    uploads, does not fit the data folder's `room` (its free space minus the reserve)."""
    if declared + still_coming > room:
        raise InsufficientStorage(
            f"{declared} bytes do not fit: {max(room, 0)} bytes are free in the data folder "
            f"above the reserve and unfinished uploads still bring {still_coming}",
            needed_bytes=declared,
            free_bytes=max(room, 0),
        )
