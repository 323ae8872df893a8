"""The API from Java: clients/java (grpc-java stubs from the same `buf generate`, the
dev.kizuna.client helper) built with Maven, its example run against real daemons."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.polyglot import (
    EXAMPLE_LIMIT,
    UNKNOWN_PEER,
    check_example,
    make_scene,
    run,
    tool,
)
from tests.p2p.peerpair import Node, Nodes

JAVA_CLIENT = Path(__file__).resolve().parents[2] / "clients" / "java"
#: A first build downloads grpc-java and Netty from Maven Central (when ~/.m2 is empty) and
#: compiles every generated class, on 2 cores shared with other work.
BUILD_LIMIT = 900.0
#: The first test also waits for the module's build.
pytestmark = pytest.mark.timeout(BUILD_LIMIT + 2 * EXAMPLE_LIMIT)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def example() -> list[str]:
    """The example as a command: `mvn package` once for this module (the shaded jar)."""
    mvn = tool("mvn", "the Java client")
    java = tool("java", "the Java client")
    code, out, err = await run(
        [mvn, "-q", "-B", "package", "-DskipTests"], cwd=JAVA_CLIENT, limit=BUILD_LIMIT
    )
    assert code == 0, f"mvn package: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    jar = JAVA_CLIENT / "target" / "kizuna-examples.jar"
    assert jar.is_file(), f"mvn package wrote no {jar}"
    return [java, "-jar", str(jar)]


async def test_java_unit_tests() -> None:
    """`mvn test`: the daemon-finding rule (explicit, KIZUNA_TARGET, daemon.json, default socket;
    the token for TCP) and ErrorInfo decoding, in temporary homes without a daemon."""
    mvn = tool("mvn", "the Java client")
    code, out, err = await run([mvn, "-q", "-B", "test"], cwd=JAVA_CLIENT, limit=BUILD_LIMIT)
    assert code == 0, f"mvn test: exit {code}\nstdout:\n{out}\nstderr:\n{err}"


async def test_example_over_the_unix_socket(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    """KIZUNA_HOME alone: the client finds the socket in the home's run/daemon.json."""
    scene = await make_scene(nodes, tmp_path)
    code, out, err = await run(
        [*example, scene.beta.id, str(scene.file)], env=scene.unix_env, cwd=tmp_path
    )
    await check_example(scene, code, out, err)


async def test_example_over_tcp_with_the_token(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    """KIZUNA_TARGET host:port: every call carries the bearer token from the home's token file."""
    scene = await make_scene(nodes, tmp_path)
    code, out, err = await run(
        [*example, scene.beta.id, str(scene.file)], env=scene.tcp_env, cwd=tmp_path
    )
    await check_example(scene, code, out, err)


async def _tcp_alpha(nodes: Nodes) -> tuple[Node, str]:
    alpha = await nodes.start("alpha", {"api": {"tcp_address": "127.0.0.1:0"}})
    address = next(e.address for e in alpha.daemon.api_endpoints if e.transport == "tcp")
    return alpha, address


async def test_tcp_without_a_readable_token_is_a_clear_error(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    """No token file: the client refuses before any call, naming the token and the file."""
    _, address = await _tcp_alpha(nodes)
    home = tmp_path / "home-without-token"
    home.mkdir()
    token_file = home / "data" / "api-token"
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"never sent")
    env = {"KIZUNA_HOME": str(home), "KIZUNA_TARGET": address}
    code, out, err = await run([*example, UNKNOWN_PEER, str(payload)], env=env, cwd=tmp_path)
    assert code != 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out  # refused before ListPeers
    assert "token" in err, err
    assert str(token_file) in err, err


async def test_tcp_with_a_wrong_token_is_refused_by_the_daemon(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    """The token really travels: a wrong one gets the daemon's API_TOKEN_INVALID."""
    _, address = await _tcp_alpha(nodes)
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token\n")
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"never sent")
    env = {"KIZUNA_TARGET": address, "KIZUNA_TOKEN_FILE": str(wrong)}
    code, out, err = await run([*example, UNKNOWN_PEER, str(payload)], env=env, cwd=tmp_path)
    assert code != 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out
    assert "API_TOKEN_INVALID" in err, err
