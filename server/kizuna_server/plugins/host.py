"""Finding, starting and containing plugins (docs/plugins.md).

Plugins are found by the `kizuna.plugins` entry point group (the built-in text and clipboard
plugins are found the same way) and by the owner's `[[plugins]]` entries that name a `path`: a
module path (`package.module:Class`) or a Python file (`/path/to/file.py:Class`). Those that
`plugins.enabled` lists are started. A plugin that cannot be imported, raises, or takes longer
than its limit in `start`, `stop`, `on_event` or a command is reported (its state, `kizuna
status`, a `plugin_event` of type "failed", the log); the daemon goes on without it.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from kizuna_client.v1.event_service_pb2 import SubscribeEventsResponse
from kizuna_server.commands.allowlist import (
    AllowedCommand,
    AllowListError,
    CommandNotAllowed,
    parse_allowlist,
)
from kizuna_server.commands.handlers import HandlerCommand, Invocation, Reply
from kizuna_server.commands.model import PluginFailed, RunState
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.errors import KizunaError
from kizuna_server.files import ensure_private_directory
from kizuna_server.plugins.api import CommandInfo, Plugin, PluginContext, commands_of

if TYPE_CHECKING:
    from kizuna_server.capability import Host
    from kizuna_server.commands.engine import Commands
    from kizuna_server.config import PluginEntry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final = "kizuna.plugins"
#: Longest a plugin's start or stop may take.
LIFECYCLE_SECS: Final = 10.0
#: Longest one on_event call may take.
EVENT_SECS: Final = 5.0
#: Events one plugin may publish: a burst of this many, refilled at this many a second. More
#: are dropped (counted, logged once a burst) so that a plugin cannot flood the event log.
PUBLISH_BURST: Final = 200
PUBLISH_RATE: Final = 50.0


class PluginNotFound(KizunaError):
    """No plugin of that name is loaded (metadata: `plugin`)."""

    reason = "PLUGIN_NOT_FOUND"


class PluginState(StrEnum):
    RUNNING = "running"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass
class Loaded:
    """A plugin the daemon knows, whatever its state."""

    name: str
    source: str
    load: Callable[[], Any]
    config: Mapping[str, Any] = field(default_factory=dict)
    state: PluginState = PluginState.DISABLED
    error: KizunaError | None = None
    plugin: Plugin | None = None
    description: str = ""
    capabilities: tuple[str, ...] = ()
    commands: dict[str, HandlerCommand] = field(default_factory=dict)
    local: dict[str, HandlerCommand] = field(default_factory=dict)
    events: asyncio.Task[None] | None = None
    #: Publishing budget (PUBLISH_BURST, PUBLISH_RATE) and what was dropped.
    tokens: float = PUBLISH_BURST
    refilled: float = 0.0
    dropped: int = 0


def discover(entries: tuple[PluginEntry, ...]) -> dict[str, Loaded]:
    """Every plugin installed (entry points) or named by the owner (a path), by name; an
    owner's entry replaces an installed plugin of the same name."""
    found: dict[str, Loaded] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        distribution = point.dist.name if point.dist is not None else "?"
        found[point.name] = Loaded(point.name, f"entry point of {distribution}", point.load)
    for entry in entries:
        if entry.path:
            found[entry.name] = Loaded(entry.name, _described(entry.path), _loader(entry.path))
        if entry.name in found:
            found[entry.name].config = dict(entry.config)
    return found


def _instance(plugin_class: object) -> Plugin:
    if not (isinstance(plugin_class, type) and issubclass(plugin_class, Plugin)):
        raise TypeError(f"{plugin_class!r} is not a kizuna_server.plugins.Plugin")
    return plugin_class()


def _loader(path: str) -> Callable[[], Any]:
    return lambda: _load_path(path)


def _described(path: str) -> str:
    where = path.rpartition(":")[0] or path
    return f"file {where}" if where.endswith(".py") else f"module {where}"


def _load_path(path: str) -> Any:
    """`package.module:Attr` or `/path/file.py:Attr` (the attribute defaults to `Plugin`)."""
    where, _, attribute = path.rpartition(":") if ":" in path else (path, ":", "")
    attribute = attribute or "Plugin"
    if where.endswith(".py"):
        name = f"kizuna_plugin_{Path(where).stem}"
        spec = importlib.util.spec_from_file_location(name, where)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {where}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, attribute)


class Plugins:
    """The plugins of one daemon."""

    def __init__(self, host: Host, commands: Commands) -> None:
        self._host = host
        self._commands = commands
        self.found: dict[str, Loaded] = {}

    async def start(self) -> None:
        config = self._host.config
        self.found = discover(config.plugins.entries)
        for name in config.plugins.enabled:
            if name in ("transfers", "streams", "commands"):
                continue
            loaded = self.found.get(name)
            if loaded is None:
                self.found[name] = loaded = Loaded(name, "not installed", lambda: None)
                loaded.state = PluginState.FAILED
                loaded.error = PluginFailed(
                    f"no plugin named {name!r} is installed or listed with a path in [[plugins]]",
                    plugin=name,
                )
                log.warning("plugins.enabled names %r, which is not installed", name)
                self._host.publish(PluginEvent(name, "failed", "", {"error": loaded.error.message}))
                continue
            await self._start(loaded)

    async def _start(self, loaded: Loaded) -> None:
        try:
            plugin = _instance(await asyncio.to_thread(loaded.load))
            loaded.description = plugin.description
            for info, handler in commands_of(plugin):
                described = self._described(loaded.name, info, handler)
                (loaded.local if info.local else loaded.commands)[info.id] = described
            context = self._context(loaded)
            await asyncio.wait_for(plugin.start(context), LIFECYCLE_SECS)
        except Exception as exc:
            loaded.commands.clear()
            loaded.local.clear()
            self._failed(loaded, "could not start", exc)
            return
        loaded.capabilities = tuple(plugin.capabilities)
        loaded.plugin = plugin
        loaded.state = PluginState.RUNNING
        for described in loaded.commands.values():
            try:
                self._commands.register(described)
            except ValueError as exc:
                log.warning("plugin %s: %s; that command is left out", loaded.name, exc)
        for capability in loaded.capabilities:
            self._host.network.announce(capability)
        if plugin.events:
            loaded.events = asyncio.ensure_future(self._follow(loaded, plugin))
        log.info("plugin %s started (%s)", loaded.name, loaded.source)

    def _described(
        self, owner: str, info: CommandInfo, handler: Callable[[Invocation], Awaitable[Reply]]
    ) -> HandlerCommand:
        table: dict[str, Any] = {
            "id": info.id,
            "description": info.description,
            "argv": [owner, *(f"{{{p['name']}}}" for p in info.parameters if "name" in p)],
            "parameters": [dict(p) for p in info.parameters],
            "risk": info.risk,
            "approval": info.approval,
            "timeout_secs": info.timeout_secs,
            "output_cap_bytes": info.output_cap_bytes,
        }
        try:
            (command,) = parse_allowlist([table], self._host.config.paths.data_dir)
        except AllowListError as exc:
            raise TypeError(f"command {info.id!r}: {exc}") from None
        return HandlerCommand(command, handler, owner, info.gate)

    def _context(self, loaded: Loaded) -> PluginContext:
        name = loaded.name
        data_dir = self._host.config.paths.data_dir / "plugins" / name
        ensure_private_directory(data_dir)

        def publish(kind: str, data: Mapping[str, Any], peer_id: str = "") -> None:
            now = time.monotonic()
            loaded.tokens = min(
                PUBLISH_BURST, loaded.tokens + (now - loaded.refilled) * PUBLISH_RATE
            )
            loaded.refilled = now
            if loaded.tokens < 1:
                if loaded.dropped % PUBLISH_BURST == 0:
                    log.warning("plugin %s publishes too fast; its events are dropped", name)
                loaded.dropped += 1
                return
            loaded.tokens -= 1
            self._host.publish(PluginEvent(name, str(kind)[:64], peer_id, dict(data)))

        async def run_on_peer(
            peer_id: str,
            command_id: str,
            arguments: Mapping[str, str | int | bool] | None = None,
            *,
            stdin: bytes = b"",
        ) -> Reply:
            return await self._run_on_peer(peer_id, command_id, arguments or {}, stdin)

        return PluginContext(
            name=name,
            config=loaded.config,
            data_dir=data_dir,
            publish=publish,
            run_on_peer=run_on_peer,
            peers_with=self._peers_with,
            log=logging.getLogger(f"kizuna.plugin.{name}"),
        )

    async def _run_on_peer(
        self, peer_id: str, command_id: str, arguments: Mapping[str, Any], stdin: bytes
    ) -> Reply:
        run = await self._commands.run_on(
            peer_id, command_id, arguments=arguments, positional=(), timeout_secs=None
        )
        await run.send_stdin(stdin)
        await run.close_stdin()
        out = {"stdout": bytearray(), "stderr": bytearray()}
        async for name, chunk in run.output():
            if name in out:
                out[name] += chunk
        exit_code = run.run.exit_code if run.run.state is RunState.EXITED else -1
        return Reply(bytes(out["stdout"]), bytes(out["stderr"]), exit_code)

    def _peers_with(self, capability: str) -> list[str]:
        return [
            peer.device_id
            for peer in self._host.network.peers(trusted_only=True, online_only=True)
            if capability in peer.capabilities
        ]

    async def _follow(self, loaded: Loaded, plugin: Plugin) -> None:
        """Hands the plugin the events it asked for, one at a time, each within EVENT_SECS."""
        events = self._host.events
        if events is None:
            return
        wake = asyncio.Event()
        subscription = events.subscribe(types=plugin.events, notify=wake.set)
        try:
            while not subscription.ended:
                await wake.wait()
                wake.clear()
                while (batch := subscription.take()) is not None:
                    for entry in batch.entries:
                        # The log keeps each event as a one-event SubscribeEventsResponse.
                        (event,) = SubscribeEventsResponse.FromString(entry.encoded).events
                        try:
                            await asyncio.wait_for(plugin.on_event(event), EVENT_SECS)
                        except Exception as exc:  # reported; the plugin keeps its next event
                            log.warning(
                                "plugin %s: on_event(%s) failed: %s: %s",
                                loaded.name, entry.event_type, type(exc).__name__, exc,
                            )  # fmt: skip
        finally:
            subscription.cancel()

    def _failed(self, loaded: Loaded, what: str, exc: BaseException) -> None:
        detail = (
            "took too long" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        )
        loaded.state = PluginState.FAILED
        loaded.error = PluginFailed(f"plugin {loaded.name} {what}: {detail}", plugin=loaded.name)
        log.error("plugin %s %s: %s", loaded.name, what, detail)
        self._host.publish(PluginEvent(loaded.name, "failed", "", {"error": loaded.error.message}))

    async def stop(self) -> None:
        for loaded in self.found.values():
            if loaded.state is not PluginState.RUNNING or loaded.plugin is None:
                continue
            self._commands.unregister(loaded.name)
            if loaded.events is not None:
                loaded.events.cancel()
            try:
                await asyncio.wait_for(loaded.plugin.stop(), LIFECYCLE_SECS)
            except Exception as exc:
                log.warning("plugin %s did not stop cleanly: %s", loaded.name, exc)
            loaded.state = PluginState.DISABLED

    # --- apps on this device ----------------------------------------------------------------

    def get(self, name: str) -> Loaded:
        loaded = self.found.get(name)
        if loaded is None:
            raise PluginNotFound(f"no plugin named {name!r} is loaded", plugin=name)
        return loaded

    async def call_local(
        self, name: str, command_id: str, arguments: Mapping[str, Any], stdin: bytes
    ) -> Reply:
        loaded = self.get(name)
        if loaded.state is not PluginState.RUNNING:
            raise loaded.error or PluginFailed(f"plugin {name} is not running", plugin=name)
        described = loaded.local.get(command_id)
        if described is None:
            raise CommandNotAllowed(
                f"plugin {name} has no local command {command_id!r}; it has "
                f"{', '.join(loaded.local) or 'none'}",
                command=command_id,
            )
        command: AllowedCommand = described.command
        _, values = command.bind(arguments)
        try:
            return await asyncio.wait_for(
                described.handler(Invocation("", "", values, stdin)), command.timeout_secs
            )
        except TimeoutError:
            raise PluginFailed(
                f"plugin {name}: {command_id} took longer than {command.timeout_secs:g} s",
                plugin=name,
            ) from None
        except KizunaError:
            raise
        except Exception as exc:
            log.exception("plugin %s: local command %s failed", name, command_id)
            raise PluginFailed(
                f"plugin {name}: {command_id} failed: {type(exc).__name__}: {exc}", plugin=name
            ) from None

    def subsystems(self) -> list[Subsystem]:
        shown = [p for p in self.found.values() if p.state is not PluginState.DISABLED]
        if not shown:
            return []
        failed = [p for p in shown if p.state is PluginState.FAILED]
        parts = [
            f"{p.name} running" if p.state is PluginState.RUNNING else f"{p.name} failed"
            for p in shown
        ]
        detail = ", ".join(parts)
        if failed and failed[0].error is not None:
            detail += f" ({failed[0].error.message})"
        state = SubsystemState.DEGRADED if failed else SubsystemState.RUNNING
        return [Subsystem("plugins", state, detail)]


@dataclass(frozen=True, slots=True)
class PluginEvent:
    """A plugin's report, published as kizuna.v1.Event.plugin_event."""

    event_type: ClassVar[str] = "plugin_event"
    plugin: str
    type: str
    peer_id: str
    data: dict[str, Any]
