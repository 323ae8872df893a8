"""The call guard on a real grpc.aio server: token, error mapping, ending calls at a stop."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_client import InternalError, PeerNotFoundError, ShuttingDownError, error_from_rpc
from kizuna_server.calls.guard import CallPolicy, GuardedServer, InFlightCalls
from kizuna_server.errors import KizunaError

TIMEOUT = 20


class PeerNotFound(KizunaError):
    reason = "PEER_NOT_FOUND"


class Behaviours:
    """Handlers with the shapes the servicers have: unary and server-streaming."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def hang(self, request: bytes, context: Any) -> bytes:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return b"late"

    async def hang_stream(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        yield b"first"
        self.started.set()
        await self.release.wait()
        yield b"late"

    async def domain_error(self, request: bytes, context: Any) -> bytes:
        raise PeerNotFound("no peer ABC", peer_id="ABC")

    async def bug(self, request: bytes, context: Any) -> bytes:
        raise ValueError("secret internal detail")


@pytest.fixture
def token() -> str | None:
    return None


@pytest.fixture
async def served(
    token: str | None,
) -> AsyncIterator[tuple[grpc.aio.Channel, Behaviours, InFlightCalls]]:
    behaviours = Behaviours()
    calls = InFlightCalls()
    server = GuardedServer(
        grpc.aio.server(), CallPolicy(token=token, refusal=lambda: None, calls=calls)
    )
    handlers = {
        "Hang": grpc.unary_unary_rpc_method_handler(behaviours.hang),
        "HangStream": grpc.unary_stream_rpc_method_handler(behaviours.hang_stream),
        "DomainError": grpc.unary_unary_rpc_method_handler(behaviours.domain_error),
        "Bug": grpc.unary_unary_rpc_method_handler(behaviours.bug),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.T", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, behaviours, calls
    finally:
        behaviours.release.set()
        await channel.close(grace=None)
        await server.stop(0)


async def test_domain_error_becomes_its_status(served: Any) -> None:
    channel, _, _ = served
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await channel.unary_unary("/test.T/DomainError")(b"")
    error = error_from_rpc(failure.value)
    assert isinstance(error, PeerNotFoundError)
    assert error.metadata == {"peer_id": "ABC"}
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


async def test_unexpected_exception_is_internal_without_its_text(served: Any) -> None:
    channel, _, _ = served
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await channel.unary_unary("/test.T/Bug")(b"")
    error = error_from_rpc(failure.value)
    assert isinstance(error, InternalError)
    assert "secret" not in error.message and "/test.T/Bug" in error.message


@pytest.mark.parametrize("streaming", [False, True], ids=["unary", "stream"])
async def test_calls_running_past_the_grace_end_with_shutting_down(
    served: Any, streaming: bool
) -> None:
    channel, behaviours, calls = served
    if streaming:
        call = channel.unary_stream("/test.T/HangStream")(b"")
        assert await call.read() == b"first"
    else:
        call = channel.unary_unary("/test.T/Hang")(b"")
    await behaviours.started.wait()
    assert len(calls) == 1
    assert await calls.drain(0.05) == 1
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await asyncio.wait_for(call.read() if streaming else call, TIMEOUT)
    assert isinstance(error_from_rpc(failure.value), ShuttingDownError)
    assert len(calls) == 0


async def test_calls_that_finish_within_the_grace_are_untouched(served: Any) -> None:
    channel, behaviours, calls = served
    call = channel.unary_unary("/test.T/Hang")(b"")
    await behaviours.started.wait()
    drained = asyncio.ensure_future(calls.drain(TIMEOUT))
    behaviours.release.set()
    assert await call == b"late"
    assert await drained == 0


async def test_client_cancellation_is_not_reported_as_shutdown(served: Any) -> None:
    channel, behaviours, calls = served
    call = channel.unary_unary("/test.T/Hang")(b"")
    await behaviours.started.wait()
    call.cancel()
    async with asyncio.timeout(TIMEOUT):
        await behaviours.cancelled.wait()
    # The wrapper forgets the call in the same step, before this test runs again.
    assert len(calls) == 0
    assert calls.ending is False


@pytest.mark.parametrize("token", ["t0k3n"])
async def test_token_checked_on_every_method(served: Any) -> None:
    channel, behaviours, _ = served
    behaviours.release.set()
    hang = channel.unary_unary("/test.T/Hang")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await hang(b"")
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not behaviours.started.is_set()  # refused before the handler ran
    assert await hang(b"", metadata=(("authorization", "Bearer t0k3n"),)) == b"late"
