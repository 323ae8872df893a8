"""`kizuna plugins | send-text | texts | clipboard send|get|sync`: the plugins this daemon runs,
and the built-in text and clipboard plugins (docs/plugins.md).

PEER arguments are as for `kizuna peers`: a device ID, a unique ID prefix or a name. What peers
sent (names, texts) is escaped (`safe`) for the terminal; `--json` prints one JSON object per
line for scripts. The text inbox is `kizuna texts`: `kizuna inbox` lists the files offered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaError, KizunaEvent, PeerInfo
from kizuna_client.errors import InvalidArgumentError
from kizuna_client.v1 import plugin_service_pb2
from kizuna_server.cli_ids import SHORT
from kizuna_server.cli_peers import choose_peer

EXIT_ERROR = 1
Plugin = plugin_service_pb2.Plugin

_STATES: Final = {
    Plugin.STATE_RUNNING: "running",
    Plugin.STATE_FAILED: "failed",
    Plugin.STATE_DISABLED: "disabled",
}
#: What to do when a plugin this command needs is not running here.
_NOT_RUNNING: Final = (
    "the {plugin} plugin is not running on this device; 'kizuna plugins' shows why (it runs "
    "when plugins.enabled lists it)"
)
#: What to do when the clipboard cannot be read or set.
_NO_DISPLAY: Final = (
    "the clipboard plugin needs an X display: start the daemon with DISPLAY set (on Wayland, "
    "XWayland's, usually DISPLAY=:0) and with xclip installed (apt install xclip)"
)
_PEER_PLUGIN_OFF: Final = "its {plugin} plugin is not running; on it, 'kizuna plugins' shows why"
#: What to do about a peer's refusal, by reason, where its message does not say it.
_PEER_HINTS: Final = {
    "PEER_NOT_TRUSTED": "pair with it first: 'kizuna pair PEER'",
    "PEER_UNREACHABLE": "is it on and running Kizuna? 'kizuna peers' shows who is online",
    "COMMAND_NOT_ALLOWED": _PEER_PLUGIN_OFF,
    "PERMISSION_DENIED_BY_PEER": _PEER_PLUGIN_OFF,
}
_TEXT_EVENT: Final = ("text", "text_received")


def add_commands(
    commands: Any,
    common: argparse.ArgumentParser,
    client: Callable[[argparse.Namespace], Kizuna],
    safe: Callable[..., str],
) -> None:
    """Adds the plugin commands to the `kizuna` parser."""
    global _client, _safe
    _client, _safe = client, safe

    plugins = commands.add_parser(
        "plugins",
        parents=[common],
        help="list the plugins: running, failed (and why) or disabled, with what they offer",
    )
    plugins.add_argument("--json", action="store_true", help="one JSON object per plugin")
    plugins.set_defaults(handler=_plugins)

    send = commands.add_parser(
        "send-text",
        parents=[common],
        help="send a short message or a link to a peer (its 'kizuna texts' shows it)",
    )
    send.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    send.add_argument(
        "message",
        nargs="+",
        metavar="MESSAGE",
        help="the words of the message (joined with spaces); '-' reads it from standard input",
    )
    send.set_defaults(handler=_send_text)

    texts = commands.add_parser(
        "texts",
        parents=[common],
        help="list the messages and links peers sent to this device",
    )
    texts.add_argument("--clear", action="store_true", help="then empty the list")
    texts.add_argument(
        "--follow", action="store_true", help="then show new ones as they arrive, until Ctrl-C"
    )
    texts.add_argument("--json", action="store_true", help="one JSON object per message")
    texts.set_defaults(handler=_texts)

    clipboard = commands.add_parser(
        "clipboard",
        parents=[common],
        help="send this device's clipboard to a peer, show it, or keep it in step with a peer",
    )
    actions = clipboard.add_subparsers(dest="clipboard_action", metavar="ACTION", required=True)
    to_peer = actions.add_parser(
        "send", parents=[common], help="send this device's clipboard text to a peer"
    )
    to_peer.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    actions.add_parser("get", parents=[common], help="print this device's clipboard text")
    sync = actions.add_parser(
        "sync",
        parents=[common],
        help="send this clipboard to a peer whenever it changes (on), or stop (off)",
    )
    sync.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    sync.add_argument("state", choices=("on", "off"), help="on or off")
    clipboard.set_defaults(handler=_clipboard)


def _unset_client(args: argparse.Namespace) -> Kizuna:
    raise RuntimeError("add_commands was not called")


def _unset_safe(text: str, limit: int = 120) -> str:
    raise RuntimeError("add_commands was not called")


_client: Callable[[argparse.Namespace], Kizuna] = _unset_client
_safe: Callable[..., str] = _unset_safe


# --- errors -------------------------------------------------------------------------------------


def explained(
    exc: KizunaError, plugin: str, peer: PeerInfo | None = None, *, via_here: bool = True
) -> KizunaError:
    """`exc` with what to do added. `peer`: the call went to that peer (through this device's
    `plugin` when `via_here`, else straight to the peer's)."""
    hint = ""
    message = exc.message
    if plugin == "clipboard" and ("DISPLAY" in message or "xclip" in message):
        hint = _NO_DISPLAY
    elif exc.reason in ("PLUGIN_NOT_FOUND", "PLUGIN_FAILED"):
        if peer is None:
            hint = _NOT_RUNNING.format(plugin=plugin)
        elif via_here:
            hint = (
                f"the {plugin} plugin is not running or failed, here or on {_name(peer)}; "
                "'kizuna plugins' on each shows why"
            )
        else:
            hint = (
                f"the {plugin} plugin on {_name(peer)} is not running or failed; on it, "
                "'kizuna plugins' shows why"
            )
    elif peer is not None and exc.reason in _PEER_HINTS:
        hint = _PEER_HINTS[exc.reason].format(plugin=plugin).replace("PEER", _word(peer))
    if not hint or hint in message:
        return exc
    return type(exc)(f"{message}; {hint}", code=exc.code, metadata=exc.metadata)


def _name(peer: PeerInfo) -> str:
    return _safe(peer.name or peer.device_id[:SHORT], 40)


def _word(peer: PeerInfo) -> str:
    """How to name `peer` in a command to type."""
    if peer.name and peer.name == _safe(peer.name, 40):
        return shlex.quote(peer.name)
    return peer.device_id[:SHORT]


# --- kizuna plugins -----------------------------------------------------------------------------


def plugins_text(plugins: Sequence[plugin_service_pb2.Plugin]) -> str:
    """`kizuna plugins` for people: each plugin, its state and source, then what it offers or
    why it is not running."""
    if not plugins:
        return "no plugins; docs/plugins.md tells how to add one"
    width = max(len(p.name) for p in plugins)
    lines = []
    for plugin in plugins:
        state = _STATES.get(plugin.state, "unknown")
        lines.append(f"{_safe(plugin.name, 32):<{width}}  {state:<8}  {_safe(plugin.source, 200)}")
        if plugin.description:
            lines.append(f"  {_safe(plugin.description, 200)}")
        if plugin.state == Plugin.STATE_FAILED:
            lines.append(f"  error: {_safe(plugin.error.message, 500)}")
            lines.append(
                "  the daemon's log has the details; fix the plugin or take it out of "
                "plugins.enabled, then restart the daemon"
            )
            continue
        if plugin.state == Plugin.STATE_DISABLED:
            lines.append("  not in plugins.enabled")
            continue
        lines.append(f"  capabilities  {_listed(plugin.capabilities)}")
        lines.append(f"  peers run     {_listed(c.id for c in plugin.commands)}")
        lines.append(f"  local         {_listed(c.id for c in plugin.local_commands)}")
    return "\n".join(lines)


def _listed(names: Iterable[str]) -> str:
    return ", ".join(_safe(name, 64) for name in names) or "-"


async def _plugins(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        found = await k.plugins()
    if args.json:
        for plugin in found:
            print(json_format.MessageToJson(plugin, indent=None, preserving_proto_field_name=True))
        return 0
    print(plugins_text(found))
    return 0


# --- texts --------------------------------------------------------------------------------------


async def _send_text(args: argparse.Namespace) -> int:
    message = await _message(args.message)
    async with _client(args) as k:
        peer = choose_peer(await k.peers(), args.peer)
        try:
            await k.send_text(peer.device_id, message)
        except KizunaError as exc:
            if exc.reason == "COMMAND_ARGUMENTS_INVALID":
                raise type(exc)(
                    f"{exc.message}; a message is 1 to 4096 characters (line breaks allowed, "
                    "no NUL characters)",
                    code=exc.code,
                    metadata=exc.metadata,
                ) from None
            raise explained(exc, "text", peer, via_here=False) from None
    print(f"sent to {_name(peer)}")
    return 0


async def _message(words: Sequence[str]) -> str:
    """The message: the words joined with spaces, or standard input for '-' (one line end at
    its end is left out)."""
    if list(words) != ["-"]:
        message = " ".join(words)
    else:
        if sys.stdin.isatty():
            print("type the message, then Ctrl-D on a line of its own", file=sys.stderr)
        data = await asyncio.to_thread(sys.stdin.buffer.read)
        try:
            message = data.decode()
        except UnicodeDecodeError:
            raise InvalidArgumentError(
                "the message on standard input is not UTF-8 text", metadata={"field": "message"}
            ) from None
        message = message.removesuffix("\n").removesuffix("\r")
    if not message:
        raise InvalidArgumentError("the message is empty", metadata={"field": "message"})
    return message


def texts_table(messages: Sequence[Mapping[str, Any]]) -> str:
    """`kizuna texts` for people: when, from whom, and the message (its lines indented); a
    message that is one link is marked [link]."""
    if not messages:
        return "no texts; a peer sends one with 'kizuna send-text THIS-DEVICE MESSAGE'"
    return "\n".join([f"{'TIME':<16}  {'FROM':<20}  MESSAGE", *map(text_line, messages)])


def text_line(message: Mapping[str, Any]) -> str:
    """One received message as people read it (more lines when it has several)."""
    try:
        when = datetime.fromtimestamp(float(message.get("time", 0))).astimezone()
        shown = f"{when:%Y-%m-%d %H:%M}"
    except (TypeError, ValueError, OverflowError, OSError):
        shown = "?"
    sender = str(message.get("from_name") or str(message.get("from", ""))[:SHORT] or "?")
    text = str(message.get("message", ""))
    lines = text.removesuffix("\n").split("\n")  # other separators are shown escaped
    first = f"[link] {lines[0].strip()}" if message.get("link") else lines[0]
    indent = " " * (16 + 2 + 20 + 2)
    rows = [f"{shown:<16}  {_safe(sender, 20):<20}  {_safe(first, 4096)}"]
    rows += [f"{indent}{_safe(line, 4096)}" for line in lines[1:]]
    return "\n".join(rows)


def _show(messages: Iterable[Mapping[str, Any]], *, as_json: bool) -> None:
    for message in messages:
        print(json.dumps(message) if as_json else text_line(message), flush=True)


async def _texts(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        try:
            if not args.follow:
                messages = await k.text_inbox()
                if args.json:
                    _show(messages, as_json=True)
                else:
                    print(texts_table(messages))
                await _clear(k, args, len(messages))
                return 0
            return await _follow(k, args)
        except KizunaError as exc:
            raise explained(exc, "text") from None


async def _clear(k: Kizuna, args: argparse.Namespace, count: int) -> None:
    if args.clear:
        await k.clear_text_inbox()
        print(f"emptied the list ({count} shown)", file=sys.stderr, flush=True)


async def _follow(k: Kizuna, args: argparse.Namespace) -> int:
    """Lists the inbox, then each message as its `text_received` event arrives, until Ctrl-C
    (a message both listed and announced is shown once)."""
    async with k.subscribe_events(types=["plugin_event"]) as events:
        await events.started()  # from here no message slips by unseen
        messages = await k.text_inbox()
        if args.json:
            _show(messages, as_json=True)
        elif messages:
            print(texts_table(messages), flush=True)
        await _clear(k, args, len(messages))
        seen = {str(m.get("id")) for m in messages}
        print("waiting for new texts; Ctrl-C stops", file=sys.stderr, flush=True)
        async for item in events:
            if isinstance(item, KizunaEvent):
                payload = item.message.plugin_event
                if (payload.plugin, payload.type) != _TEXT_EVENT:
                    continue
                arrived = [json_format.MessageToDict(payload.data)]
            else:  # missed events: what they announced is in the inbox
                arrived = await k.text_inbox()
            new = [m for m in arrived if str(m.get("id")) not in seen]
            seen.update(str(m.get("id")) for m in new)
            _show(new, as_json=args.json)
    print("kizuna texts: the daemon stopped", file=sys.stderr)
    return EXIT_ERROR


# --- clipboard ----------------------------------------------------------------------------------


async def _clipboard(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        if args.clipboard_action == "get":
            try:
                text = await k.clipboard()
            except KizunaError as exc:
                raise explained(exc, "clipboard") from None
            _print_clipboard(text)
            return 0
        peer = choose_peer(await k.peers(), args.peer)
        try:
            if args.clipboard_action == "send":
                await k.send_clipboard(peer.device_id)
                print(f"sent this device's clipboard to {_name(peer)}")
                return 0
            on = args.state == "on"
            kept = await k.sync_clipboard(peer.device_id, on)
            here = await k.node()
        except KizunaError as exc:
            raise explained(exc, "clipboard", peer) from None
        names = {p.device_id: _name(p) for p in await k.peers()}
    if on:
        print(
            f"this clipboard now goes to {_name(peer)} whenever it changes (while both run); "
            f"for its changes to come here, run on {_name(peer)}: "
            f"kizuna clipboard sync {shlex.quote(here.name) if here.name else here.device_id} on"
        )
    else:
        print(f"this clipboard no longer goes to {_name(peer)}")
    others = ", ".join(names.get(i, i[:SHORT]) for i in kept)
    print(f"kept in step with: {others or 'no peer'}")
    return 0


def _print_clipboard(text: str) -> None:
    """The clipboard as it is for a pipe; on a terminal escaped (a peer may have set it)."""
    if not sys.stdout.isatty():
        sys.stdout.write(text)
        return
    if not text:
        print("(the clipboard is empty)", file=sys.stderr)
        return
    for line in text.splitlines():
        print(_safe(line, 1 << 20))
