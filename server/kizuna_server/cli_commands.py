"""`kizuna exec | commands | runs | approve | deny`: run what a peer's owner allowed, and answer
the peers that ask to run something here (docs/commands.md).

PEER arguments are as for `kizuna peers`; RUN_ID arguments take a full run ID or a unique prefix
of one (at least four characters). Everything a peer said (names, descriptions, arguments,
messages) is escaped (`safe`); the program's own output is passed on byte for byte.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Any, Final

from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaError, KizunaEvent, PeerInfo
from kizuna_client.commands import STDIN_CHUNK, RemoteCommand
from kizuna_client.errors import CommandRunNotFoundError
from kizuna_client.types import enum_name
from kizuna_client.v1 import command_pb2, errors_pb2
from kizuna_server.cli_ids import SHORT, choose_by_id, hinted
from kizuna_server.cli_peers import choose_peer
from kizuna_server.cli_transfers import clock

EXIT_ERROR = 1
EXIT_USAGE = 2
#: As coreutils `timeout` exits when the time limit stopped the command.
EXIT_TIMED_OUT = 124
#: As a shell exits for a command it may not run.
EXIT_REFUSED = 126
#: As a shell exits for a command it cannot find.
EXIT_NOT_STARTED = 127
#: 128 + SIGINT, as a shell shows a command ended by Ctrl-C.
EXIT_INTERRUPTED = 130
_SHORT = SHORT
#: Seconds `exec` waits for the run's end after Ctrl-C (the peer sends SIGTERM to the whole tree,
#: then SIGKILL 2 s later).
_CANCEL_SECS = 15.0
#: The daemon's longest time limit (a day).
_MAX_TIMEOUT_SECS = 86_400
_RUN_ID = re.compile(r"[0-9a-f]{32}")
#: A device name that works as one shell word and as PEER on the other device.
_PLAIN_NAME = re.compile(r"[\w.@+-]{1,40}")
_INT64 = (-(1 << 63), (1 << 63) - 1)
Run = command_pb2.CommandRun
Param = command_pb2.CommandParameter

#: What to do about a daemon error, by reason, where the daemon's message does not say it.
_HINTS = {
    "PEER_UNREACHABLE": "is it on and running Kizuna? 'kizuna peers' shows who is online",
    "COMMAND_RUN_NOT_FOUND": "'kizuna runs' lists the runs waiting for approval here",
    "SUBSYSTEM_UNAVAILABLE": "that device runs no commands ('commands' is not in plugins.enabled)",
}
#: Exit status of `exec` by error reason; any other is EXIT_ERROR.
_EXIT_CODES: Final = {
    "COMMAND_TIMED_OUT": EXIT_TIMED_OUT,
    "PERMISSION_DENIED_BY_PEER": EXIT_REFUSED,
    "COMMAND_NOT_ALLOWED": EXIT_REFUSED,
    "COMMAND_ARGUMENTS_INVALID": EXIT_REFUSED,
    "COMMAND_DENIED": EXIT_REFUSED,
    "COMMAND_FAILED_TO_START": EXIT_NOT_STARTED,
}
_EXEC_EPILOG = """\
The arguments go to the peer as separate values, never through a shell, and the peer checks
each against the parameter it fills ('kizuna commands PEER' lists them). Put -- before
arguments that start with a dash. Standard input is passed on unless it is a terminal. Ctrl-C
cancels the run on the peer and waits for its end; a second Ctrl-C exits at once.

exit status:
  0-255  the program's own exit status
  128+N  the program was killed by signal N
  1      any other error: unknown or unreachable peer, the run stopped on the peer, ...
  2      wrong usage of this command
  124    the run reached its time limit and was stopped
  126    refused: no commands permission, not on the peer's allow-list, bad arguments,
         or denied by the peer's owner (or not approved in time)
  127    the program could not start on the peer
  130    interrupted by Ctrl-C: the run was cancelled on the peer
"""


def add_commands(
    commands: Any,
    common: argparse.ArgumentParser,
    client: Callable[[argparse.Namespace], Kizuna],
    safe: Callable[..., str],
) -> None:
    """Adds the remote command commands to the `kizuna` parser."""
    global _client, _safe
    _client, _safe = client, safe

    run = commands.add_parser(
        "exec",
        parents=[common],
        help="run a command a peer allows, with this terminal's input and output",
        description="Run a command that PEER's owner allowed this device to run.",
        epilog=_EXEC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    run.add_argument("name", metavar="NAME", help="the command's ID ('kizuna commands PEER')")
    run.add_argument("args", nargs="*", metavar="ARG", help="its arguments, by position")
    run.add_argument(
        "--arg",
        action="append",
        default=[],
        dest="named",
        metavar="NAME=VALUE",
        help="an argument by its parameter's name, instead of by position (repeatable)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        metavar="SECS",
        help="stop the run after SECS (it never runs longer than the command's own limit)",
    )
    run.set_defaults(handler=_exec)

    listing = commands.add_parser(
        "commands", parents=[common], help="list the commands a peer allows this device to run"
    )
    listing.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    listing.add_argument("--json", action="store_true", help="one JSON object per command")
    listing.set_defaults(handler=_commands)

    runs = commands.add_parser(
        "runs",
        parents=[common],
        help="list command runs in progress or awaiting approval, on and from this device",
    )
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    runs.set_defaults(handler=_runs)

    approve = commands.add_parser(
        "approve",
        parents=[common],
        help="let a peer's command that waits for approval run here (--watch: ask about each)",
    )
    approve.add_argument(
        "id", nargs="?", metavar="RUN_ID", help="run ID or a unique prefix of it ('kizuna runs')"
    )
    approve.add_argument(
        "--watch",
        action="store_true",
        help="ask on this terminal about each request as it comes (y runs it), until Ctrl-C",
    )
    approve.set_defaults(handler=_approve)

    deny = commands.add_parser(
        "deny", parents=[common], help="refuse a peer's command that waits for approval"
    )
    deny.add_argument(
        "id", metavar="RUN_ID", help="run ID or a unique prefix of it ('kizuna runs')"
    )
    deny.set_defaults(handler=_approve)


def _unset_client(args: argparse.Namespace) -> Kizuna:
    raise RuntimeError("add_commands was not called")


def _unset_safe(text: str, limit: int = 120) -> str:
    raise RuntimeError("add_commands was not called")


_client: Callable[[argparse.Namespace], Kizuna] = _unset_client
_safe: Callable[..., str] = _unset_safe


# --- formatting -------------------------------------------------------------------------------


def _peer_label(peer: PeerInfo) -> str:
    return _safe(peer.name or peer.device_id[:_SHORT], 40)


def _run_peer(run: command_pb2.CommandRun) -> str:
    return _safe(run.peer_name or run.peer_id[:_SHORT], 24)


def _state(run: command_pb2.CommandRun) -> str:
    return enum_name(Run.State, run.state, "STATE_").replace("_", " ")


def _value(value: command_pb2.ArgumentValue) -> str:
    kind = value.WhichOneof("kind")
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    return value.string_value


def invocation(run: command_pb2.CommandRun, limit: int = 60) -> str:
    """The run as a command line: the command's ID and its arguments as given (by position, or
    NAME=VALUE), quoted like a shell would need them, escaped."""
    words = list(run.positional_arguments) or [
        f"{name}={_value(value)}" for name, value in sorted(run.arguments.items())
    ]
    return _safe(shlex.join([run.command_id, *words]), limit)


def _seconds_left(run: command_pb2.CommandRun) -> float | None:
    """Until the run is denied for want of an answer; None when it does not wait."""
    if run.state != Run.STATE_AWAITING_APPROVAL or not run.HasField("approval_deadline"):
        return None
    return run.approval_deadline.ToDatetime(tzinfo=UTC).timestamp() - time.time()


def runs_table(runs: Sequence[command_pb2.CommandRun]) -> str:
    """`kizuna runs` for people: one run per line, oldest first."""
    if not runs:
        return (
            "no command runs in progress or waiting for approval; run one with "
            "'kizuna exec PEER COMMAND [ARG...]'"
        )
    lines = [f"{'ID':<8}  {'DIR':<3}  {'PEER':<24}  {'COMMAND':<32}  {'STATE':<17}  DEADLINE"]
    for run in runs:
        direction = "out" if run.direction == Run.DIRECTION_OUTGOING else "in"
        left = _seconds_left(run)
        deadline = f"{clock(left)} left" if left is not None else "-"
        lines.append(
            f"{run.id[:_SHORT]}  {direction:<3}  {_run_peer(run):<24}  "
            f"{invocation(run, 32):<32}  {_state(run):<17}  {deadline}"
        )
    if any(_asks_here(run) for run in runs):
        lines.append(
            "answer: kizuna approve RUN_ID   kizuna deny RUN_ID   (or kizuna approve --watch)"
        )
    return "\n".join(lines)


def _asks_here(run: command_pb2.CommandRun) -> bool:
    return run.direction == Run.DIRECTION_INCOMING and run.state == Run.STATE_AWAITING_APPROVAL


_KINDS: Final = {
    Param.TYPE_BOOLEAN: "boolean (yes/no)",
    Param.TYPE_PATH: "path inside a folder the owner chose",
}


def _parameter_kind(parameter: command_pb2.CommandParameter) -> str:
    """The parameter's type and what it must be, as people read them."""
    if parameter.type == Param.TYPE_INTEGER:
        return "integer" + _range(parameter.min, parameter.max)
    if parameter.type == Param.TYPE_CHOICE:
        return "one of " + "|".join(_safe(choice, 40) for choice in parameter.choices)
    if parameter.type == Param.TYPE_STRING and parameter.pattern:
        return f"text matching {_safe(parameter.pattern, 80)}"
    return _KINDS.get(parameter.type, "text")


def _range(low: int, high: int) -> str:
    if (low, high) == _INT64:
        return ""
    if high == _INT64[1]:
        return f" >= {low}"
    if low == _INT64[0]:
        return f" <= {high}"
    return f" {low}..{high}"


def _parameter_line(parameter: command_pb2.CommandParameter) -> str:
    if parameter.required:
        need = "required"
    elif parameter.default_value:
        need = f"default {_safe(parameter.default_value, 40)}"
    else:
        need = "optional"
    about = f": {_safe(parameter.description, 80)}" if parameter.description else ""
    return f"    {_safe(parameter.name, 20):<14}  {_parameter_kind(parameter)}, {need}{about}"


def commands_table(commands: Sequence[command_pb2.Command], peer: str) -> str:
    """`kizuna commands PEER` for people: each command, then its parameters in order (the order
    arguments by position fill them). `peer` is the word that names the peer, escaped."""
    if not commands:
        return (
            f"{peer} allows this device no commands; its owner lists them under "
            "[[commands.allow]] in its config.toml"
        )
    lines = [f"{'COMMAND':<20}  {'RISK':<6}  {'APPROVAL':<8}  {'LIMIT':>7}  DESCRIPTION"]
    for command in commands:
        approval = "asks" if command.needs_approval else "no"
        risk = enum_name(command_pb2.CommandRisk, command.risk, "COMMAND_RISK_")
        limit = clock(command.timeout.ToMicroseconds() / 1e6)
        row = (
            f"{_safe(command.id, 20):<20}  {risk:<6}  {approval:<8}  {limit:>7}  "
            f"{_safe(command.description, 80)}"
        )
        lines.append(row.rstrip())
        lines += [_parameter_line(parameter) for parameter in command.parameters]
    lines.append(
        f"run one: kizuna exec {peer} COMMAND [ARG...]  (in the order shown, or --arg NAME=VALUE); "
        "'asks': each run waits for the owner's approval"
    )
    return "\n".join(lines)


# --- what went wrong, and what to do ----------------------------------------------------------


def _word(text: str) -> str:
    """`text` (already escaped) as one word of a command to type."""
    return shlex.quote(text)


async def _this_device(k: Kizuna) -> str:
    """How the other device's owner names this one in a command: its name, or its ID's start."""
    node = await k.node()
    return node.name if _PLAIN_NAME.fullmatch(node.name) else node.device_id[:_SHORT]


async def explain(  # noqa: PLR0911 - a rule table
    k: Kizuna,
    reason: str,
    message: str,
    metadata: Mapping[str, str],
    *,
    peer: PeerInfo,
    peer_word: str,
    command: str,
) -> str:
    """A daemon's or a peer's refusal of a run, as a message saying what to do (escaped)."""
    name = _peer_label(peer)
    what = _safe(metadata.get("command") or command, 64)
    # A peer's refusal arrives as "NAME: what it said", often with "COMMAND: " inside.
    detail = message.removeprefix(f"{peer.name}: ").removeprefix(f"{metadata.get('command')}: ")
    detail = _safe(detail, 300)
    if reason == "PERMISSION_DENIED_BY_PEER":
        me = _word(await _this_device(k))
        return (
            f"{name} does not let this device run commands; on {name}, its owner must run "
            f"'kizuna permissions {me} --commands on'"
        )
    if reason == "COMMAND_NOT_ALLOWED":
        return (
            f"{name} does not allow a command {what!r}; 'kizuna commands {peer_word}' lists the "
            "ones it does"
        )
    if reason == "COMMAND_ARGUMENTS_INVALID":
        argument = _safe(metadata.get("argument", ""), 64)
        if argument and repr(argument) not in detail:
            detail = f"argument {argument!r}: {detail}"
        return (
            f"{name} refused the arguments of {what}: {detail}; 'kizuna commands {peer_word}' "
            f"shows what {what} takes"
        )
    if reason == "COMMAND_DENIED":
        if metadata.get("approval") == "expired":
            return f"nobody on {name} approved {what} in time, so it did not run"
        return f"{name}'s owner denied {what}; it did not run"
    if reason == "COMMAND_FAILED_TO_START":
        return f"{what} could not start on {name}: {detail}"
    if reason == "COMMAND_TIMED_OUT":
        return f"{what} on {name} reached its time limit and was stopped"
    hint = _HINTS.get(reason)
    return _safe(message, 300) + (f"; {hint}" if hint else "")


async def _explained(
    k: Kizuna, exc: KizunaError, peer: PeerInfo, peer_word: str, command: str = ""
) -> KizunaError:
    """`exc` with the message `explain` gives it."""
    text = await explain(
        k, exc.reason, exc.message, exc.metadata, peer=peer, peer_word=peer_word, command=command
    )
    return type(exc)(text, code=exc.code, metadata=exc.metadata)


# --- reading standard input -------------------------------------------------------------------


class _Input:
    """A file descriptor read without blocking the event loop, a piece or a line at a time.

    Pipes and terminals are watched by the loop; what it cannot watch (a regular file,
    /dev/null) is read in a daemon thread, so an exit never waits for a read. Nothing read is
    lost when a read is cancelled."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._eof = False
        self._watchable: bool | None = None
        self._pending: asyncio.Future[bytes] | None = None

    async def read(self, size: int) -> bytes:
        """Up to `size` bytes; b"" at the end."""
        while not self._buffer and not self._eof:
            await self._fill(size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def readline(self) -> str | None:
        """The next line without its end; None at the end of the input."""
        while b"\n" not in self._buffer and not self._eof:
            await self._fill(4096)
        if not self._buffer:
            return None
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer[:] = rest
        return line.decode(errors="replace")

    async def _fill(self, size: int) -> None:
        if self._watchable is not False:
            try:
                await self._readable()
            except OSError:  # epoll takes no regular files or /dev/null
                self._watchable = False
            else:
                self._watchable = True
                try:
                    data = os.read(self._fd, size)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""
                self._take(data)
                return
        if self._pending is None:
            self._pending = _in_thread(lambda: os.read(self._fd, size))
        data = await asyncio.shield(self._pending)
        self._pending = None
        self._take(data)

    def _take(self, data: bytes) -> None:
        self._buffer += data
        self._eof = not data

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)


def _in_thread(read: Callable[[], bytes]) -> asyncio.Future[bytes]:
    """`read()` in a daemon thread (b"" if it fails)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bytes] = loop.create_future()

    def settle(data: bytes) -> None:
        if not future.done():
            future.set_result(data)

    def work() -> None:
        try:
            data = read()
        except OSError:
            data = b""
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, data)

    threading.Thread(target=work, name="kizuna-stdin", daemon=True).start()
    return future


def _stdin_fd() -> int | None:
    """This process's standard input, if it has one open."""
    try:
        fd = sys.stdin.fileno()
        os.fstat(fd)
    except (AttributeError, ValueError, OSError):  # None, closed, or not a file
        return None
    return fd


# --- exec -------------------------------------------------------------------------------------


def _named(pairs: Sequence[str]) -> dict[str, str | int | bool] | None:
    """--arg NAME=VALUE values by name; None when one is malformed (said on stderr)."""
    named: dict[str, str | int | bool] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            print(
                f"kizuna exec: --arg takes NAME=VALUE, for example --arg level=40, not "
                f"{_safe(pair, 80)!r}",
                file=sys.stderr,
            )
            return None
        named[name.strip()] = value
    return named


def _usage_error(args: argparse.Namespace) -> str:
    if args.named and args.args:
        return "give the arguments by position or with --arg NAME=VALUE, not both"
    if args.timeout is not None and not 0 < args.timeout <= _MAX_TIMEOUT_SECS:
        return f"--timeout takes seconds, more than 0 and at most {_MAX_TIMEOUT_SECS}"
    return ""


async def _exec(args: argparse.Namespace) -> int:
    named = _named(args.named)
    if named is None:
        return EXIT_USAGE
    problem = _usage_error(args)
    if problem:
        print(f"kizuna exec: {problem}", file=sys.stderr)
        return EXIT_USAGE
    command = _safe(args.name, 64)
    peer_word = _word(_safe(args.peer, 60))
    async with _client(args) as k:
        with hinted(_HINTS):
            peer = choose_peer(await k.peers(), args.peer)
        # run_command splits its command like a shell would (never running one): quoting each
        # word gives the peer exactly these words as the positional arguments.
        line = shlex.join([args.name, *args.args])
        try:
            handle = await k.run_command(
                line, peer.device_id, named or None, time_limit=args.timeout
            )
        except KizunaError as exc:
            return await _refused(k, exc, peer, peer_word, command)
        async with handle:
            try:
                await _follow(handle, _peer_label(peer), command)
            except KizunaError as exc:
                return await _refused(k, exc, peer, peer_word, command)
            return await _ended(k, handle.run, peer, peer_word, command)


async def _refused(
    k: Kizuna, exc: KizunaError, peer: PeerInfo, peer_word: str, command: str
) -> int:
    text = await explain(
        k, exc.reason, exc.message, exc.metadata, peer=peer, peer_word=peer_word, command=command
    )
    print(f"kizuna exec: {text}", file=sys.stderr)
    return _EXIT_CODES.get(exc.reason, EXIT_ERROR)


async def _ended(
    k: Kizuna, run: command_pb2.CommandRun, peer: PeerInfo, peer_word: str, command: str
) -> int:
    """Says how the run ended, unless the program's exit says it all; the exit status."""
    name = _peer_label(peer)
    if run.output_truncated:
        print(
            f"kizuna exec: {name} dropped output past the cap for {command} "
            f"({run.stdout_bytes} bytes of stdout and {run.stderr_bytes} of stderr written)",
            file=sys.stderr,
        )
    if run.state == Run.STATE_EXITED:
        return 128 - run.exit_code if run.exit_code < 0 else min(run.exit_code, 255)
    if run.state == Run.STATE_CANCELLED:
        print(
            f"kizuna exec: {command} was stopped on {name} before it ended (its owner turned "
            "off the commands permission, or the device is shutting down)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if run.state == Run.STATE_TIMED_OUT:
        reason = "COMMAND_TIMED_OUT"
    else:
        reason = enum_name(errors_pb2.ErrorReason, run.error.reason, "ERROR_REASON_").upper()
    text = await explain(
        k,
        reason,
        run.error.message or f"the run ended {_state(run)}",
        dict(run.error.metadata),
        peer=peer,
        peer_word=peer_word,
        command=command,
    )
    print(f"kizuna exec: {text}", file=sys.stderr)
    return _EXIT_CODES.get(reason, EXIT_ERROR)


async def _follow(handle: RemoteCommand, name: str, command: str) -> None:
    """Passes output and input through until the run ends; Ctrl-C cancels it on the peer.

    Output is read in a task of its own: cancelling a gRPC read (or write) cancels the whole
    call, and after Ctrl-C the call must go on to carry the cancel and the run's end."""
    _announce(handle.run, name, command)
    output = asyncio.ensure_future(_pass_output(handle))
    feeding = asyncio.ensure_future(_pass_input(handle))
    try:
        await asyncio.wait({output})
    except asyncio.CancelledError:
        feeding.cancel()  # its writes are shielded: none is cut in half
        await _cancel(handle, output, name, command)
        raise
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
    output.result()


async def _cancel(
    handle: RemoteCommand, output: asyncio.Future[None], name: str, command: str
) -> None:
    """After Ctrl-C: asks the peer to stop the run and waits for its end (and its output)."""
    print(f"kizuna exec: cancelling {command} on {name}…", file=sys.stderr, flush=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_CANCEL_SECS):
            await handle.cancel()
            await asyncio.wait({output})
    if not output.done():
        output.cancel()  # ends the call: the peer stops the run when its caller goes away
        await asyncio.gather(output, return_exceptions=True)
        print(
            f"kizuna exec: cancelled; {name} did not confirm the end of {command} ("
            "'kizuna runs' shows whether it still runs)",
            file=sys.stderr,
        )
    elif handle.ended and handle.run.state != Run.STATE_CANCELLED:
        print(
            f"kizuna exec: {command} ended on {name} ({_state(handle.run)}) before the cancel "
            "arrived",
            file=sys.stderr,
        )
    else:  # cancelled, or the call ended with an error: either way nothing runs any more
        print(f"kizuna exec: cancelled {command} on {name}", file=sys.stderr)


async def _pass_output(handle: RemoteCommand) -> None:
    async for chunk in handle:
        stream = sys.stdout if chunk.stream == "stdout" else sys.stderr
        stream.flush()  # text written before goes first
        stream.buffer.write(chunk.data)
        stream.buffer.flush()


async def _pass_input(handle: RemoteCommand) -> None:
    """This process's standard input to the program, then its end. A terminal gives nothing:
    the program's input ends at once."""
    fd = _stdin_fd()
    if fd is not None and not os.isatty(fd):
        source = _Input(fd)
        while data := await source.read(STDIN_CHUNK):
            await asyncio.shield(handle.write(data))
    await asyncio.shield(handle.close_stdin())


def _announce(run: command_pb2.CommandRun, name: str, command: str) -> None:
    """Says that the run waits for the peer's owner, if it does (the daemon's first message
    says where the run stands)."""
    if run.state != Run.STATE_AWAITING_APPROVAL:
        return
    left = _seconds_left(run)
    within = f" (up to {max(0, round(left))} s)" if left is not None else ""
    print(f"waiting for {name}'s owner to approve {command}{within}…", file=sys.stderr, flush=True)


# --- commands, runs ---------------------------------------------------------------------------


async def _commands(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            peer = choose_peer(await k.peers(), args.peer)
        peer_word = _word(_safe(args.peer, 60))
        try:
            found = await k.peer_commands(peer.device_id)
        except KizunaError as exc:
            raise await _explained(k, exc, peer, peer_word) from None
    if args.json:
        for command in found:
            print(json_format.MessageToJson(command, indent=None, preserving_proto_field_name=True))
        return 0
    print(commands_table(found, peer_word))
    return 0


async def _runs(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        found = await k.command_runs()
    if args.json:
        for run in found:
            print(json_format.MessageToJson(run, indent=None, preserving_proto_field_name=True))
        return 0
    print(runs_table(found))
    return 0


# --- approve, deny ----------------------------------------------------------------------------


def choose_run(runs: Sequence[command_pb2.CommandRun], text: str) -> command_pb2.CommandRun:
    """The run `text` names: its full ID or a unique prefix (>= 4 characters)."""
    return choose_by_id(
        runs,
        text,
        id_of=lambda r: r.id,
        describe=lambda r: f"{invocation(r, 30)} from {_run_peer(r)}",
        noun="run",
        lists="kizuna runs",
        not_found=lambda wanted: CommandRunNotFoundError(
            f"no run waiting for approval here matches {text!r}; 'kizuna runs' lists them",
            metadata={"run_id": wanted[:40]},
        ),
    )


async def _approve(args: argparse.Namespace) -> int:
    approving = args.command == "approve"
    if approving and args.watch == bool(args.id):
        print(
            "kizuna approve: give a RUN_ID ('kizuna runs' lists them) or --watch, not both",
            file=sys.stderr,
        )
        return EXIT_USAGE
    async with _client(args) as k:
        if approving and args.watch:
            return await _watch(k)
        with hinted(_HINTS):
            wanted = args.id.strip().lower()
            if not _RUN_ID.fullmatch(wanted):  # a prefix: among the runs that ask here
                wanted = choose_run([r for r in await k.command_runs() if _asks_here(r)], wanted).id
            run = await (k.approve_command(wanted) if approving else k.deny_command(wanted))
    if approving:
        print(f"approved {invocation(run)} for {_run_peer(run)}; it runs now")
    else:
        print(f"denied {invocation(run)} for {_run_peer(run)}; it does not run")
    return 0


_WATCHED = ("command_approval_requested", "command_started", "command_executed")


async def _watch(k: Kizuna) -> int:
    """`kizuna approve --watch`: asks about each request, one at a time, oldest first; a
    request that ends while waiting (expired, withdrawn, answered elsewhere) is reported."""
    async with k.subscribe_events(types=_WATCHED) as events:
        await events.started()  # from here no request slips by unseen
        waiting = {r.id: r for r in await k.command_runs() if _asks_here(r)}
        print("watching for peers asking to run commands on this device; Ctrl-C stops", flush=True)
        fd = _stdin_fd()
        answers = _Input(fd) if fd is not None else None
        upcoming = asyncio.ensure_future(anext(events))
        asked: command_pb2.CommandRun | None = None
        answer: asyncio.Future[str | None] | None = None
        try:
            while True:
                if asked is None and waiting:
                    asked = waiting.pop(next(iter(waiting)))
                    _show_request(asked)
                    answer = asyncio.ensure_future(_answer(answers))
                pending: set[asyncio.Future[Any]] = {upcoming}
                if answer is not None:
                    pending.add(answer)
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if answer is not None and answer in done:
                    assert asked is not None
                    line = answer.result()
                    if line is None:
                        print(
                            "\nend of input: stopping; the request still waits "
                            f"('kizuna approve {asked.id[:_SHORT]}' or 'kizuna deny')",
                            flush=True,
                        )
                        return 0
                    await _decide(k, asked, line.strip().lower() in ("y", "yes"))
                    asked, answer = None, None
                if upcoming in done:
                    try:
                        item = upcoming.result()
                    except StopAsyncIteration:
                        raise KizunaError(
                            "the daemon stopped reporting requests; run 'kizuna approve --watch' "
                            "again"
                        ) from None
                    upcoming = asyncio.ensure_future(anext(events))
                    if not isinstance(item, KizunaEvent):
                        continue  # a gap: requests still waiting show up in 'kizuna runs'
                    ended = _watched(item, waiting)
                    if ended is not None and asked is not None and ended.id == asked.id:
                        assert answer is not None
                        answer.cancel()
                        await asyncio.gather(answer, return_exceptions=True)
                        print(f"\n{_request_end(ended)}", flush=True)
                        asked, answer = None, None
        finally:
            for task in (upcoming, answer):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)


def _watched(
    item: KizunaEvent, waiting: dict[str, command_pb2.CommandRun]
) -> command_pb2.CommandRun | None:
    """Keeps `waiting` up to date with one event; the run if it no longer waits (a queued one
    that ended is reported here)."""
    if item.type == "command_approval_requested":
        run = item.message.command_approval_requested.run
        if _asks_here(run):
            waiting[run.id] = run
        return None
    run = (
        item.message.command_started.run
        if item.type == "command_started"
        else item.message.command_executed.run
    )
    if run.direction != Run.DIRECTION_INCOMING:
        return None
    if waiting.pop(run.id, None) is not None:
        print(_request_end(run), flush=True)
    return run


def _request_end(run: command_pb2.CommandRun) -> str:
    """What became of a request that was not answered here."""
    who = f"{_run_peer(run)}'s request to run {invocation(run)}"
    if run.approval == Run.APPROVAL_EXPIRED:
        return f"{who} expired: nobody answered in time, so it was denied"
    if run.state == Run.STATE_CANCELLED:
        return f"{who} was withdrawn"
    if run.approval == Run.APPROVAL_GRANTED:
        return f"{who} was approved elsewhere"
    if run.approval == Run.APPROVAL_DENIED:
        return f"{who} was denied elsewhere"
    return f"{who} ended ({_state(run)})"


def _show_request(run: command_pb2.CommandRun) -> None:
    print(f"{_run_peer(run)} ({run.peer_id[:_SHORT]}) asks to run {invocation(run, 200)}")
    for name, value in sorted(run.arguments.items()):
        print(f"  {_safe(name, 40)} = {_safe(shlex.quote(_value(value)), 200)}")
    left = _seconds_left(run)
    if left is not None:
        print(f"  answer within {max(0, round(left))} s, or it is denied")
    print("Run it? [y/N] ", end="", flush=True)


async def _answer(answers: _Input | None) -> str | None:
    return None if answers is None else await answers.readline()


async def _decide(k: Kizuna, run: command_pb2.CommandRun, approved: bool) -> None:
    try:
        if approved:
            await k.approve_command(run.id)
        else:
            await k.deny_command(run.id)
    except KizunaError as exc:  # it ended meanwhile (expired, withdrawn)
        print(f"could not answer: {_safe(exc.message, 300)}", flush=True)
        return
    verb = "approved: it runs now" if approved else "denied: it does not run"
    print(f"{verb} ({run.id[:_SHORT]})", flush=True)
