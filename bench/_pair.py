"""Two daemons on loopback in this network namespace (no mDNS, no UDP beacon), trusting each
other by ID: what bench/streams.py (data) and bench/commands.py share."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench._common import (
    BANNER_LAST_LINE,
    BenchError,
    ServerProcess,
    daemon_argv,
    launch,
    short_temp_dir,
)
from kizuna_client import Kizuna

TEMP_PREFIX: Final = "kzp-"
STEP_LIMIT_SECS: Final = 30.0


@dataclass
class LoopbackNode:
    server: ServerProcess
    api: Kizuna
    device_id: str
    link_port: int
    home: Path


def banner_link_port(label: str, server: ServerProcess) -> int:
    """The peer link port from the banner ("  peers      link port N, pairing port M")."""
    for line in server.lines:
        if match := re.search(r"link port (\d+)", line):
            return int(match[1])
    raise BenchError(f"{label}: no link port in the banner{server.tail()}")


async def start_loopback_node(
    label: str, nodes: list[LoopbackNode], *, config_toml: str = ""
) -> LoopbackNode:
    """A daemon on 127.0.0.1 with mDNS and the UDP beacon off, appended to `nodes` (the
    caller stops them); `config_toml` is written to its config.toml first."""
    home = short_temp_dir(TEMP_PREFIX)
    if config_toml:
        (home / "config.toml").write_text(config_toml)
    settings = {
        "identity.device_name": f"bench-{label}",
        "discovery.enable_mdns": "false",
        "discovery.enable_udp": "false",
        "networking.listen_address": "127.0.0.1",
        "networking.listen_port": "0",
    }
    server = await launch(
        daemon_argv(home, settings),
        socket_path=home / "run" / "kizuna.sock",
        log_path=home / "daemon.log",
    )
    try:
        await server.wait_for_line(lambda line: line.startswith(BANNER_LAST_LINE))
        port = banner_link_port(label, server)
        api = Kizuna(target=server.target)
        await api.connect()
    except BaseException:
        await server.stop()
        shutil.rmtree(home, ignore_errors=True)
        raise
    node = LoopbackNode(server, api, (await api.node()).device_id, port, home)
    nodes.append(node)
    return node


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.perf_counter() + STEP_LIMIT_SECS
    while not await check():
        if time.perf_counter() > deadline:
            raise BenchError(f"{what}: not reached within {STEP_LIMIT_SECS:.0f}s")
        await asyncio.sleep(0.02)  # polling the daemons' state; bounded by the deadline


async def trust_each_other(a: LoopbackNode, b: LoopbackNode) -> None:
    """Each daemon trusts the other's ID (as compared out of band); A dials B."""
    await a.api.trust_peer(b.device_id)
    await b.api.trust_peer(a.device_id)
    await a.api.add_peer(f"127.0.0.1:{b.link_port}", persist=False)

    async def connected() -> bool:
        ab, ba = await a.api.peer(b.device_id), await b.api.peer(a.device_id)
        return ab.trusted and ba.trusted and ab.connected and ba.connected

    await until("both trust each other with the link up", connected)
