"""The commands capability's engine: runs peers ask for here, and runs this device asks peers
for (docs/commands.md).

Incoming: a peer's Run call is checked (capability offered, the peer's `commands` permission,
the allow-list, its arguments, the run limits), waits for the owner's approval when the
command's risk calls for it, then runs as argv without a shell with its whole process tree
held (containment.py). Output goes to the caller as it is produced; a caller that reads slowly
holds the program back on its pipe, so nothing piles up here. Every run is audited.

Outgoing: `start` opens the Run call to a peer and returns a `PeerRun` the API drives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import grpc
import grpc.aio

from kizuna_server.calls.errors import error_info_from_trailers, reason_names
from kizuna_server.commands import containment
from kizuna_server.commands.allowlist import (
    RISKS,
    AllowedCommand,
    CommandNotAllowed,
    Value,
    parse_allowlist,
)
from kizuna_server.commands.audit import AuditLog
from kizuna_server.commands.handlers import MAX_HANDLER_STDIN, HandlerCommand, Invocation, Reply
from kizuna_server.commands.model import (
    COMMANDS,
    Approval,
    CommandApprovalRequested,
    CommandDenied,
    CommandExecuted,
    CommandRun,
    CommandRunNotFound,
    CommandStarted,
    CommandTimedOut,
    PluginFailed,
    RunState,
)
from kizuna_server.commands.runner import Ending, Outcome, Run, environment
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.core.peers import sanitize_name
from kizuna_server.core.trust import PeerNotTrusted, Permissions
from kizuna_server.errors import (
    CapabilityOff,
    InvalidArgument,
    KizunaError,
    LimitExceeded,
    PermissionDeniedByPeer,
)
from kizuna_server.p2p.tls import PeerUnreachable
from kizuna_server.p2p.wire import command_service_pb2 as wire
from kizuna_server.p2p.wire import command_service_pb2_grpc as wire_grpc

if TYPE_CHECKING:
    from kizuna_server.config import Config
    from kizuna_server.p2p.network import PeerNetwork

log = logging.getLogger(__name__)

#: Standard input bytes in one message, either plane.
MAX_STDIN_CHUNK: Final = 1 << 20
#: Runs that ended, kept for ApproveCommandRun/DenyCommandRun to say "already ended".
_ENDED_KEPT: Final = 256
_RUN_ID: Final = re.compile(r"[0-9a-f]{32}")
#: What a call's read returns at the other side's half-close.
EOF: Final[Any] = getattr(grpc.aio, "EOF")  # noqa: B009
_REASONS: Final = frozenset(reason_names())
_ENDINGS: Final = {
    Ending.EXITED: (RunState.EXITED, wire.RunEnd.ENDING_EXITED),
    Ending.CANCELLED: (RunState.CANCELLED, wire.RunEnd.ENDING_CANCELLED),
    Ending.TIMED_OUT: (RunState.TIMED_OUT, wire.RunEnd.ENDING_TIMED_OUT),
}
_WIRE_ENDINGS: Final = {wire_ending: state for state, wire_ending in _ENDINGS.values()}
_WIRE_TYPES: Final = {
    "string": wire.ParameterSpec.TYPE_STRING,
    "integer": wire.ParameterSpec.TYPE_INTEGER,
    "boolean": wire.ParameterSpec.TYPE_BOOLEAN,
    "choice": wire.ParameterSpec.TYPE_CHOICE,
    "path": wire.ParameterSpec.TYPE_PATH,
}
_WIRE_RISKS: Final = {
    "low": wire.CommandSpec.RISK_LOW,
    "medium": wire.CommandSpec.RISK_MEDIUM,
    "high": wire.CommandSpec.RISK_HIGH,
}


@dataclass(slots=True)
class _Incoming:
    """A peer's run here: its record, the owner's decision, the program once started."""

    run: CommandRun
    decision: asyncio.Future[bool]
    program: Run | None = None
    #: A plugin's command (instead of a program), and its call while it runs.
    handler: HandlerCommand | None = None
    call: asyncio.Task[Reply] | None = None
    #: The run's time limit: the command's, or less when the caller asked.
    limit_secs: float = 0.0


class Commands:
    """The engine: `serve_list`/`serve_run` for peers, `list_on`/`start` for this device."""

    def __init__(
        self,
        config: Config,
        network: PeerNetwork,
        publish: Callable[[Payload], None],
        *,
        choose_containment: Callable[[], containment.Containment] = containment.best,
    ) -> None:
        self.config = config
        self._network = network
        self._publish = publish
        self._choose = choose_containment
        self._containment: containment.Containment | None = None
        self.allowed: dict[str, AllowedCommand] = {
            command.id: command
            for command in parse_allowlist(
                list(config.commands.allow), config.paths.config_file.parent
            )
        }
        self.audit = AuditLog(config.paths.data_dir / "commands" / "audit.jsonl")
        #: Commands plugins add (handlers.py), by ID.
        self.handlers: dict[str, HandlerCommand] = {}
        self._incoming: dict[str, _Incoming] = {}
        self._outgoing: dict[str, CommandRun] = {}
        self._ended: dict[str, CommandRun] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    async def start(self) -> None:
        self._containment = await asyncio.to_thread(self._choose)
        self._network.on_revoked.append(self._revoked)
        log.info(
            "commands: %d allowed; run process trees held by %s",
            len(self.allowed),
            self.containment_name,
        )

    async def stop(self) -> None:
        """Denies what waits for approval and stops what runs (each caller gets its end)."""
        self._stopping = True
        for incoming in list(self._incoming.values()):
            self._stop_one(incoming, "the device is shutting down")
        with contextlib.suppress(TimeoutError):  # SIGKILL follows SIGTERM after 2 s
            await asyncio.wait_for(self._idle.wait(), 10)

    @property
    def containment_name(self) -> str:
        names = {
            "cgroup": "a cgroup v2 per run",
            "subreaper": "a subreaper (no writable cgroup v2)",
        }
        return names.get(self._containment.name, "") if self._containment else "not started"

    def subsystems(self) -> list[Subsystem]:
        waiting = sum(
            1 for i in self._incoming.values() if i.run.state is RunState.AWAITING_APPROVAL
        )
        running = len(self._incoming) - waiting
        detail = (
            f"{len(self.allowed)} commands allowed; {running} running, {waiting} awaiting "
            f"approval, {len(self._outgoing)} on peers; process trees held by "
            f"{self.containment_name}"
        )
        return [Subsystem(COMMANDS, SubsystemState.RUNNING, detail)]

    def runs(self) -> list[CommandRun]:
        """Runs in progress or awaiting approval, both directions, oldest first."""
        found = [i.run for i in self._incoming.values()] + list(self._outgoing.values())
        return sorted(found, key=lambda run: run.start_time or run.approval_deadline)

    # --- the owner's answer ---------------------------------------------------------------

    def approve(self, run_id: str) -> CommandRun:
        return self._decide(run_id, True)

    def deny(self, run_id: str) -> CommandRun:
        return self._decide(run_id, False)

    def _decide(self, run_id: str, approved: bool) -> CommandRun:
        incoming = self._incoming.get(run_id)
        if incoming is None:
            ended = self._ended.get(run_id)
            if ended is None:
                raise CommandRunNotFound(run_id)
            raise InvalidArgument(
                f"run {run_id} no longer waits for approval: it {ended.state.value}",
                field="run_id",
            )
        if incoming.run.state is not RunState.AWAITING_APPROVAL or incoming.decision.done():
            raise InvalidArgument(
                f"run {run_id} no longer waits for approval", field="run_id", run_id=run_id
            )
        incoming.decision.set_result(approved)
        incoming.run.approval = Approval.GRANTED if approved else Approval.DENIED
        return incoming.run

    def needs_approval(self, command: AllowedCommand, peer_id: str) -> bool:
        if command.approval != "by-risk":
            return command.approval == "always"
        settings = self.config.commands
        if peer_id in settings.skip_approval_peers or settings.approve_from == "none":
            return False
        return RISKS.index(command.risk) >= RISKS.index(settings.approve_from)

    # --- a peer asks: List ----------------------------------------------------------------

    def register(self, command: HandlerCommand) -> None:
        """Adds a plugin's command (its ID must not be taken)."""
        taken = command.command.id in self.allowed or command.command.id in self.handlers
        if taken:
            raise ValueError(f"a command {command.command.id!r} exists already")
        self.handlers[command.command.id] = command

    def unregister(self, owner: str) -> None:
        """Removes every command the plugin `owner` added."""
        for command_id in [i for i, h in self.handlers.items() if h.owner == owner]:
            del self.handlers[command_id]

    def serve_list(self, caller: str, *, accepting: bool) -> wire.ListResponse:
        """The owner's commands (with the commands permission) and the plugins' commands the
        caller may run."""
        permissions = self._network.permissions_of(caller)
        permitted = accepting and permissions is not None and permissions.commands
        handlers = [h for h in self.handlers.values() if permitted or h.gate == "trusted"]
        if not permitted and (permissions is None or not handlers):
            self._check_caller(caller, accepting=accepting)
        commands = [*(self.allowed.values() if permitted else ()), *(h.command for h in handlers)]
        return wire.ListResponse(commands=[self._spec(command, caller) for command in commands])

    def _spec(self, command: AllowedCommand, caller: str) -> wire.CommandSpec:
        return spec_of(command, needs_approval=self.needs_approval(command, caller))

    def _check_caller(self, caller: str, *, accepting: bool, command_id: str = "") -> None:
        """Whether the caller may run commands here (a plugin's command open to every trusted
        peer needs only trust)."""
        handler = self.handlers.get(command_id)
        trusted = self._network.permissions_of(caller) is not None
        if handler is not None and handler.gate == "trusted" and trusted:
            return
        if not accepting:
            raise CapabilityOff(
                f"this device does not run commands for peers: '{COMMANDS}' is not in its "
                "plugins.enabled",
                subsystem=COMMANDS,
            )
        permissions = self._network.permissions_of(caller)
        if permissions is None or not permissions.commands:
            raise PermissionDeniedByPeer(
                "this device does not run commands for yours; its owner can allow it with "
                "`kizuna permissions PEER --commands on`",
                peer_id=caller,
                permission="commands",
            )

    # --- a peer asks: Run -----------------------------------------------------------------

    async def serve_run(self, caller: str, context: Any, *, accepting: bool) -> None:
        """A peer's Run call, from its start to the run's end."""
        first = await context.read()
        if first is EOF or first.WhichOneof("part") != "start":
            raise InvalidArgument("a Run call starts with RunStart", field="start")
        incoming = self._opened(caller, first.start, accepting=accepting)
        run = incoming.run
        writes = asyncio.Lock()

        async def write(response: wire.RunResponse) -> None:
            async with writes:
                await context.write(response)

        try:
            command, argv = self._check_run(incoming, first.start)
            if self.needs_approval(command, caller):
                await self._await_approval(incoming, command, write)
            if incoming.handler is not None:
                await self._call_handler(incoming, incoming.handler, context, write)
            else:
                await self._run(incoming, command, argv, context, write)
        except asyncio.CancelledError:
            # The caller went away (or the daemon stops): what runs is stopped below.
            if not run.state.final:
                run.state = RunState.CANCELLED
                if run.approval is Approval.PENDING:
                    run.approval = Approval.DENIED
            raise
        except KizunaError as error:
            if not run.state.final:
                run.state = RunState.DENIED if isinstance(error, CommandDenied) else RunState.FAILED
            run.error = error
            raise
        except Exception:  # the call broke under a write, or a bug: the record still ends
            if not run.state.final:
                run.state = RunState.FAILED
            raise
        finally:
            await self._retire(incoming)

    def _opened(self, caller: str, start: wire.RunStart, *, accepting: bool) -> _Incoming:
        """The run's record, once the caller may run commands here at all: from here on the
        attempt is audited, refused or not."""
        self._check_caller(caller, accepting=accepting, command_id=start.command_id)
        if not _RUN_ID.fullmatch(start.run_id):
            raise InvalidArgument("run_id must be 32 lowercase hex characters", field="run_id")
        if start.run_id in self._incoming or start.run_id in self._ended:
            raise InvalidArgument("that run ID is already in use", field="run_id")
        if self._stopping:
            raise CapabilityOff("this device is shutting down", subsystem=COMMANDS)
        run = CommandRun(
            id=start.run_id,
            peer_id=caller,
            peer_name=self._network.name_of(caller),
            command_id=sanitize_name(start.command_id, limit=64),
            outgoing=False,
            arguments={
                sanitize_name(name, limit=64): _value_of(value)
                for name, value in start.arguments.items()
            },
            positional=tuple(start.positional_arguments),
        )
        return _Incoming(run, asyncio.get_running_loop().create_future())

    def _check_run(
        self, incoming: _Incoming, start: wire.RunStart
    ) -> tuple[AllowedCommand, list[str]]:
        """The allowed command and its argv, once the arguments fit and the limits allow."""
        run = incoming.run
        command = self.allowed.get(start.command_id)
        if command is None and (handler := self.handlers.get(start.command_id)) is not None:
            command, incoming.handler = handler.command, handler
        if command is None:
            raise CommandNotAllowed(
                f"{run.command_id or 'that command'} is not on this device's allow-list",
                command=run.command_id,
            )
        named = {name: _value_of(value) for name, value in start.arguments.items()}
        argv, run.arguments = command.bind(named, list(start.positional_arguments))
        self._admit(run.peer_id)
        self._incoming[run.id] = incoming
        self._idle.clear()
        incoming.limit_secs = command.timeout_secs
        if start.timeout_ms:
            incoming.limit_secs = min(command.timeout_secs, start.timeout_ms / 1000)
        return command, argv

    def _admit(self, caller: str) -> None:
        settings = self.config.commands
        if len(self._incoming) >= settings.max_runs:
            raise LimitExceeded(
                f"this device runs at most {settings.max_runs} commands at once; try again "
                "when one ends",
                limit="commands.max_runs",
            )
        mine = sum(1 for i in self._incoming.values() if i.run.peer_id == caller)
        if mine >= settings.max_runs_per_peer:
            raise LimitExceeded(
                f"this device runs at most {settings.max_runs_per_peer} commands at once for "
                "one peer; try again when one ends",
                limit="commands.max_runs_per_peer",
            )

    async def _await_approval(
        self,
        incoming: _Incoming,
        command: AllowedCommand,
        write: Callable[[wire.RunResponse], Any],
    ) -> None:
        run = incoming.run
        seconds = self.config.commands.approval_timeout_secs
        run.state = RunState.AWAITING_APPROVAL
        run.approval = Approval.PENDING
        run.approval_deadline = time.time() + seconds
        await write(
            wire.RunResponse(
                state=wire.RunState(
                    phase=wire.RunState.PHASE_AWAITING_APPROVAL, approval_timeout_ms=seconds * 1000
                )
            )
        )
        self._publish(CommandApprovalRequested(run))
        log.info(
            "command run %s: %s asks to run %s; waiting for the owner",
            run.id,
            run.peer_name or format_device_id(run.peer_id),
            command.id,
        )
        try:
            approved = await asyncio.wait_for(asyncio.shield(incoming.decision), seconds)
        except TimeoutError:
            run.approval = Approval.EXPIRED
            raise CommandDenied(
                f"nobody on the device approved {command.id} within {seconds} s",
                command=command.id,
                run_id=run.id,
                approval="expired",
            ) from None
        if not approved:
            raise CommandDenied(
                f"the device's owner denied {command.id}",
                command=command.id,
                run_id=run.id,
                approval="denied",
            )

    async def _run(
        self,
        incoming: _Incoming,
        command: AllowedCommand,
        argv: list[str],
        context: Any,
        write: Callable[[wire.RunResponse], Any],
    ) -> None:
        run = incoming.run
        assert self._containment is not None
        caller_gone = False

        async def on_output(name: str, chunk: bytes) -> None:
            nonlocal caller_gone
            if caller_gone:
                return  # counted by the runner, passed to nobody
            response = wire.RunResponse(stdout=chunk) if name == "stdout" else None
            try:
                await write(response or wire.RunResponse(stderr=chunk))
            except Exception:  # the call ended under the write (grpc's own error types)
                caller_gone = True
                program.cancel()

        program = Run(
            argv,
            command=command.id,
            cwd=command.workdir or Path.home(),
            env=environment(
                command.env,
                {
                    "KIZUNA_RUN_ID": run.id,
                    "KIZUNA_PEER_ID": run.peer_id,
                    "KIZUNA_PEER_NAME": run.peer_name,
                },
            ),
            timeout=incoming.limit_secs,
            output_cap=command.output_cap_bytes,
            on_output=on_output,
            group=self._containment.group(run.id),
        )
        await program.start()
        incoming.program = program
        run.state = RunState.RUNNING
        run.start_time = time.time()
        self._publish(CommandStarted(run))
        await write(wire.RunResponse(state=wire.RunState(phase=wire.RunState.PHASE_RUNNING)))
        feeding = asyncio.ensure_future(_feed(context, program))
        waiting = asyncio.ensure_future(program.wait())
        try:
            outcome = await asyncio.shield(waiting)
        except asyncio.CancelledError:
            program.cancel()  # the caller went away: the whole tree is stopped
            outcome = await waiting
            _record(run, outcome)
            raise
        finally:
            feeding.cancel()
        _record(run, outcome)
        if not caller_gone:
            await write(wire.RunResponse(end=_wire_end(outcome)))

    async def _call_handler(
        self,
        incoming: _Incoming,
        handler: HandlerCommand,
        context: Any,
        write: Callable[[wire.RunResponse], Any],
    ) -> None:
        """A plugin's command: its standard input read whole (at most MAX_HANDLER_STDIN), the
        handler called within the time limit, its output sent within the output cap. A handler
        that raises ends the run as failed with PLUGIN_FAILED; the daemon goes on."""
        run = incoming.run
        run.state = RunState.RUNNING
        run.start_time = time.time()
        started = time.monotonic()
        self._publish(CommandStarted(run))
        await write(wire.RunResponse(state=wire.RunState(phase=wire.RunState.PHASE_RUNNING)))
        stdin = await _read_stdin(context)
        incoming.call = asyncio.ensure_future(
            handler.handler(Invocation(run.peer_id, run.peer_name, dict(run.arguments), stdin))
        )
        ending = Ending.EXITED
        try:
            reply = await asyncio.wait_for(asyncio.shield(incoming.call), incoming.limit_secs)
        except TimeoutError:
            incoming.call.cancel()
            ending, reply = Ending.TIMED_OUT, Reply(exit_code=-signal.SIGKILL)
        except asyncio.CancelledError:
            if not incoming.call.done():  # the caller went away
                incoming.call.cancel()
                raise
            ending, reply = Ending.CANCELLED, Reply(exit_code=-signal.SIGTERM)
        except Exception as exc:
            log.exception("plugin %s: command %s failed", handler.owner, handler.command.id)
            raise PluginFailed(
                f"the {handler.owner} plugin failed running {handler.command.id}: "
                f"{type(exc).__name__}: {exc}",
                plugin=handler.owner,
            ) from None
        room = handler.command.output_cap_bytes
        for name, data in (("stdout", reply.stdout), ("stderr", reply.stderr)):
            kept, room = data[:room], max(0, room - len(data))
            if kept:
                response = wire.RunResponse(stdout=kept) if name == "stdout" else None
                await write(response or wire.RunResponse(stderr=kept))
        outcome = Outcome(
            ending,
            reply.exit_code,
            time.monotonic() - started,
            len(reply.stdout),
            len(reply.stderr),
            len(reply.stdout) + len(reply.stderr) > handler.command.output_cap_bytes,
        )
        _record(run, outcome)
        await write(wire.RunResponse(end=_wire_end(outcome)))

    async def _retire(self, incoming: _Incoming) -> None:
        run = incoming.run
        run.end_time = time.time()
        self._incoming.pop(run.id, None)
        if not self._incoming:
            self._idle.set()
        self._ended[run.id] = run
        while len(self._ended) > _ENDED_KEPT:
            self._ended.pop(next(iter(self._ended)))
        self._publish(CommandExecuted(run))
        try:
            await asyncio.shield(self.audit.append(run))
        except OSError:
            log.exception("could not append run %s to the audit log %s", run.id, self.audit.path)

    def _stop_one(self, incoming: _Incoming, why: str) -> None:
        if not incoming.decision.done():
            incoming.decision.set_result(False)
            incoming.run.approval = Approval.DENIED
        if incoming.program is not None:
            incoming.program.cancel()
        if incoming.call is not None:
            incoming.call.cancel()
        log.info("command run %s stopped: %s", incoming.run.id, why)

    async def _revoked(self, peer_id: str, permissions: Permissions | None) -> None:
        """The peer was forgotten (its runs here stop) or lost the commands permission (those
        of its runs that needed it stop; a plugin's command open to trusted peers goes on)."""
        if permissions is not None and permissions.commands:
            return
        for incoming in list(self._incoming.values()):
            if incoming.run.peer_id != peer_id:
                continue
            handler = incoming.handler
            if permissions is not None and handler is not None and handler.gate == "trusted":
                continue
            self._stop_one(incoming, "the peer may no longer run commands here")

    # --- this device asks a peer ------------------------------------------------------------

    async def list_on(self, peer_id: str) -> list[wire.CommandSpec]:
        self._require_trusted(peer_id)
        stub = wire_grpc.CommandServiceStub(await self._network.link_to(peer_id))
        try:
            response = await stub.List(wire.ListRequest())
        except grpc.aio.AioRpcError as exc:
            raise self._refusal(exc, peer_id) from None
        return list(response.commands)

    async def run_on(
        self,
        peer_id: str,
        command_id: str,
        *,
        arguments: Mapping[str, Value],
        positional: Sequence[str],
        timeout_secs: float | None,
    ) -> PeerRun:
        """Opens the run on the peer; returns once the peer accepted it (it may still wait
        for approval there). Refusals raise with the peer's reason."""
        if arguments and positional:
            raise InvalidArgument(
                "give arguments by position or by name, not both", field="arguments"
            )
        if not command_id:
            raise InvalidArgument("name a command", field="command_id")
        if timeout_secs is not None and not 0 < timeout_secs <= 86_400:
            raise InvalidArgument(
                "timeout must be more than 0 s and at most a day", field="timeout"
            )
        self._require_trusted(peer_id)
        channel = await self._network.link_to(peer_id)
        run = CommandRun(
            id=secrets.token_hex(16),
            peer_id=peer_id,
            peer_name=self._network.name_of(peer_id),
            command_id=command_id,
            outgoing=True,
            arguments=dict(arguments),
            positional=tuple(positional),
            state=RunState.AWAITING_APPROVAL,
            approval=Approval.PENDING,
        )
        call: Any = wire_grpc.CommandServiceStub(channel).Run()  # type: ignore[call-arg]
        start = wire.RunStart(
            run_id=run.id,
            command_id=command_id,
            arguments={name: _wire_value(value) for name, value in arguments.items()},
            positional_arguments=positional,
            timeout_ms=round(timeout_secs * 1000) if timeout_secs else 0,
        )
        peer_run = PeerRun(self, run, call)
        self._outgoing[run.id] = run
        try:
            await call.write(wire.RunRequest(start=start))
            await peer_run.first()
        except BaseException:
            self._outgoing.pop(run.id, None)
            call.cancel()
            raise
        return peer_run

    def _require_trusted(self, peer_id: str) -> None:
        if self._network.permissions_of(peer_id) is None:
            self._network.snapshot(peer_id)  # PEER_NOT_FOUND for an unknown device
            raise PeerNotTrusted(peer_id)

    def _refusal(self, exc: grpc.aio.AioRpcError, peer_id: str) -> KizunaError:
        """A peer's refusal as an error with its reason, or PEER_UNREACHABLE."""
        reason, details = error_info_from_trailers(exc.trailing_metadata())
        name = self._network.name_of(peer_id) or format_device_id(peer_id)
        shown = sanitize_name(exc.details() or "", limit=300)
        if not reason or exc.code() in (grpc.StatusCode.UNAVAILABLE,):
            return PeerUnreachable(f"peer {name} did not answer: {shown}", peer_id=peer_id)
        error = KizunaError(f"{name}: {shown}")
        error.reason = reason if reason in _REASONS else "INTERNAL"
        kept = ("command", "argument", "limit", "permission", "subsystem", "approval", "field")
        error.metadata = {
            "peer_id": peer_id,
            **{key: sanitize_name(details[key], limit=200) for key in kept if key in details},
        }
        return error

    def _finished(self, run: CommandRun) -> None:
        run.end_time = run.end_time or time.time()
        if self._outgoing.pop(run.id, None) is not None:
            self._publish(CommandExecuted(run))


class PeerRun:
    """A run this device asked a peer for: feed it, cancel it, read what it produces."""

    def __init__(self, engine: Commands, run: CommandRun, call: Any) -> None:
        self.run = run
        self._engine = engine
        self._call = call
        self._pending: wire.RunResponse | None = None
        self._writes = asyncio.Lock()
        self._stdin_closed = False
        #: The peer said the run waits for its owner (so a start means approved).
        self._asked = False

    async def first(self) -> None:
        """Waits for the peer's first answer (waiting for approval, or running) and applies
        it, so the run shows where it is before any output is read."""
        response = await self._read()
        if response is not None and response.WhichOneof("part") == "state":
            self._apply_state(response.state)
        else:
            self._pending = response

    async def _read(self) -> wire.RunResponse | None:
        """The next answer; None once this side withdrew a run that was waiting."""
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            if self.run.state is RunState.CANCELLED:
                return None
            self._fail(self._engine._refusal(exc, self.run.peer_id))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            if self.run.state is RunState.CANCELLED:
                return None
            self._fail(PeerUnreachable("the link to the peer closed during the run"))
        if response is EOF:
            self._fail(PeerUnreachable("the peer ended the run without saying how it ended"))
        return response  # type: ignore[no-any-return]

    def _fail(self, error: KizunaError) -> None:
        run = self.run
        run.error = error
        run.state = RunState.DENIED if error.reason == "COMMAND_DENIED" else RunState.FAILED
        if error.reason == "COMMAND_DENIED":
            run.approval = (
                Approval.EXPIRED if error.metadata.get("approval") == "expired" else Approval.DENIED
            )
        self._engine._finished(run)
        raise error

    def _apply_state(self, state: wire.RunState) -> None:
        run = self.run
        if state.phase == wire.RunState.PHASE_RUNNING:
            run.approval = Approval.GRANTED if self._asked else Approval.NOT_NEEDED
            run.state = RunState.RUNNING
            run.start_time = time.time()
            self._engine._publish(CommandStarted(run))
        else:
            self._asked = True
            run.state = RunState.AWAITING_APPROVAL
            run.approval = Approval.PENDING
            run.approval_deadline = time.time() + state.approval_timeout_ms / 1000

    def _apply_end(self, end: wire.RunEnd) -> None:
        run = self.run
        if run.approval is Approval.PENDING:
            run.approval = Approval.GRANTED if self._asked else Approval.NOT_NEEDED
        run.state = _WIRE_ENDINGS.get(end.ending, RunState.FAILED)
        run.exit_code = end.exit_code
        run.seconds = end.duration_us / 1e6
        run.stdout_bytes = end.stdout_bytes
        run.stderr_bytes = end.stderr_bytes
        run.truncated = end.output_truncated
        if run.state is RunState.TIMED_OUT:
            run.error = CommandTimedOut(
                f"{run.command_id} ran past its time limit and was stopped",
                command=run.command_id,
            )
        self._engine._finished(run)

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        """("state", b"") when the run's state changed, ("stdout"|"stderr", bytes) as the
        program writes; ends after the run ended (`run` then holds how)."""
        run = self.run
        try:
            while True:
                response = self._pending or await self._read()
                self._pending = None
                if response is None:  # withdrawn here while it waited
                    return
                part = response.WhichOneof("part")
                if part in ("stdout", "stderr"):
                    yield part, getattr(response, part)
                elif part == "state":
                    self._apply_state(response.state)
                    yield "state", b""
                elif part == "end":
                    self._apply_end(response.end)
                    return
        finally:
            if not run.state.final:  # the app went away: the peer stops the run
                run.state = RunState.CANCELLED
                self._call.cancel()
                self._engine._finished(run)

    async def send_stdin(self, data: bytes) -> None:
        for offset in range(0, len(data), MAX_STDIN_CHUNK):
            await self._write(wire.RunRequest(stdin=data[offset : offset + MAX_STDIN_CHUNK]))

    async def close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            await self._write(wire.RunRequest(close_stdin=wire.StdinClosed()))

    async def cancel(self) -> None:
        if self.run.state is RunState.AWAITING_APPROVAL:
            self.run.state = RunState.CANCELLED
            self._call.cancel()  # nothing runs yet: the peer withdraws the request
            self._engine._finished(self.run)
            return
        await self._write(wire.RunRequest(cancel=wire.RunCancel()))

    async def _write(self, request: wire.RunRequest) -> None:
        async with self._writes:
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await self._call.write(request)  # a call that ended says so on read


# --- helpers ----------------------------------------------------------------------------------


async def _feed(context: Any, program: Run) -> None:
    """The caller's standard input, stdin close and cancel, until its half-close (which closes
    standard input, as the end of a pipe does)."""
    while True:
        request = await context.read()
        if request is EOF:
            await program.close_stdin()
            return
        part = request.WhichOneof("part")
        if part == "stdin":
            await program.write_stdin(request.stdin)
        elif part == "close_stdin":
            await program.close_stdin()
        elif part == "cancel":
            program.cancel()


def spec_of(command: AllowedCommand, *, needs_approval: bool) -> wire.CommandSpec:
    """A command as peers see it."""
    return wire.CommandSpec(
        id=command.id,
        description=command.description,
        parameters=[
            wire.ParameterSpec(
                name=p.name,
                description=p.description,
                type=_WIRE_TYPES[p.type],
                required=p.required,
                choices=p.choices,
                pattern=p.pattern,
                min=p.min if p.type == "integer" else 0,
                max=p.max if p.type == "integer" else 0,
                default=_text(p.default) if p.default is not None else "",
            )
            for p in command.parameters
        ],
        timeout_ms=round(command.timeout_secs * 1000),
        risk=_WIRE_RISKS[command.risk],
        needs_approval=needs_approval,
        output_cap_bytes=command.output_cap_bytes,
    )


async def _read_stdin(context: Any) -> bytes:
    """A handler's standard input: everything until its end (or the caller's half-close)."""
    data = bytearray()
    while True:
        request = await context.read()
        if request is EOF or request.WhichOneof("part") in ("close_stdin", "cancel"):
            return bytes(data)
        if request.WhichOneof("part") == "stdin":
            data += request.stdin
            if len(data) > MAX_HANDLER_STDIN:
                raise InvalidArgument(
                    f"a plugin's command takes at most {MAX_HANDLER_STDIN >> 20} MiB of input",
                    field="stdin",
                )


def _record(run: CommandRun, outcome: Outcome) -> None:
    run.state = _ENDINGS[outcome.ending][0]
    run.exit_code = outcome.exit_code
    run.seconds = outcome.seconds
    run.stdout_bytes = outcome.stdout_bytes
    run.stderr_bytes = outcome.stderr_bytes
    run.truncated = outcome.truncated
    if outcome.ending is Ending.TIMED_OUT:
        run.error = CommandTimedOut(
            f"{run.command_id} ran past its time limit and was stopped", command=run.command_id
        )


def _wire_end(outcome: Outcome) -> wire.RunEnd:
    return wire.RunEnd(
        ending=_ENDINGS[outcome.ending][1],
        exit_code=outcome.exit_code,
        duration_us=round(outcome.seconds * 1e6),
        stdout_bytes=outcome.stdout_bytes,
        stderr_bytes=outcome.stderr_bytes,
        output_truncated=outcome.truncated,
    )


def _value_of(value: wire.Value) -> Value:
    kind = value.WhichOneof("kind")
    if kind == "integer":
        return value.integer
    if kind == "boolean":
        return value.boolean
    return value.text


def _wire_value(value: Value) -> wire.Value:
    if isinstance(value, bool):
        return wire.Value(boolean=value)
    if isinstance(value, int):
        return wire.Value(integer=value)
    return wire.Value(text=value)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
