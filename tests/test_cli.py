"""The `kizuna` command as people and scripts use it, against a real daemon subprocess."""

import asyncio
import json
import sys
from pathlib import Path

import pytest

from kizuna_server.app import Daemon
from kizuna_server.cli import main, safe
from tests.conftest import DaemonProcess

TIMEOUT = 30


async def _kizuna(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kizuna_server",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_status_for_people_and_scripts(daemon_process: DaemonProcess, home: Path) -> None:
    await daemon_process.start()
    code, out, _ = await _kizuna("status", "--home", str(home))
    assert code == 0
    device_line = next(line for line in daemon_process.banner if "device ID" in line)
    assert device_line.split()[-1] in out
    assert "ready" in out and "local_api" in out
    code, out, _ = await _kizuna("status", "--home", str(home), "--json")
    assert code == 0
    node = json.loads(out)
    assert node["deviceIdDisplay"] == device_line.split()[-1]


async def test_config_shows_effective_settings(daemon_process: DaemonProcess, home: Path) -> None:
    daemon_process.args = ("--set", "identity.device_name=cli-box")
    await daemon_process.start()
    code, out, _ = await _kizuna("config", "--home", str(home))
    assert code == 0
    assert json.loads(out)["identity"]["device_name"] == "cli-box"


async def test_events_json_lines(daemon_process: DaemonProcess, home: Path) -> None:
    await daemon_process.start()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kizuna_server", "events", "--home", str(home), "--json"),
        *("--after", "1", "--type", "node_state_changed"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            # "ready" (sequence 2) is replayed first: then the subscription is surely in place.
            lines = [(await process.stdout.readline()).decode()]
            code, _, _ = await _kizuna("stop", "--home", str(home))
            assert code == 0
            lines += (await process.stdout.read()).decode().splitlines()
            assert await process.wait() == 0  # the stream ended cleanly at shutdown
    finally:
        if process.returncode is None:
            process.kill()
    events = [json.loads(line) for line in lines]
    states = [e["nodeStateChanged"]["state"] for e in events]
    assert states == ["STATE_READY", "STATE_STOPPING"]
    assert all("sequence" in e and "runId" in e for e in events)


async def test_events_human_lines_replay(daemon_process: DaemonProcess, home: Path) -> None:
    await daemon_process.start()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kizuna_server",
        "events",
        "--home",
        str(home),
        "--after",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            line = (await process.stdout.readline()).decode()
    finally:
        process.kill()
        await process.wait()
    assert "#2" in line and "node_state_changed" in line and "STATE_READY" in line


async def test_status_without_daemon_says_what_to_do(home: Path) -> None:
    code, out, err = await _kizuna("status", "--home", str(home))
    assert code == 1 and out == ""
    assert "kizuna daemon" in err and "Traceback" not in err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "daemon" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("evil\x1b[2Jname", "evil\\x1b[2Jname"),
        ("two\nlines", "two\\x0alines"),
        ("x" * 500, "x" * 119 + "…"),
        ("bob\u202egpj.exe", "bob\\u202egpj.exe"),  # right-to-left override
        ("one\u2028two", "one\\u2028two"),  # line separator
    ],
)
def test_peer_strings_are_made_safe_for_terminals(raw: str, shown: str) -> None:
    assert safe(raw) == shown


async def test_hostile_event_text_reaches_the_terminal_escaped(daemon: Daemon) -> None:
    from kizuna_server.core.events import ErrorOccurred

    after = daemon.events.last_sequence
    daemon.publish(
        ErrorOccurred(
            reason="INTERNAL",
            message="\x1b[2J\x1b]0;pwned\x07evil\nsecond line\u202etxt.exe",
            subsystem="test",
        )
    )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kizuna_server", "events"),
        *("--home", str(daemon.config.paths.home), "--after", str(after)),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
    finally:
        process.kill()
        await process.wait()
    assert "error" in line
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert line.count("\n") == 1  # one event, one line
