"""The API from TypeScript: clients/typescript (protobuf-es v2 from the same `buf generate`,
Connect for Node over gRPC) built with npm, its example run against real daemons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_asyncio

from kizuna_client._layout import resolve_layout
from tests.e2e.polyglot import (
    EXAMPLE_LIMIT,
    UNKNOWN_PEER,
    example_sends_a_file,
    example_with_a_wrong_token,
    example_without_a_token,
    run,
    tool,
)
from tests.p2p.peerpair import Nodes

TS_CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"
#: `npm ci` (from the npm registry on a fresh machine) and `tsc`.
BUILD_LIMIT = 600.0
#: The first test also waits for the module's build.
pytestmark = pytest.mark.timeout(BUILD_LIMIT + 2 * EXAMPLE_LIMIT)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def example() -> list[str]:
    """The built example as a command: `npm ci` and `npm run build` once for this module."""
    npm = tool("npm", "the TypeScript client")
    node = tool("node", "the TypeScript client")
    for step in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
        code, out, err = await run([npm, *step], cwd=TS_CLIENT, limit=BUILD_LIMIT)
        assert code == 0, f"npm {' '.join(step)}: exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    script = TS_CLIENT / "dist" / "examples" / "send-and-follow.js"
    assert script.is_file(), f"npm run build wrote no {script}"
    return [node, str(script)]


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
    err = await example_without_a_token(example, nodes, tmp_path)
    assert "INVALID_ARGUMENT" in err, err


async def test_tcp_with_a_wrong_token_is_refused_by_the_daemon(
    example: list[str], nodes: Nodes, tmp_path: Path
) -> None:
    await example_with_a_wrong_token(example, nodes, tmp_path)


async def test_no_daemon_running_is_unavailable(example: list[str], tmp_path: Path) -> None:
    """A home whose daemon is not running: UNAVAILABLE naming the socket, as Python's
    DaemonUnavailableError (Connect for Node alone would say INTERNAL for a missing socket)."""
    home = tmp_path / "idle-home"
    home.mkdir()
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"never sent")
    env = {"KIZUNA_HOME": str(home)}
    code, out, err = await run([*example, UNKNOWN_PEER, str(payload)], env=env, cwd=tmp_path)
    assert code != 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert out == "", out
    assert "UNAVAILABLE" in err, err
    assert str(resolve_layout(home).socket_path) in err, err


#: Prints the layout, target and token the TypeScript client derives from the environment given.
RULE_SCRIPT = """
import { resolveLayout, resolveTarget } from "./dist/src/index.js";
const env = JSON.parse(process.argv[1]);
const layout = resolveLayout(undefined, env);
const target = resolveTarget({ env });
console.log(JSON.stringify({
  config_file: layout.configFile,
  data_dir: layout.dataDir,
  runtime_dir: layout.runtimeDir,
  target: target.target,
  token: target.transport === "tcp" ? target.token : null,
}));
"""
RULE_CASES = [
    "home",
    "home-published",
    "xdg",
    "xdg-relative",
    "no-runtime-dir",
    "tcp-home-token",
    "tcp-published-token",
    "tcp-token-file-env",
]


@pytest.mark.parametrize("case", RULE_CASES)
async def test_the_rule_that_finds_the_daemon_matches_python(
    example: list[str], tmp_path: Path, case: str
) -> None:
    """resolveLayout / resolveTarget derive the directories, target and token kizuna_client
    derives (docs/api-other-languages.md, "Finding the daemon" and "The token")."""
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / "data").mkdir()
    (home / "data" / "api-token").write_text("home-token\n")
    published = tmp_path / "published-token"
    published.write_text("published-token\n")
    env: dict[str, str] = {"HOME": str(tmp_path / "user")}
    target: str | None = None
    token: str | None = None
    if case.startswith(("home", "tcp")):
        env["KIZUNA_HOME"] = str(home)
    if case in {"home-published", "tcp-published-token", "tcp-token-file-env"}:
        # A running daemon's daemon.json: its Unix socket wins over the default one, and its
        # TCP endpoint names the token file.
        endpoints = [
            {"transport": "unix", "address": "/tmp/elsewhere.sock", "requires_token": False},
            {
                "transport": "tcp",
                "address": "127.0.0.1:4000",
                "requires_token": True,
                "token_file": str(published),
            },
        ]
        (home / "run" / "daemon.json").write_text(json.dumps({"endpoints": endpoints}))
        target = "unix:/tmp/elsewhere.sock"
    if case == "xdg":
        env |= {
            "XDG_CONFIG_HOME": "/x/config",
            "XDG_DATA_HOME": "/x/data",
            "XDG_RUNTIME_DIR": "/x/run",
        }
    if case == "xdg-relative":  # the XDG spec: relative values are ignored
        env |= {"XDG_CONFIG_HOME": "c", "XDG_DATA_HOME": "d", "XDG_RUNTIME_DIR": "r"}
    if case.startswith("tcp"):
        env["KIZUNA_TARGET"] = target = "127.0.0.1:4000"
        token = {
            "tcp-home-token": "home-token",
            "tcp-published-token": "published-token",
            "tcp-token-file-env": "env-token",
        }[case]
    if case == "tcp-token-file-env":
        (tmp_path / "env-token").write_text("env-token")
        env["KIZUNA_TOKEN_FILE"] = str(tmp_path / "env-token")
    layout = resolve_layout(env=env)
    code, out, err = await run(
        [example[0], "--input-type=module", "-e", RULE_SCRIPT, json.dumps(env)], cwd=TS_CLIENT
    )
    assert code == 0, err
    assert json.loads(out) == {
        "config_file": str(layout.config_file),
        "data_dir": str(layout.data_dir),
        "runtime_dir": str(layout.runtime_dir),
        "target": target or f"unix:{layout.socket_path}",
        "token": token,
    }
