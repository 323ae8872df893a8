"""A worked example of a Kizuna plugin (docs/plugins.md): peers may ask how long this device has
been up, and the owner gets a note whenever a peer connects.

Enable it in config.toml:

    [plugins]
    enabled = ["transfers", "streams", "commands", "text", "clipboard", "uptime"]

    [[plugins.entries]]
    name = "uptime"
    path = "/path/to/examples/plugins/uptime.py:Uptime"
    config = { greeting = "hello from the lab" }

Then, from a paired device: `kizuna exec THIS-DEVICE uptime.get`, or in Python
`await k.execute_command("uptime.get", peer_id)`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import ClassVar

from kizuna_client.v1 import event_pb2
from kizuna_server.plugins import Invocation, Plugin, PluginContext, Reply, command, local_command


class Uptime(Plugin):
    name: ClassVar[str] = "uptime"
    description: ClassVar[str] = "how long this device has been up"
    capabilities: ClassVar[tuple[str, ...]] = ("uptime",)
    events: ClassVar[tuple[str, ...]] = ("peer_connected",)

    def __init__(self) -> None:
        self._context: PluginContext | None = None
        self._greeting = ""
        self.connected = 0

    async def start(self, context: PluginContext) -> None:
        self._context = context
        greeting = context.config.get("greeting", "")
        if not isinstance(greeting, str):
            raise TypeError("config 'greeting' must be text")  # the plugin is marked failed
        self._greeting = greeting

    @command(
        "uptime.get",
        description="Seconds since this device booted",
        parameters=[{"name": "human", "type": "boolean", "flag": "--human"}],
        timeout_secs=2,
    )
    async def get(self, call: Invocation) -> Reply:
        seconds = float(await asyncio.to_thread(_read, Path("/proc/uptime")))
        text = f"{seconds / 3600:.1f} hours" if call.arguments.get("human") else f"{seconds:.0f}"
        return Reply(stdout=f"{text}\n{self._greeting}\n".encode())

    @local_command("connections", description="Peers connected since the plugin started")
    async def connections(self, call: Invocation) -> Reply:
        return Reply(stdout=f"{self.connected}\n".encode())

    async def on_event(self, event: event_pb2.Event) -> None:
        assert self._context is not None
        self.connected += 1
        peer = event.peer_connected.peer
        self._context.publish("greeted", {"name": peer.name, "at": time.time()}, peer.device_id)


def _read(path: Path) -> str:
    return path.read_text().split()[0]
