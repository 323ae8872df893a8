"""What a plugin author writes against (docs/plugins.md has a worked example).

A plugin is a class with a `name`, found by the `kizuna.plugins` entry point (or named by a
module path in the owner's `[[plugins]]` list) and started when `plugins.enabled` lists it:

    class Echo(Plugin):
        name = "echo"
        capabilities = ("echo",)

        @command("echo.say", parameters=[{"name": "text", "type": "string", "required": True}])
        async def say(self, call: Invocation) -> Reply:
            return Reply(stdout=str(call.arguments["text"]).encode())

Commands marked with `command` are offered to peers (they run them as any allowed command);
those marked with `local_command` to apps on this device (PluginService.CallPlugin). Every
call runs under a time limit; what a plugin raises is reported, never taken further.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from kizuna_client.v1 import event_pb2
from kizuna_server.commands.handlers import Gate, Invocation, Reply

__all__ = [
    "CommandInfo",
    "Invocation",
    "Plugin",
    "PluginContext",
    "Reply",
    "command",
    "local_command",
]

F = TypeVar("F", bound=Callable[..., Awaitable[Reply]])
_MARK = "_kizuna_command"


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """How a plugin's command is described: as an allow-list entry is (docs/commands.md),
    without argv."""

    id: str
    description: str = ""
    #: Parameters as [[commands.allow.parameters]] tables: name, type, required, pattern...
    parameters: Sequence[Mapping[str, Any]] = ()
    risk: str = "low"
    approval: str = "never"
    timeout_secs: float = 10.0
    output_cap_bytes: int = 4 << 20
    #: "trusted": any trusted peer may run it; "commands": only peers with that permission.
    gate: Gate = "trusted"
    #: For apps on this device (CallPlugin), not for peers.
    local: bool = False


def command(
    command_id: str,
    *,
    description: str = "",
    parameters: Sequence[Mapping[str, Any]] = (),
    risk: str = "low",
    approval: str = "never",
    timeout_secs: float = 10.0,
    output_cap_bytes: int = 4 << 20,
    gate: Gate = "trusted",
) -> Callable[[F], F]:
    """Marks `async def handler(self, call: Invocation) -> Reply` as a command peers run."""
    info = CommandInfo(
        command_id, description, tuple(parameters), risk, approval, timeout_secs,
        output_cap_bytes, gate,
    )  # fmt: skip
    return _marked(info)


def local_command(
    command_id: str,
    *,
    description: str = "",
    parameters: Sequence[Mapping[str, Any]] = (),
    timeout_secs: float = 10.0,
) -> Callable[[F], F]:
    """Marks a handler as a command apps on this device call (PluginService.CallPlugin);
    `call.peer_id` is empty."""
    info = CommandInfo(
        command_id, description, tuple(parameters), timeout_secs=timeout_secs, local=True
    )
    return _marked(info)


def _marked(info: CommandInfo) -> Callable[[F], F]:
    def mark(handler: F) -> F:
        setattr(handler, _MARK, info)
        return handler

    return mark


def commands_of(
    plugin: object,
) -> list[tuple[CommandInfo, Callable[[Invocation], Awaitable[Reply]]]]:
    """The marked handlers of a plugin instance, bound, in definition order."""
    found = []
    seen: set[str] = set()
    for cls in type(plugin).__mro__:
        for attribute, value in vars(cls).items():
            info = getattr(value, _MARK, None)
            if isinstance(info, CommandInfo) and attribute not in seen:
                seen.add(attribute)
                found.append((info, getattr(plugin, attribute)))
    return found


class PeerCaller(Protocol):
    async def __call__(
        self,
        peer_id: str,
        command_id: str,
        arguments: Mapping[str, str | int | bool] | None = None,
        *,
        stdin: bytes = b"",
    ) -> Reply: ...


@dataclass
class PluginContext:
    """What the daemon gives a started plugin."""

    #: The plugin's name.
    name: str
    #: Its `config` table from the owner's [[plugins]] entry ({} when none).
    config: Mapping[str, Any]
    #: A folder of its own under the daemon's data folder (created, 0700).
    data_dir: Path
    #: Reports something as a `plugin_event` event: a type of the plugin's naming, JSON-like
    #: data, and the peer it is about.
    publish: Callable[[str, Mapping[str, Any], str], None]
    #: Runs a command on a peer (this device's commands engine), returning how it ended.
    run_on_peer: PeerCaller
    #: Trusted peers with a link up that offer `capability`.
    peers_with: Callable[[str], list[str]]
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kizuna.plugin"))


class Plugin:
    """Base of a plugin. Override what you need; every method is called with a time limit."""

    #: Its name in plugins.enabled (a-z, 0-9, -, at most 32).
    name: ClassVar[str] = ""
    #: What it does, for `kizuna plugins`.
    description: ClassVar[str] = ""
    #: Capabilities it offers peers (Peer.capabilities there).
    capabilities: ClassVar[tuple[str, ...]] = ()
    #: Event types (kizuna.v1.Event payload names) `on_event` receives; () for none.
    events: ClassVar[tuple[str, ...]] = ()

    async def start(self, context: PluginContext) -> None:
        """Called once, before peers can reach it. Raise to refuse to start (the reason is
        shown in `kizuna plugins` and `kizuna status`)."""

    async def stop(self) -> None:
        """Called once when the daemon stops."""

    async def on_event(self, event: event_pb2.Event) -> None:
        """One of the daemon's events of the types in `events`."""
