"""Guards every control-API call: bearer token (TCP only), shutdown gate, and error mapping.

Servicers raise `KizunaError`s; this is the one place they become gRPC statuses, so no servicer
maps errors itself. Unexpected exceptions become INTERNAL without leaking their text, and calls
cut short by a stop end with SHUTTING_DOWN. Each method is wrapped once, when `GuardedServer`
registers its service, rather than per call by an interceptor: the guard sits on every call's
path, so it should cost as little as a function call.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
import grpc.aio

from kizuna_server.calls.errors import status_for
from kizuna_server.errors import KizunaError, ShuttingDown

log = logging.getLogger(__name__)

#: Health and reflection stay reachable while the daemon stops, so probes see NOT_SERVING.
_ALWAYS_OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# The grpc stubs describe synchronous handlers; aio behaviours are coroutines and async
# generators, so the wrappers below are typed loosely on purpose.
Behavior = Callable[..., Any]
Context = grpc.aio.ServicerContext[Any, Any]


class ApiTokenInvalid(KizunaError):
    """The TCP control API was called without the bearer token or with a wrong one."""

    reason = "API_TOKEN_INVALID"


async def abort_with(context: Context, error: KizunaError) -> NoReturn:
    """Ends the call with the error's status code, message and ErrorInfo details."""
    code, message, details = status_for(error)
    await context.abort(code, message, trailing_metadata=(("grpc-status-details-bin", details),))


def _cancel_after(task: asyncio.Task[Any], _: asyncio.Task[None]) -> None:
    task.cancel()


async def _abort_quietly(context: Context, error: KizunaError) -> None:
    """Ends a call another task serves with `error` (grpc.aio allows the status to be sent
    while that task waits to write); a call that ended meanwhile is left alone."""
    try:
        await abort_with(context, error)
    except (grpc.aio.AbortError, grpc.aio.UsageError):
        pass
    except Exception:
        log.debug("a call could not be ended", exc_info=True)


class InFlightCalls:
    """The tasks serving calls right now, so a stop can wait for them and end stragglers clearly.

    A call still running when the grace period ends is cancelled and answered SHUTTING_DOWN,
    instead of grpc's anonymous CANCELLED.
    """

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], tuple[str, Context | None]] = {}
        self._ended: set[asyncio.Task[Any]] = set()
        self._aborting: set[asyncio.Task[None]] = set()  # held until done (the loop holds weakly)
        self.ending = False

    def __len__(self) -> int:
        return len(self._tasks)

    def enter(self, caller: str = "", context: Context | None = None) -> asyncio.Task[Any]:
        """Records the current task as serving a call by `caller` (a peer's device ID, or ''
        when the caller is not a peer); pass the task to `leave` when done."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = (caller, context)
        return task

    def leave(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        self._ended.discard(task)

    def end(self, caller: str, error: KizunaError) -> int:
        """Ends every call `caller` has in flight now with `error`, whatever the caller does: a
        forgotten peer that stopped reading a stream gets nothing more. Returns how many.

        The status is sent from a task of its own: cancelling the serving task alone stops our
        side, but grpc then never ends the call, and a handler blocked in a write (the peer does
        not read) cannot send it itself. Whatever was already queued still goes first.
        """
        mine = [
            (task, context)
            for task, (who, context) in self._tasks.items()
            if caller and who == caller and task not in self._ended
        ]
        for task, context in mine:
            self._ended.add(task)
            if context is not None:
                aborting = asyncio.get_running_loop().create_task(_abort_quietly(context, error))
                self._aborting.add(aborting)
                aborting.add_done_callback(self._aborting.discard)
                aborting.add_done_callback(functools.partial(_cancel_after, task))
            else:
                task.cancel()
        return len(mine)

    def was_ended(self, task: asyncio.Task[Any]) -> bool:
        """Whether `end` ended the call `task` serves (its status is sent already)."""
        return task in self._ended

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


@dataclass(frozen=True)
class CallPolicy:
    """What every call on one listener must satisfy.

    `token`: the bearer token the TCP listener requires (None on the Unix socket, whose 0600
    mode in a 0700 directory is the access check: grpcio shows a server nothing about who is on
    the other end of a Unix socket, so there is no caller uid to check here; docs/security.md).
    `refusal`: the error to refuse new calls with (for example SHUTTING_DOWN), or None. `calls`:
    where in-flight calls are tracked. `authorize`: checks the caller (the peer port's pin
    check), returning the error to refuse the call with, or None.
    """

    token: str | None
    refusal: Callable[[], KizunaError | None]
    calls: InFlightCalls
    authorize: Callable[[Context], KizunaError | None] | None = None
    #: Who is calling, for InFlightCalls.end (the peer ports: the caller's device ID).
    caller: Callable[[Context], str] | None = None


class Guard:
    """Wraps one method's behaviour with the policy's checks and the error mapping."""

    def __init__(self, method: str, policy: CallPolicy) -> None:
        self.method = method
        self.token = policy.token
        always_open = method.startswith(_ALWAYS_OPEN)
        self.refusal = None if always_open else policy.refusal
        # Health watches and reflection streams never end on their own; a stop does not wait
        # for them (closing the listeners ends them).
        self.calls = InFlightCalls() if always_open else policy.calls
        self.authorize = policy.authorize
        self.caller = policy.caller

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

    def _refused(self, context: Context) -> KizunaError | None:
        if self.authorize is not None:
            denied = self.authorize(context)
            if denied is not None:
                return denied
        if self.token is not None and not _bearer_matches(context, self.token):
            return ApiTokenInvalid(
                "missing or wrong API token: send 'authorization: Bearer <token>' with the token "
                "from the daemon's api-token file"
            )
        return self.refusal() if self.refusal is not None else None

    def _enter(self, context: Context) -> asyncio.Task[Any]:
        if self.caller is None:
            return self.calls.enter()
        return self.calls.enter(self.caller(context), context)

    async def _fail(self, context: Context, exc: BaseException, task: asyncio.Task[Any]) -> None:
        """Turns what ended a call into its status; returns only to let a cancellation through."""
        if isinstance(exc, grpc.aio.AbortError):
            return
        if isinstance(exc, asyncio.CancelledError):
            if self.calls.was_ended(task):
                return
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
        async def call(request: Any, context: Context) -> Any:
            refused = self._refused(context)
            if refused is not None:
                await abort_with(context, refused)
            task = self._enter(context)
            try:
                return await behavior(request, context)
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(context, exc, task)
                raise
            finally:
                self.calls.leave(task)

        return call

    def _stream(self, behavior: Behavior) -> Behavior:
        if not inspect.isasyncgenfunction(behavior):
            return self._unary(behavior)

        async def call(request: Any, context: Context) -> AsyncIterator[Any]:
            refused = self._refused(context)
            if refused is not None:
                await abort_with(context, refused)
            task = self._enter(context)
            try:
                async for item in behavior(request, context):
                    yield item
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(context, exc, task)
                raise
            finally:
                self.calls.leave(task)

        return call


def _bearer_matches(context: Context, token: str) -> bool:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, presented = text.partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), token.encode()
            )
    return False


class _GuardedGenericHandler(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """A generic handler whose method handlers come out guarded (built once per method)."""

    def __init__(self, inner: grpc.GenericRpcHandler[Any, Any], policy: CallPolicy) -> None:
        self._inner = inner
        self._policy = policy
        self._guarded: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        guarded = self._guarded.get(method)
        if guarded is None:
            handler = self._inner.service(handler_call_details)
            if handler is None:
                return None  # not this service's: never cached, so unknown names cost nothing
            guarded = self._guarded[method] = Guard(method, self._policy).wrap(handler)
        return guarded


class GuardedServer(grpc.aio.Server):
    """A grpc.aio server that registers every service with its methods guarded by a policy.

    Generated `add_XServicer_to_server` functions, health and reflection register on it as on
    any server; everything else is delegated to the real server.
    """

    def __init__(self, server: grpc.aio.Server, policy: CallPolicy) -> None:
        self._server = server
        self._policy = policy

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._server.add_generic_rpc_handlers(
            [_GuardedGenericHandler(h, self._policy) for h in generic_rpc_handlers]
        )

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        # Not in the grpc type stubs, but present on grpc.aio servers since 1.62.
        server: Any = self._server
        server.add_registered_method_handlers(
            service_name,
            {
                name: Guard(f"/{service_name}/{name}", self._policy).wrap(handler)
                for name, handler in method_handlers.items()
            },
        )

    def add_insecure_port(self, address: str) -> int:
        return self._server.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return self._server.add_secure_port(address, server_credentials)

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None = None) -> None:
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        return await self._server.wait_for_termination(timeout)
