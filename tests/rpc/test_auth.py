"""Access to the control API: the Unix socket's modes, the TCP listener's bearer token."""

import json
import stat
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_client import ApiTokenInvalidError, Kizuna, error_from_rpc
from kizuna_client.v1 import node_service_pb2, node_service_pb2_grpc
from kizuna_server.app import Daemon
from tests.conftest import make_config


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"api": {"tcp_address": "127.0.0.1:0"}}


def _tcp(daemon: Daemon) -> str:
    return next(e.address for e in daemon.api_endpoints if e.transport == "tcp")


async def _get_node(target: str, metadata: tuple[tuple[str, str], ...]) -> str:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = node_service_pb2_grpc.NodeServiceStub(channel)
        response = await stub.GetNode(node_service_pb2.GetNodeRequest(), metadata=metadata)
        return response.node.device_id


def test_files_are_private(daemon: Daemon) -> None:
    config = daemon.config
    assert stat.S_IMODE(config.api.socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.paths.runtime_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(config.api.token_file.stat().st_mode) == 0o600
    assert len(config.api.token_file.read_text().strip()) == 64  # 256 bits, hex


def test_tcp_listens_on_loopback_only(daemon: Daemon) -> None:
    assert _tcp(daemon).startswith("127.0.0.1:")


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer " + "0" * 64),),
        (("authorization", "Basic abc"),),
        (("authorization", "Bearer"),),
    ],
    ids=["missing", "wrong", "wrong-scheme", "empty"],
)
async def test_tcp_without_the_token_is_unauthenticated(
    daemon: Daemon, metadata: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await _get_node(_tcp(daemon), metadata)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert isinstance(error_from_rpc(failure.value), ApiTokenInvalidError)


async def test_tcp_with_the_token_works(daemon: Daemon) -> None:
    token = daemon.config.api.token_file.read_text().strip()
    device_id = await _get_node(_tcp(daemon), (("authorization", f"Bearer {token}"),))
    assert daemon.identity is not None and device_id == daemon.identity.device_id


async def test_unix_socket_needs_no_token(daemon: Daemon) -> None:
    device_id = await _get_node(f"unix:{daemon.config.api.socket_path}", ())
    assert daemon.identity is not None and device_id == daemon.identity.device_id


async def test_client_reads_token_file_for_tcp_target(daemon: Daemon) -> None:
    async with Kizuna(home=daemon.config.paths.home, target=_tcp(daemon)) as k:
        assert (await k.node()).state == "ready"
    with pytest.raises(ApiTokenInvalidError):
        async with Kizuna(target=_tcp(daemon), token="f" * 64) as k:
            pass


async def test_daemon_json_says_where_a_moved_token_file_is(home: Path) -> None:
    """api.token_file elsewhere: daemon.json's TCP endpoint names the file (never the token),
    so clients in any language find it without being told."""
    elsewhere = home / "secrets" / "token"
    settings = {"api": {"tcp_address": "127.0.0.1:0", "token_file": str(elsewhere)}}
    daemon = Daemon(make_config(home, settings))
    await daemon.start()
    try:
        published = json.loads((daemon.config.paths.runtime_dir / "daemon.json").read_text())
        unix, tcp = published["endpoints"]
        assert "token_file" not in unix and tcp["requires_token"] is True
        assert tcp["token_file"] == str(elsewhere)
        assert elsewhere.read_text().strip() not in json.dumps(published)
        async with Kizuna(home=home, target=tcp["address"]) as k:
            assert (await k.node()).state == "ready"
    finally:
        await daemon.stop(grace=0)


async def test_token_is_kept_across_restarts(daemon: Daemon, home: Path) -> None:
    first = daemon.config.api.token_file.read_text()
    await daemon.stop(grace=0)
    from tests.conftest import make_config

    again = Daemon(make_config(home, {"api": {"tcp_address": "127.0.0.1:0"}}))
    await again.start()
    try:
        assert again.config.api.token_file.read_text() == first
    finally:
        await again.stop(grace=0)


async def test_token_file_readable_by_others_is_refused(home: Path) -> None:
    from kizuna_server.rpc.token import ApiTokenFileError
    from tests.conftest import make_config

    config = make_config(home, {"api": {"tcp_address": "127.0.0.1:0"}})
    config.api.token_file.parent.mkdir(parents=True, mode=0o700)
    config.api.token_file.write_text("a" * 64)
    config.api.token_file.chmod(0o644)
    daemon = Daemon(config)
    with pytest.raises(ApiTokenFileError, match="chmod 600"):
        await daemon.start()
    assert not config.api.socket_path.exists()  # nothing left listening


async def test_streams_health_and_reflection_need_the_token_too(daemon: Daemon) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    from kizuna_client.v1 import event_service_pb2, event_service_pb2_grpc

    async with grpc.aio.insecure_channel(_tcp(daemon)) as channel:
        events = event_service_pb2_grpc.EventServiceStub(channel).SubscribeEvents(
            event_service_pb2.SubscribeEventsRequest()
        )
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        reflection_v1 = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        for attempt in (events.read(), health, reflection.read(), reflection_v1.read()):
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await attempt
            assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_token_is_not_sent_to_other_hosts(daemon: Daemon) -> None:
    from kizuna_client import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="loopback"):
        async with Kizuna(home=daemon.config.paths.home, target="192.0.2.10:47121"):
            pass
