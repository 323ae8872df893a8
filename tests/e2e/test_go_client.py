"""The API from Go: clients/go (the package kizuna over the stubs of the same `buf generate`),
its unit tests, kizuna-status and the send-and-follow example, run against real daemons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from kizuna_server.app import Daemon
from tests.e2e.polyglot import (
    EXAMPLE_LIMIT,
    UNKNOWN_PEER,
    example_sends_a_file,
    example_with_a_wrong_token,
    example_without_a_token,
    run,
    tool,
)
from tests.p2p.peerpair import Node, Nodes

GO_CLIENT = Path(__file__).resolve().parents[2] / "clients" / "go"
#: A first build downloads (when the module cache is empty) and compiles grpc-go.
BUILD_LIMIT = 600.0
#: The first test also waits for the module's build.
pytestmark = pytest.mark.timeout(BUILD_LIMIT + 2 * EXAMPLE_LIMIT)


@dataclass(frozen=True)
class Programs:
    """The Go programs, built once for this module."""

    kizuna_status: Path
    send_and_follow: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def programs(tmp_path_factory: pytest.TempPathFactory) -> Programs:
    """`go build` of cmd/kizuna-status and examples/send-and-follow, once for this module."""
    go = tool("go", "the Go client")
    out = tmp_path_factory.mktemp("go-bin")
    code, stdout, stderr = await run(
        [go, "build", "-o", f"{out}/", "./cmd/kizuna-status", "./examples/send-and-follow"],
        cwd=GO_CLIENT,
        limit=BUILD_LIMIT,
    )
    assert code == 0, f"go build: exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    return Programs(out / "kizuna-status", out / "send-and-follow")


async def test_go_unit_tests() -> None:
    """`go test ./...`: the target rule (explicit, KIZUNA_TARGET, daemon.json, default socket;
    the token for TCP) and ErrorReason, in temporary homes without a daemon."""
    go = tool("go", "the Go client")
    code, out, err = await run([go, "test", "./..."], cwd=GO_CLIENT, limit=BUILD_LIMIT)
    assert code == 0, f"go test: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "ok  \tkizuna/clients/go/kizuna" in out, out


async def test_go_client_reads_node_events_and_error_reasons(
    daemon: Daemon, programs: Programs
) -> None:
    code, out, err = await run(
        [
            str(programs.kizuna_status),
            "-socket",
            str(daemon.config.api.socket_path),
            "-events",
            "2",
            "-peers",
            "-peer",
            UNKNOWN_PEER,
        ]
    )
    assert code == 0, err
    node, first, second = (json.loads(line) for line in out.splitlines())
    assert daemon.identity is not None
    assert node["deviceId"] == daemon.identity.device_id
    assert node["state"] == "STATE_READY"
    # -events replays the run from its first event (sequence 1, not skipped).
    assert (first["sequence"], first["nodeStateChanged"]["state"]) == ("1", "STATE_STARTING")
    assert second["nodeStateChanged"]["state"] == "STATE_READY"
    assert first["runId"] == daemon.run_id
    # No peers known (the list prints nothing); an unknown peer's error reaches Go with the same
    # ErrorInfo reason Python reads.
    assert "PEER_NOT_FOUND" in err


async def test_go_client_finds_the_daemon_through_kizuna_home(
    daemon: Daemon, programs: Programs
) -> None:
    code, out, err = await run(
        [str(programs.kizuna_status)], env={"KIZUNA_HOME": str(daemon.config.paths.home)}
    )
    assert code == 0, err
    assert json.loads(out)["name"] == "test-device"


async def _tcp_alpha(nodes: Nodes) -> tuple[Node, str]:
    """A daemon that also listens on loopback TCP, and that TCP address."""
    alpha = await nodes.start("alpha", {"api": {"tcp_address": "127.0.0.1:0"}})
    address = next(e.address for e in alpha.daemon.api_endpoints if e.transport == "tcp")
    return alpha, address


async def test_kizuna_status_over_tcp_with_the_homes_token(
    nodes: Nodes, programs: Programs
) -> None:
    """KIZUNA_TARGET host:port: the token comes from KIZUNA_HOME's data/api-token."""
    alpha, address = await _tcp_alpha(nodes)
    env = {"KIZUNA_HOME": str(alpha.home), "KIZUNA_TARGET": address}
    code, out, err = await run([str(programs.kizuna_status), "-peer", UNKNOWN_PEER], env=env)
    assert code == 0, err
    assert json.loads(out)["deviceId"] == alpha.id
    # A later call on the same connection carries the token too.
    assert "PEER_NOT_FOUND" in err, err


async def test_kizuna_status_over_tcp_with_a_wrong_token(
    nodes: Nodes, programs: Programs, tmp_path: Path
) -> None:
    """The token really travels: -token-file with a wrong one gets API_TOKEN_INVALID."""
    _, address = await _tcp_alpha(nodes)
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token\n")
    argv = [str(programs.kizuna_status), "-target", address, "-token-file", str(wrong)]
    code, out, err = await run(argv)
    assert code == 1, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out
    assert "API_TOKEN_INVALID" in err, err


async def test_kizuna_status_over_tcp_without_a_readable_token(
    nodes: Nodes, programs: Programs, tmp_path: Path
) -> None:
    """No token file in the home: a clear error naming the target, the file and the fixes."""
    _, address = await _tcp_alpha(nodes)
    home = tmp_path / "home-without-token"
    home.mkdir()
    env = {"KIZUNA_HOME": str(home), "KIZUNA_TARGET": address}
    code, out, err = await run([str(programs.kizuna_status)], env=env)
    assert code == 1, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out
    for words in (
        "INVALID_ARGUMENT",
        f"TCP target {address} needs the API token",
        f"cannot read {home / 'data' / 'api-token'}",
        "KIZUNA_TOKEN_FILE",
        "-token-file",
    ):
        assert words in err, err


async def test_kizuna_status_reads_no_token_file_for_another_machine(
    programs: Programs, tmp_path: Path
) -> None:
    """A token file is read automatically only for loopback targets (nothing is dialled)."""
    token = tmp_path / "api-token"
    token.write_text("secret\n")
    env = {"KIZUNA_TARGET": "192.0.2.1:9", "KIZUNA_TOKEN_FILE": str(token)}
    code, out, err = await run([str(programs.kizuna_status)], env=env)
    assert code == 1, f"stdout:\n{out}\nstderr:\n{err}"
    assert "192.0.2.1:9 is not a loopback address" in err, err


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_example_sends_a_file(
    programs: Programs, nodes: Nodes, tmp_path: Path, transport: str
) -> None:
    """The shared contract over the Unix socket (daemon.json) and over TCP with the token."""
    await example_sends_a_file([str(programs.send_and_follow)], nodes, tmp_path, transport)


async def test_example_without_a_token_and_with_a_wrong_one(
    programs: Programs, nodes: Nodes, tmp_path: Path
) -> None:
    await example_without_a_token([str(programs.send_and_follow)], nodes, tmp_path)
    await example_with_a_wrong_token([str(programs.send_and_follow)], nodes, tmp_path)
