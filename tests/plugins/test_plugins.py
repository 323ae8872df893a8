"""Plugins in real daemons (docs/plugins.md): the built-in text and clipboard plugins, plugins an
owner names by module path or file, and how a faulty plugin is contained (THREATS #40).

Alpha and beta are in-process daemons on loopback (tests/p2p/peerpair.py); the clipboard tests
run their own X servers (Xvfb) and use xclip, as the clipboard plugin does. Tests wait on events
or on conditions with a time limit, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaEvent
from kizuna_client.errors import (
    CommandArgumentsInvalidError,
    CommandNotAllowedError,
    KizunaError,
    PermissionDeniedByPeerError,
    PluginFailedError,
    PluginNotFoundError,
)
from kizuna_client.v1 import errors_pb2, node_pb2, plugin_service_pb2
from kizuna_server.plugins import host
from tests.conftest import DaemonProcess
from tests.e2e.media_env import _free_display, _until_ok
from tests.p2p.peerpair import EventRecorder, Node, Nodes, eventually, pair, paired

pytestmark = pytest.mark.asyncio

Plugin = plugin_service_pb2.Plugin
ROOT = Path(__file__).resolve().parents[2]
UPTIME = ROOT / "examples" / "plugins" / "uptime.py"
#: How long a clipboard change may take to reach the peer (polled every 0.5 s, then sent).
CLIPBOARD_SECS = 10.0
#: The daemon's banner line naming its peer port.
LINK_PORT = re.compile(r"link port (\d+)")


# --- helpers ----------------------------------------------------------------------------------


def enabled(*names: str) -> dict[str, Any]:
    """Settings with `plugins.enabled` = `names`."""
    return {"plugins": {"enabled": list(names)}}


def with_entries(*entries: Mapping[str, Any]) -> dict[str, Any]:
    """Settings adding the owner's plugin entries to the default plugins."""
    return {"plugins": {"entries": [dict(e) for e in entries]}}


async def listed(node: Node) -> dict[str, Plugin]:
    return {p.name: p for p in await node.client.plugins()}


def ids(commands: Any) -> list[str]:
    return [c.id for c in commands]


def data(payload: Any) -> dict[str, Any]:
    """A plugin_event's data as a dict."""
    found: dict[str, Any] = json_format.MessageToDict(payload.data)
    return found


def plugin_event(plugin: str, kind: str, **expected: Any) -> Any:
    """A `wait_for` match: a plugin_event of `plugin` and type `kind` whose data has `expected`."""

    def match(payload: Any) -> bool:
        if payload.plugin != plugin or payload.type != kind:
            return False
        found = data(payload)
        return all(found.get(key) == value for key, value in expected.items())

    return match


def received(node: Node, plugin: str, kind: str, *, after: int = 0) -> list[dict[str, Any]]:
    """The data of the `plugin`/`kind` plugin_events `node` published so far."""
    events = [e.message.plugin_event for e in node.events.of_type("plugin_event", after=after)]
    return [data(e) for e in events if e.plugin == plugin and e.type == kind]


async def published_while_starting(client: Kizuna, kind: str) -> list[KizunaEvent]:
    """The events of `kind` the daemon published before it was ready (replayed from its
    start; it is ready once its plugins started)."""
    found: list[KizunaEvent] = []
    types = [kind, "node_state_changed"]
    async with asyncio.timeout(10), client.subscribe_events(types=types, from_start=True) as events:
        async for item in events:
            if not isinstance(item, KizunaEvent):
                continue
            if item.type == kind:
                found.append(item)
            elif item.message.node_state_changed.state == node_pb2.Node.STATE_READY:
                return found
    raise AssertionError("the event subscription ended before the daemon was ready")


def plugin_file(directory: Path, stem: str, source: str) -> Path:
    """Writes a plugin module `stem`.py into `directory`."""
    path = directory / f"{stem}.py"
    path.write_text(textwrap.dedent(source))
    return path


#: A plugin template: {name} is its command prefix, {greeting} what its local command says.
ECHO = """
    from kizuna_server.plugins import (
        Invocation, Plugin, PluginContext, Reply, command, local_command,
    )


    class Echo(Plugin):
        name = "{name}"
        description = "says back what it is given"
        capabilities = ("{name}",)

        async def start(self, context: PluginContext) -> None:
            self.context = context
            self.greeting = context.config.get("greeting", "none")

        @command(
            "{name}.echo",
            description="says back its text",
            parameters=[{{"name": "text", "type": "string", "required": True}}],
        )
        async def echo(self, call: Invocation) -> Reply:
            return Reply(stdout=f"{{call.arguments['text']}} from {{call.peer_name}}".encode())

        @local_command("hello", description="the configured greeting")
        async def hello(self, call: Invocation) -> Reply:
            return Reply(stdout=f"{greeting} {{self.greeting}}".encode())
"""


# --- built-in plugins ---------------------------------------------------------------------------


async def test_the_builtin_text_and_clipboard_plugins_run_and_are_listed(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    plugins = await listed(a)
    assert set(plugins) == {"text", "clipboard"}
    text, clipboard = plugins["text"], plugins["clipboard"]
    for plugin in (text, clipboard):
        assert plugin.state == Plugin.STATE_RUNNING
        assert plugin.source == "entry point of kizuna"
        assert not plugin.HasField("error")
        assert plugin.description
    assert list(text.capabilities) == ["text"]
    assert ids(text.commands) == ["text.message"]
    assert sorted(ids(text.local_commands)) == ["clear", "inbox"]
    assert list(clipboard.capabilities) == ["clipboard"]
    assert ids(clipboard.commands) == ["clipboard.set"]
    assert sorted(ids(clipboard.local_commands)) == ["get", "send", "status", "sync"]
    (message,) = text.commands
    assert [p.name for p in message.parameters] == ["message"]

    node = await a.client.node()
    (subsystem,) = [s for s in node.subsystems if s.name == "plugins"]
    assert subsystem.state == "running"
    assert "text running" in subsystem.detail and "clipboard running" in subsystem.detail


async def test_peers_see_the_plugins_capabilities_and_commands(nodes: Nodes) -> None:
    """Capabilities travel in the authenticated Hello; the plugins' commands open to any
    trusted peer are listed without the commands permission, the owner's are not."""
    a, b = await paired(nodes)
    assert {"text", "clipboard"} <= set((await a.client.peer(b.id)).capabilities)
    assert {"text", "clipboard"} <= set((await b.client.peer(a.id)).capabilities)
    assert sorted(ids(await a.client.peer_commands(b.id))) == ["clipboard.set", "text.message"]


async def test_a_disabled_plugin_offers_no_commands_and_no_capability(nodes: Nodes) -> None:
    a, b = await paired(nodes, **enabled("transfers", "streams", "commands", "text"))
    plugins = await listed(b)
    assert plugins["text"].state == Plugin.STATE_RUNNING
    clipboard = plugins["clipboard"]
    assert clipboard.state == Plugin.STATE_DISABLED
    assert list(clipboard.commands) == [] and list(clipboard.capabilities) == []

    capabilities = set((await a.client.peer(b.id)).capabilities)
    assert "text" in capabilities and "clipboard" not in capabilities
    assert ids(await a.client.peer_commands(b.id)) == ["text.message"]

    # This device: a disabled plugin is known but not running; an unknown one is not found.
    with pytest.raises(PluginFailedError) as failed:
        await b.client.clipboard()
    assert failed.value.metadata.get("plugin") == "clipboard"
    with pytest.raises(PluginFailedError):
        await b.client.call_plugin("clipboard", "status")
    with pytest.raises(PluginNotFoundError):
        await b.client.call_plugin("no-such-plugin", "status")

    # A peer: the command is gone (refused as any command the peer may not run).
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.execute_command("clipboard.set", b.id, stdin=b"x")
    await b.client.set_peer_permissions(a.id, commands=True)
    with pytest.raises(CommandNotAllowedError):
        await a.client.execute_command("clipboard.set", b.id, stdin=b"x")

    # The seed's list form turns one off the same way.
    c = await nodes.start("gamma", {"plugins": {"entries": [{"name": "text", "enabled": False}]}})
    plugins = await listed(c)
    assert plugins["text"].state == Plugin.STATE_DISABLED
    assert plugins["clipboard"].state == Plugin.STATE_RUNNING
    with pytest.raises(PluginFailedError):
        await c.client.text_inbox()


# --- plugins the owner names --------------------------------------------------------------------


async def test_plugins_load_by_module_path_and_by_file(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"kz_echo_{tmp_path.name.lower()}"
    plugin_file(tmp_path, module, ECHO.format(name="mod", greeting="module says"))
    monkeypatch.syspath_prepend(str(tmp_path))
    other = tmp_path / "elsewhere"
    other.mkdir()
    by_file = plugin_file(other, "echo_file", ECHO.format(name="file", greeting="file says"))
    a, b = await paired(
        nodes,
        **with_entries(
            {"name": "mod", "path": f"{module}:Echo", "config": {"greeting": "hi"}},
            {"name": "file", "path": f"{by_file}:Echo"},
        ),
    )
    plugins = await listed(b)
    assert plugins["mod"].source == f"module {module}"
    assert plugins["file"].source == f"file {by_file}"
    for name in ("mod", "file"):
        assert plugins[name].state == Plugin.STATE_RUNNING, plugins[name].error.message
        assert ids(plugins[name].commands) == [f"{name}.echo"]
        assert ids(plugins[name].local_commands) == ["hello"]
    assert plugins["text"].state == plugins["clipboard"].state == Plugin.STATE_RUNNING

    assert {"mod", "file", "text"} <= set((await a.client.peer(b.id)).capabilities)
    assert sorted(ids(await a.client.peer_commands(b.id))) == [
        "clipboard.set",
        "file.echo",
        "mod.echo",
        "text.message",
    ]
    result = await a.client.execute_command("mod.echo", b.id, {"text": "ping"})
    assert (result.ok, result.stdout) == (True, "ping from alpha")
    result = await a.client.execute_command("file.echo", b.id, {"text": "pong"})
    assert (result.ok, result.stdout) == (True, "pong from alpha")
    # Its config reaches it; a plugin without one gets {}.
    assert (await b.client.call_plugin("mod", "hello")).stdout == b"module says hi"
    assert (await b.client.call_plugin("file", "hello")).stdout == b"file says none"
    with pytest.raises(CommandNotAllowedError):
        await b.client.call_plugin("mod", "no-such-command")


async def test_the_worked_example_uptime_plugin(nodes: Nodes) -> None:
    """examples/plugins/uptime.py, as docs/plugins.md enables it."""
    if not UPTIME.exists():
        pytest.skip("examples/plugins/uptime.py is not there")
    entry = {"name": "uptime", "path": f"{UPTIME}:Uptime", "config": {"greeting": "from the lab"}}
    a = await nodes.start("alpha")
    b = await nodes.start("beta", with_entries(entry))
    mark = b.events.mark()
    plugins = await listed(b)
    assert plugins["uptime"].state == Plugin.STATE_RUNNING, plugins["uptime"].error.message
    assert plugins["uptime"].source == f"file {UPTIME}"
    await pair(a, b)
    # on_event: alpha's link coming up is greeted.
    greeted = await b.events.wait_for(
        "plugin_event", plugin_event("uptime", "greeted", name="alpha"), after=mark
    )
    assert greeted.message.plugin_event.peer_id == a.id
    assert int((await b.client.call_plugin("uptime", "connections")).stdout) >= 1

    assert "uptime" in (await a.client.peer(b.id)).capabilities
    booted = float(Path("/proc/uptime").read_text().split()[0])
    result = await a.client.execute_command("uptime.get", b.id)
    seconds, greeting = result.stdout.splitlines()
    assert result.ok and greeting == "from the lab"
    assert booted - 1 <= int(seconds) <= booted + 60  # rounded to whole seconds
    human = await a.client.execute_command("uptime.get", b.id, {"human": True})
    assert human.ok and human.stdout.splitlines()[0].endswith(" hours")


# --- containment --------------------------------------------------------------------------------

BROKEN = """
    from kizuna_server.plugins import Invocation, Plugin, Reply, command


    class Broken(Plugin):
        name = "broken"
        capabilities = ("broken",)

        async def start(self, context):
            raise RuntimeError("no widget here")

        @command("broken.run")
        async def run(self, call: Invocation) -> Reply:
            return Reply(stdout=b"should never run")


    class NotAPlugin:
        pass
"""

HANGS = """
    import asyncio

    from kizuna_server.plugins import Invocation, Plugin, Reply, command


    class Hangs(Plugin):
        name = "hangs"
        capabilities = ("hangs",)

        async def start(self, context):
            await asyncio.Event().wait()

        @command("hangs.run")
        async def run(self, call: Invocation) -> Reply:
            return Reply()
"""


async def test_a_plugin_that_cannot_start_is_failed_and_the_rest_goes_on(
    nodes: Nodes, tmp_path: Path
) -> None:
    broken = plugin_file(tmp_path, "broken", BROKEN)
    a, b = await paired(
        nodes,
        **with_entries(
            {"name": "broken", "path": f"{broken}:Broken"},
            {"name": "not-a-plugin", "path": f"{broken}:NotAPlugin"},
            {"name": "missing", "path": f"{tmp_path / 'missing.py'}:Plugin"},
            {"name": "absent", "path": "kz_no_such_module_anywhere:Plugin"},
        ),
    )
    plugins = await listed(b)
    reasons = {
        "broken": "could not start: RuntimeError: no widget here",
        "not-a-plugin": "is not a kizuna_server.plugins.Plugin",
        "missing": "FileNotFoundError",
        "absent": "ModuleNotFoundError",
    }
    for name, reason in reasons.items():
        plugin = plugins[name]
        assert plugin.state == Plugin.STATE_FAILED, name
        assert plugin.error.reason == errors_pb2.ERROR_REASON_PLUGIN_FAILED
        assert reason in plugin.error.message, plugin.error.message
    assert plugins["text"].state == plugins["clipboard"].state == Plugin.STATE_RUNNING

    # Reported: a plugin_event of type "failed" for each (published while the daemon started).
    events = [
        e.message.plugin_event for e in await published_while_starting(b.client, "plugin_event")
    ]
    failed = {e.plugin: data(e)["error"] for e in events if e.type == "failed"}
    assert set(failed) == set(reasons)
    assert "RuntimeError: no widget here" in failed["broken"]
    (subsystem,) = [s for s in (await b.client.node()).subsystems if s.name == "plugins"]
    assert subsystem.state == "degraded" and "broken failed" in subsystem.detail

    # Nothing of it is offered; calling it says why.
    assert "broken" not in (await a.client.peer(b.id)).capabilities
    assert "broken.run" not in ids(await a.client.peer_commands(b.id))
    with pytest.raises(PluginFailedError) as caught:
        await b.client.call_plugin("broken", "anything")
    assert "no widget here" in caught.value.message
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.execute_command("broken.run", b.id)

    # The daemon and the other plugins work.
    mark = b.events.mark()
    await a.client.send_text(b.id, "still here")
    await b.events.wait_for(
        "plugin_event", plugin_event("text", "text_received", message="still here"), after=mark
    )


async def test_a_plugin_enabled_but_not_installed_is_failed_and_reported(nodes: Nodes) -> None:
    b = await nodes.start("beta", enabled("transfers", "streams", "commands", "text", "ghost"))
    plugins = await listed(b)
    assert plugins["ghost"].state == Plugin.STATE_FAILED
    assert plugins["ghost"].error.reason == errors_pb2.ERROR_REASON_PLUGIN_FAILED
    assert "no plugin named 'ghost' is installed" in plugins["ghost"].error.message
    assert plugins["text"].state == Plugin.STATE_RUNNING
    with pytest.raises(PluginFailedError):
        await b.client.call_plugin("ghost", "anything")
    # Reported as any plugin that cannot start is (plugins/host.py's docstring).
    events = [
        e.message.plugin_event for e in await published_while_starting(b.client, "plugin_event")
    ]
    assert [(e.plugin, e.type) for e in events] == [("ghost", "failed")]


async def test_a_plugin_whose_start_hangs_fails_after_the_limit(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host, "LIFECYCLE_SECS", 0.5)
    hangs = plugin_file(tmp_path, "hangs", HANGS)
    b = await nodes.start("beta", with_entries({"name": "hangs", "path": f"{hangs}:Hangs"}))
    plugins = await listed(b)
    assert plugins["hangs"].state == Plugin.STATE_FAILED
    assert "hangs could not start: took too long" in plugins["hangs"].error.message
    assert plugins["text"].state == Plugin.STATE_RUNNING
    assert await b.client.text_inbox() == []


FAULTY = """
    import asyncio

    from kizuna_server.plugins import Invocation, Plugin, Reply, command


    class Faulty(Plugin):
        name = "faulty"

        async def start(self, context):
            self.hang_in_stop = context.config.get("hang_in_stop", False)

        async def stop(self):
            if self.hang_in_stop:
                await asyncio.Event().wait()

        @command("faulty.boom")
        async def boom(self, call: Invocation) -> Reply:
            raise ValueError("kaboom")

        @command("faulty.hang", timeout_secs=0.5)
        async def hang(self, call: Invocation) -> Reply:
            await asyncio.Event().wait()
            return Reply()

        @command(
            "faulty.ok",
            parameters=[{"name": "n", "type": "integer", "required": True}],
        )
        async def ok(self, call: Invocation) -> Reply:
            return Reply(stdout=str(call.arguments["n"] * 2).encode() + call.stdin)

        @command("faulty.gated", gate="commands")
        async def gated(self, call: Invocation) -> Reply:
            return Reply(stdout=b"gated ran")
"""


async def faulty_pair(nodes: Nodes, tmp_path: Path, **config: Any) -> tuple[Node, Node]:
    faulty = plugin_file(tmp_path, "faulty", FAULTY)
    entry = {"name": "faulty", "path": f"{faulty}:Faulty", "config": config}
    return await paired(nodes, **with_entries(entry))


async def test_a_command_that_raises_or_hangs_ends_its_run_and_nothing_else(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await faulty_pair(nodes, tmp_path, hang_in_stop=True)
    mark = b.events.mark()
    with pytest.raises(KizunaError) as caught:
        await a.client.execute_command("faulty.boom", b.id)
    assert caught.value.reason == "PLUGIN_FAILED"
    assert "ValueError: kaboom" in caught.value.message
    executed = await b.events.wait_for(
        "command_executed", lambda p: p.run.command_id == "faulty.boom", after=mark
    )
    assert (
        executed.message.command_executed.run.error.reason == errors_pb2.ERROR_REASON_PLUGIN_FAILED
    )

    hung = await a.client.execute_command("faulty.hang", b.id)
    assert hung.state == "timed_out" and not hung.ok

    # The plugin, its other commands and the daemon go on.
    result = await a.client.execute_command("faulty.ok", b.id, {"n": 21}, stdin=b" and input")
    assert (result.ok, result.stdout) == (True, "42 and input")
    assert (await listed(b))["faulty"].state == Plugin.STATE_RUNNING

    async def no_runs() -> bool | None:
        return True if await b.client.command_runs() == [] else None

    await eventually(no_runs, what="beta's runs ended")
    await a.client.send_text(b.id, "after the faults")
    assert [m["message"] for m in await b.client.text_inbox()] == ["after the faults"]

    # A stop that hangs holds the daemon's stop up only as long as the limit.
    monkeypatch.setattr(host, "LIFECYCLE_SECS", 0.5)
    with caplog.at_level(logging.WARNING, logger=host.__name__):
        b = await nodes.restart(b)
    assert any("plugin faulty did not stop cleanly" in r.getMessage() for r in caplog.records)
    assert [m["message"] for m in await b.client.text_inbox()] == ["after the faults"]
    await nodes.stop(b)  # while the limit is short


async def test_a_command_gated_on_commands_needs_that_permission(
    nodes: Nodes, tmp_path: Path
) -> None:
    a, b = await faulty_pair(nodes, tmp_path)
    assert "faulty.gated" not in ids(await a.client.peer_commands(b.id))
    assert "faulty.ok" in ids(await a.client.peer_commands(b.id))
    with pytest.raises(PermissionDeniedByPeerError) as caught:
        await a.client.execute_command("faulty.gated", b.id)
    assert caught.value.metadata["permission"] == "commands"

    await b.client.set_peer_permissions(a.id, commands=True)
    assert "faulty.gated" in ids(await a.client.peer_commands(b.id))
    result = await a.client.execute_command("faulty.gated", b.id)
    assert (result.ok, result.stdout) == (True, "gated ran")

    await b.client.set_peer_permissions(a.id, commands=False)
    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.execute_command("faulty.gated", b.id)


WATCHER = """
    import asyncio

    from kizuna_server.plugins import Plugin


    class Watcher(Plugin):
        name = "watcher"
        events = ("plugin_event",)

        async def start(self, context):
            self.context = context

        async def on_event(self, event):
            found = event.plugin_event
            if found.plugin != "text" or found.type != "text_received":
                return
            message = found.data["message"]
            self.context.publish("seen", {"message": message}, "")
            if message.startswith("raise"):
                raise RuntimeError("on_event failed on purpose")
            if message.startswith("hang"):
                await asyncio.Event().wait()
"""


async def test_on_event_errors_and_hangs_are_contained(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host, "EVENT_SECS", 0.5)
    watcher = plugin_file(tmp_path, "watcher", WATCHER)
    a, b = await paired(nodes, **with_entries({"name": "watcher", "path": f"{watcher}:Watcher"}))
    mark = b.events.mark()
    for message in ("raise once", "hang once", "fine after"):
        await a.client.send_text(b.id, message)
        await b.events.wait_for(
            "plugin_event", plugin_event("watcher", "seen", message=message), after=mark
        )
    assert [d["message"] for d in received(b, "watcher", "seen", after=mark)] == [
        "raise once",
        "hang once",
        "fine after",
    ]
    assert (await listed(b))["watcher"].state == Plugin.STATE_RUNNING


# --- text ---------------------------------------------------------------------------------------


async def test_a_text_arrives_as_an_event_and_in_the_inbox(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    mark = b.events.mark()
    before = time.time()
    await a.client.send_text(b.id, "hello beta")
    event = await b.events.wait_for(
        "plugin_event", plugin_event("text", "text_received"), after=mark
    )
    assert event.message.plugin_event.peer_id == a.id
    arrived = data(event.payload)
    assert arrived["message"] == "hello beta"
    assert (arrived["from"], arrived["from_name"]) == (a.id, "alpha")
    assert "link" not in arrived

    multi = "line one\nline two\n\ttabbed, ünïcödé 🎉\n"
    link = "https://example.com/a?b=c"
    for message in (multi, f"  {link}\n"):
        await a.client.send_text(b.id, message)
    await b.events.wait_for(
        "plugin_event", plugin_event("text", "text_received", link=link), after=mark
    )
    inbox = await b.client.text_inbox()
    assert [m["message"] for m in inbox] == ["hello beta", multi, f"  {link}\n"]
    assert inbox[0]["id"] == arrived["id"]
    assert all(m["from"] == a.id and m["from_name"] == "alpha" for m in inbox)
    assert before <= inbox[0]["time"] <= inbox[-1]["time"] <= time.time()
    assert [m.get("link") for m in inbox] == [None, None, link]
    assert len({m["id"] for m in inbox}) == 3
    assert await a.client.text_inbox() == []  # the sender keeps none


async def test_a_text_with_nul_or_too_long_is_refused(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    for bad in ("with \x00 inside", "x" * 4097, ""):
        with pytest.raises(CommandArgumentsInvalidError):
            await a.client.send_text(b.id, bad)
    longest = "y" * 4096
    await a.client.send_text(b.id, longest)
    assert [m["message"] for m in await b.client.text_inbox()] == [longest]


async def test_the_inbox_is_cleared_and_survives_a_restart(nodes: Nodes) -> None:
    a, b = await paired(nodes)
    for message in ("first", "second"):
        await a.client.send_text(b.id, message)
    b = await nodes.restart(b)
    kept = await b.client.text_inbox()
    assert [m["message"] for m in kept] == ["first", "second"]
    assert all(m["from_name"] == "alpha" for m in kept)
    await b.client.clear_text_inbox()
    assert await b.client.text_inbox() == []
    b = await nodes.restart(b)
    assert await b.client.text_inbox() == []


async def test_the_inbox_keeps_the_newest_config_keep(nodes: Nodes) -> None:
    a, b = await paired(
        nodes, **with_entries({"name": "text", "enabled": True, "config": {"keep": 2}})
    )
    for message in ("one", "two", "three"):
        await a.client.send_text(b.id, message)
    assert [m["message"] for m in await b.client.text_inbox()] == ["two", "three"]


# --- clipboard ----------------------------------------------------------------------------------


async def test_the_clipboard_without_an_x_display_says_so(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    a, b = await paired(nodes)
    with pytest.raises(PluginFailedError) as caught:
        await a.client.clipboard()
    assert "DISPLAY is not set" in caught.value.message
    with pytest.raises(PluginFailedError) as caught:
        await a.client.send_clipboard(b.id)
    assert "DISPLAY is not set" in caught.value.message
    # Keeping in step is only a setting: it is kept without a display, and across a restart.
    assert await a.client.sync_clipboard(b.id) == [b.id]
    a = await nodes.restart(a)
    status = json.loads((await a.client.call_plugin("clipboard", "status")).stdout)
    assert status == {"sync_peers": [b.id]}
    assert await a.client.sync_clipboard(b.id, False) == []


def require_x() -> None:
    missing = [p for p in ("Xvfb", "xclip", "xdpyinfo") if shutil.which(p) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (apt install xvfb xclip x11-utils)")


@contextlib.asynccontextmanager
async def x_server() -> AsyncIterator[str]:
    """A private Xvfb on a free display number in this (host) namespace; yields its name."""
    for _ in range(5):
        display = _free_display()
        process = await asyncio.create_subprocess_exec(
            "Xvfb", display, "-nolisten", "tcp",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await _until_ok(["xdpyinfo", "-display", display], dict(os.environ), "Xvfb")
        except AssertionError:
            if process.returncode is None:
                raise
            continue  # another test took that display number first: the next one
        try:
            yield display
        finally:
            process.terminate()
            await process.wait()
        return
    raise AssertionError("no X server could be started")


async def xclip_out(display: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "xclip", "-display", display, "-selection", "clipboard", "-out",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await process.communicate()
    return out if process.returncode == 0 else b""


async def holding(display: str, content: bytes) -> asyncio.subprocess.Process:
    """xclip owning `display`'s clipboard with `content`, in the foreground (-quiet): it exits
    when another program takes the clipboard. Returns once the clipboard holds `content`."""
    process = await asyncio.create_subprocess_exec(
        "xclip", "-display", display, "-selection", "clipboard", "-in", "-quiet",
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(content)
    process.stdin.close()
    await clipboard_holds(display, content)
    return process


async def clipboard_holds(display: str, content: bytes) -> None:
    async def probe() -> bool | None:
        return True if await xclip_out(display) == content else None

    await eventually(
        probe, within=CLIPBOARD_SECS, what=f"{display}'s clipboard holding {content!r}"
    )


async def test_the_clipboard_is_sent_to_a_peer(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both daemons run in this process, so they share one X display: that beta set the
    clipboard shows in who owns it (the xclip holding alpha's text loses it to beta's)."""
    require_x()
    async with x_server() as display:
        monkeypatch.setenv("DISPLAY", display)
        a, b = await paired(nodes)
        assert await a.client.clipboard() == ""  # nothing on it yet
        content = "clipboard from alpha\nsecond line ✓"
        held = await holding(display, content.encode())
        try:
            assert await a.client.clipboard() == content
            mark = b.events.mark()
            await a.client.send_clipboard(b.id)
            event = await b.events.wait_for(
                "plugin_event", plugin_event("clipboard", "clipboard_received"), after=mark
            )
            async with asyncio.timeout(CLIPBOARD_SECS):
                assert await held.wait() == 0  # beta's xclip took the clipboard
        finally:
            if held.returncode is None:
                held.kill()
                await held.wait()
        assert event.message.plugin_event.peer_id == a.id
        assert data(event.payload) == {
            "from": a.id,
            "from_name": "alpha",
            "bytes": float(len(content.encode())),
            "text": content,
        }
        assert await xclip_out(display) == content.encode()  # served by beta's xclip
        assert await b.client.clipboard() == content


@contextlib.asynccontextmanager
async def daemon_elsewhere(
    nodes: Nodes, name: str, env: Mapping[str, str]
) -> AsyncIterator[tuple[Kizuna, EventRecorder, str, str]]:
    """`kizuna daemon` as a subprocess (its own environment: another DISPLAY), with a client
    and an event recorder; yields them, its device ID and its peer address."""
    home = nodes.new_home()
    process = DaemonProcess(
        home,
        "--set", f"identity.device_name={name}",
        "--set", "discovery.interval_secs=1",
        "--set", "discovery.timeout_secs=2",
        "--log-level", "warning",
        env=env,
    )  # fmt: skip
    try:
        await process.start()
        (port,) = [m[1] for line in process.banner if (m := LINK_PORT.search(line))]
        async with Kizuna(home=home, embedded=False) as client:
            events = EventRecorder(client)
            await events.start()
            try:
                device_id = (await client.node()).device_id
                yield client, events, device_id, f"127.0.0.1:{port}"
            finally:
                await events.close()
    finally:
        await process.kill()


async def pair_elsewhere(
    a: Node, client: Kizuna, events: EventRecorder, device_id: str, address: str
) -> None:
    """As peerpair.pair, with a daemon in another process."""
    await a.client.add_peer(address, persist=False)
    mark_a, mark_b = a.events.mark(), events.mark()
    outgoing = await a.client.request_pairing(device_id)
    shown = await events.wait_for(
        "pairing_requested", lambda p: p.pairing.peer_id == a.id, after=mark_b
    )
    await a.client.confirm_pairing(outgoing.id)
    await client.confirm_pairing(shown.message.pairing_requested.pairing.id)
    await a.events.wait_for(
        "pairing_completed", lambda p: p.peer.device_id == device_id, after=mark_a
    )
    await events.wait_for("pairing_completed", lambda p: p.peer.device_id == a.id, after=mark_b)
    await a.client.connect_to_peer(device_id)

    async def linked() -> bool | None:
        return True if (await client.peer(a.id)).connected else None

    await eventually(linked, what="the link up")


async def set_clipboard(display: str, content: bytes) -> None:
    """Puts `content` on `display`'s clipboard as a person's program would (xclip forks a child
    that serves it until another program takes it)."""
    process = await asyncio.create_subprocess_exec(
        "xclip", "-display", display, "-selection", "clipboard", "-in",
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await process.communicate(content)
    assert process.returncode == 0
    await clipboard_holds(display, content)


async def read_once_by_its_watcher(display: str, content: bytes) -> None:
    """Returns once a program read `display`'s clipboard, holding `content`: xclip serves one
    request (-loops 1) and exits. Only the daemon on `display` reads it, every poll_ms."""
    process = await asyncio.create_subprocess_exec(
        "xclip", "-display", display, "-selection", "clipboard", "-in", "-quiet", "-loops", "1",
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(content)
    process.stdin.close()
    try:
        async with asyncio.timeout(CLIPBOARD_SECS):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_clipboards_kept_in_step_both_ways_without_echo(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two devices, two X displays: alpha here, beta as a `kizuna daemon` process of its own
    (a process has one DISPLAY). A change on either reaches the other within seconds, and a
    text that came from the peer is not sent back."""
    require_x()
    async with x_server() as here, x_server() as there:
        monkeypatch.setenv("DISPLAY", here)
        a = await nodes.start("alpha")
        async with daemon_elsewhere(nodes, "beta", {"DISPLAY": there}) as beta:
            b_client, b_events, b_id, address = beta
            await pair_elsewhere(a, b_client, b_events, b_id, address)
            assert await a.client.sync_clipboard(b_id) == [b_id]
            assert await b_client.sync_clipboard(a.id) == [a.id]

            def clip(kind: str, text: str) -> Any:
                return plugin_event("clipboard", kind, text=text)

            # alpha -> beta
            mark_a, mark_b = a.events.mark(), b_events.mark()
            await set_clipboard(here, b"from alpha 1")
            await b_events.wait_for(
                "plugin_event", clip("clipboard_received", "from alpha 1"),
                after=mark_b, within=CLIPBOARD_SECS,
            )  # fmt: skip
            assert await xclip_out(there) == b"from alpha 1"
            # Beta's watcher looks at its clipboard (still "from alpha 1") once more. It sends
            # one change at a time, waiting for each to be taken: had it sent "from alpha 1"
            # back, alpha would have published that before what beta sends next.
            await read_once_by_its_watcher(there, b"from alpha 1")

            # beta -> alpha.
            await set_clipboard(there, b"from beta 1")
            await a.events.wait_for(
                "plugin_event", clip("clipboard_received", "from beta 1"),
                after=mark_a, within=CLIPBOARD_SECS,
            )  # fmt: skip
            assert await xclip_out(here) == b"from beta 1"
            echoed = [
                d["text"] for d in received(a, "clipboard", "clipboard_received", after=mark_a)
            ]
            assert echoed == ["from beta 1"]
            await read_once_by_its_watcher(here, b"from beta 1")

            # alpha -> beta again; beta received nothing it had sent.
            await set_clipboard(here, b"from alpha 2")
            await b_events.wait_for(
                "plugin_event", clip("clipboard_received", "from alpha 2"),
                after=mark_b, within=CLIPBOARD_SECS,
            )  # fmt: skip
            assert await xclip_out(there) == b"from alpha 2"
            texts = [
                data(e.message.plugin_event)["text"]
                for e in b_events.of_type("plugin_event", after=mark_b)
                if e.message.plugin_event.type == "clipboard_received"
            ]
            assert texts == ["from alpha 1", "from alpha 2"]
            assert [
                d["text"] for d in received(a, "clipboard", "clipboard_received", after=mark_a)
            ] == ["from beta 1"]

            assert await a.client.sync_clipboard(b_id, False) == []
            status = json.loads((await a.client.call_plugin("clipboard", "status")).stdout)
            assert status == {"sync_peers": []}
            await b_client.close()
