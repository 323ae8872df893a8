"""The API from Java: clients/java (grpc-java stubs from the same `buf generate`, the
dev.kizuna.client helper) built with Maven, its example run against real daemons."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.polyglot import (
    EXAMPLE_LIMIT,
    example_sends_a_file,
    example_with_a_wrong_token,
    example_without_a_token,
    run,
    tool,
)
from tests.p2p.peerpair import Nodes

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


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_example_sends_a_file(
    example: list[str], nodes: Nodes, tmp_path: Path, transport: str
) -> None:
    """The shared contract over the Unix socket (daemon.json) and over TCP with the token."""
    await example_sends_a_file(example, nodes, tmp_path, transport)


async def test_tcp_without_a_readable_token_is_a_clear_error(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    """No token file: the client refuses before any call, naming the token and the file."""
    await example_without_a_token(example, nodes, tmp_path)


async def test_tcp_with_a_wrong_token_is_refused_by_the_daemon(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    await example_with_a_wrong_token(example, nodes, tmp_path)
