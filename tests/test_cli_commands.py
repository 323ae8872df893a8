"""`kizuna exec | commands | runs | approve | deny` as people and scripts use them: the real
command in a subprocess against two paired daemons in this process. Alpha asks; beta runs what
its owner allowed (tests/commands/test_remote_commands.py sets that up).

Tests wait on the daemons' events or on the command's own output, never on the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import re
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import Kizuna
from kizuna_client.v1 import command_pb2
from kizuna_server.cli import safe
from kizuna_server.cli_commands import add_commands, runs_table
from tests.commands.test_remote_commands import (
    ARGS,
    BYTES,
    CAT,
    ECHO,
    HIGH,
    PY,
    REPORT,
    SLOW,
    checked,
    command,
    commanding,
    executed,
    gone,
    pid_in,
    tree_command,
    tree_with_escape,
)
from tests.p2p.peerpair import Node, Nodes
from tests.test_cli_transfers import TIMEOUT, kizuna, start

pytestmark = pytest.mark.asyncio

Run = command_pb2.CommandRun

#: Ignores SIGTERM, says "ready", sleeps: only the SIGKILL that follows 2 s later stops it.
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(300)"
)

#: What `exec` says while the run waits for beta's owner, for a regular expression of seconds.
WAITING = r"waiting for beta's owner to approve high \(up to {} s\)…\n"


async def run_bytes(
    node: Node, *args: str, stdin: Any = asyncio.subprocess.DEVNULL, data: bytes | None = None
) -> tuple[int, bytes, bytes]:
    """`kizuna ARGS` against `node`'s daemon with `data` (or `stdin`) as its standard input:
    exit code, stdout and stderr as bytes."""
    process = await start(node, *args, stdin=asyncio.subprocess.PIPE if data is not None else stdin)
    return await ended(process, data)


async def ended(
    process: asyncio.subprocess.Process, data: bytes | None = None
) -> tuple[int, bytes, bytes]:
    """Feeds `data`, waits for the exit (killing it after TIMEOUT): exit code, stdout, stderr."""
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate(data)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out or b"", err or b""


async def shown(stream: asyncio.StreamReader | None, needle: str) -> str:
    """What the command wrote to `stream` up to and including `needle` (a prompt may end
    without a line end, so this reads pieces, not lines)."""
    assert stream is not None
    seen = b""
    async with asyncio.timeout(TIMEOUT):
        while needle.encode() not in seen:
            chunk = await stream.read(4096)
            assert chunk, f"the command ended before writing {needle!r}: {seen.decode()!r}"
            seen += chunk
    return seen.decode()


async def asked(node: Node, mark: int) -> str:
    """The ID of the next run that waits for `node`'s owner."""
    event = await node.events.wait_for("command_approval_requested", after=mark)
    return str(event.message.command_approval_requested.run.id)


# --- exec: output, exit codes, input ----------------------------------------------------------


async def test_exec_passes_output_and_the_exit_code_through(nodes: Nodes, tmp_path: Path) -> None:
    a, _ = await commanding(nodes, REPORT, ARGS, BYTES)
    assert await run_bytes(a, "exec", "beta", "report", "3") == (3, b"out 3\n", b"err 3")
    assert await run_bytes(a, "exec", "beta", "report", "0") == (0, b"out 0\n", b"err 0")
    # Non-UTF-8 output arrives byte for byte.
    assert await run_bytes(a, "exec", "beta", "bytes") == (0, b"hi\xff\n", b"")

    # Each argument reaches the program as one argv element, whatever it holds.
    marker = tmp_path / "pwned"
    words = ["two words", f"$(touch {marker})", "it's; `id` | x"]
    code, out, err = await run_bytes(a, "exec", "beta", "args", *words)
    assert (code, err) == (0, b"")
    assert json.loads(out) == words
    assert not marker.exists()
    code, out, err = await run_bytes(
        a, "exec", "beta", "args", "--arg", "first=one", "--arg", "third=x=y"
    )
    assert (code, err) == (0, b"")
    assert json.loads(out) == ["one", "x=y"]


async def test_exec_forwards_standard_input(nodes: Nodes, tmp_path: Path) -> None:
    a, _ = await commanding(nodes, command("cat", ["cat"], output_cap_bytes=16 << 20))
    # A shell pipeline, as people type it.
    line = (
        f"echo data | {shlex.quote(sys.executable)} -m kizuna_server exec beta cat "
        f"--home {shlex.quote(str(a.home))}"
    )
    process = await asyncio.create_subprocess_shell(
        line, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert await ended(process) == (0, b"data\n", b"")

    # Megabytes of binary input through a pipe, more than one message holds.
    data = bytes(range(256)) * 9000
    assert await run_bytes(a, "exec", "beta", "cat", data=data) == (0, data, b"")

    # A regular file (which the event loop cannot watch) and /dev/null.
    source = tmp_path / "input.bin"
    source.write_bytes(data[:300_000])
    with source.open("rb") as stdin:
        assert await run_bytes(a, "exec", "beta", "cat", stdin=stdin) == (0, data[:300_000], b"")
    assert await run_bytes(a, "exec", "beta", "cat") == (0, b"", b"")


async def test_a_terminal_gives_the_program_no_input(nodes: Nodes) -> None:
    """With standard input on a terminal (people typing commands), the program's input ends at
    once, so `cat` and friends do not wait for it."""
    a, _ = await commanding(nodes, CAT)
    controller, terminal = pty.openpty()
    try:
        assert await run_bytes(a, "exec", "beta", "cat", stdin=terminal) == (0, b"", b"")
    finally:
        os.close(terminal)
        os.close(controller)


async def test_a_reader_that_goes_away_stops_the_run(nodes: Nodes) -> None:
    """`kizuna exec beta yes | head -c 4`: once head has read enough, the command stops quietly
    like a program killed by SIGPIPE (141), and the run on the peer is stopped."""
    a, b = await commanding(nodes, command("yes", ["yes"]))
    mark = b.events.mark()
    line = (
        f"{shlex.quote(sys.executable)} -m kizuna_server exec beta yes "
        f'--home {shlex.quote(str(a.home))} | head -c 4; echo "${{PIPESTATUS[0]}}" >&2'
    )
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        line,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert await ended(process) == (0, b"y\ny\n", b"141\n")
    event = await b.events.wait_for("command_executed", after=mark)
    assert event.message.command_executed.run.state == Run.STATE_CANCELLED


# --- exec: refusals, time limit ---------------------------------------------------------------


async def test_refused_runs_say_what_to_do_and_exit_126_or_127(
    nodes: Nodes, tmp_path: Path
) -> None:
    missing = command("missing", [str(tmp_path / "no-such-program")])
    a, b = await commanding(nodes, REPORT, missing)

    code, out, err = await kizuna(a, "exec", "beta", "reboot", "now")
    assert (code, out) == (126, "")
    assert err == (
        "kizuna exec: beta does not allow a command 'reboot'; 'kizuna commands beta' lists the "
        "ones it does\n"
    )

    code, _, err = await kizuna(a, "exec", "beta", "report", "999")
    assert code == 126
    assert err.startswith("kizuna exec: beta refused the arguments of report: argument 'code' ")
    assert "from 0 to 255" in err and "'kizuna commands beta' shows what report takes" in err
    code, _, err = await kizuna(a, "exec", "beta", "report", "--arg", "level=1")
    assert code == 126 and "'level'" in err

    code, _, err = await kizuna(a, "exec", "beta", "missing")
    assert code == 127
    assert err.startswith("kizuna exec: missing could not start on beta: ")

    code, _, err = await kizuna(a, "exec", "beta", "report", "1", "--arg", "code=1")
    assert code == 2 and "by position or with --arg" in err
    code, _, err = await kizuna(a, "exec", "beta", "report", "--arg", "code")
    assert code == 2 and "NAME=VALUE" in err
    code, _, err = await kizuna(a, "exec", "gamma", "report", "1")
    assert code == 1 and "no peer matches 'gamma'" in err

    await b.client.set_peer_permissions(a.id, commands=False)
    hint = "on beta, its owner must run 'kizuna permissions alpha --commands on'"
    code, out, err = await kizuna(a, "exec", "beta", "report", "1")
    assert (code, out) == (126, "")
    assert err == f"kizuna exec: beta does not let this device run commands; {hint}\n"
    # Without the permission only what plugins open to every trusted peer is listed.
    code, out, _ = await kizuna(a, "commands", "beta")
    assert code == 0 and "report" not in out


async def test_a_run_past_its_time_limit_exits_124(nodes: Nodes) -> None:
    a, _ = await commanding(nodes, command("slow", [PY, "-c", SLOW]))
    code, out, err = await run_bytes(a, "exec", "beta", "slow", "--timeout", "1")
    assert (code, out) == (124, b"before\n")
    assert err == b"ekizuna exec: slow on beta reached its time limit and was stopped\n"


# --- approval ---------------------------------------------------------------------------------


async def test_exec_waits_for_approval_given_from_another_command(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "high", "hello", stdin=asyncio.subprocess.DEVNULL)
    assert re.fullmatch(WAITING.format("(60|59)"), await shown(running.stderr, ")…\n"))
    run_id = await asked(b, mark)

    code, out, _ = await kizuna(b, "runs")
    assert code == 0
    header, row, answer = out.splitlines()
    assert header.split() == ["ID", "DIR", "PEER", "COMMAND", "STATE", "DEADLINE"]
    assert row.startswith(f"{run_id[:8]}  in   alpha ")
    assert "high hello" in row and "awaiting approval" in row and row.endswith(" left")
    assert "kizuna approve RUN_ID" in answer
    code, out, _ = await kizuna(a, "runs", "--json")
    (outgoing,) = [json.loads(line) for line in out.splitlines()]
    assert (outgoing["id"], outgoing["direction"], outgoing["peer_name"]) == (
        run_id,
        "DIRECTION_OUTGOING",
        "beta",
    )

    code, out, err = await kizuna(b, "approve", run_id[:6])
    assert (code, out, err) == (0, "approved high hello for alpha; it runs now\n", "")
    code, stdout, stderr = await ended(running)
    assert (code, stdout) == (0, b"hello\n")
    assert stderr == b""  # nothing after the line above: the program wrote no stderr
    code, out, _ = await kizuna(b, "runs")
    assert out.startswith("no command runs in progress")

    mark = b.events.mark()
    running = await start(a, "exec", "beta", "high", "again", stdin=asyncio.subprocess.DEVNULL)
    run_id = await asked(b, mark)
    code, out, _ = await kizuna(b, "deny", run_id)
    assert (code, out) == (0, "denied high again for alpha; it does not run\n")
    code, stdout, stderr = await ended(running)
    assert (code, stdout) == (126, b"")
    assert stderr.endswith(b"kizuna exec: beta's owner denied high; it did not run\n")
    code, _, err = await kizuna(b, "approve", run_id)
    assert code == 1 and "no longer waits" in err


async def test_approve_watch_asks_about_each_request(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH, approval_timeout_secs=5)
    # A request that waits already is asked about first.
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "high", "yes please", stdin=asyncio.subprocess.DEVNULL)
    await asked(b, mark)
    watching = await start(b, "approve", "--watch", stdin=asyncio.subprocess.PIPE)
    assert watching.stdin is not None
    try:
        request = await shown(watching.stdout, "Run it? [y/N] ")
        assert request.startswith("watching for peers asking to run commands on this device")
        assert f"alpha ({a.id[:8]}) asks to run high 'yes please'\n" in request
        assert "  text = 'yes please'\n" in request and "answer within " in request
        watching.stdin.write(b"y\n")
        code, out, err = await ended(running)
        assert (code, out) == (0, b"yes please\n")
        assert re.fullmatch(WAITING.format("[45]"), err.decode())
        await shown(watching.stdout, "approved: it runs now")

        running = await start(a, "exec", "beta", "high", "no", stdin=asyncio.subprocess.DEVNULL)
        await shown(watching.stdout, "Run it? [y/N] ")
        watching.stdin.write(b"nope\n")
        code, out, err = await ended(running)
        assert (code, out) == (126, b"") and b"beta's owner denied high" in err
        await shown(watching.stdout, "denied: it does not run")

        mark = b.events.mark()
        running = await start(a, "exec", "beta", "high", "late", stdin=asyncio.subprocess.DEVNULL)
        await shown(watching.stdout, "Run it? [y/N] ")
        expired = await shown(watching.stdout, "denied\n")
        assert "alpha's request to run high late expired: nobody answered in time" in expired
        code, _, err = await ended(running)
        assert code == 126 and b"nobody on beta approved high in time" in err
        run = await b.events.wait_for("command_executed", after=mark)
        assert run.message.command_executed.run.approval == Run.APPROVAL_EXPIRED
    finally:
        watching.send_signal(signal.SIGINT)
        code, _, _ = await ended(watching)
    assert code == 130


# --- Ctrl-C -----------------------------------------------------------------------------------


async def test_ctrl_c_cancels_the_run_on_the_peer(nodes: Nodes, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    a, b = await commanding(nodes, tree_command("tree", pidfile))
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "tree", stdin=asyncio.subprocess.DEVNULL)
    await shown(running.stdout, "ready\n")
    grandchild = await pid_in(pidfile)
    running.send_signal(signal.SIGINT)
    code, _, err = await ended(running)
    assert code == 130
    assert err.decode().splitlines() == [
        "kizuna exec: cancelling tree on beta…",
        "kizuna exec: cancelled tree on beta",
    ]
    await gone(grandchild)
    event = await b.events.wait_for("command_executed", after=mark)
    assert event.message.command_executed.run.state == Run.STATE_CANCELLED
    assert await b.client.command_runs() == []
    assert await a.client.command_runs() == []


async def test_ctrl_c_withdraws_a_run_waiting_for_approval(nodes: Nodes) -> None:
    a, b = await commanding(nodes, HIGH)
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "high", "hi", stdin=asyncio.subprocess.DEVNULL)
    await shown(running.stderr, ")…\n")
    run_id = await asked(b, mark)
    running.send_signal(signal.SIGINT)
    code, _, err = await ended(running)
    assert code == 130 and b"kizuna exec: cancelled high on beta\n" in err
    run = await executed(b, run_id, mark)
    assert run.state == Run.STATE_CANCELLED
    assert b.events.of_type("command_started", after=mark) == []


async def test_a_second_ctrl_c_exits_at_once(nodes: Nodes) -> None:
    stubborn = command("stubborn", [PY, "-c", STUBBORN])
    a, b = await commanding(nodes, stubborn)
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "stubborn", stdin=asyncio.subprocess.DEVNULL)
    await shown(running.stdout, "ready\n")
    running.send_signal(signal.SIGINT)
    await shown(running.stderr, "cancelling stubborn on beta…\n")
    running.send_signal(signal.SIGINT)
    code, _, err = await ended(running)
    assert code == 130
    assert b"cancelled stubborn on beta" not in err  # it did not wait for the end
    # The peer still stops the program (SIGKILL after the grace).
    event = await b.events.wait_for("command_executed", after=mark)
    assert event.message.command_executed.run.state == Run.STATE_CANCELLED


# --- commands, runs ---------------------------------------------------------------------------


async def test_commands_lists_what_the_peer_allows(nodes: Nodes, tmp_path: Path) -> None:
    described = {
        **checked(tree_with_escape(tmp_path)),
        "description": "Show the checked arguments",
        "timeout_secs": 12,
        "risk": "medium",
    }
    flagged = command(
        "flagged",
        ["echo", "{force}", "{count}"],
        risk="high",
        approval="never",
        parameters=[
            {"name": "force", "type": "boolean", "flag": "--force", "description": "Force it"},
            {"name": "count", "type": "integer", "default": 3, "min": 1},
        ],
    )
    a, _ = await commanding(nodes, ECHO, described, flagged, HIGH)
    code, out, err = await kizuna(a, "commands", "beta")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    # The owner's commands in the owner's order, then what plugins add (text.message, ...).
    assert lines[:13] + lines[-1:] == [
        "COMMAND               RISK    APPROVAL    LIMIT  DESCRIPTION",
        "echo                  low     no           1:00  Print the text",
        "    text            text, required",
        "checked               medium  asks         0:12  Show the checked arguments",
        "    word            text matching [a-z]+, required",
        "    n               integer 1..10, required",
        "    mode            one of fast|slow, required",
        "    file            path inside a folder the owner chose, required",
        "flagged               high    no           1:00",
        "    force           boolean (yes/no), optional: Force it",
        "    count           integer >= 1, default 3",
        "high                  high    asks         1:00  Print the text, after the owner approves",
        "    text            text, required",
        "run one: kizuna exec beta COMMAND [ARG...]  (in the order shown, or --arg NAME=VALUE); "
        "'asks': each run waits for the owner's approval",
    ]
    code, out, _ = await kizuna(a, "commands", "beta", "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    assert [c["id"] for c in listed][:4] == ["echo", "checked", "flagged", "high"]
    assert listed[1]["needs_approval"] is True and listed[1]["risk"] == "COMMAND_RISK_MEDIUM"
    assert listed[1]["parameters"][1] == {
        "name": "n",
        "type": "TYPE_INTEGER",
        "required": True,
        "min": "1",
        "max": "10",
    }


async def test_runs_shows_runs_in_both_directions(nodes: Nodes) -> None:
    a, b = await commanding(nodes, CAT)
    code, out, _ = await kizuna(a, "runs")
    assert (code, out) == (
        0,
        "no command runs in progress or waiting for approval; run one with "
        "'kizuna exec PEER COMMAND [ARG...]'\n",
    )
    mark = b.events.mark()
    running = await start(a, "exec", "beta", "cat", stdin=asyncio.subprocess.PIPE)
    assert running.stdin is not None
    event = await b.events.wait_for("command_started", after=mark)
    run_id = event.message.command_started.run.id
    for node, direction, peer in ((a, "out", "beta"), (b, "in ", "alpha")):
        code, out, _ = await kizuna(node, "runs")
        (row,) = out.splitlines()[1:]
        assert row.startswith(f"{run_id[:8]}  {direction}  {peer} ")
        assert row.split()[-2:] == ["running", "-"]
    running.stdin.write(b"bye")
    running.stdin.close()
    assert await ended(running) == (0, b"bye", b"")


@pytest.fixture
def wired() -> None:
    """Hands the CLI's `safe` to the command commands, as `kizuna` does at start."""
    commands = argparse.ArgumentParser().add_subparsers()
    add_commands(commands, argparse.ArgumentParser(add_help=False), lambda _: Kizuna(), safe)


@pytest.mark.usefixtures("wired")
async def test_runs_table_escapes_what_peers_sent() -> None:
    run = Run(
        id="0123456789abcdef" * 2,
        peer_name="evil\x1b[2J",
        command_id="echo",
        positional_arguments=["\x1b]0;owned\x07"],
        direction=Run.DIRECTION_INCOMING,
        state=Run.STATE_RUNNING,
    )
    table = runs_table([run])
    assert "\x1b" not in table and "\\x1b" in table
