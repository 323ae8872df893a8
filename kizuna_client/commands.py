"""A command running on a peer, as `Kizuna.run_command` returns it (RunCommandStream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import grpc
import grpc.aio

from kizuna_client.errors import KizunaError
from kizuna_client.types import CommandResult
from kizuna_client.v1 import command_pb2, command_service_pb2

_EOF: Final[Any] = getattr(grpc.aio, "EOF")  # noqa: B009
#: Standard input is sent in pieces of at most this many bytes.
STDIN_CHUNK: Final = 1 << 20
_FINAL: Final = frozenset(
    {
        command_pb2.CommandRun.STATE_EXITED,
        command_pb2.CommandRun.STATE_FAILED,
        command_pb2.CommandRun.STATE_CANCELLED,
        command_pb2.CommandRun.STATE_TIMED_OUT,
        command_pb2.CommandRun.STATE_DENIED,
    }
)


@dataclass(frozen=True, slots=True)
class Output:
    """Bytes the program wrote, in the order it wrote them."""

    stream: Literal["stdout", "stderr"]
    data: bytes


def argument_value(value: str | int | bool) -> command_pb2.ArgumentValue:
    if isinstance(value, bool):
        return command_pb2.ArgumentValue(bool_value=value)
    if isinstance(value, int):
        return command_pb2.ArgumentValue(int_value=value)
    return command_pb2.ArgumentValue(string_value=value)


def argument_values(
    arguments: Mapping[str, str | int | bool] | None,
) -> dict[str, command_pb2.ArgumentValue]:
    return {name: argument_value(value) for name, value in (arguments or {}).items()}


class RemoteCommand:
    """A run on a peer: iterate it for output as the program writes it, `write` to its
    standard input, `close_stdin`, `cancel`; `wait` returns how it ended.

    `run` is the latest kizuna.v1.CommandRun (awaiting approval, running, then its end).
    Leaving ``async with`` before the run ended cancels it; the peer stops its whole process
    tree.
    """

    def __init__(self, call: Any, errors: Callable[[Any, grpc.aio.AioRpcError], Any]) -> None:
        self._call = call
        self._errors = errors
        self._writing = asyncio.Lock()
        self.run = command_pb2.CommandRun()

    async def _opened(self) -> None:
        await self._next()

    async def _next(self) -> command_service_pb2.RunCommandStreamResponse | None:
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise await self._errors(self._call, exc) from None
        if response is _EOF:
            if self.run.state not in _FINAL:
                raise KizunaError("the daemon ended the run without saying how it ended")
            return None
        if response.HasField("run"):
            self.run = response.run
        return response  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def ended(self) -> bool:
        return self.run.state in _FINAL

    async def __aiter__(self) -> AsyncIterator[Output]:
        while (response := await self._next()) is not None:
            part = response.WhichOneof("part")
            if part == "stdout":
                yield Output("stdout", response.stdout)
            elif part == "stderr":
                yield Output("stderr", response.stderr)

    async def write(self, data: bytes) -> None:
        """Sends bytes to the program's standard input (waits while the peer is busy)."""
        for offset in range(0, len(data), STDIN_CHUNK):
            await self._send(
                command_service_pb2.RunCommandStreamRequest(
                    stdin=data[offset : offset + STDIN_CHUNK]
                )
            )

    async def close_stdin(self) -> None:
        """Ends the program's standard input."""
        await self._send(
            command_service_pb2.RunCommandStreamRequest(
                close_stdin=command_service_pb2.CloseStdin()
            )
        )

    async def cancel(self) -> None:
        """Stops the run: the peer sends SIGTERM to its whole tree, SIGKILL 2 s later."""
        await self._send(
            command_service_pb2.RunCommandStreamRequest(cancel=command_service_pb2.CancelRun())
        )

    async def _send(self, request: command_service_pb2.RunCommandStreamRequest) -> None:
        if self.ended:
            return
        async with self._writing:
            # A run that ended takes nothing more; reading says how it ended.
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await self._call.write(request)

    async def wait(self) -> CommandResult:
        """Reads the rest of the output and returns how the run ended, with that output."""
        kept: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        async for chunk in self:
            kept[chunk.stream] += chunk.data
        return CommandResult.from_run(
            self.run, bytes(kept["stdout"]), bytes(kept["stderr"]), self.run.output_truncated
        )

    async def __aenter__(self) -> RemoteCommand:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self.ended:
            self._call.cancel()
