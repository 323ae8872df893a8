"""THREATS #27: who may call the control API on its Unix socket.

grpcio tells a server nothing about who is on the other end of a Unix socket, so the daemon
cannot check the caller's uid (docs/security.md, "The local control API"): the kernel's check
at connect(2) is the one that holds, a socket of mode 0600 in a directory of mode 0700, both
the daemon user's. These tests show that each of the two layers alone keeps another user out,
what happens when someone loosens both by hand, and fail once grpcio starts naming the caller.
"""

import asyncio
import json
import os
import stat
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_server.app import Daemon

NOBODY = 65534

#: Runs as root just long enough to import what it needs (the virtualenv's interpreter lives
#: under /root, which `nobody` cannot read), then becomes `nobody` with os.setuid and tries the
#: socket twice: a bare connect(2), and a real GetNode call. Prints what happened as JSON.
_PROBE = """
import errno, json, os, socket, sys
import grpc, grpc._channel
from kizuna_client.v1 import node_service_pb2, node_service_pb2_grpc

os.setgroups([])
os.setgid({uid})
os.setuid({uid})
path = sys.argv[1]
result = {{"uid": os.getuid()}}
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(path)
    result["connect"] = "ok"
except OSError as exc:
    result["connect"] = errno.errorcode.get(exc.errno, str(exc.errno))
finally:
    s.close()
with grpc.insecure_channel("unix:" + path) as channel:
    stub = node_service_pb2_grpc.NodeServiceStub(channel)
    try:
        stub.GetNode(node_service_pb2.GetNodeRequest(), timeout=10)
        result["call"] = "OK"
    except grpc.RpcError as exc:
        result["call"] = exc.code().name
print(json.dumps(result))
"""

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a probe as nobody")


async def _probe_as_nobody(socket_path: Path) -> dict[str, Any]:
    probe = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _PROBE.format(uid=NOBODY),
        str(socket_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await probe.communicate()
    assert probe.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    assert result["uid"] == NOBODY
    return result


@pytest.fixture
def reachable_home(home: Path, daemon: Daemon) -> Path:
    """The daemon's home opened to other users, so only the runtime directory and the socket
    stand between `nobody` and the API (a 0700 home would refuse the probe by itself)."""
    os.chmod(home, 0o755)
    runtime_dir = daemon.config.paths.runtime_dir
    assert runtime_dir.parent == home and daemon.config.api.socket_path.parent == runtime_dir
    return home


def test_socket_and_its_directory_belong_to_the_daemon_user_alone(daemon: Daemon) -> None:
    socket_info = daemon.config.api.socket_path.lstat()
    dir_info = daemon.config.paths.runtime_dir.lstat()
    assert stat.S_ISSOCK(socket_info.st_mode)
    assert stat.S_IMODE(socket_info.st_mode) == 0o600
    assert socket_info.st_uid == os.getuid()
    assert stat.S_ISDIR(dir_info.st_mode)
    assert stat.S_IMODE(dir_info.st_mode) == 0o700
    assert dir_info.st_uid == os.getuid()


@needs_root
@pytest.mark.parametrize(
    ("socket_mode", "dir_mode"),
    [(0o600, 0o700), (0o666, 0o700), (0o600, 0o755)],
    ids=["as-created", "socket-loosened", "directory-loosened"],
)
async def test_another_user_is_refused_while_either_layer_holds(
    daemon: Daemon, reachable_home: Path, socket_mode: int, dir_mode: int
) -> None:
    os.chmod(daemon.config.api.socket_path, socket_mode)
    os.chmod(daemon.config.paths.runtime_dir, dir_mode)
    result = await _probe_as_nobody(daemon.config.api.socket_path)
    assert result["connect"] == "EACCES"
    assert result["call"] == "UNAVAILABLE"  # refused by the kernel: no HTTP/2 byte was exchanged


@needs_root
async def test_with_both_layers_loosened_by_hand_the_daemon_cannot_tell_the_caller(
    daemon: Daemon, reachable_home: Path
) -> None:
    """The limit, written down: with the socket 0666 and its directory 0755, `nobody` is served.

    This is also the control for the test above (the probe can reach the socket at all). If a
    grpcio release lets the guard learn the caller's uid, check it in calls/guard.py and turn this
    into a PERMISSION_DENIED test.
    """
    os.chmod(daemon.config.api.socket_path, 0o666)
    os.chmod(daemon.config.paths.runtime_dir, 0o755)
    result = await _probe_as_nobody(daemon.config.api.socket_path)
    assert result == {"uid": NOBODY, "connect": "ok", "call": "OK"}


# --- the evidence: what grpcio shows a Unix-socket server about its caller --------------------


@pytest.fixture
async def bare_server_socket() -> AsyncIterator[tuple[Path, list[tuple[str, dict[str, Any]]]]]:
    """A plain grpc.aio server on a Unix socket that records, per call, everything grpcio says
    about the caller: context.peer() and context.auth_context(). One port insecure, one with
    grpc.local_server_credentials(UDS), the credentials meant for local connections."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        seen.append((context.peer(), dict(context.auth_context())))
        return request

    handler = grpc.method_handlers_generic_handler(
        "probe.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    directory = Path(tempfile.mkdtemp(prefix="kz-", dir="/tmp"))
    server.add_insecure_port(f"unix:{directory / 'insecure.sock'}")
    server.add_secure_port(
        f"unix:{directory / 'local.sock'}",
        grpc.local_server_credentials(grpc.LocalConnectionType.UDS),
    )
    await server.start()
    try:
        yield directory, seen
    finally:
        await server.stop(0)
        for name in ("insecure.sock", "local.sock"):
            (directory / name).unlink(missing_ok=True)
        directory.rmdir()


async def test_grpcio_tells_a_unix_socket_server_nothing_about_the_caller(
    bare_server_socket: tuple[Path, list[tuple[str, dict[str, Any]]]],
) -> None:
    """Why there is no uid check: no peer string, auth property or credential names the caller.

    When this fails after a grpcio upgrade, read what it now exposes: if it is the caller's
    uid (SO_PEERCRED), check it in calls/guard.py and update docs/security.md.
    """
    directory, seen = bare_server_socket
    insecure = grpc.aio.insecure_channel(f"unix:{directory / 'insecure.sock'}")
    local = grpc.aio.secure_channel(
        f"unix:{directory / 'local.sock'}",
        grpc.local_channel_credentials(grpc.LocalConnectionType.UDS),
    )
    for channel in (insecure, local):
        async with channel:
            echo = channel.unary_unary("/probe.Echo/Echo", None, None)  # bytes in, bytes out
            assert await echo(b"hi", timeout=10) == b"hi"
    assert seen == [
        (
            "unix:",
            {"transport_security_type": [b"insecure"], "security_level": [b"TSI_SECURITY_NONE"]},
        ),
        (
            "unix:",
            {
                "transport_security_type": [b"local"],
                "security_level": [b"TSI_PRIVACY_AND_INTEGRITY"],
            },
        ),
    ]
