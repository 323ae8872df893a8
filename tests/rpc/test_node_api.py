"""NodeService over a real grpc.aio server: describe, configuration, shutdown and its gate."""

import asyncio
import re
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_client import InvalidArgumentError, Kizuna, KizunaEvent, ShuttingDownError
from kizuna_client.v1 import errors_pb2, node_pb2, node_service_pb2
from kizuna_server.app import Daemon
from tests.conftest import make_config


@pytest.fixture
def settings() -> dict[str, Any]:
    return {
        "identity": {"device_name": "kitchen-laptop", "device_type": "laptop"},
        "discovery": {"static_peers": ["10.1.2.3:47120"]},
        "api": {"tcp_address": "127.0.0.1:0"},
    }


async def test_get_node_describes_this_device(daemon: Daemon, client: Kizuna) -> None:
    node = await client.node()
    assert daemon.identity is not None
    assert node.device_id == daemon.identity.device_id
    assert re.fullmatch(r"[A-Z2-7]{52}", node.device_id)
    assert node.device_id_display.replace("-", "") == node.device_id
    assert re.fullmatch(r"([0-9a-f]{2}:){31}[0-9a-f]{2}", node.certificate_fingerprint)
    assert (node.name, node.device_type, node.state) == ("kitchen-laptop", "laptop", "ready")
    assert node.protocol_version == 1
    assert node.api_endpoints[0] == f"unix:{daemon.config.api.socket_path}"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", node.api_endpoints[1])
    assert [s.name for s in node.subsystems] == [
        "identity",
        "local_api",
        "events",
        "discovery",
        "links",
        "streams",
        "commands",
        "plugins",
    ]
    commands = next(s.detail for s in node.subsystems if s.name == "commands")
    assert "process trees held by a cgroup v2 per run" in commands
    states = {s.name: s.state for s in node.subsystems}
    assert states.pop("discovery") == "disabled"  # test daemons run without mDNS
    assert all(state == "running" for state in states.values())
    assert node.start_time is not None


async def test_get_config_is_effective_and_has_no_secrets(daemon: Daemon, client: Kizuna) -> None:
    config = await client.config_message()
    assert config.identity.device_name == "kitchen-laptop"
    assert list(config.discovery.static_peers) == ["10.1.2.3:47120"]
    assert config.discovery.enable_mdns is False  # as the test configuration says
    assert config.api.token_file == str(daemon.config.api.token_file)
    assert config.paths.home == str(daemon.config.paths.home)
    token = daemon.config.api.token_file.read_text().strip()
    assert token.encode() not in config.SerializeToString()
    seed = await client.config()  # the seed's spellings
    assert seed["security"]["trust_mode"] == "manual"
    assert seed["identity"]["device_name"] == "kitchen-laptop"
    assert seed["networking"]["connection_timeout_secs"] == 30


async def test_shutdown_rejects_out_of_range_grace(client: Kizuna) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await client.stop_daemon(grace=3600)
    assert error.value.metadata["field"] == "grace"
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (await client.node()).state == "ready"  # nothing was stopped


async def test_shutdown_finishes_the_call_then_stops(daemon: Daemon, client: Kizuna) -> None:
    await client.stop_daemon(grace=1, reason="done here")
    async with asyncio.timeout(10):
        await daemon.wait_stopped()
    assert not daemon.config.api.socket_path.exists()


async def test_new_calls_during_stop_get_shutting_down(
    daemon: Daemon, client: Kizuna, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold the stop between "stopping" and closing the listeners, where new calls must be
    # refused with a clear status while health stays reachable.
    release = asyncio.Event()
    entered = asyncio.Event()
    original = daemon._health.enter_graceful_shutdown

    async def held() -> None:
        entered.set()
        await release.wait()
        await original()

    monkeypatch.setattr(daemon._health, "enter_graceful_shutdown", held)
    daemon.request_stop(grace=1, reason="test")
    await entered.wait()
    with pytest.raises(ShuttingDownError) as error:
        await client.node()
    assert error.value.code == grpc.StatusCode.UNAVAILABLE
    release.set()
    await daemon.wait_stopped()


async def test_raw_grpc_client_sees_error_info(daemon: Daemon) -> None:
    """A client without kizuna_client still gets the machine-readable reason."""
    from google.rpc import error_details_pb2, status_pb2

    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        shutdown = channel.unary_unary(
            "/kizuna.v1.NodeService/Shutdown",
            request_serializer=node_service_pb2.ShutdownRequest.SerializeToString,
            response_deserializer=node_service_pb2.ShutdownResponse.FromString,
        )
        request = node_service_pb2.ShutdownRequest()
        request.grace.seconds = -1
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await shutdown(request)
    trailers: Any = error.value.trailing_metadata() or ()
    details = dict(trailers)["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.domain, info.reason, info.metadata["field"]) == (
        "kizuna.v1",
        "INVALID_ARGUMENT",
        "grace",
    )
    assert daemon.state.value == "ready"
    assert node_pb2.Node.STATE_READY == 2


async def test_discovery_on_a_missing_interface_says_why(home: Path) -> None:
    """A peer is not seen: `kizuna status` must say what discovery is doing and what failed."""
    running = Daemon(
        make_config(home, {"discovery": {"enable_mdns": True, "interfaces": ["nosuch0"]}})
    )
    await running.start()
    try:
        async with Kizuna(home=home) as k:
            node = await k.node()
            events = k.subscribe_events(after_sequence=1, run_id=running.run_id, types=["error"])
            async with events, asyncio.timeout(10):
                error = await anext(events)
    finally:
        await running.stop(grace=0)
    discovery = next(s for s in node.subsystems if s.name == "discovery")
    assert discovery.state == "failed"
    assert "no interface named nosuch0" in discovery.detail
    assert "kizuna peers add" in discovery.detail  # what to do instead
    links = next(s for s in node.subsystems if s.name == "links")
    assert links.state == "running"  # static peers and AddPeer still work
    assert isinstance(error, KizunaEvent) and error.type == "error"
    payload = error.message.error
    assert payload.subsystem == node_pb2.SUBSYSTEM_NAME_DISCOVERY
    assert payload.error.reason == errors_pb2.ERROR_REASON_SUBSYSTEM_UNAVAILABLE
    assert "nosuch0" in payload.error.message
