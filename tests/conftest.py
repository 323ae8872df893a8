"""Shared fixtures: short private homes, real daemons in-process or as subprocesses.

Daemons bind their control API to a Unix socket in a fresh home (and, when asked, 127.0.0.1
port 0); nothing here sleeps to synchronise: readiness is the daemon's own banner or start().
"""

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import Kizuna
from kizuna_client._layout import resolve_layout
from kizuna_server.app import Daemon
from kizuna_server.config import Config, load_config

READY_TIMEOUT = 20.0
#: A callback or task step holding the event loop longer than this fails the test (STYLE #5).
#: This guards against blocking calls (fsync, hashing, sync network) on the loop, not speed: it
#: is far above any healthy step, so CPU starvation on a busy 2-core machine does not trip it.
LOOP_BLOCK_LIMIT = 1.0


@pytest.fixture(autouse=True)
async def loop_never_blocks(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """Fails a test whose event loop ran one step for longer than LOOP_BLOCK_LIMIT."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = LOOP_BLOCK_LIMIT
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        yield
    # Fixtures tear down before this one (it is set up first), so teardown is covered too.
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]
    slow = [r.getMessage() for r in records if r.name == "asyncio" and " took " in r.getMessage()]
    assert not slow, f"the event loop was blocked: {slow}"


@pytest.fixture
def home() -> Iterator[Path]:
    """A fresh daemon home short enough for AF_UNIX socket paths."""
    path = Path(tempfile.mkdtemp(prefix="kz-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


#: Test daemons listen for peers on loopback only, on a free port, without mDNS or the UDP
#: beacon, unless a test says otherwise: tests never touch the machine's own network
#: (multi-device tests use namespaces).
LOOPBACK_ONLY: Mapping[str, Mapping[str, Any]] = {
    "discovery": {"enable_mdns": False, "enable_udp": False},
    # WebRTC off: its ICE candidates would be the machine's own interfaces, not loopback.
    "networking": {"listen_port": 0, "listen_address": "127.0.0.1", "enable_webrtc": False},
}
LOOPBACK_ONLY_ENV: Mapping[str, str] = {
    "KIZUNA_DISCOVERY_ENABLE_MDNS": "false",
    "KIZUNA_DISCOVERY_ENABLE_UDP": "false",
    "KIZUNA_NETWORKING_ENABLE_WEBRTC": "false",
    "KIZUNA_NETWORKING_LISTEN_PORT": "0",
    "KIZUNA_NETWORKING_LISTEN_ADDRESS": "127.0.0.1",
}


def make_config(home: Path, settings: Mapping[str, Any] | None = None) -> Config:
    """The configuration a daemon with this home and these settings would run with."""
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in LOOPBACK_ONLY.items()}
    for section, values in (settings or {}).items():
        merged.setdefault(section, {}).update(values)
    return load_config(resolve_layout(home), env={}, data=merged)


@pytest.fixture
def settings() -> dict[str, Any]:
    """Settings for the `daemon` fixture; tests override this fixture to change them."""
    return {"identity": {"device_name": "test-device"}}


@pytest.fixture
async def daemon(home: Path, settings: dict[str, Any]) -> AsyncIterator[Daemon]:
    """A started in-process daemon; stopped at the end of the test."""
    running = Daemon(make_config(home, settings))
    await running.start()
    try:
        yield running
    finally:
        await running.stop(grace=0)


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[Kizuna]:
    """A kizuna_client attached to the `daemon` fixture over its Unix socket."""
    async with Kizuna(home=daemon.config.paths.home, embedded=False) as k:
        yield k


class DaemonProcess:
    """`kizuna daemon` as a real subprocess; `start()` returns once its banner is printed."""

    def __init__(self, home: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.home = home
        self.args = args
        self.env = {**os.environ, **LOOPBACK_ONLY_ENV, **(env or {})}
        self.env.pop("KIZUNA_HOME", None)
        self.process: asyncio.subprocess.Process | None = None
        self.banner: list[str] = []

    async def start(self) -> "DaemonProcess":
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kizuna_server",
            "daemon",
            "--home",
            str(self.home),
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    stderr = await self.stderr()
                    await self.process.wait()
                    raise AssertionError(f"daemon exited before ready:\n{stderr}")
                self.banner.append(line.rstrip("\n"))
                if line.startswith("  Stop with"):
                    return self

    async def stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return (await self.process.stderr.read()).decode()

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, limit: float = READY_TIMEOUT) -> int:
        assert self.process is not None
        async with asyncio.timeout(limit):
            return await self.process.wait()

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def daemon_process(home: Path) -> AsyncIterator[DaemonProcess]:
    """A `kizuna daemon --home HOME` subprocess, killed if the test left it running."""
    process = DaemonProcess(home)
    try:
        yield process
    finally:
        await process.kill()


@pytest.fixture
async def nodes() -> AsyncIterator[Any]:
    """In-process daemons on loopback for one test (tests/p2p/peerpair.py), stopped at its end."""
    from tests.p2p.peerpair import Nodes

    running = Nodes()
    try:
        yield running
    finally:
        await running.close()
