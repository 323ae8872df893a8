"""Remote commands between two real daemons on loopback (real TLS), through kizuna_client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kizuna_client.v1 import command_pb2
from tests.p2p.peerpair import Node, Nodes, paired

pytestmark = pytest.mark.asyncio


def allow(*entries: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"commands": {"allow": list(entries), **settings}}


ECHO = {
    "id": "echo",
    "argv": ["echo", "{text}"],
    "risk": "low",
    "parameters": [{"name": "text", "type": "string", "required": True}],
}


async def commanding(nodes: Nodes, *entries: dict[str, Any], **settings: Any) -> tuple[Node, Node]:
    a, b = await paired(nodes, **allow(*entries, **settings))
    await b.client.set_peer_permissions(a.id, commands=True)
    return a, b


async def test_an_allowed_command_runs_and_returns_its_output(nodes: Nodes) -> None:
    a, b = await commanding(nodes, ECHO)
    result = await a.client.execute_command("echo 'hello; rm -rf ~'", b.id)
    assert result.ok, result
    assert result.stdout == "hello; rm -rf ~\n"
    assert result.state == "exited"


CAT = {"id": "cat", "argv": ["cat"], "risk": "low"}
SLEEPY = {
    "id": "sleepy",
    "argv": ["sleep", "{secs}"],
    "risk": "high",
    "parameters": [{"name": "secs", "type": "integer", "min": 0, "max": 100, "required": True}],
}


async def test_smoke_stream_and_approval(nodes: Nodes) -> None:
    a, b = await commanding(nodes, CAT, SLEEPY, approval_timeout_secs=5)
    async with await a.client.run_command("cat", b.id) as proc:
        await proc.write(b"abc" * 1000)
        await proc.close_stdin()
        result = await proc.wait()
    assert result.stdout == "abc" * 1000
    mark = b.events.mark()
    running = asyncio.ensure_future(a.client.execute_command("sleepy 0", b.id))
    event: Any = (await b.events.wait_for("command_approval_requested", after=mark)).payload
    assert event.run.state == command_pb2.CommandRun.STATE_AWAITING_APPROVAL
    await b.client.approve_command(event.run.id)
    result = await running
    assert result.ok
    audit = b.home / "data" / "commands" / "audit.jsonl"
    assert '"command":"sleepy"' in audit.read_text()
