"""The `kizuna` command as people and scripts use it, against a real daemon subprocess."""

import asyncio
import dataclasses
import json
import os
import socket
import sys
import tomllib
from pathlib import Path

import pytest

from kizuna_server.app import Daemon
from kizuna_server.cli import EXIT_BROKEN_PIPE, config_toml, main, safe
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from tests.conftest import LOOPBACK_ONLY_ENV, DaemonProcess
from tests.p2p.peerpair import Node, Nodes, paired

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
    # The README's grpcurl line: the socket wherever the home put it (XDG_RUNTIME_DIR unset).
    code, out, _ = await _kizuna("status", "--home", str(home), "--socket")
    assert (code, out) == (0, f"{home / 'run' / 'kizuna.sock'}\n")


async def test_config_shows_effective_settings(daemon_process: DaemonProcess, home: Path) -> None:
    daemon_process.args = ("--set", "identity.device_name=cli-box")
    await daemon_process.start()
    code, out, _ = await _kizuna("config", "--home", str(home), "--json")
    assert code == 0
    assert json.loads(out)["identity"]["device_name"] == "cli-box"


async def test_config_speaks_config_toml(daemon_process: DaemonProcess, home: Path) -> None:
    daemon_process.args = (
        *("--set", "identity.device_type=laptop"),
        *("--set", "security.trust_mode=allowlist_only"),
        *("--set", "networking.enable_quic=true"),
    )
    await daemon_process.start()

    code, out, err = await _kizuna("config", "--home", str(home))
    assert code == 0, err
    code, as_json, err = await _kizuna("config", "--home", str(home), "--json")
    assert code == 0, err

    assert 'trust_mode = "allowlist_only"' in out.splitlines()
    assert 'device_type = "laptop"' in out.splitlines()
    assert "TRUST_MODE" not in out and "DEVICE_TYPE" not in out
    assert "# note on networking.enable_quic: this version has no QUIC" in out
    data = json.loads(as_json)
    assert data["security"]["trust_mode"] == "allowlist_only"
    assert data["identity"]["device_type"] == "laptop"
    assert list(data["notes"]) == ["networking.enable_quic"]
    del data["notes"]
    assert tomllib.loads(out) == data  # what people read is the same, and valid TOML


def test_config_toml_escapes_what_a_terminal_would_act_on() -> None:
    text = config_toml({"identity": {"device_name": 'a"b\\c\x1b[2J\u202eq\U0001f600'}})

    assert text == '[identity]\ndevice_name = "a\\"b\\\\c\\u001b[2J\\u202eq\U0001f600"'
    assert tomllib.loads(text)["identity"]["device_name"] == 'a"b\\c\x1b[2J\u202eq\U0001f600'


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


# --- a reader that went away ------------------------------------------------------------------


async def kizuna_into_closed_pipe(*args: str) -> tuple[int, str]:
    """`kizuna ARGS | head -c 0`, deterministically: stdout is a pipe whose reader has already
    closed it, so the command's first write fails. Exit code and stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "kizuna_server", *args),
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    async with asyncio.timeout(TIMEOUT):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.parametrize(
    "command",
    [
        ("transfers",),
        ("peers",),
        ("status", "--json"),
        ("config",),
        ("events", "--after", "1"),  # follows forever otherwise
    ],
)
async def test_a_closed_pipe_ends_the_command_quietly(
    daemon_process: DaemonProcess, home: Path, command: tuple[str, ...]
) -> None:
    await daemon_process.start()

    code, err = await kizuna_into_closed_pipe(*command, "--home", str(home))

    assert (code, err) == (EXIT_BROKEN_PIPE, "")  # like a command killed by SIGPIPE


# --- the daemon's own messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("KIZUNA_NETWORKING_LISTEN_PORT", "cannot listen for peers on 127.0.0.1:{port}: "),
        ("KIZUNA_API_TCP_ADDRESS", "cannot listen on 127.0.0.1:{port}: "),
    ],
)
async def test_a_port_in_use_gets_one_clear_message(home: Path, setting: str, says: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        value = str(port) if setting.endswith("PORT") else f"127.0.0.1:{port}"
        code, err = await _daemon_failing(home, {setting: value})

    assert code == 1
    *logged, message = err.splitlines()
    assert message.startswith("kizuna daemon: " + says.format(port=port) + "Address already in use")
    assert "GRPC" not in message and "Failed to bind" not in message
    assert all(" INFO kizuna_server." in line for line in logged), logged  # no gRPC lines


async def test_grpc_logs_when_the_person_asks_for_them(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, err = await _daemon_failing(
            home, {"KIZUNA_NETWORKING_LISTEN_PORT": port, "GRPC_VERBOSITY": "ERROR"}
        )

    assert code == 1
    assert "add_port" in err  # GRPC_VERBOSITY set by the person is theirs
    assert err.splitlines()[-1].startswith("kizuna daemon: cannot listen for peers on")


async def _daemon_failing(home: Path, env: dict[str, str]) -> tuple[int, str]:
    """`kizuna daemon` that is expected to fail at start: exit code and stderr."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("GRPC_VERBOSITY", "GRPC_TRACE")}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kizuna_server", "daemon", "--home", str(home)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**inherited, **LOOPBACK_ONLY_ENV, **env},
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert out == b"", "the daemon started"
    assert process.returncode is not None
    return process.returncode, err.decode()


# --- peers and pairing ------------------------------------------------------------------------


async def _start_kizuna(node: Node, *args: str) -> asyncio.subprocess.Process:
    """`kizuna ARGS --home HOME` for `node`, with stdin left open (a person who has not
    answered yet)."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kizuna_server", *args, "--home", str(node.home)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _asked(process: asyncio.subprocess.Process) -> str:
    """Everything the command printed up to its question, once it asks."""
    assert process.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        return (await process.stdout.readuntil(b"[y/N] ")).decode()


async def _ends(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    """Waits for the command to end by itself, its stdin still open: exit code, the rest of
    stdout, stderr."""
    assert process.stdout is not None and process.stderr is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await asyncio.gather(process.stdout.read(), process.stderr.read())
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return code, out.decode(), err.decode()


async def test_pair_ends_when_the_other_device_rejects(nodes: Nodes) -> None:
    a, b = await nodes.start("alpha"), await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark = b.events.mark()
    process = await _start_kizuna(a, "pair", "beta")
    shown = await _asked(process)
    assert "Code on this device" in shown

    requested = await b.events.wait_for("pairing_requested", after=mark)
    await b.client.reject_pairing(requested.message.pairing_requested.pairing.id)

    code, _, err = await _ends(process)  # without anyone answering the question
    assert code == 1
    assert "kizuna pair: the pairing with beta was rejected" in err
    assert "no pending pairing" not in err and "Traceback" not in err
    assert not await a.client.pairings()


async def test_pair_answering_ends_when_the_asker_cancels(nodes: Nodes) -> None:
    a, b = await nodes.start("alpha"), await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    process = await _start_kizuna(b, "pair")
    pairing = await a.client.request_pairing(b.id)
    await _asked(process)

    await a.client.cancel_pairing(pairing.id)

    code, _, err = await _ends(process)
    assert code == 1
    assert "kizuna pair: the pairing with alpha was cancelled by the device that asked" in err


async def test_pair_ends_when_the_pairing_expires(nodes: Nodes) -> None:
    def short(config: Config) -> Config:  # below the configuration's minimum of 10 s
        return dataclasses.replace(
            config, security=dataclasses.replace(config.security, pairing_timeout_secs=1)
        )

    a, b = await nodes.start("alpha", adjust=short), await nodes.start("beta", adjust=short)
    await a.client.add_peer(b.address, persist=False)
    process = await _start_kizuna(a, "pair", "beta")
    await _asked(process)

    code, _, err = await _ends(process)  # nobody answers on either device

    assert code == 1
    assert "kizuna pair: the pairing with beta expired: it was not confirmed" in err


async def test_pair_yes_pairs(nodes: Nodes) -> None:
    a, b = await nodes.start("alpha"), await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark = b.events.mark()
    process = await _start_kizuna(a, "pair", "beta", "--yes")
    requested = await b.events.wait_for("pairing_requested", after=mark)
    await b.client.confirm_pairing(requested.message.pairing_requested.pairing.id)

    code, out, err = await _ends(process)

    assert code == 0, err
    assert "paired with beta" in out
    assert (await a.client.peer(b.id)).trusted


async def test_pair_answers_a_pairing_an_app_here_started(nodes: Nodes) -> None:
    # The seed's connect_to_peer pairs first and, without a callback, leaves the answer to the
    # person: `kizuna pair` (no PEER) on the same device gives it.
    a, b = await nodes.start("alpha"), await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    connecting = asyncio.get_running_loop().create_task(a.client.connect_to_peer(b.id))
    await a.events.wait_for("pairing_requested", after=mark_a)
    process = await _start_kizuna(a, "pair", "--yes")
    requested = await b.events.wait_for("pairing_requested", after=mark_b)
    await b.client.confirm_pairing(requested.message.pairing_requested.pairing.id)

    code, out, err = await _ends(process)
    async with asyncio.timeout(TIMEOUT):
        connection = await connecting

    assert code == 0, err
    assert "paired with beta" in out
    assert connection.peer_id == b.id


async def test_peers_add_names_the_address_given(nodes: Nodes) -> None:
    a, b = await nodes.start("alpha"), await nodes.start("beta")

    code, out, err = await _kizuna(
        "peers", "add", f"127.0.0.1:{b.link_port}", "--home", str(a.home)
    )
    assert code == 0, err
    assert out.startswith(f"added 127.0.0.1:{b.link_port}: {format_device_id(b.id)} (beta)")

    code, out, err = await _kizuna("peers", "add", "127.0.0.1:1", "--home", str(a.home))
    assert code == 1
    assert err.startswith("kizuna peers: no Kizuna peer answered at 127.0.0.1:1 (")
    assert "127.0.0.1:2" not in err


async def test_permissions_for_people_and_scripts(nodes: Nodes) -> None:
    a, b = await paired(nodes)

    code, out, err = await _kizuna("permissions", "beta", "--commands", "on", "--home", str(a.home))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"beta ({b.id[:8]}), trusted"
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["files", "on"],
        ["auto-accept", "off"],
        ["streams", "on"],
        ["commands", "on"],
    ]
    assert "{" not in out

    code, out, err = await _kizuna("permissions", "beta", "--json", "--home", str(a.home))
    assert code == 0, err
    assert json.loads(out) == {
        "peer_id": b.id,
        "name": "beta",
        "files": True,
        "auto_accept": False,
        "streams": True,
        "commands": True,
    }
