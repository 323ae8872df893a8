"""kizuna.v1.CommandService: apps run commands on peers and answer approval requests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.duration_pb2 import Duration

from kizuna_client.v1 import command_pb2, command_service_pb2, event_pb2
from kizuna_client.v1 import command_service_pb2_grpc as service_grpc
from kizuna_server.calls.errors import error_to_proto
from kizuna_server.commands.allowlist import Value
from kizuna_server.commands.engine import EOF, MAX_STDIN_CHUNK, PeerRun
from kizuna_server.commands.model import (
    Approval,
    CommandApprovalRequested,
    CommandExecuted,
    CommandRun,
    CommandStarted,
    RunState,
)
from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import InvalidArgument
from kizuna_server.p2p.wire import command_service_pb2 as wire
from kizuna_server.rpc.convert import register_event, timestamp

if TYPE_CHECKING:
    from kizuna_server.commands.engine import Commands

#: Output RunCommand returns, per stream; the rest is counted and dropped (output_truncated).
MAX_RESPONSE_OUTPUT: Final = 4 << 20

_STATES: Final = {
    RunState.AWAITING_APPROVAL: command_pb2.CommandRun.STATE_AWAITING_APPROVAL,
    RunState.RUNNING: command_pb2.CommandRun.STATE_RUNNING,
    RunState.EXITED: command_pb2.CommandRun.STATE_EXITED,
    RunState.FAILED: command_pb2.CommandRun.STATE_FAILED,
    RunState.CANCELLED: command_pb2.CommandRun.STATE_CANCELLED,
    RunState.TIMED_OUT: command_pb2.CommandRun.STATE_TIMED_OUT,
    RunState.DENIED: command_pb2.CommandRun.STATE_DENIED,
}
_APPROVALS: Final = {
    Approval.NOT_NEEDED: command_pb2.CommandRun.APPROVAL_NOT_NEEDED,
    Approval.PENDING: command_pb2.CommandRun.APPROVAL_PENDING,
    Approval.GRANTED: command_pb2.CommandRun.APPROVAL_GRANTED,
    Approval.DENIED: command_pb2.CommandRun.APPROVAL_DENIED,
    Approval.EXPIRED: command_pb2.CommandRun.APPROVAL_EXPIRED,
}
_TYPES: Final = {
    wire.ParameterSpec.TYPE_STRING: command_pb2.CommandParameter.TYPE_STRING,
    wire.ParameterSpec.TYPE_INTEGER: command_pb2.CommandParameter.TYPE_INTEGER,
    wire.ParameterSpec.TYPE_BOOLEAN: command_pb2.CommandParameter.TYPE_BOOLEAN,
    wire.ParameterSpec.TYPE_CHOICE: command_pb2.CommandParameter.TYPE_CHOICE,
    wire.ParameterSpec.TYPE_PATH: command_pb2.CommandParameter.TYPE_PATH,
}
_RISKS: Final = {
    wire.CommandSpec.RISK_LOW: command_pb2.COMMAND_RISK_LOW,
    wire.CommandSpec.RISK_MEDIUM: command_pb2.COMMAND_RISK_MEDIUM,
    wire.CommandSpec.RISK_HIGH: command_pb2.COMMAND_RISK_HIGH,
}


# --- conversions ------------------------------------------------------------------------------


def run_to_proto(run: CommandRun) -> command_pb2.CommandRun:
    message = command_pb2.CommandRun(
        id=run.id,
        peer_id=run.peer_id,
        peer_name=run.peer_name,
        command_id=run.command_id,
        arguments={name: _argument(value) for name, value in run.arguments.items()},
        positional_arguments=run.positional,
        direction=(
            command_pb2.CommandRun.DIRECTION_OUTGOING
            if run.outgoing
            else command_pb2.CommandRun.DIRECTION_INCOMING
        ),
        state=_STATES[run.state],
        approval=_APPROVALS[run.approval],
        exit_code=run.exit_code,
        stdout_bytes=run.stdout_bytes,
        stderr_bytes=run.stderr_bytes,
        output_truncated=run.truncated,
    )
    if run.start_time:
        message.start_time.CopyFrom(timestamp(run.start_time))
        duration = Duration()
        duration.FromMicroseconds(round(run.seconds * 1e6))
        message.duration.CopyFrom(duration)
    if run.end_time:
        message.end_time.CopyFrom(timestamp(run.end_time))
    if run.approval_deadline and run.state is RunState.AWAITING_APPROVAL:
        message.approval_deadline.CopyFrom(timestamp(run.approval_deadline))
    if run.error is not None:
        message.error.CopyFrom(error_to_proto(run.error))
    return message


def command_to_proto(spec: wire.CommandSpec) -> command_pb2.Command:
    timeout = Duration()
    timeout.FromMilliseconds(spec.timeout_ms)
    return command_pb2.Command(
        id=spec.id,
        description=spec.description,
        parameters=[
            command_pb2.CommandParameter(
                name=p.name,
                description=p.description,
                type=_TYPES.get(p.type, command_pb2.CommandParameter.TYPE_UNSPECIFIED),
                required=p.required,
                choices=p.choices,
                pattern=p.pattern,
                min=p.min,
                max=p.max,
                default_value=p.default,
            )
            for p in spec.parameters
        ],
        timeout=timeout,
        risk=_RISKS.get(spec.risk, command_pb2.COMMAND_RISK_UNSPECIFIED),
        needs_approval=spec.needs_approval,
        output_cap_bytes=spec.output_cap_bytes,
    )


def _argument(value: Value) -> command_pb2.ArgumentValue:
    if isinstance(value, bool):
        return command_pb2.ArgumentValue(bool_value=value)
    if isinstance(value, int):
        return command_pb2.ArgumentValue(int_value=value)
    return command_pb2.ArgumentValue(string_value=value)


def _arguments(given: Mapping[str, command_pb2.ArgumentValue]) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for name, value in given.items():
        kind = value.WhichOneof("kind")
        if kind is None:
            raise InvalidArgument(f"argument {name!r} has no value", field="arguments")
        values[name] = getattr(value, kind)
    return values


def _timeout(message: Any) -> float | None:
    if not message.HasField("timeout"):
        return None
    seconds = float(message.timeout.ToMicroseconds() / 1e6)
    if seconds <= 0:
        raise InvalidArgument("timeout must be more than 0", field="timeout")
    return seconds


register_event(
    CommandStarted.event_type, lambda e: event_pb2.CommandStarted(run=run_to_proto(e.run))
)
register_event(
    CommandExecuted.event_type, lambda e: event_pb2.CommandExecuted(run=run_to_proto(e.run))
)
register_event(
    CommandApprovalRequested.event_type,
    lambda e: event_pb2.CommandApprovalRequested(run=run_to_proto(e.run)),
)


def _raise_if_failed(task: asyncio.Future[None]) -> None:
    """Ends the call with what the app's side got wrong (a second header)."""
    if task.done() and not task.cancelled() and (error := task.exception()) is not None:
        raise error


# --- the service ------------------------------------------------------------------------------


class CommandServicer(service_grpc.CommandServiceServicer):
    """kizuna.v1.CommandService."""

    def __init__(self, commands: Commands) -> None:
        self._commands = commands

    async def _start(self, message: Any) -> PeerRun:
        return await self._commands.run_on(
            parse_device_id(message.peer_id, field="peer_id"),
            message.command_id,
            arguments=_arguments(message.arguments),
            positional=list(message.positional_arguments),
            timeout_secs=_timeout(message),
        )

    async def RunCommand(
        self, request: command_service_pb2.RunCommandRequest, context: Any
    ) -> command_service_pb2.RunCommandResponse:
        if len(request.stdin) > MAX_STDIN_CHUNK:
            raise InvalidArgument(
                "stdin is at most 1 MiB here; use RunCommandStream for more", field="stdin"
            )
        run = await self._start(request)
        kept = {"stdout": bytearray(), "stderr": bytearray()}
        truncated = False

        async def feed() -> None:
            if request.stdin:
                await run.send_stdin(request.stdin)
            await run.close_stdin()

        feeding = asyncio.ensure_future(feed())
        try:
            async for name, chunk in run.output():
                if name == "state":
                    continue
                room = MAX_RESPONSE_OUTPUT - len(kept[name])
                if len(chunk) > room:
                    truncated = True
                kept[name] += chunk[: max(room, 0)]
        finally:
            feeding.cancel()
        return command_service_pb2.RunCommandResponse(
            run=run_to_proto(run.run),
            stdout=bytes(kept["stdout"]),
            stderr=bytes(kept["stderr"]),
            output_truncated=truncated or run.run.truncated,
        )

    # Bidirectional, driven through context.read() and write().
    async def RunCommandStream(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        first = await context.read()
        if first is EOF or first.WhichOneof("part") != "header":
            raise InvalidArgument("send a RunCommandStreamHeader first", field="header")
        run = await self._start(first.header)

        async def from_app() -> None:
            while True:
                message = await context.read()
                if message is EOF:
                    await run.close_stdin()
                    return
                part = message.WhichOneof("part")
                if part == "stdin":
                    await run.send_stdin(message.stdin)
                elif part == "close_stdin":
                    await run.close_stdin()
                elif part == "cancel":
                    await run.cancel()
                else:
                    raise InvalidArgument("send the header only once", field="header")

        reading = asyncio.ensure_future(from_app())
        try:
            await context.write(
                command_service_pb2.RunCommandStreamResponse(run=run_to_proto(run.run))
            )
            async for name, chunk in run.output():
                if name == "state":
                    response = command_service_pb2.RunCommandStreamResponse(
                        run=run_to_proto(run.run)
                    )
                elif name == "stdout":
                    response = command_service_pb2.RunCommandStreamResponse(stdout=chunk)
                else:
                    response = command_service_pb2.RunCommandStreamResponse(stderr=chunk)
                await context.write(response)
                _raise_if_failed(reading)
            _raise_if_failed(reading)
            await context.write(
                command_service_pb2.RunCommandStreamResponse(run=run_to_proto(run.run))
            )
        finally:
            reading.cancel()

    async def ListPeerCommands(
        self, request: command_service_pb2.ListPeerCommandsRequest, context: Any
    ) -> command_service_pb2.ListPeerCommandsResponse:
        specs = await self._commands.list_on(parse_device_id(request.peer_id, field="peer_id"))
        return command_service_pb2.ListPeerCommandsResponse(
            commands=[command_to_proto(spec) for spec in specs]
        )

    async def ListCommandRuns(
        self, request: command_service_pb2.ListCommandRunsRequest, context: Any
    ) -> command_service_pb2.ListCommandRunsResponse:
        return command_service_pb2.ListCommandRunsResponse(
            runs=[run_to_proto(run) for run in self._commands.runs()]
        )

    async def ApproveCommandRun(
        self, request: command_service_pb2.ApproveCommandRunRequest, context: Any
    ) -> command_service_pb2.ApproveCommandRunResponse:
        run = self._commands.approve(request.run_id)
        return command_service_pb2.ApproveCommandRunResponse(run=run_to_proto(run))

    async def DenyCommandRun(
        self, request: command_service_pb2.DenyCommandRunRequest, context: Any
    ) -> command_service_pb2.DenyCommandRunResponse:
        run = self._commands.deny(request.run_id)
        return command_service_pb2.DenyCommandRunResponse(run=run_to_proto(run))
