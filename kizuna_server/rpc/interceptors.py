"""Guards every control-API call: bearer token (TCP only), shutdown gate, and error mapping.

Servicers raise `KizunaError`s; this is the one place they become gRPC statuses, so no servicer
maps errors itself. Unexpected exceptions become INTERNAL without leaking their text.
"""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
import grpc.aio

from kizuna_server.errors import KizunaError
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


class ApiInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Applies the token check, the shutdown gate and error mapping to every handler.

    `token`: the bearer token the TCP listener requires (None on the Unix socket, whose 0600
    mode in a 0700 directory is the access check). `refusal`: returns the error to refuse new
    calls with (for example SHUTTING_DOWN), or None to let them in.
    """

    def __init__(self, *, token: str | None, refusal: Callable[[], KizunaError | None]) -> None:
        self._token = token
        self._refusal = refusal

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
        return _wrap(handler, method, rejection, self._refusal)

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


def _wrap(
    handler: grpc.RpcMethodHandler[Any, Any],
    method: str,
    rejection: KizunaError | None,
    refusal: Callable[[], KizunaError | None],
) -> grpc.RpcMethodHandler[Any, Any]:
    always_open = method.startswith(_ALWAYS_OPEN)

    async def check(context: grpc.aio.ServicerContext[Any, Any]) -> None:
        if rejection is not None:
            await abort_with(context, rejection)
        refused = None if always_open else refusal()
        if refused is not None:
            await abort_with(context, refused)

    async def fail(context: grpc.aio.ServicerContext[Any, Any], exc: Exception) -> NoReturn:
        if isinstance(exc, KizunaError):
            await abort_with(context, exc)
        log.exception("unexpected error in %s", method)
        await abort_with(context, KizunaError(f"internal error in {method}; see the daemon log"))

    def unary_response(behavior: Behavior) -> Behavior:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await check(context)
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await fail(context, exc)

        return call

    def streaming_response(behavior: Behavior) -> Behavior:
        if not inspect.isasyncgenfunction(behavior):
            return unary_response(behavior)

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            await check(context)
            try:
                async for item in behavior(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await fail(context, exc)

        return call

    args = (handler.request_deserializer, handler.response_serializer)
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(unary_response(handler.unary_unary), *args)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(streaming_response(handler.unary_stream), *args)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(unary_response(handler.stream_unary), *args)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(streaming_response(handler.stream_stream), *args)
