"""The daemon as a user runs it: `kizuna daemon` in a subprocess, stopped by signals or the API."""

import asyncio
import os
import signal
import stat
from pathlib import Path

import pytest

from kizuna_client import Kizuna, KizunaEvent
from kizuna_client.v1 import node_pb2
from tests.conftest import DaemonProcess


def _device_id_from_banner(banner: list[str]) -> str:
    line = next(line for line in banner if "device ID" in line)
    return line.split()[-1].replace("-", "")


async def test_banner_names_device_and_api(daemon_process: DaemonProcess, home: Path) -> None:
    await daemon_process.start()
    banner = "\n".join(daemon_process.banner)
    socket_path = home / "run" / "kizuna.sock"
    assert f"unix:{socket_path}" in banner
    async with Kizuna(home=home, embedded=False) as k:
        node = await k.node()
    assert node.device_id == _device_id_from_banner(daemon_process.banner)
    assert node.state == "ready"
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "data").stat().st_mode) == 0o700


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_gracefully(
    daemon_process: DaemonProcess, home: Path, signum: signal.Signals
) -> None:
    await daemon_process.start()
    async with Kizuna(home=home, embedded=False) as k:
        events = k.subscribe_events(types=["node_state_changed"])
        await events.started()  # registered before the signal goes out
        daemon_process.signal(signum)
        seen = [item async for item in events]
    assert await daemon_process.wait() == 0
    last = seen[-1]
    assert isinstance(last, KizunaEvent)  # a stopping event, then the stream ended with OK
    assert last.message.node_state_changed.state == node_pb2.Node.STATE_STOPPING
    assert f"received {signum.name}" in last.message.node_state_changed.reason
    assert not (home / "run" / "kizuna.sock").exists()
    assert not (home / "run" / "daemon.json").exists()


async def test_shutdown_rpc_stops_process(daemon_process: DaemonProcess, home: Path) -> None:
    await daemon_process.start()
    async with Kizuna(home=home, embedded=False) as k:
        await k.stop_daemon(reason="test says so")
    assert await daemon_process.wait() == 0
    assert "test says so" in await daemon_process.stderr()


async def test_identity_survives_restart(home: Path) -> None:
    first = await DaemonProcess(home).start()
    first.signal(signal.SIGTERM)
    assert await first.wait() == 0
    second = await DaemonProcess(home).start()
    try:
        assert _device_id_from_banner(first.banner) == _device_id_from_banner(second.banner)
    finally:
        await second.kill()


async def test_restart_after_kill_9(home: Path) -> None:
    first = await DaemonProcess(home).start()
    await first.kill()  # SIGKILL: socket, lock file and daemon.json are left behind
    assert (home / "run" / "kizuna.sock").exists()
    second = await DaemonProcess(home).start()
    try:
        async with Kizuna(home=home, embedded=False) as k:
            assert (await k.node()).state == "ready"
    finally:
        await second.kill()


async def test_second_daemon_on_same_home_is_refused(
    daemon_process: DaemonProcess, home: Path
) -> None:
    await daemon_process.start()
    second = DaemonProcess(home)
    with pytest.raises(AssertionError, match="already running with this home"):
        await second.start()
    assert second.process is not None and second.process.returncode == 1
    async with Kizuna(home=home, embedded=False) as k:  # the first one is unharmed
        assert (await k.node()).state == "ready"


@pytest.mark.parametrize(
    ("flag", "named"),
    [
        ("discovery.interval_secs=0", "discovery.interval_secs"),
        ("discovery.no_such_key=1", "discovery.no_such_key"),
        ("api.tcp_address=0.0.0.0:0", "loopback"),
        ("security.trust_mode=whatever", "security.trust_mode"),
    ],
)
async def test_bad_setting_stops_start_with_message(home: Path, flag: str, named: str) -> None:
    process = DaemonProcess(home, "--set", flag)
    with pytest.raises(AssertionError) as failure:
        await process.start()
    assert process.process is not None and process.process.returncode == 2
    assert "configuration error" in str(failure.value)
    assert named in str(failure.value)


async def test_bad_config_file_names_file_and_key(home: Path) -> None:
    (home / "config.toml").write_text('[identity]\ndevice_nam = "typo"\n')
    process = DaemonProcess(home)
    with pytest.raises(AssertionError) as failure:
        await process.start()
    assert "identity.device_nam" in str(failure.value)
    assert str(home / "config.toml") in str(failure.value)


async def test_environment_configures_daemon(home: Path) -> None:
    process = DaemonProcess(home, env={"KIZUNA_IDENTITY_DEVICE_NAME": "from-env"})
    await process.start()
    try:
        assert any("from-env" in line for line in process.banner)
    finally:
        await process.kill()


async def test_other_users_cannot_reach_socket(daemon_process: DaemonProcess, home: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a probe as another user")
    await daemon_process.start()
    probe = await asyncio.create_subprocess_exec(
        "python3",
        "-c",
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        f"try: s.connect({str(home / 'run' / 'kizuna.sock')!r})\n"
        "except PermissionError: sys.exit(13)\n"
        "sys.exit(0)",
        user=65534,
        group=65534,
    )
    assert await probe.wait() == 13
