"""The programs in examples/ run for real: as subprocesses inside network namespaces, attached to
`kizuna daemon` processes through KIZUNA_HOME, the way a person runs them.

basic_usage.py pairs through its own path (--yes on one device, the person's confirmation on the
other through the API), file_transfer.py sends and receives a file whose bytes are compared,
streaming.py streams a synthetic camera that the other device's copy watches and decodes, and
custom_config.py runs its node in-process and prints the effective configuration with its notes.
"""

import asyncio
import os
import random
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pytest

from kizuna_client import PairingInfo
from tests import netns
from tests.e2e.peerlan import REPO, Device, PeerLan, Program

pytestmark = pytest.mark.netns

EXAMPLES: Final = REPO / "examples"
#: Longest an example may run; each has its own --timeout below this.
RUN_LIMIT: Final = 45.0


def _argv(host: netns.Host, name: str, args: tuple[str, ...]) -> list[str]:
    """examples/NAME with `args` inside `host`, killed with the test process (setpriv)."""
    guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return [*guard, *host.command(sys.executable, str(EXAMPLES / name), *args)]


async def _start(
    lan: PeerLan, host: netns.Host, name: str, *args: str, env: Mapping[str, str]
) -> Program:
    """Starts an example inside `host` with `env` as its only KIZUNA_*/XDG settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KIZUNA_", "XDG_")) and k != "PYTHONUNBUFFERED"
    }
    process = await asyncio.create_subprocess_exec(
        *_argv(host, name, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, **env},
        cwd=REPO,
    )
    program = Program(f"{name} {' '.join(args)} on {host.namespace}", process, lan.changes)
    lan.programs.append(program)
    return program


async def _finish(program: Program, *, limit: float = RUN_LIMIT) -> tuple[int, str]:
    """Waits for the example to exit; returns its exit status and everything it printed."""
    try:
        async with asyncio.timeout(limit):
            code = await program.process.wait()
    except TimeoutError:
        await program.stop()
        raise AssertionError(f"{program.name} did not finish:\n{program.describe()}") from None
    await program.stop()  # collects what is left in its pipes
    return code, "\n".join(program.lines)


async def _run(lan: PeerLan, device: Device, name: str, *args: str, expect: int = 0) -> str:
    """Runs an example attached to `device` to its end; returns its output."""
    program = await _start(lan, device.host, name, *args, env={"KIZUNA_HOME": str(device.home)})
    code, output = await _finish(program)
    assert code == expect, f"{program.name} exited {code}:\n{program.describe()}"
    return output


async def _printed(lan: PeerLan, program: Program, pattern: str) -> re.Match[str]:
    """Waits until the running example printed a line matching `pattern` (flushed, not at exit)."""

    async def found() -> re.Match[str] | None:
        for line in program.lines:
            if match := re.search(pattern, line):
                return match
        if program.process.returncode is not None:
            raise AssertionError(f"{program.name} exited early:\n{program.describe()}")
        return None

    return await lan.until(found, f"{program.name} to print {pattern!r}")


async def _pairs_through_basic_usage(lan: PeerLan, a: Device, b: Device) -> str:
    """basic_usage.py on `a` connects to `b` by name, pairing with --yes; `b`'s person compares
    the code it printed and confirms. Returns the example's output."""
    program = await _start(
        lan,
        a.host,
        "basic_usage.py",
        "--peer",
        b.name,
        "--yes",
        "--pairing-timeout",
        "30",
        env={"KIZUNA_HOME": str(a.home)},
    )
    code = (await _printed(lan, program, r"the code is (\d{3} ?\d{3})$")).group(1)

    async def shown() -> PairingInfo | None:
        return await b.pairing_with(a)

    incoming = await lan.until(shown, f"{b.name} to show the pairing")
    assert incoming.code.replace(" ", "") == code.replace(" ", ""), f"{code} / {incoming.code}"
    await b.api.confirm_pairing(incoming.id, code=code)
    status, output = await _finish(program)
    assert status == 0, f"basic_usage.py exited {status}:\n{program.describe()}"
    return output


def _write_random(path: Path, size: int, seed: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


async def test_examples_pair_send_receive_and_stream_between_two_daemons() -> None:
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await a.wait_peer(b, lambda p: p.online, "discovers beta")

        # basic_usage.py: discovery as the seed prints it, pairing, the connection.
        output = await _pairs_through_basic_usage(lan, a, b)
        assert f"  - beta\n    ID: {b.device_id}\n" in output
        assert re.search(rf"    Addresses: .*{re.escape(b.host.ipv4)}:\d+", output)
        assert re.search(r"^    Discovery method: (mdns|udp)$", output, re.MULTILINE), output
        assert "Confirmed here (--yes)" in output
        assert f"Successfully connected to beta ({b.device_id})" in output
        assert "  Connection: connected, trust: trusted" in output
        assert re.search(r"  Capabilities: .*transfers", output)
        assert output.rstrip().endswith("Shutting down...\nDone!")
        await b.wait_peer(a, lambda p: p.trusted, "trusts alpha")

        # file_transfer.py: receive on beta (started first), send from alpha by ID prefix.
        source = lan.temp_dir() / "payload.bin"
        data = await asyncio.to_thread(_write_random, source, 3 * 1024 * 1024 + 17, 5)
        receiver = await _start(
            lan,
            b.host,
            "file_transfer.py",
            "receive",
            "--timeout",
            "40",
            env={"KIZUNA_HOME": str(b.home)},
        )
        await _printed(lan, receiver, r"^Waiting for a transfer offer\.\.\.$")
        sent = await _run(
            lan, a, "file_transfer.py", "send", str(source), b.device_id[:8], "--timeout", "40"
        )
        code, received = await _finish(receiver)
        assert code == 0, f"receive exited {code}:\n{receiver.describe()}"

        started = re.search(r"^Transfer started: (\w+) \((\d+) bytes\)$", sent, re.MULTILINE)
        assert started is not None, sent
        transfer_id = started.group(1)
        assert int(started.group(2)) == len(data)
        assert re.search(r"^  completed +100\.0%  (\d+)/\1 bytes", sent, re.MULTILINE), sent
        assert f"Transfer completed: {len(data)} bytes sent" in sent
        assert f"Offer {transfer_id} from alpha: 1 file(s), {len(data)} bytes" in received
        assert f"Accepted transfer {transfer_id}" in received
        saved = re.search(r"^Saved payload\.bin to (.+)$", received, re.MULTILINE)
        assert saved is not None, received
        assert Path(saved.group(1)) == b.home / "inbox" / "payload.bin"
        assert await asyncio.to_thread(Path(saved.group(1)).read_bytes) == data

        # streaming.py: a synthetic camera watched on the other device, decoded there.
        watcher = await _start(
            lan, b.host, "streaming.py", "watch", "--seconds", "2", env={"KIZUNA_HOME": str(b.home)}
        )
        await _printed(lan, watcher, r"^Waiting for a stream")
        streamed = await _run(
            lan,
            a,
            "streaming.py",
            "send",
            "beta",
            "--type",
            "camera",
            "--device",
            "synthetic",
            "--seconds",
            "2",
        )
        code, watched = await _finish(watcher)
        assert code == 0, f"watch exited {code}:\n{watcher.describe()}"
        assert "Connected to " + b.device_id in streamed
        assert re.search(r"^Stream started: \w+ \(h264, ", streamed, re.MULTILINE), streamed
        assert "Stream stopped." in streamed
        assert re.search(r"^Offer \w+ from alpha: h264$", watched, re.MULTILINE), watched
        assert "First frame: picture 1280x720" in watched

        # Unattended runs end on their own, with a failing status, when nothing comes.
        missing = await _run(lan, a, "basic_usage.py", "--peer", "nobody", "--wait", "0", expect=1)
        assert "No peer named 'nobody'." in missing
        idle = await _run(lan, b, "file_transfer.py", "receive", "--timeout", "1", expect=1)
        assert "No transfer finished within 1 s." in idle
        assert idle.rstrip().endswith("Done!")


async def test_custom_config_runs_its_node_in_process() -> None:
    netns.require()
    async with PeerLan(1) as lan:
        person = lan.temp_dir()
        env = {
            "HOME": str(person),
            "XDG_DATA_HOME": str(person / "data"),
            "XDG_CONFIG_HOME": str(person / "config"),
            "XDG_RUNTIME_DIR": str(person / "run"),
        }
        program = await _start(lan, lan.hosts[0], "custom_config.py", env=env)
        code, output = await _finish(program)
        assert code == 0, f"custom_config.py exited {code}:\n{program.describe()}"

        section = re.search(r"^\[security\]\n((?:  .*\n)+)", output, re.MULTILINE)
        assert section is not None, output
        assert "  trust_mode: allowlist_only\n" in section.group(1)
        assert "  enable_encryption: True\n" in section.group(1)
        assert "  require_authentication: True\n" in section.group(1)
        assert "  device_name: Secure Python Client\n" in output
        assert "  enable_udp: False\n" in output
        notes = output.partition("\nNotes (preferences this version keeps but cannot honour):\n")
        assert notes[2], output
        assert re.search(r"^  networking\.enable_quic: .+", notes[2], re.MULTILINE), output
        assert "enable_webrtc" not in notes[2].partition("\n\n")[0]  # False is no preference
        assert output.rstrip().endswith("Shutting down...\nDone!")
        # The in-process node kept its identity in a home of its own, and stopped at shutdown.
        node_home = person / "data" / "kizuna" / "nodes" / "secure-python-client"
        assert (node_home / "data" / "identity").is_dir(), sorted(person.rglob("*"))
        assert not list((person / "run").rglob("*.sock"))
