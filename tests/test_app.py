"""Daemon start and stop at their edges: stops during a start, failed starts, odd socket paths."""

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import Kizuna
from kizuna_server.app import Daemon
from kizuna_server.files import UnsafePath
from tests.conftest import make_config

TIMEOUT = 20


def _runtime(home: Path) -> Path:
    return home / "run"


async def test_stop_requested_during_start_waits_for_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = Daemon(make_config(home))
    entered, release = asyncio.Event(), asyncio.Event()
    serve = daemon._serve

    async def held() -> None:
        entered.set()
        await release.wait()
        await serve()

    monkeypatch.setattr(daemon, "_serve", held)
    starting = asyncio.ensure_future(daemon.start())
    await entered.wait()
    stopping = asyncio.ensure_future(daemon.stop(reason="changed my mind"))
    release.set()
    await asyncio.wait_for(starting, TIMEOUT)
    await asyncio.wait_for(stopping, TIMEOUT)
    assert daemon.state.value == "stopping"
    assert not (_runtime(home) / "kizuna.sock").exists()
    assert not (_runtime(home) / "daemon.json").exists()  # never re-created after the stop


async def test_failure_late_in_start_leaves_nothing_running(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = Daemon(make_config(home))

    def broken() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(daemon, "_write_endpoint_file", broken)
    with pytest.raises(OSError, match="No space"):
        await daemon.start()
    assert not (_runtime(home) / "kizuna.sock").exists()
    await asyncio.wait_for(daemon.stop(), TIMEOUT)  # returns at once
    again = Daemon(make_config(home))  # the lock was released
    await again.start()
    await again.stop(grace=0)


async def test_stop_of_a_daemon_that_never_started(home: Path) -> None:
    await asyncio.wait_for(Daemon(make_config(home)).stop(), TIMEOUT)


async def test_socket_in_a_private_directory_of_ones_choosing(home: Path) -> None:
    private = home / "sockets"
    private.mkdir(mode=0o700)
    daemon = Daemon(make_config(home, {"api": {"socket_path": str(private / "k.sock")}}))
    await daemon.start()
    try:
        async with Kizuna(home=home, embedded=False) as k:  # found through the daemon's daemon.json
            assert (await k.node()).api_endpoints == (f"unix:{private / 'k.sock'}",)
    finally:
        await daemon.stop(grace=0)
    assert private.stat().st_mode & 0o777 == 0o700


async def test_socket_in_a_shared_directory_is_refused_untouched(home: Path) -> None:
    shared = home / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    daemon = Daemon(make_config(home, {"api": {"socket_path": str(shared / "k.sock")}}))
    with pytest.raises(UnsafePath, match="writable by nobody else"):
        await daemon.start()
    assert shared.stat().st_mode & 0o7777 == 0o1777  # not chmod-ed


async def test_a_file_at_the_socket_path_is_never_replaced(home: Path) -> None:
    private = home / "sockets"
    private.mkdir(mode=0o700)
    notes = private / "notes.txt"
    notes.write_text("keep me")
    daemon = Daemon(make_config(home, {"api": {"socket_path": str(notes)}}))
    with pytest.raises(UnsafePath, match="not a socket"):
        await daemon.start()
    assert notes.read_text() == "keep me"


async def test_a_live_socket_of_another_daemon_is_left_alone(daemon: Daemon, home: Path) -> None:
    other_home = home / "other"
    settings: dict[str, Any] = {"api": {"socket_path": str(daemon.config.api.socket_path)}}
    second = Daemon(make_config(other_home, settings))
    with pytest.raises(UnsafePath, match="another process is listening"):
        await second.start()
    async with Kizuna(home=home, embedded=False) as k:
        assert (await k.node()).state == "ready"


async def test_a_stale_socket_is_replaced(home: Path) -> None:
    runtime = _runtime(home)
    runtime.mkdir(mode=0o700, parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(os.fspath(runtime / "kizuna.sock"))
    stale.close()  # the file stays, nobody listens: what a killed daemon leaves
    daemon = Daemon(make_config(home))
    await daemon.start()
    await daemon.stop(grace=0)


async def test_daemon_json_keeps_its_documented_keys(home: Path) -> None:
    """daemon.json is a contract for clients in every language (docs/api-other-languages.md):
    these keys, with these types, while the daemon runs; gone after a clean stop."""
    import json
    import stat

    config = make_config(home, {"api": {"tcp_address": "127.0.0.1:0"}})
    daemon = Daemon(config)
    await daemon.start()
    path = _runtime(home) / "daemon.json"
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        info = json.loads(path.read_text())
        assert set(info) == {"pid", "version", "run_id", "device_id", "endpoints"}
        assert (info["pid"], info["run_id"]) == (os.getpid(), daemon.run_id)
        assert daemon.identity is not None and info["device_id"] == daemon.identity.device_id
        unix, tcp = info["endpoints"]
        assert unix == {
            "transport": "unix",
            "address": str(config.api.socket_path),
            "requires_token": False,
        }
        assert set(tcp) == {"transport", "address", "requires_token", "token_file"}
        assert (tcp["transport"], tcp["requires_token"]) == ("tcp", True)
        assert tcp["token_file"] == str(config.api.token_file)
    finally:
        await daemon.stop(grace=0)
    assert not path.exists()
