"""What a failed call to the peer means here: an error to show, or a pause until the link.

A peer's refusal arrives as a status with a reason in its trailers; a broken call as a bare
status or as a CancelledError from a channel closed under it. These map them once, so both
sides treat the same failure the same way, and no reason this version does not know (peers
may be newer, or lie) reaches the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Final, TypeVar

import grpc
import grpc.aio

from kizuna_server.calls.errors import error_info_from_trailers, reason_from_trailers, reason_names
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.peers import sanitize_name
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.tls import PeerUnreachable
from kizuna_server.transfers.model import Pause, State

T = TypeVar("T")

#: A peer's refusal is shown up to this many characters (it names the limit and what to do).
_PEER_MESSAGE_CHARS: Final = 300
_REASONS: Final = frozenset(reason_names())


class Cancelled(KizunaError):
    """The other side cancelled (learnt from a refused Fetch when its notice was lost)."""

    reason = "TRANSFER_INVALID_STATE"


def cancelled_here() -> bool:
    """Whether a CancelledError is this task's own cancellation. grpc.aio also raises it in
    whoever awaits a call whose channel was closed (the link went down), which is a broken call,
    not a reason for the task to end."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


async def peer_call(call: Awaitable[T]) -> T:
    """Awaits a unary call on the link; a channel closed under it fails like a dropped link."""
    try:
        return await call
    except asyncio.CancelledError:
        if cancelled_here():
            raise
        raise PeerUnreachable("the link to the peer closed during the call") from None


def peer_error(exc: grpc.aio.AioRpcError, peer_id: str) -> KizunaError:
    """A refused or failed Offer: the peer's reason and what the sender can act on, or
    PEER_UNREACHABLE when it did not answer."""
    reason = reason_from_trailers(exc.trailing_metadata())
    if not reason or exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return PeerUnreachable(
            f"peer {format_device_id(peer_id)} did not answer: {exc.details()}", peer_id=peer_id
        )
    _, details = error_info_from_trailers(exc.trailing_metadata())
    shown = sanitize_name(exc.details() or "", limit=_PEER_MESSAGE_CHARS)
    error = KizunaError(f"the peer refused: {shown}")
    error.reason = known_reason(reason)
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


def fetch_outcome(exc: grpc.aio.AioRpcError) -> KizunaError | Pause:
    """What a broken Fetch call means for the receiver."""
    reason, metadata = error_info_from_trailers(exc.trailing_metadata())
    if reason == "TRANSFER_INVALID_STATE":
        state = metadata.get("state", "")
        if state == State.CANCELLED.value:
            return Cancelled("the sender cancelled the transfer")
        if state == State.FAILED.value:
            error = KizunaError("the transfer failed on the sender")
            error.reason = "TRANSFER_INVALID_STATE"
            return error
        return Pause.PEER
    if not reason or reason in ("PEER_UNREACHABLE", "SHUTTING_DOWN", "LIMIT_EXCEEDED"):
        return Pause.LINK  # LIMIT_EXCEEDED: the sender serves enough fetches now; try again
    error = KizunaError(f"the sender stopped: {sanitize_name(exc.details() or '')}")
    error.reason = known_reason(reason)
    return error


def known_reason(reason: str) -> str:
    """A reason a peer sent, if this version knows it; INTERNAL otherwise (peers may be newer,
    or lie; an unknown name must never reach the API)."""
    return reason if reason in _REASONS else "INTERNAL"
