"""The scene every language's example runs in, and what its output must show.

Two real daemons on loopback (alpha, the example's own, and beta, its paired peer that accepts
alpha's files without asking). alpha also listens on loopback TCP, so an example can be run
once over the Unix socket (found through KIZUNA_HOME's daemon.json) and once over TCP with the
token (KIZUNA_TARGET). The examples share one contract (docs/api-other-languages.md):

    <example> PEER_ID FILE

prints, one per line: ``peer <id> <connected>`` for each peer ListPeers returns, ``error
<REASON>`` for GetPeer of an unknown ID (the reason read from google.rpc.ErrorInfo), ``transfer
<id>`` once CreateTransfer answers, ``progress <bytes_done> <total_bytes>`` for each
transfer_progress event of that transfer, and finally ``completed <id> <bytes>``; it exits 0.
It subscribes to events (and waits for the subscription's start message) before it sends, so
no event of its transfer can be missed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.p2p.peerpair import WAIT, Node, Nodes, pair

#: Size of the file the examples send: several chunks, so progress events are seen.
FILE_SIZE = 24 * 1024 * 1024
#: A device ID no daemon knows (52 base32 characters), for the error the examples decode.
UNKNOWN_PEER = "A" * 52
#: What an example may take, start to end, once built.
EXAMPLE_LIMIT = 120.0


@dataclass
class Scene:
    """alpha (the example's daemon) paired with beta, and a file to send from alpha."""

    alpha: Node
    beta: Node
    file: Path

    @property
    def unix_env(self) -> dict[str, str]:
        """Finds alpha through its home (daemon.json names the Unix socket)."""
        return {"KIZUNA_HOME": str(self.alpha.home)}

    @property
    def tcp_env(self) -> dict[str, str]:
        """Reaches alpha over loopback TCP; the token comes from the home's token file."""
        endpoints = self.alpha.daemon.api_endpoints
        address = next(e.address for e in endpoints if e.transport == "tcp")
        return {"KIZUNA_HOME": str(self.alpha.home), "KIZUNA_TARGET": address}


async def make_scene(nodes: Nodes, tmp_path: Path) -> Scene:
    """Starts alpha (with loopback TCP) and beta, pairs them, and writes the file to send."""
    alpha = await nodes.start("alpha", {"api": {"tcp_address": "127.0.0.1:0"}})
    beta = await nodes.start("beta")
    await pair(alpha, beta)
    await beta.client.set_peer_permissions(alpha.id, auto_accept_files=True)
    file = tmp_path / "payload.bin"
    file.write_bytes(os.urandom(FILE_SIZE))
    return Scene(alpha, beta, file)


def tool(name: str, why: str) -> str:
    """The path of a build tool; missing fails in CI (which must test it) and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: CI must test {why}")
        pytest.skip(f"{name} is not installed")
    return path


async def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    limit: float = EXAMPLE_LIMIT,
) -> tuple[int, str, str]:
    """Runs a program to its end; returns its exit code, stdout and stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUNA_")}
    full_env.update(env or {})
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(f"{argv[0]} did not finish in {limit} s\nstdout:\n{out!r}\nstderr:\n{err!r}")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def check_example(scene: Scene, code: int, out: str, err: str) -> None:
    """Asserts the example's output follows the contract and beta received the file intact."""
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    lines = [line.split() for line in out.splitlines() if line.strip()]
    peers = [words[1:] for words in lines if words[0] == "peer"]
    assert [scene.beta.id, "true"] in peers, out
    assert ["error", "PEER_NOT_FOUND"] in lines, out
    (transfer_id,) = [words[1] for words in lines if words[0] == "transfer"]
    progress = [(int(words[1]), int(words[2])) for words in lines if words[0] == "progress"]
    assert progress, f"no progress events printed\n{out}"
    assert all(total == FILE_SIZE for _, total in progress), progress
    done = [d for d, _ in progress]
    assert done == sorted(done), f"progress went backwards: {done}"
    assert lines[-1] == ["completed", transfer_id, str(FILE_SIZE)], out
    # beta has the very bytes alpha sent.
    async with asyncio.timeout(WAIT):
        (entry,) = await scene.beta.client.transfer_files(transfer_id)
    landed = scene.beta.daemon.config.transfers.inbox / entry.saved_path  # relative to the inbox
    digest = await asyncio.to_thread(lambda: hashlib.sha256(landed.read_bytes()).hexdigest())
    assert digest == hashlib.sha256(scene.file.read_bytes()).hexdigest()


# --- the checks every language's example runs (each test file calls them with its command) ---


async def example_sends_a_file(
    example: Sequence[str], nodes: Nodes, tmp_path: Path, transport: str
) -> None:
    """The whole contract, over the Unix socket (found through KIZUNA_HOME's daemon.json) or
    over loopback TCP (KIZUNA_TARGET, with the bearer token from the home)."""
    scene = await make_scene(nodes, tmp_path)
    env = {"unix": scene.unix_env, "tcp": scene.tcp_env}[transport]
    argv = [*example, scene.beta.id, str(scene.file)]
    code, out, err = await run(argv, env=env, cwd=tmp_path)
    await check_example(scene, code, out, err)


async def _tcp_address(nodes: Nodes) -> str:
    alpha = await nodes.start("alpha", {"api": {"tcp_address": "127.0.0.1:0"}})
    return next(e.address for e in alpha.daemon.api_endpoints if e.transport == "tcp")


async def _refused(example: Sequence[str], tmp_path: Path, env: Mapping[str, str]) -> str:
    """Runs the example where it must fail before printing anything; returns its stderr."""
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"never sent")
    code, out, err = await run([*example, UNKNOWN_PEER, str(payload)], env=env, cwd=tmp_path)
    assert code != 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out  # refused before ListPeers
    return err


async def example_without_a_token(example: Sequence[str], nodes: Nodes, tmp_path: Path) -> str:
    """A TCP target and no readable token: refused before any call, naming the token's file.
    Returns stderr for the language's own further checks."""
    address = await _tcp_address(nodes)
    home = tmp_path / "home-without-token"
    home.mkdir()
    err = await _refused(example, tmp_path, {"KIZUNA_HOME": str(home), "KIZUNA_TARGET": address})
    assert "token" in err, err
    assert str(home / "data" / "api-token") in err, err
    return err


async def example_with_a_wrong_token(example: Sequence[str], nodes: Nodes, tmp_path: Path) -> None:
    """The token really travels: a wrong one gets the daemon's API_TOKEN_INVALID."""
    address = await _tcp_address(nodes)
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token\n")
    env = {"KIZUNA_TARGET": address, "KIZUNA_TOKEN_FILE": str(wrong)}
    err = await _refused(example, tmp_path, env)
    assert "API_TOKEN_INVALID" in err, err
