"""The API from Rust: clients/rust (the crate kizuna-client over the prost/tonic stubs of the
same `buf generate`), its unit tests, the send_and_follow example and the upload example, run
against real daemons."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.polyglot import (
    EXAMPLE_LIMIT,
    FILE_SIZE,
    example_sends_a_file,
    example_with_a_wrong_token,
    example_without_a_token,
    make_scene,
    run,
    tool,
)
from tests.p2p.peerpair import WAIT, Nodes

RUST_CLIENT = Path(__file__).resolve().parents[2] / "clients" / "rust"
#: Always the crate's own target directory (gitignored), whatever CARGO_TARGET_DIR says.
CARGO_ENV = {"CARGO_TARGET_DIR": str(RUST_CLIENT / "target")}
#: A first build downloads the crates (when ~/.cargo's registry is empty) and compiles tonic
#: and its dependencies: about 25 s on 2 cores, far more on a busy or cold machine.
BUILD_LIMIT = 600.0
#: The first test also waits for the module's build.
pytestmark = pytest.mark.timeout(BUILD_LIMIT + 2 * EXAMPLE_LIMIT)


@dataclass(frozen=True)
class Programs:
    """The Rust examples, built once for this module."""

    send_and_follow: Path
    upload: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def programs() -> Programs:
    """`cargo build --examples` (debug: the unit tests build the same dependencies), once."""
    cargo = tool("cargo", "the Rust client")
    code, out, err = await run(
        [cargo, "build", "--locked", "--examples"],
        cwd=RUST_CLIENT,
        env=CARGO_ENV,
        limit=BUILD_LIMIT,
    )
    assert code == 0, f"cargo build: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    examples = RUST_CLIENT / "target" / "debug" / "examples"
    return Programs(examples / "send_and_follow", examples / "upload")


async def test_rust_unit_tests() -> None:
    """`cargo test`: the target rule (explicit, KIZUNA_TARGET, daemon.json, default socket; the
    token for TCP), error_reason and the token header, in temporary homes without a daemon."""
    cargo = tool("cargo", "the Rust client")
    code, out, err = await run(
        [cargo, "test", "--locked"], cwd=RUST_CLIENT, env=CARGO_ENV, limit=BUILD_LIMIT
    )
    assert code == 0, f"cargo test: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "test target::tests::tcp_token_from_home ... ok" in out, out


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_example_sends_a_file(
    programs: Programs, nodes: Nodes, tmp_path: Path, transport: str
) -> None:
    """The shared contract over the Unix socket (daemon.json) and over TCP with the token."""
    await example_sends_a_file([str(programs.send_and_follow)], nodes, tmp_path, transport)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_upload_streams_the_bytes_itself(
    programs: Programs, nodes: Nodes, tmp_path: Path, transport: str
) -> None:
    """UploadTransfer: the typed first answer (`started`: the ID, offset 0), the chunks, then
    `finished`; beta saves the very bytes under the name given. Over TCP the token goes with
    the bidirectional call too."""
    scene = await make_scene(nodes, tmp_path)
    name = "uploaded.bin"
    env = {"unix": scene.unix_env, "tcp": scene.tcp_env}[transport]
    argv = [str(programs.upload), scene.beta.id, name, str(scene.file)]
    code, out, err = await run(argv, env=env, cwd=tmp_path)
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    lines = [line.split() for line in out.splitlines()]
    assert len(lines) == 2, out
    started, finished = lines
    assert started[0] == "started" and started[2:] == ["0"], out
    transfer_id = started[1]
    assert finished[:2] == ["finished", transfer_id] and len(finished) == 3, out
    # alpha finishes sending, then beta (the same transfer ID on both) holds the file.
    async with asyncio.timeout(WAIT):
        sent = await scene.alpha.client.transfer(transfer_id).wait()
        received = await scene.beta.client.transfer(transfer_id).wait()
    assert (sent.state, received.state) == ("completed", "completed")
    (entry,) = await scene.beta.client.transfer_files(transfer_id)
    assert entry.saved_path == name
    landed = scene.beta.daemon.config.transfers.inbox / name
    assert landed.stat().st_size == FILE_SIZE
    digest = await asyncio.to_thread(lambda: hashlib.sha256(landed.read_bytes()).hexdigest())
    assert digest == hashlib.sha256(scene.file.read_bytes()).hexdigest()


async def test_tcp_without_a_readable_token_is_a_clear_error(
    programs: Programs, nodes: Nodes, tmp_path: Path
) -> None:
    """No token file: the client refuses before any call, naming the file and the fixes."""
    err = await example_without_a_token([str(programs.send_and_follow)], nodes, tmp_path)
    for words in ("INVALID_ARGUMENT", "needs the API token", "KIZUNA_TOKEN_FILE"):
        assert words in err, err


async def test_tcp_with_a_wrong_token_is_refused_by_the_daemon(
    programs: Programs, nodes: Nodes, tmp_path: Path
) -> None:
    await example_with_a_wrong_token([str(programs.send_and_follow)], nodes, tmp_path)
