"""Guards every control-API call: bearer token (TCP only), shutdown gate, and error mapping.

Servicers raise `KizunaError`s; this is the one place they become gRPC statuses, so no servicer
maps errors itself. Unexpected exceptions become INTERNAL without leaking their text, and calls
cut short by a stop end with SHUTTING_DOWN.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
import grpc.aio

from kizuna_server.errors import KizunaError, ShuttingDown
from kizuna_server.rpc.errors import status_for

log = logging.getLogger(__name__)

#: Health and reflection stay reachable while the daemon stops, so probes see NOT_SERVING.
_ALWAYS_OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# The grpc stubs describe synchronous handlers; aio behaviours are coroutines and async
# generators, so the wrappers below are typed loosely on purpose.
Behavior = Callable[..., Any]


class ApiTokenInvalid(KizunaError):
    """The TCP control API was called without the bearer token or with a wrong one."""

    reason = "API_TOKEN_INVALID"


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: KizunaError) -> NoReturn:
    """Ends the call with the error's status code, message and ErrorInfo details."""
    code, message, details = status_for(error)
    await context.abort(code, message, trailing_metadata=(("grpc-status-details-bin", details),))


class InFlightCalls:
    """The tasks serving calls right now, so a stop can wait for them and end stragglers clearly.

    A call still running when the grace period ends is cancelled and answered SHUTTING_DOWN,
    instead of grpc's anonymous CANCELLED.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ending = False

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)

    def discard(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)

    async def drain(self, grace: float) -> int:
        """Waits up to `grace` seconds for in-flight calls; ends the rest. Returns how many."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        self.ending = True
        stragglers = set(self._tasks)
        for task in stragglers:
            task.cancel()
        if stragglers:
            await asyncio.wait(stragglers)
        return len(stragglers)


class ApiInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Applies the token check, the shutdown gate and error mapping to every handler.

    `token`: the bearer token the TCP listener requires (None on the Unix socket, whose 0600
    mode in a 0700 directory is the access check). `refusal`: returns the error to refuse new
    calls with (for example SHUTTING_DOWN), or None to let them in.
    """

    def __init__(
        self,
        *,
        token: str | None,
        refusal: Callable[[], KizunaError | None],
        calls: InFlightCalls,
    ) -> None:
        self._token = token
        self._refusal = refusal
        self._calls = calls

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        rejection: KizunaError | None = None
        if self._token is not None and not self._token_ok(handler_call_details):
            rejection = ApiTokenInvalid(
                "missing or wrong API token: send 'authorization: Bearer <token>' with the token "
                "from the daemon's api-token file"
            )
        return _Guard(method, rejection, self._refusal, self._calls).wrap(handler)

    def _token_ok(self, details: grpc.HandlerCallDetails) -> bool:
        assert self._token is not None
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                text = value.decode() if isinstance(value, bytes) else value
                scheme, _, presented = text.partition(" ")
                return scheme.lower() == "bearer" and hmac.compare_digest(
                    presented.strip().encode(), self._token.encode()
                )
        return False


class _Guard:
    """Wraps one method's behaviour with the checks and the error mapping."""

    def __init__(
        self,
        method: str,
        rejection: KizunaError | None,
        refusal: Callable[[], KizunaError | None],
        calls: InFlightCalls,
    ) -> None:
        self.method = method
        self.rejection = rejection
        self.refusal = None if method.startswith(_ALWAYS_OPEN) else refusal
        self.calls = calls

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        args = (handler.request_deserializer, handler.response_serializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(self._unary(handler.unary_unary), *args)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(self._stream(handler.unary_stream), *args)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(self._unary(handler.stream_unary), *args)
        assert handler.stream_stream is not None
        return grpc.stream_stream_rpc_method_handler(self._stream(handler.stream_stream), *args)

    async def _check(self, context: grpc.aio.ServicerContext[Any, Any]) -> asyncio.Task[Any]:
        if self.rejection is not None:
            await abort_with(context, self.rejection)
        refused = self.refusal() if self.refusal is not None else None
        if refused is not None:
            await abort_with(context, refused)
        task = asyncio.current_task()
        assert task is not None
        self.calls.add(task)
        return task

    async def _fail(self, context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> None:
        """Turns what ended a call into its status; returns only to let a cancellation through."""
        if isinstance(exc, grpc.aio.AbortError):
            return
        if isinstance(exc, asyncio.CancelledError):
            if self.calls.ending:
                await abort_with(
                    context, ShuttingDown("the daemon stopped before this call finished")
                )
            return  # the client went away, or grpc cancelled the call
        if isinstance(exc, KizunaError):
            await abort_with(context, exc)
        log.error("unexpected error in %s", self.method, exc_info=exc)
        await abort_with(
            context, KizunaError(f"internal error in {self.method}; see the daemon log")
        )

    def _unary(self, behavior: Behavior) -> Behavior:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            task = await self._check(context)
            try:
                return await behavior(request, context)
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(context, exc)
                raise
            finally:
                self.calls.discard(task)

        return call

    def _stream(self, behavior: Behavior) -> Behavior:
        if not inspect.isasyncgenfunction(behavior):
            return self._unary(behavior)

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            task = await self._check(context)
            try:
                async for item in behavior(request, context):
                    yield item
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(context, exc)
                raise
            finally:
                self.calls.discard(task)

        return call
