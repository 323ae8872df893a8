"""The seed binding's Python surface: a program written for it runs unchanged.

`from kizuna import Kizuna`, usable at once; `shutdown()` ends only this instance; in-process
nodes keep their identity in a persistent home and receive into the person's inbox; the seed's
field names, error types and `await subscribe_events()`; `connect_to_peer` pairs first.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

import kizuna
import kizuna_client
from kizuna import Kizuna
from kizuna_client import (
    ClientClosedError,
    DaemonUnavailableError,
    KizunaError,
    PairingExpiredError,
    PairingInfo,
    PairingRejectedError,
    split_command,
)
from tests.p2p.peerpair import WAIT, Nodes, pair

#: What a test node in the host namespace needs: no multicast, loopback only.
QUIET = {
    "discovery": {"enable_mdns": False, "enable_udp": False},
    "networking": {"listen_address": "127.0.0.1"},
}


@pytest.fixture
def person(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A person's home directory with nothing of Kizuna's in it, and a quiet host namespace."""
    for name in ("KIZUNA_HOME", "KIZUNA_TARGET", "KIZUNA_CONFIG", "XDG_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "alice"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    # Read by a device daemon started in-process (the device's own configuration applies).
    monkeypatch.setenv("KIZUNA_DISCOVERY_ENABLE_MDNS", "false")
    monkeypatch.setenv("KIZUNA_DISCOVERY_ENABLE_UDP", "false")
    monkeypatch.setenv("KIZUNA_NETWORKING_LISTEN_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("KIZUNA_NETWORKING_LISTEN_PORT", "0")
    return home


def test_the_seed_import_is_the_client() -> None:
    assert kizuna.Kizuna is kizuna_client.Kizuna
    assert kizuna.PeerNotFoundError is kizuna_client.PeerNotFoundError
    assert issubclass(kizuna.KizunaError, RuntimeError)
    assert issubclass(kizuna.InvalidArgumentError, ValueError)
    assert kizuna.__version__ == kizuna_client.__version__


async def test_kizuna_without_a_daemon_runs_the_devices_own_in_process(person: Path) -> None:
    kizuna = Kizuna()  # no connect step
    try:
        peers = await kizuna.discover_peers(wait=0)
        assert peers == []
        node = await kizuna.node()
        assert kizuna.in_process
        socket_path = Path(node.api_endpoints[0].removeprefix("unix:"))
        assert socket_path.is_relative_to(person.parent / "run")
        first_id = node.device_id
        # Another app on the device attaches to it, and its shutdown stops nothing shared.
        other = Kizuna()
        assert (await other.node()).device_id == first_id
        assert not other.in_process
        await other.shutdown()
        assert (await kizuna.node()).state == "ready"
        with pytest.raises(ClientClosedError):
            await other.node()
    finally:
        await kizuna.shutdown()
    assert not socket_path.exists()  # the in-process node stopped with its instance
    again = Kizuna()
    try:
        assert (await again.node()).device_id == first_id  # the device's identity is kept
    finally:
        await again.shutdown()


async def test_an_attached_shutdown_never_stops_the_shared_daemon(home: Path) -> None:
    owner = Kizuna({"home": str(home), **QUIET})
    await owner.connect()
    try:
        app = Kizuna(home=home)
        await app.discover_peers(wait=0)
        await app.shutdown()
        await app.shutdown()  # twice is fine
        assert (await owner.node()).state == "ready"
    finally:
        await owner.shutdown()
    with pytest.raises(DaemonUnavailableError):
        await Kizuna(home=home, target=f"unix:{home}/run/kizuna.sock").node()


async def test_an_in_process_node_keeps_its_identity_and_receives_into_the_inbox(
    person: Path,
) -> None:
    config: kizuna_client.KizunaConfig = {
        "identity": {"device_name": "My Python App", "user_name": "Alice"},
        "discovery": {"enable_mdns": False, "enable_udp": False},
        "networking": {"listen_address": "127.0.0.1", "listen_port": 0},
    }
    first = Kizuna(config)
    try:
        node = await first.node()
        settings = await first.config()
    finally:
        await first.shutdown()
    node_home = person / ".local/share/kizuna/nodes/my-python-app"
    assert settings["paths"]["home"] == str(node_home)
    assert settings["transfers"]["inbox"] == str(person / "Downloads" / "Kizuna")
    assert settings["identity"]["user_name"] == "Alice"
    assert settings["security"]["trust_mode"] == "manual"  # the seed's spelling
    second = Kizuna(config)
    try:
        assert (await second.node()).device_id == node.device_id
    finally:
        await second.shutdown()


async def test_an_in_process_node_takes_free_ports_when_the_defaults_are_taken(
    person: Path,
) -> None:
    holders = []
    for port in (47120, 47121):
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError:
            pass  # taken already: the point of the test either way
        holders.append(holder)
    try:
        kizuna = Kizuna({"identity": {"device_name": "ports"}, **QUIET})
        try:
            listening = [e for e in (await kizuna.node()).message.peer_endpoints]
            ports = {int(e.address.rpartition(":")[2]) for e in listening}
            assert ports and not ports & {47120, 47121}
        finally:
            await kizuna.shutdown()
    finally:
        for holder in holders:
            holder.close()


async def test_an_explicit_port_that_is_taken_is_an_error_not_a_surprise(home: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        settings = {"home": str(home), **QUIET}
        settings["networking"] = {"listen_address": "127.0.0.1", "listen_port": taken}
        with pytest.raises(KizunaError, match=str(taken)):
            await Kizuna(settings).node()


async def test_a_shut_instance_says_so(home: Path) -> None:
    kizuna = Kizuna({"home": str(home), **QUIET})
    await kizuna.node()
    await kizuna.shutdown()
    with pytest.raises(ClientClosedError, match="shut down"):
        await kizuna.discover_peers()


async def test_await_subscribe_events_returns_the_run_so_far(home: Path) -> None:
    kizuna = Kizuna({"home": str(home), **QUIET})
    try:
        events = await kizuna.subscribe_events()
        first = events[0]
        assert isinstance(first, kizuna_client.KizunaEvent)
        assert first.sequence == 1  # the run's first event is replayed
        assert first.event_type == "node_state_changed"
        assert json.loads(first.data)["state"] == "STATE_STARTING"
        sequences = [e.sequence for e in events if isinstance(e, kizuna_client.KizunaEvent)]
        assert sequences == sorted(sequences) and len(sequences) >= 2
        ready = await kizuna.subscribe_events(types=["node_state_changed"])
        assert {e.event_type for e in ready} == {"node_state_changed"}
        # The iterator form resumes from the run's start as well, then goes live.
        async with kizuna.subscribe_events(from_start=True) as live:
            again = await anext(live)
            assert isinstance(again, kizuna_client.KizunaEvent) and again.sequence == 1
    finally:
        await kizuna.shutdown()


@pytest.mark.parametrize(
    ("command", "split"),
    [
        ("ls -la", ("ls", ["-la"])),
        ("copy 'my file.txt' /tmp", ("copy", ["my file.txt", "/tmp"])),
        ("echo ; rm -rf ~", ("echo", [";", "rm", "-rf", "~"])),
        ("echo $(id) `id`", ("echo", ["$(id)", "`id`"])),
        ('say "line one\nline two"', ("say", ["line one\nline two"])),
    ],
)
def test_the_seeds_command_string_splits_into_words_and_never_into_a_shell(
    command: str, split: tuple[str, list[str]]
) -> None:
    assert split_command(command) == split


async def test_connect_to_peer_pairs_first_and_waits_for_both_people(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    shown: list[PairingInfo] = []

    async def beta_person() -> None:
        event = await b.events.wait_for("pairing_requested")
        await b.client.confirm_pairing(event.payload.pairing.id)  # type: ignore[attr-defined]

    def alpha_person(pairing: PairingInfo) -> bool:
        shown.append(pairing)
        return True  # the codes match

    answering = asyncio.get_running_loop().create_task(beta_person())
    async with asyncio.timeout(WAIT):
        connection = await a.client.connect_to_peer(b.id, on_pairing=alpha_person)
    await answering
    assert connection.peer_id == b.id
    assert len(shown) == 1 and len(shown[0].code.replace(" ", "")) == 6
    assert (await a.client.peer(b.id)).trusted


async def test_connect_to_peer_raises_when_the_other_person_rejects(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)

    async def beta_person() -> None:
        event = await b.events.wait_for("pairing_requested")
        await b.client.reject_pairing(event.payload.pairing.id)  # type: ignore[attr-defined]

    answering = asyncio.get_running_loop().create_task(beta_person())
    with pytest.raises(PairingRejectedError):
        async with asyncio.timeout(WAIT):
            await a.client.connect_to_peer(b.id, on_pairing=lambda pairing: True)
    await answering
    assert not (await a.client.peer(b.id)).trusted


async def test_connect_to_peer_gives_up_after_the_connection_timeout(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    with pytest.raises(PairingExpiredError, match="was not confirmed"):
        await a.client.connect_to_peer(b.id, pairing_timeout=1.0)  # nobody answers
    assert await a.client.pairings() == []  # the pairing it started was cancelled


def test_seed_field_names_on_the_data_classes() -> None:
    from kizuna_client.types import CommandResult, TransferProgress
    from kizuna_client.v1 import command_pb2

    progress = TransferProgress("t1", "transferring", 250, 1000, 0, 1, 1234.6, None, "a.bin")
    assert (progress.bytes_transferred, progress.speed_bps) == (250, 1235)
    assert progress.percentage() == 25.0
    run = command_pb2.CommandRun(id="r", command_id="ls", exit_code=3)
    result = CommandResult.from_run(run, "héllo\n".encode(), b"\xff", truncated=False)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "héllo\n", "\ufffd")
    assert result.stdout_bytes == "héllo\n".encode()


def test_events_name_what_they_are_about() -> None:
    from kizuna_client.types import KizunaEvent
    from kizuna_client.v1 import event_pb2, peer_pb2, transfer_pb2

    offered = event_pb2.Event(sequence=7)
    offered.transfer_offered.transfer.CopyFrom(transfer_pb2.Transfer(id="t-1", total_files=2))
    event = KizunaEvent.from_proto(offered)
    assert event.transfer is not None and event.transfer.id == "t-1"
    assert (event.peer, event.pairing) == (None, None)
    assert json.loads(event.data) == {"transfer": {"id": "t-1", "total_files": 2}}
    seen = event_pb2.Event(sequence=8)
    seen.peer_discovered.peer.CopyFrom(peer_pb2.Peer(device_id="P", name="beta"))
    assert KizunaEvent.from_proto(seen).peer.name == "beta"  # type: ignore[union-attr]
    assert KizunaEvent.from_proto(seen).transfer is None


async def test_discover_peers_waits_for_a_first_peer_when_none_was_seen(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    looking = asyncio.get_running_loop().create_task(a.client.discover_peers(wait=WAIT))
    mark = a.events.mark()
    await a.client.add_peer(b.address, persist=False)  # seen while discover_peers waits
    await a.events.wait_for("peer_discovered", after=mark)
    async with asyncio.timeout(WAIT):
        found = await looking
    assert [(p.id, p.discovery_method) for p in found] == [(b.id, "manual")]


async def test_discover_peers_lists_online_peers_first_and_offline_ones_on_request(
    nodes: Nodes,
) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    c = await nodes.start("gamma")
    await pair(a, c)
    await nodes.stop(c)
    await a.client.add_peer(b.address, persist=False)
    async with asyncio.timeout(WAIT):
        while not any(p.online for p in await a.client.peers()):
            await a.events.wait_for("peer_discovered")
        while (await a.client.peer(c.id)).online:
            await a.events.wait_for("peer_disconnected")
    assert [p.id for p in await a.client.discover_peers(wait=0)] == [b.id]
    everyone = await a.client.discover_peers(include_offline=True, wait=0)
    assert [p.id for p in everyone] == [b.id, c.id]  # online first
