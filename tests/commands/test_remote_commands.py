"""Remote commands between two real daemons on loopback (real TLS), through kizuna_client.

Alpha asks, beta runs what its owner allow-listed (docs/commands.md). Issue 13 and THREATS #25
(command injection), #39 (command escapes: metacharacters, `..`/symlink paths, a double-forked
grandchild, an output flood) and #40 (a faulty plugin is contained: a run that hangs or floods
does not stop the daemon or other runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import CommandResult, KizunaEvent
from kizuna_client.commands import Output, RemoteCommand
from kizuna_client.errors import (
    CommandArgumentsInvalidError,
    CommandDeniedError,
    CommandFailedToStartError,
    CommandNotAllowedError,
    CommandRunNotFoundError,
    InvalidArgumentError,
    KizunaError,
    LimitExceededError,
    PeerNotFoundError,
    PeerNotTrustedError,
    PeerUnreachableError,
    PermissionDeniedByPeerError,
    SubsystemUnavailableError,
)
from kizuna_client.v1 import command_pb2, command_service_pb2, errors_pb2
from tests.p2p.peerpair import Node, Nodes, eventually, pair, paired

pytestmark = pytest.mark.asyncio

PY = sys.executable
Run = command_pb2.CommandRun
Param = command_pb2.CommandParameter

# --- programs ---------------------------------------------------------------------------------

#: Writes its arguments (argv[1:]) to stdout as a JSON list: shows exactly what argv it got.
ARGV_JSON = "import json, sys; sys.stdout.write(json.dumps(sys.argv[1:]))"

#: Exits with the status given as argv[1], after a line on each of stdout and stderr.
REPORT_SCRIPT = (
    "import sys; print('out', sys.argv[1]); sys.stderr.write('err ' + sys.argv[1]); "
    "sys.exit(int(sys.argv[1]))"
)

#: Double-forks a grandchild that leaves the session (setsid), writes its PID to argv[1] (by
#: rename, so a reader never sees half of it), then says "ready" on the inherited stdout and
#: sleeps. The program itself waits for the middle child and sleeps too.
DOUBLE_FORK = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1] + ".part", "w") as f:
            f.write(str(os.getpid()))
        os.rename(sys.argv[1] + ".part", sys.argv[1])
        print("ready", flush=True)
        time.sleep(300)
    os._exit(0)
os.wait()
time.sleep(300)
"""

#: Prints a line, then waits for one on stdin and echoes it back.
INTERACTIVE = (
    "import sys; print('first', flush=True); line = sys.stdin.readline(); "
    "print('got ' + line.strip(), flush=True)"
)

#: A line on stdout and a byte on stderr, then a long sleep (past any limit in these tests).
SLOW = (
    "import sys, time; print('before', flush=True); sys.stderr.write('e'); sys.stderr.flush(); "
    "time.sleep(300)"
)

FLOOD_BYTES = 200 << 20
MIB = 1 << 20

# --- allow-list entries -----------------------------------------------------------------------

ECHO: dict[str, Any] = {
    "id": "echo",
    "description": "Print the text",
    "argv": ["echo", "{text}"],
    "risk": "low",
    "parameters": [{"name": "text", "type": "string", "required": True}],
}
REPORT: dict[str, Any] = {
    "id": "report",
    "argv": [PY, "-c", REPORT_SCRIPT, "{code}"],
    "risk": "low",
    "parameters": [{"name": "code", "type": "integer", "min": 0, "max": 255, "required": True}],
}
BYTES: dict[str, Any] = {
    "id": "bytes",
    "argv": [PY, "-c", "import sys; sys.stdout.buffer.write(bytes([104, 105, 255, 10]))"],
    "risk": "low",
}
ARGS: dict[str, Any] = {
    "id": "args",
    "argv": [PY, "-c", ARGV_JSON, "{first}", "{second}", "{third}"],
    "risk": "low",
    "parameters": [
        {"name": "first", "type": "string", "required": True},
        {"name": "second", "type": "string"},
        {"name": "third", "type": "string"},
    ],
}
CAT: dict[str, Any] = {"id": "cat", "argv": ["cat"], "risk": "low"}
INTERACT: dict[str, Any] = {"id": "interact", "argv": [PY, "-c", INTERACTIVE], "risk": "low"}
HIGH: dict[str, Any] = {
    "id": "high",
    "description": "Print the text, after the owner approves",
    "argv": ["echo", "{text}"],
    "risk": "high",
    "parameters": [{"name": "text", "type": "string", "required": True}],
}


def allow(*entries: Mapping[str, Any], **settings: Any) -> dict[str, Any]:
    return {"commands": {"allow": [dict(e) for e in entries], **settings}}


def command(command_id: str, argv: list[str], *, risk: str = "low", **keys: Any) -> dict[str, Any]:
    return {"id": command_id, "argv": argv, "risk": risk, **keys}


async def commanding(
    nodes: Nodes, *entries: Mapping[str, Any], **settings: Any
) -> tuple[Node, Node]:
    """Alpha and beta paired; beta allows `entries` and lets alpha run commands."""
    a, b = await paired(nodes, **allow(*entries, **settings))
    await b.client.set_peer_permissions(a.id, commands=True)
    return a, b


async def commanding_with(
    nodes: Nodes, beta_settings: Callable[[str], dict[str, Any]]
) -> tuple[Node, Node]:
    """As `commanding`, for beta settings that name alpha's device ID."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta", beta_settings(a.id))
    await pair(a, b)
    await b.client.set_peer_permissions(a.id, commands=True)
    return a, b


# --- helpers ----------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def gone(pid: int, *, within: float = 10.0) -> None:
    async def probe() -> bool | None:
        return True if not alive(pid) else None

    await eventually(probe, within=within, what=f"process {pid} gone")


async def pid_in(path: Path) -> int:
    async def probe() -> int | None:
        return int(path.read_text()) if path.exists() else None

    return await eventually(probe, what=f"a PID in {path}")


async def read_until(stream: AsyncIterator[Output], needle: bytes) -> bytes:
    """Output from `stream` until stdout holds `needle`."""
    seen = bytearray()
    while needle not in seen:
        chunk = await anext(stream)
        if chunk.stream == "stdout":
            seen += chunk.data
    return bytes(seen)


def argv_of(result: CommandResult) -> list[str]:
    assert result.ok, result
    got = json.loads(result.stdout)
    assert isinstance(got, list)
    return got


def audit_path(node: Node) -> Path:
    return node.daemon.config.paths.data_dir / "commands" / "audit.jsonl"


async def audit_lines(node: Node, count: int) -> list[dict[str, Any]]:
    """The audit log's lines, once it has `count` (lines are appended as runs end)."""
    path = audit_path(node)

    async def probe() -> list[dict[str, Any]] | None:
        if not path.exists():
            return None
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines] if len(lines) >= count else None

    lines = await eventually(probe, what=f"{count} lines in {path}")
    assert len(lines) == count, lines
    return lines


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def executed(node: Node, run_id: str, mark: int) -> Any:
    """The run as `node`'s command_executed event shows it."""
    event = await node.events.wait_for("command_executed", lambda p: p.run.id == run_id, after=mark)
    return run_in(event)


def run_in(event: KizunaEvent) -> Any:
    """The kizuna.v1.CommandRun a command event carries."""
    payload: Any = event.payload
    return payload.run


def tree_command(command_id: str, pidfile: Path, **keys: Any) -> dict[str, Any]:
    return command(command_id, [PY, "-c", DOUBLE_FORK, str(pidfile)], **keys)


# --- running, output, exit codes --------------------------------------------------------------


async def test_an_allowed_command_returns_exit_code_stdout_and_stderr(nodes: Nodes) -> None:
    a, b = await commanding(nodes, ECHO, REPORT)
    result = await a.client.execute_command("echo 'hello; rm -rf ~'", b.id)
    assert result.ok, result
    assert (result.state, result.exit_code) == ("exited", 0)
    assert result.stdout == "hello; rm -rf ~\n" and result.stderr == ""
    assert result.command_id == "echo" and len(result.run_id) == 32

    failed = await a.client.execute_command("report 3", b.id)
    assert not failed.ok
    assert (failed.state, failed.exit_code) == ("exited", 3)
    assert (failed.stdout, failed.stderr) == ("out 3\n", "err 3")

    by_name = await a.client.execute_command("report", b.id, {"code": 0})
    assert by_name.ok and by_name.stdout == "out 0\n"


async def test_the_finished_run_carries_duration_and_byte_counts(nodes: Nodes) -> None:
    a, b = await commanding(nodes, REPORT)
    request = command_service_pb2.RunCommandRequest(
        peer_id=b.id, command_id="report", positional_arguments=["7"]
    )
    before = time.time()
    response: Any = await a.client.command_service.RunCommand(request)
    run = response.run
    assert (run.state, run.exit_code) == (Run.STATE_EXITED, 7)
    assert (response.stdout, response.stderr) == (b"out 7\n", b"err 7")
    assert (run.stdout_bytes, run.stderr_bytes) == (6, 5)
    assert run.direction == Run.DIRECTION_OUTGOING and run.peer_id == b.id
    assert list(run.positional_arguments) == ["7"]
    assert 0 < run.duration.ToMicroseconds() < 30e6
    assert before - 1 <= run.start_time.seconds <= run.end_time.seconds <= time.time() + 1


async def test_stdout_bytes_are_exact_and_stdout_text_is_decoded(nodes: Nodes) -> None:
    a, b = await commanding(nodes, BYTES)
    result = await a.client.execute_command("bytes", b.id)
    assert result.stdout_bytes == b"hi\xff\n"
    assert result.stdout == "hi\ufffd\n"


async def test_the_seed_string_is_split_like_a_shell_but_never_run_by_one(
    nodes: Nodes, tmp_path: Path
) -> None:
    a, b = await commanding(nodes, ARGS)
    marker = tmp_path / "pwned"
    result = await a.client.execute_command(
        f"args 'two words' \"$(touch {marker})\" back\\ slash", b.id
    )
    assert argv_of(result) == ["two words", f"$(touch {marker})", "back slash"]
    # Optional parameters that were not given leave their argv elements out.
    assert argv_of(await a.client.execute_command("args only", b.id)) == ["only"]
    assert not marker.exists()
    with pytest.raises(InvalidArgumentError):
        await a.client.execute_command("args 'unclosed", b.id)
    with pytest.raises(InvalidArgumentError):
        await a.client.execute_command("args one", b.id, {"first": "two"})
    with pytest.raises(CommandArgumentsInvalidError):
        await a.client.execute_command("args 1 2 3 4", b.id)


# --- refusals ---------------------------------------------------------------------------------


async def test_an_unknown_command_id_is_not_allowed(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await commanding(nodes, ECHO)
    with pytest.raises(CommandNotAllowedError) as caught:
        await a.client.execute_command("reboot now", b.id)
    assert caught.value.reason == "COMMAND_NOT_ALLOWED"
    assert caught.value.metadata["command"] == "reboot"
    marker = tmp_path / "pwned"
    with pytest.raises(CommandNotAllowedError):
        await a.client.execute_command(f"'echo;touch {marker}'", b.id)
    with pytest.raises(CommandNotAllowedError):
        await a.client.run_command("../../bin/sh", b.id)
    assert not marker.exists()


async def test_a_missing_program_fails_to_start(nodes: Nodes, tmp_path: Path) -> None:
    missing = command("missing", [str(tmp_path / "no-such-program")])
    a, b = await commanding(nodes, missing)
    with pytest.raises(CommandFailedToStartError) as caught:
        await a.client.execute_command("missing", b.id)
    assert caught.value.reason == "COMMAND_FAILED_TO_START"
    assert caught.value.metadata["command"] == "missing"


def checked(root: Path) -> dict[str, Any]:
    return {
        "id": "checked",
        "argv": [PY, "-c", ARGV_JSON, "{word}", "{n}", "{mode}", "{file}"],
        "risk": "low",
        "parameters": [
            {"name": "word", "type": "string", "pattern": "[a-z]+", "required": True},
            {"name": "n", "type": "integer", "min": 1, "max": 10, "required": True},
            {"name": "mode", "type": "choice", "choices": ["fast", "slow"], "required": True},
            {"name": "file", "type": "path", "root": str(root), "required": True},
        ],
    }


def tree_with_escape(tmp_path: Path) -> Path:
    """tmp_path/root holding inside.txt and a symlink `link` to tmp_path/outside; returns root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "inside.txt").write_text("ok")
    (outside / "secret.txt").write_text("secret")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "sub").mkdir()
    (root / "alias").symlink_to(root / "inside.txt")
    return root


GOOD: dict[str, str | int] = {"word": "abc", "n": 5, "mode": "fast", "file": "inside.txt"}


async def test_valid_arguments_are_checked_and_placed_into_argv(
    nodes: Nodes, tmp_path: Path
) -> None:
    root = tree_with_escape(tmp_path)
    a, b = await commanding(nodes, checked(root))
    inside = os.path.realpath(root / "inside.txt")
    assert argv_of(await a.client.execute_command("checked", b.id, GOOD)) == [
        "abc",
        "5",
        "fast",
        inside,
    ]
    by_position = await a.client.execute_command("checked xyz 10 slow ./inside.txt", b.id)
    assert argv_of(by_position) == ["xyz", "10", "slow", inside]
    # `..` and symlinks that stay inside the root are fine; the program gets the real path.
    for staying in ("sub/../inside.txt", "alias", str(root / "inside.txt")):
        result = await a.client.execute_command("checked", b.id, {**GOOD, "file": staying})
        assert argv_of(result)[-1] == inside, staying


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("word", "abc1"),
        ("word", "abc; rm -rf ~"),
        ("n", 11),
        ("n", 0),
        ("mode", "medium"),
        ("file", "../outside/secret.txt"),
        ("file", "link/secret.txt"),
        ("file", "link"),
        ("file", "/etc/passwd"),
        ("file", "missing.txt"),
    ],
)
async def test_bad_arguments_are_refused_and_name_the_argument(
    nodes: Nodes, tmp_path: Path, argument: str, value: str | int
) -> None:
    root = tree_with_escape(tmp_path)
    a, b = await commanding(nodes, checked(root))
    mark = b.events.mark()
    with pytest.raises(CommandArgumentsInvalidError) as caught:
        await a.client.execute_command("checked", b.id, {**GOOD, argument: value})
    assert caught.value.reason == "COMMAND_ARGUMENTS_INVALID"
    assert caught.value.metadata["argument"] == argument
    assert caught.value.metadata["command"] == "checked"
    refused = await b.events.wait_for("command_executed", after=mark)
    assert run_in(refused).state == Run.STATE_FAILED
    assert b.events.of_type("command_started", after=mark) == []


async def test_a_required_argument_that_is_missing_is_refused(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await commanding(nodes, checked(tree_with_escape(tmp_path)))
    with pytest.raises(CommandArgumentsInvalidError) as caught:
        await a.client.execute_command("checked", b.id, {"word": "abc", "n": 1, "mode": "fast"})
    assert caught.value.metadata["argument"] == "file"
    with pytest.raises(CommandArgumentsInvalidError) as caught:
        await a.client.execute_command("checked", b.id, {**GOOD, "extra": "x"})
    assert caught.value.metadata["argument"] == "extra"


INJECTIONS = [
    "; touch {marker}",
    "$(touch {marker})",
    "`touch {marker}`",
    "| touch {marker}",
    "&& touch {marker} #",
    "'; touch {marker}; echo '",
    "> {marker}",
]


async def test_injection_attempts_arrive_as_one_literal_argument(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #25/#39: metacharacters are characters of one argv element; nothing else runs."""
    inject = {
        "id": "inject",
        "argv": [PY, "-c", ARGV_JSON, "{text}"],
        "risk": "low",
        "workdir": str(tmp_path),
        "parameters": [{"name": "text", "type": "string", "required": True}],
    }
    printf = command(
        "printf",
        ["printf", "%s", "{text}"],
        workdir=str(tmp_path),
        parameters=[{"name": "text", "type": "string", "required": True}],
    )
    a, b = await commanding(nodes, inject, printf)
    marker = tmp_path / "pwned"
    for template in INJECTIONS:
        value = template.format(marker=marker)
        by_name = await a.client.execute_command("inject", b.id, {"text": value})
        assert argv_of(by_name) == [value]
        by_position = await a.client.execute_command(f"inject {json.dumps(value)}", b.id)
        assert argv_of(by_position) == [value]
        shown = await a.client.execute_command("printf", b.id, {"text": value})
        assert shown.ok and shown.stdout == value
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not marker.exists()


@pytest.mark.parametrize(
    "value", ["first\ntouch /tmp/x", "a\rb", "a\x1bb", "a\u2028b", "a\x00b", "\x00"]
)
async def test_control_characters_and_nul_are_refused_without_a_pattern(
    nodes: Nodes, value: str
) -> None:
    a, b = await commanding(nodes, ECHO)
    mark = b.events.mark()
    with pytest.raises(CommandArgumentsInvalidError) as caught:
        await a.client.execute_command("echo", b.id, {"text": value})
    assert caught.value.metadata["argument"] == "text"
    await b.events.wait_for("command_executed", after=mark)
    assert b.events.of_type("command_started", after=mark) == []


# --- time limit, cancel, the whole tree -------------------------------------------------------


async def test_a_run_past_its_time_limit_is_stopped_and_keeps_its_output(nodes: Nodes) -> None:
    slow = command("slow", [PY, "-c", SLOW], timeout_secs=1)
    a, b = await commanding(nodes, slow)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    started = time.monotonic()
    result = await a.client.execute_command("slow", b.id)
    assert time.monotonic() - started < 10
    assert result.state == "timed_out" and not result.ok
    assert (result.stdout, result.stderr) == ("before\n", "e")
    assert result.exit_code < 0  # the signal that ended it
    for node, mark in ((a, mark_a), (b, mark_b)):
        run = await executed(node, result.run_id, mark)
        assert run.state == Run.STATE_TIMED_OUT
        assert run.error.reason == errors_pb2.ERROR_REASON_COMMAND_TIMED_OUT
        assert run.error.metadata["command"] == "slow"
        assert (run.stdout_bytes, run.stderr_bytes) == (7, 1)


async def test_the_caller_can_shorten_the_time_limit_but_not_extend_it(nodes: Nodes) -> None:
    long = command("long", [PY, "-c", SLOW], timeout_secs=30)
    short = command("short", [PY, "-c", SLOW], timeout_secs=1)
    a, b = await commanding(nodes, long, short)
    started = time.monotonic()
    shortened = await a.client.execute_command("long", b.id, time_limit=1)
    assert shortened.state == "timed_out" and shortened.stdout == "before\n"
    assert time.monotonic() - started < 10
    started = time.monotonic()
    async with await a.client.run_command("short", b.id, time_limit=60) as proc:
        result = await proc.wait()
    assert result.state == "timed_out"
    assert proc.run.error.reason == errors_pb2.ERROR_REASON_COMMAND_TIMED_OUT
    assert time.monotonic() - started < 10
    with pytest.raises(InvalidArgumentError):
        await a.client.execute_command("long", b.id, time_limit=-1)


async def test_cancel_stops_a_double_forked_setsid_grandchild(nodes: Nodes, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, tree_command("tree", pidfile))
    mark_b = b.events.mark()
    proc = await a.client.run_command("tree", b.id)
    async with proc:
        await read_until(aiter(proc), b"ready\n")
        grandchild = await pid_in(pidfile)
        assert alive(grandchild)
        await proc.cancel()
        result = await proc.wait()
    assert result.state == "cancelled" and not result.ok
    assert result.exit_code < 0
    await gone(grandchild)
    run = await executed(b, result.run_id, mark_b)
    assert run.state == Run.STATE_CANCELLED
    assert await b.client.command_runs() == []


async def test_the_time_limit_stops_a_double_forked_setsid_grandchild(
    nodes: Nodes, tmp_path: Path
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, tree_command("tree", pidfile, timeout_secs=2))
    result = await a.client.execute_command("tree", b.id)
    assert result.state == "timed_out"
    assert result.stdout == "ready\n"  # written by the grandchild, after its PID file
    await gone(int(pidfile.read_text()))


async def test_an_app_that_leaves_stops_the_run_on_the_peer(nodes: Nodes, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, tree_command("tree", pidfile))
    mark_b = b.events.mark()
    async with await a.client.run_command("tree", b.id) as proc:
        await read_until(aiter(proc), b"ready\n")
        grandchild = await pid_in(pidfile)
    run = await executed(b, proc.id, mark_b)
    assert run.state == Run.STATE_CANCELLED
    await gone(grandchild)


async def test_a_streamed_run_that_needs_no_approval_is_not_shown_as_waiting(
    nodes: Nodes,
) -> None:
    """run_command returns once the peer took the run; for a command that needs no approval
    the handle's first state is RUNNING (an app would otherwise tell its user "waiting for the
    owner" for every run), and alpha's ListCommandRuns says RUNNING too."""
    a, b = await commanding(nodes, CAT)
    async with await a.client.run_command("cat", b.id) as proc:
        assert proc.run.state == Run.STATE_RUNNING
        assert proc.run.approval == Run.APPROVAL_NOT_NEEDED
        listed = await a.client.command_runs()
        assert [(r.id, r.state) for r in listed] == [(proc.id, Run.STATE_RUNNING)]
        await proc.close_stdin()
        assert (await proc.wait()).ok


#: Writes its PID to argv[1] (by rename), then writes to stdout without end.
ENDLESS = """
import os, sys
with open(sys.argv[1] + ".part", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".part", sys.argv[1])
block = b"kizuna\\n" * 8192
while True:
    sys.stdout.buffer.write(block)
"""


def written(pid: int) -> int:
    """Bytes the process has written so far (/proc/PID/io wchar)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


async def test_an_app_that_leaves_while_output_flows_stops_the_run(
    nodes: Nodes, tmp_path: Path
) -> None:
    """The app stops reading, so the program's output backs up to beta (whose write to the
    call then waits), and leaves: the run ends as cancelled, in beta's events and audit log,
    and the program is stopped."""
    pidfile = tmp_path / "endless.pid"
    endless = command("endless", [PY, "-c", ENDLESS, str(pidfile)], output_cap_bytes=1 << 30)
    a, b = await commanding(nodes, endless)
    mark_b = b.events.mark()
    async with await a.client.run_command("endless", b.id) as proc:
        await read_until(aiter(proc), b"kizuna\n")
        pid = await pid_in(pidfile)
        last = [-1]

        async def backed_up() -> bool | None:
            now = written(pid)  # unchanged between probes: blocked on its full pipe
            stalled, last[0] = now == last[0], now
            return True if stalled else None

        await eventually(backed_up, what="the program blocked on its full output pipe")
    run = await executed(b, proc.id, mark_b)
    (line,) = await audit_lines(b, 1)
    await gone(pid)
    assert (run.state, line["outcome"]) == (Run.STATE_CANCELLED, "cancelled")
    assert run.stdout_bytes > 0
    assert await b.client.command_runs() == []


async def test_stopping_the_daemon_stops_its_runs(nodes: Nodes, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, tree_command("tree", pidfile))
    proc = await a.client.run_command("tree", b.id)
    async with proc:
        await read_until(aiter(proc), b"ready\n")
        grandchild = await pid_in(pidfile)
        await nodes.stop(b)
        await gone(grandchild)
        try:
            result = await proc.wait()
        except KizunaError:
            pass  # the link went down with the daemon
        else:
            assert result.state == "cancelled"
    with pytest.raises(PeerUnreachableError):
        await a.client.execute_command("tree", b.id)


# --- output and input -------------------------------------------------------------------------


async def test_an_output_flood_is_counted_and_dropped_past_the_cap(nodes: Nodes) -> None:
    flood = command("flood", ["head", "-c", str(FLOOD_BYTES), "/dev/zero"], output_cap_bytes=MIB)
    a, b = await commanding(nodes, flood)
    mark_a = a.events.mark()
    before = rss_bytes()
    result = await a.client.execute_command("flood", b.id)
    growth = rss_bytes() - before
    assert result.ok, result
    assert result.output_truncated
    assert 0 < len(result.stdout_bytes) <= MIB
    assert result.stdout_bytes == bytes(len(result.stdout_bytes))
    run = await executed(a, result.run_id, mark_a)
    assert run.stdout_bytes >= FLOOD_BYTES
    assert run.output_truncated
    assert growth < 150 * MIB, f"resident memory grew by {growth / MIB:.0f} MiB"


async def test_the_output_cap_holds_stdout_and_stderr_together(nodes: Nodes) -> None:
    both = command(
        "both",
        [PY, "-c", "import sys; sys.stdout.write('o' * 300000); sys.stderr.write('e' * 300000)"],
        output_cap_bytes=400_000,
    )
    a, b = await commanding(nodes, both)
    mark_a = a.events.mark()
    result = await a.client.execute_command("both", b.id)
    assert result.ok and result.output_truncated
    assert len(result.stdout_bytes) + len(result.stderr_bytes) == 400_000
    assert set(result.stdout) <= {"o"} and set(result.stderr) <= {"e"}
    run = await executed(a, result.run_id, mark_a)
    assert (run.stdout_bytes, run.stderr_bytes) == (300_000, 300_000)


async def test_run_command_returns_at_most_4_mib_per_stream(nodes: Nodes) -> None:
    big = command("big", ["head", "-c", str(8 * MIB), "/dev/zero"], output_cap_bytes=16 * MIB)
    a, b = await commanding(nodes, big)
    result = await a.client.execute_command("big", b.id)
    assert result.ok
    assert len(result.stdout_bytes) == 4 * MIB and result.output_truncated
    async with await a.client.run_command("big", b.id) as proc:
        streamed = await proc.wait()  # the stream passes everything within the command's cap
    assert len(streamed.stdout_bytes) == 8 * MIB and not streamed.output_truncated


async def test_runs_get_a_small_fixed_environment_and_the_home_folder(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "import json, os; print(json.dumps([dict(os.environ), os.getcwd()]))"
    env = command("env", [PY, "-c", script], env={"MINE": "yes"})
    a, b = await commanding(nodes, env)
    monkeypatch.setenv("KIZUNA_TEST_SECRET", "do-not-pass")  # the daemons run in this process
    result = await a.client.execute_command("env", b.id)
    environment, cwd = json.loads(result.stdout)
    assert "KIZUNA_TEST_SECRET" not in environment
    assert environment["MINE"] == "yes"
    assert environment["KIZUNA_RUN_ID"] == result.run_id
    assert environment["KIZUNA_PEER_ID"] == a.id
    assert environment["KIZUNA_PEER_NAME"] == "alpha"
    assert cwd == os.path.realpath(Path.home())


async def test_stdin_is_passed_to_the_program(nodes: Nodes) -> None:
    a, b = await commanding(nodes, CAT, command("true", ["true"]))
    data = bytes(range(256)) * 1000
    result = await a.client.execute_command("cat", b.id, stdin=data)
    assert result.ok and result.stdout_bytes == data
    empty = await a.client.execute_command("cat", b.id)
    assert empty.ok and empty.stdout_bytes == b""
    ignored = await a.client.execute_command("true", b.id, stdin=bytes(MIB))
    assert ignored.ok  # a program that reads none of its input still ends normally
    with pytest.raises(InvalidArgumentError):
        await a.client.execute_command("cat", b.id, stdin=bytes(MIB + 1))


async def test_megabytes_stream_in_and_out_in_lockstep(nodes: Nodes) -> None:
    """Each MiB written comes back before the next is sent: input and output both flow while
    the run goes on, and nothing needs the whole to be buffered."""
    a, b = await commanding(nodes, command("cat", ["cat"], output_cap_bytes=64 * MIB))
    pieces = [os.urandom(MIB) for _ in range(8)]
    received = bytearray()
    async with await a.client.run_command("cat", b.id) as proc:
        stream = aiter(proc)
        for index, piece in enumerate(pieces):
            await proc.write(piece)
            while len(received) < (index + 1) * MIB:
                chunk = await anext(stream)
                assert chunk.stream == "stdout"
                received += chunk.data
        assert proc.run.state == Run.STATE_RUNNING
        await proc.close_stdin()
        result = await proc.wait()
    assert bytes(received) == b"".join(pieces)
    assert result.ok and result.stdout_bytes == b"" and not result.output_truncated
    assert proc.run.stdout_bytes == 8 * MIB


async def test_output_is_streamed_as_it_is_produced(nodes: Nodes) -> None:
    a, b = await commanding(nodes, INTERACT)
    async with await a.client.run_command("interact", b.id) as proc:
        stream = aiter(proc)
        # The program now waits for a line: its first line must already be here.
        assert await anext(stream) == Output("stdout", b"first\n")
        await proc.write(b"second\n")
        assert await read_until(stream, b"\n") == b"got second\n"
        result = await proc.wait()
    assert result.ok


# --- approval ---------------------------------------------------------------------------------


async def test_a_high_risk_run_waits_for_the_owner_and_runs_once_approved(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    running = asyncio.ensure_future(a.client.execute_command("high hello", b.id))
    event = await b.events.wait_for("command_approval_requested", after=mark_b)
    asked = run_in(event)
    assert asked.state == Run.STATE_AWAITING_APPROVAL
    assert asked.approval == Run.APPROVAL_PENDING
    assert asked.direction == Run.DIRECTION_INCOMING
    assert (asked.peer_id, asked.command_id) == (a.id, "high")
    assert asked.arguments["text"].string_value == "hello"
    now = time.time()
    assert now - 5 < asked.approval_deadline.seconds <= now + 61

    incoming = await b.client.command_runs()
    assert [(r.id, r.direction, r.state) for r in incoming] == [
        (asked.id, Run.DIRECTION_INCOMING, Run.STATE_AWAITING_APPROVAL)
    ]
    outgoing = await a.client.command_runs()
    assert [(r.id, r.direction, r.state, r.peer_id) for r in outgoing] == [
        (asked.id, Run.DIRECTION_OUTGOING, Run.STATE_AWAITING_APPROVAL, b.id)
    ]
    assert not running.done()
    assert b.events.of_type("command_started", after=mark_b) == []

    approved = await b.client.approve_command(asked.id)
    assert approved.approval == Run.APPROVAL_GRANTED
    result = await running
    assert result.ok and result.stdout == "hello\n"
    assert (await executed(b, asked.id, mark_b)).approval == Run.APPROVAL_GRANTED
    assert (await executed(a, asked.id, mark_a)).state == Run.STATE_EXITED
    with pytest.raises(InvalidArgumentError):
        await b.client.approve_command(asked.id)  # it no longer waits
    assert await a.client.command_runs() == [] and await b.client.command_runs() == []


async def test_a_denied_run_never_starts(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    mark_b = b.events.mark()
    running = asyncio.ensure_future(a.client.execute_command("high hello", b.id))
    event = await b.events.wait_for("command_approval_requested", after=mark_b)
    denied = await b.client.deny_command(run_in(event).id)
    assert denied.approval == Run.APPROVAL_DENIED
    with pytest.raises(CommandDeniedError) as caught:
        await running
    assert caught.value.metadata["approval"] == "denied"
    assert caught.value.metadata["command"] == "high"
    run = await executed(b, run_in(event).id, mark_b)
    assert (run.state, run.approval) == (Run.STATE_DENIED, Run.APPROVAL_DENIED)
    assert b.events.of_type("command_started", after=mark_b) == []
    with pytest.raises(InvalidArgumentError):
        await b.client.deny_command(run_in(event).id)


async def test_an_unanswered_run_is_denied_as_expired(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH, approval_timeout_secs=5)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    running = asyncio.ensure_future(a.client.execute_command("high hello", b.id))
    event = await b.events.wait_for("command_approval_requested", after=mark_b)
    asked = run_in(event)
    assert asked.approval_deadline.seconds <= time.time() + 6
    with pytest.raises(CommandDeniedError) as caught:
        await asyncio.wait_for(running, 15)
    assert caught.value.metadata["approval"] == "expired"
    on_a = await executed(a, asked.id, mark_a)
    assert (on_a.state, on_a.approval) == (Run.STATE_DENIED, Run.APPROVAL_EXPIRED)
    on_b = await executed(b, asked.id, mark_b)
    assert (on_b.state, on_b.approval) == (Run.STATE_DENIED, Run.APPROVAL_EXPIRED)
    assert on_b.error.reason == errors_pb2.ERROR_REASON_COMMAND_DENIED
    assert b.events.of_type("command_started", after=mark_b) == []


async def test_a_streamed_run_shows_that_it_waits_then_runs_once_approved(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    mark_b = b.events.mark()
    proc = await a.client.run_command("high", b.id, {"text": "hi"})
    async with proc:
        assert proc.run.state == Run.STATE_AWAITING_APPROVAL
        await b.events.wait_for("command_approval_requested", after=mark_b)
        await b.client.approve_command(proc.id)
        result = await proc.wait()
    assert result.ok and result.stdout == "hi\n"
    assert proc.run.state == Run.STATE_EXITED


async def test_withdrawing_a_run_that_waits_for_approval_ends_it_as_cancelled(
    nodes: Nodes,
) -> None:
    """RemoteCommand.cancel before the owner answered: the request is withdrawn on beta and
    the app's run ends as STATE_CANCELLED (kizuna.v1.CommandService: "one that was cancelled,
    with STATE_CANCELLED"), not as an unreachable peer."""
    a, b = await commanding(nodes, HIGH)
    mark_b = b.events.mark()
    async with await a.client.run_command("high", b.id, {"text": "withdrawn"}) as proc:
        await b.events.wait_for("command_approval_requested", after=mark_b)
        await proc.cancel()
        run = await executed(b, proc.id, mark_b)
        assert run.state == Run.STATE_CANCELLED
        assert b.events.of_type("command_started", after=mark_b) == []
        with pytest.raises((CommandRunNotFoundError, InvalidArgumentError)):
            await b.client.approve_command(proc.id)
        result = await proc.wait()
    assert result.state == "cancelled"
    assert await a.client.command_runs() == []


async def test_the_asking_side_records_that_the_owner_approved(nodes: Nodes) -> None:
    """Alpha's record of an approved run (its command_executed event, ListCommandRuns, the
    streamed handle) says APPROVAL_GRANTED, as beta's does."""
    a, b = await commanding(nodes, HIGH)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    proc = await a.client.run_command("high", b.id, {"text": "hi"})
    async with proc:
        event = await b.events.wait_for("command_approval_requested", after=mark_b)
        await b.client.approve_command(run_in(event).id)
        result = await proc.wait()
    assert result.ok
    on_b = await executed(b, proc.id, mark_b)
    on_a = await executed(a, proc.id, mark_a)
    assert on_b.approval == Run.APPROVAL_GRANTED
    assert (on_a.approval, proc.run.approval) == (Run.APPROVAL_GRANTED, Run.APPROVAL_GRANTED)


async def test_approving_an_unknown_run_is_not_found(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    with pytest.raises(CommandRunNotFoundError):
        await b.client.approve_command("0" * 32)
    with pytest.raises(CommandRunNotFoundError):
        await b.client.deny_command("f" * 32)
    # A's outgoing runs are not B's to approve either way.
    with pytest.raises(CommandRunNotFoundError):
        await a.client.approve_command("0" * 32)


def risky(command_id: str, risk: str, approval: str = "by-risk") -> dict[str, Any]:
    return command(command_id, ["echo", command_id], risk=risk, approval=approval)


RISKY = [
    risky("low", "low"),
    risky("medium", "medium"),
    risky("high", "high"),
    risky("always-low", "low", "always"),
    risky("never-high", "high", "never"),
]


@pytest.mark.parametrize(
    ("settings", "skip_alpha", "expected"),
    [
        ({}, False, {"medium", "high", "always-low"}),
        ({"approve_from": "low"}, False, {"low", "medium", "high", "always-low"}),
        ({"approve_from": "high"}, False, {"high", "always-low"}),
        ({"approve_from": "none"}, False, {"always-low"}),
        ({}, True, {"always-low"}),
    ],
    ids=["default-medium", "from-low", "from-high", "none", "skip-alpha"],
)
async def test_which_runs_wait_for_approval(
    nodes: Nodes, settings: dict[str, Any], skip_alpha: bool, expected: set[str]
) -> None:
    def beta(alpha_id: str) -> dict[str, Any]:
        skip = {"skip_approval_peers": [alpha_id]} if skip_alpha else {}
        return allow(*RISKY, **settings, **skip)

    a, b = await commanding_with(nodes, beta)
    listed = await a.client.peer_commands(b.id)
    assert {c.id for c in listed if c.needs_approval} == expected
    for entry in RISKY:
        mark_b = b.events.mark()
        running = asyncio.ensure_future(a.client.execute_command(entry["id"], b.id))
        if entry["id"] in expected:
            event = await b.events.wait_for("command_approval_requested", after=mark_b)
            await b.client.approve_command(run_in(event).id)
            result = await running
            approval = Run.APPROVAL_GRANTED
        else:
            result = await running
            approval = Run.APPROVAL_NOT_NEEDED
        assert result.ok and result.stdout == f"{entry['id']}\n"
        run = await executed(b, result.run_id, mark_b)
        assert run.approval == approval, entry["id"]
        asked = b.events.of_type("command_approval_requested", after=mark_b)
        assert len(asked) == (entry["id"] in expected), entry["id"]


# --- audit and events -------------------------------------------------------------------------


async def test_every_attempt_is_audited_on_the_running_device(nodes: Nodes) -> None:
    a, b = await commanding(nodes, ECHO, REPORT, HIGH)
    assert (await a.client.execute_command("echo hi", b.id)).ok
    assert (await a.client.execute_command("report 2", b.id)).exit_code == 2
    with pytest.raises(CommandNotAllowedError):
        await a.client.execute_command("nope x", b.id)
    with pytest.raises(CommandArgumentsInvalidError):
        await a.client.execute_command("report 999", b.id)
    mark_b = b.events.mark()
    denying = asyncio.ensure_future(a.client.execute_command("high secret", b.id))
    event = await b.events.wait_for("command_approval_requested", after=mark_b)
    await b.client.deny_command(run_in(event).id)
    with pytest.raises(CommandDeniedError):
        await denying

    ok, report, unknown, invalid, denied = await audit_lines(b, 5)
    required = {
        "time",
        "run_id",
        "peer_id",
        "peer_name",
        "command",
        "arguments",
        "approval",
        "outcome",
        "exit_code",
        "duration_secs",
        "stdout_bytes",
        "stderr_bytes",
    }
    for line in (ok, report, unknown, invalid, denied):
        assert required <= set(line), line
        assert line["peer_id"] == a.id and line["peer_name"] == "alpha"
    assert (ok["command"], ok["arguments"]) == ("echo", {"text": "hi"})
    assert (ok["approval"], ok["outcome"], ok["exit_code"]) == ("not_needed", "exited", 0)
    assert ok["duration_secs"] > 0 and ok["stdout_bytes"] == 3 and ok["stderr_bytes"] == 0
    assert (report["command"], report["arguments"]) == ("report", {"code": 2})
    assert (report["outcome"], report["exit_code"], report["stdout_bytes"]) == ("exited", 2, 6)
    assert report["stderr_bytes"] == 5
    assert (unknown["command"], unknown["outcome"]) == ("nope", "failed")
    assert unknown["error"]["reason"] == "COMMAND_NOT_ALLOWED"
    assert unknown["exit_code"] is None
    assert (invalid["command"], invalid["outcome"]) == ("report", "failed")
    assert invalid["error"]["reason"] == "COMMAND_ARGUMENTS_INVALID"
    assert (denied["command"], denied["approval"], denied["outcome"]) == (
        "high",
        "denied",
        "denied",
    )
    assert denied["arguments"] == {"text": "secret"} and denied["exit_code"] is None
    assert audit_path(b).stat().st_mode & 0o777 == 0o600
    assert not audit_path(a).exists()  # the asking side keeps no audit log


async def test_started_and_executed_events_on_both_sides(nodes: Nodes) -> None:
    a, b = await commanding(nodes, REPORT)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    result = await a.client.execute_command("report 4", b.id)
    for node, mark, direction, peer in (
        (a, mark_a, Run.DIRECTION_OUTGOING, b),
        (b, mark_b, Run.DIRECTION_INCOMING, a),
    ):
        started = await node.events.wait_for(
            "command_started", lambda p: p.run.id == result.run_id, after=mark
        )
        run = run_in(started)
        assert (run.direction, run.peer_id, run.command_id) == (direction, peer.id, "report")
        assert run.state == Run.STATE_RUNNING and run.start_time.seconds > 0
        ended = await executed(node, result.run_id, mark)
        assert (ended.direction, ended.peer_id) == (direction, peer.id)
        assert (ended.state, ended.exit_code) == (Run.STATE_EXITED, 4)
        assert (ended.stdout_bytes, ended.stderr_bytes) == (6, 5)
        assert ended.duration.ToMicroseconds() > 0
        assert ended.approval == Run.APPROVAL_NOT_NEEDED
        kinds = [e.type for e in node.events.events[mark:] if e.type.startswith("command_")]
        assert kinds == ["command_started", "command_executed"], node.name


# --- permission, trust, plugins ---------------------------------------------------------------


async def test_without_the_commands_permission_nothing_runs(nodes: Nodes) -> None:
    a, b = await paired(nodes, **allow(ECHO))  # permissions default: commands off
    with pytest.raises(PermissionDeniedByPeerError) as caught:
        await a.client.execute_command("echo hi", b.id)
    assert caught.value.metadata["permission"] == "commands"
    try:  # refused, or (when plugins add commands open to any trusted peer) only theirs
        listed = await a.client.peer_commands(b.id)
    except PermissionDeniedByPeerError:
        listed = []
    assert "echo" not in {c.id for c in listed}
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.run_command("echo hi", b.id)
    await b.client.set_peer_permissions(a.id, commands=True)
    assert (await a.client.execute_command("echo hi", b.id)).ok


async def test_turning_the_permission_off_stops_a_running_run(nodes: Nodes, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, ECHO, tree_command("tree", pidfile))
    mark_b = b.events.mark()
    async with await a.client.run_command("tree", b.id) as proc:
        await read_until(aiter(proc), b"ready\n")
        grandchild = await pid_in(pidfile)
        await b.client.set_peer_permissions(a.id, commands=False)
        result = await proc.wait()
    assert result.state == "cancelled"
    await gone(grandchild)
    assert (await executed(b, proc.id, mark_b)).state == Run.STATE_CANCELLED
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.execute_command("echo hi", b.id)


async def test_turning_the_permission_off_denies_a_run_that_waits_for_approval(
    nodes: Nodes,
) -> None:
    a, b = await commanding(nodes, HIGH)
    mark_b = b.events.mark()
    running = asyncio.ensure_future(a.client.execute_command("high hello", b.id))
    event = await b.events.wait_for("command_approval_requested", after=mark_b)
    await b.client.set_peer_permissions(a.id, commands=False)
    with pytest.raises(CommandDeniedError) as caught:
        await running
    assert caught.value.metadata["approval"] == "denied"
    run = await executed(b, run_in(event).id, mark_b)
    assert (run.state, run.approval) == (Run.STATE_DENIED, Run.APPROVAL_DENIED)
    assert b.events.of_type("command_started", after=mark_b) == []


async def test_forgetting_the_peer_stops_its_runs_and_refuses_new_ones(
    nodes: Nodes, tmp_path: Path
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    marker = tmp_path / "ran-after-forget"
    touch = command("touch", ["touch", str(marker)])
    a, b = await commanding(nodes, touch, tree_command("tree", pidfile))
    mark_b = b.events.mark()
    proc = await a.client.run_command("tree", b.id)
    async with proc:
        await read_until(aiter(proc), b"ready\n")
        grandchild = await pid_in(pidfile)
        await b.client.forget_peer(a.id)
        await gone(grandchild)
        try:
            result = await proc.wait()
        except KizunaError:
            pass  # the link closed with the trust
        else:
            assert result.state == "cancelled"
    assert (await executed(b, proc.id, mark_b)).state == Run.STATE_CANCELLED
    with pytest.raises(KizunaError):
        await a.client.execute_command("touch", b.id)
    assert not marker.exists()
    assert await b.client.command_runs() == []


async def test_unknown_and_unpaired_peers_are_refused(nodes: Nodes) -> None:
    a, _ = await commanding(nodes, ECHO)
    gamma = await nodes.start("gamma", allow(ECHO))
    with pytest.raises(PeerNotFoundError):
        await a.client.execute_command("echo hi", gamma.id)
    await a.client.add_peer(gamma.address, persist=False)

    async def known() -> bool | None:
        return True if gamma.id in {p.device_id for p in await a.client.peers()} else None

    await eventually(known, what="gamma in alpha's peer table")
    with pytest.raises(PeerNotTrustedError):
        await a.client.execute_command("echo hi", gamma.id)
    with pytest.raises(PeerNotTrustedError):
        await a.client.run_command("echo hi", gamma.id)
    with pytest.raises(PeerNotTrustedError):
        await a.client.peer_commands(gamma.id)
    assert gamma.events.of_type("command_started") == []
    assert not audit_path(gamma).exists()


async def test_a_device_without_the_commands_plugin_is_unavailable(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta", {**allow(ECHO), "plugins": {"enabled": ["transfers", "streams"]}})
    await pair(a, b)
    await b.client.set_peer_permissions(a.id, commands=True)
    with pytest.raises(SubsystemUnavailableError) as caught:
        await a.client.execute_command("echo hi", b.id)
    assert caught.value.reason == "SUBSYSTEM_UNAVAILABLE"
    assert caught.value.metadata["subsystem"] == "commands"
    with pytest.raises(SubsystemUnavailableError):
        await a.client.peer_commands(b.id)
    assert b.events.of_type("command_started") == []


# --- what a peer sees -------------------------------------------------------------------------


async def test_peer_commands_describes_each_allowed_command(nodes: Nodes, tmp_path: Path) -> None:
    root = tree_with_escape(tmp_path)
    described = {
        **checked(root),
        "description": "Show the checked arguments",
        "timeout_secs": 12,
        "output_cap_bytes": 4096,
        "risk": "medium",
    }
    flagged = command(
        "flagged",
        ["echo", "{force}", "{count}"],
        risk="high",
        approval="never",
        parameters=[
            {"name": "force", "type": "boolean", "flag": "--force", "description": "Force it"},
            {"name": "count", "type": "integer", "default": 3},
        ],
    )
    a, b = await commanding(nodes, ECHO, described, flagged)
    owners = {"echo", "checked", "flagged"}  # beside them: commands plugins may add
    listed = {c.id: c for c in await a.client.peer_commands(b.id) if c.id in owners}
    assert list(listed) == ["echo", "checked", "flagged"]  # the owner's order

    echo = listed["echo"]
    assert echo.description == "Print the text"
    assert (echo.risk, echo.needs_approval) == (command_pb2.COMMAND_RISK_LOW, False)
    assert echo.timeout.ToSeconds() == 60 and echo.output_cap_bytes == 4 << 20
    assert [(p.name, p.type, p.required) for p in echo.parameters] == [
        ("text", Param.TYPE_STRING, True)
    ]

    shown = listed["checked"]
    assert shown.description == "Show the checked arguments"
    assert (shown.risk, shown.needs_approval) == (command_pb2.COMMAND_RISK_MEDIUM, True)
    assert shown.timeout.ToSeconds() == 12 and shown.output_cap_bytes == 4096
    word, n, mode, file = shown.parameters
    assert (word.type, word.pattern) == (Param.TYPE_STRING, "[a-z]+")
    assert (n.type, n.min, n.max) == (Param.TYPE_INTEGER, 1, 10)
    assert (mode.type, list(mode.choices)) == (Param.TYPE_CHOICE, ["fast", "slow"])
    assert file.type == Param.TYPE_PATH and file.required
    assert str(root) not in str(shown)  # the owner's folders stay private

    flags = listed["flagged"]
    assert (flags.risk, flags.needs_approval) == (command_pb2.COMMAND_RISK_HIGH, False)
    force, count = flags.parameters
    assert (force.type, force.description, force.required) == (
        Param.TYPE_BOOLEAN,
        "Force it",
        False,
    )
    assert (count.type, count.default_value) == (Param.TYPE_INTEGER, "3")
    assert (await a.client.execute_command("flagged yes", b.id)).stdout == "--force 3\n"
    assert (await a.client.execute_command("flagged no 7", b.id)).stdout == "7\n"


# --- many at once, limits, a faulty run is contained ------------------------------------------


async def test_fifty_runs_at_once_all_succeed_beside_a_hanging_one(nodes: Nodes) -> None:
    a, b = await commanding(nodes, ECHO, CAT)
    async with await a.client.run_command("cat", b.id) as hanging:  # waits for input forever
        results = await asyncio.gather(
            *(a.client.execute_command(f"echo run-{i}", b.id) for i in range(50))
        )
        assert [r.stdout for r in results] == [f"run-{i}\n" for i in range(50)]
        assert all(r.ok for r in results)
        assert len({r.run_id for r in results}) == 50
        assert [r.id for r in await b.client.command_runs()] == [hanging.id]
        assert (await b.client.node()).device_id == b.id  # the daemon still answers
        await hanging.close_stdin()
        assert (await hanging.wait()).ok


@pytest.mark.parametrize("limit", ["max_runs_per_peer", "max_runs"])
async def test_runs_past_the_limit_are_refused(nodes: Nodes, limit: str) -> None:
    a, b = await commanding(nodes, CAT, **{limit: 3})
    opened = await asyncio.gather(
        *(a.client.run_command("cat", b.id) for _ in range(5)), return_exceptions=True
    )
    running = [r for r in opened if isinstance(r, RemoteCommand)]
    refused = [r for r in opened if isinstance(r, BaseException)]
    try:
        assert len(running) == 3, opened
        assert len(refused) == 2 and all(isinstance(e, LimitExceededError) for e in refused)
        for error in refused:
            assert isinstance(error, LimitExceededError)
            assert error.metadata["limit"] == f"commands.{limit}"
        assert len(await b.client.command_runs()) == 3
    finally:
        for proc in running:
            await proc.close_stdin()
            await proc.wait()
    result = await a.client.execute_command("cat", b.id, stdin=b"again")
    assert result.ok and result.stdout == "again"
