"""The `kizuna` command: runs the daemon and talks to it through kizuna_client.

Output meant for people escapes control characters from peers and truncates long strings;
`--json` prints one JSON object per line for scripts.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# gRPC core logs lines of its own for failures this command reports itself (a port in use:
# "add_port.cc ... Failed to add port"), at a level it reads once, when grpc is first imported
# (by kizuna_client, below). Quiet, unless the person set GRPC_VERBOSITY (debug shows all).
if "grpc" not in sys.modules:
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from google.protobuf import json_format

from kizuna_client import EventGap, Kizuna, KizunaError, KizunaEvent
from kizuna_client._layout import resolve_layout
from kizuna_client.memory import cap_arenas, reuse_large_buffers
from kizuna_server import __version__
from kizuna_server.cli_commands import add_commands as add_command_commands
from kizuna_server.cli_peers import add_commands as add_peer_commands
from kizuna_server.cli_plugins import add_commands as add_plugin_commands
from kizuna_server.cli_streams import add_commands as add_stream_commands
from kizuna_server.cli_transfers import add_commands as add_transfer_commands
from kizuna_server.errors import KizunaError as DaemonError

if TYPE_CHECKING:
    from kizuna_server.app import Daemon
    from kizuna_server.config import Config

EXIT_ERROR = 1
EXIT_USAGE = 2
#: 128 + SIGPIPE: what a shell shows for a command whose reader went away.
EXIT_BROKEN_PIPE = 141


def safe(text: str, limit: int = 120) -> str:
    """Text from the daemon or peers made safe for a terminal: escaped, one line, bounded.

    Control characters (C0, C1), format characters such as bidirectional overrides (Cf) and
    line or paragraph separators (Zl, Zp) are shown as escapes, so a peer cannot move the
    cursor, recolour the screen, reorder what is shown or fake extra lines.
    """
    cleaned = "".join(_escaped(ch) for ch in text[: limit * 2])
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _escaped(ch: str) -> str:
    if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}:
        code = ord(ch)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return ch


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kizuna` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=(args.log_level or os.environ.get("KIZUNA_LOG_LEVEL") or "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code = int(asyncio.run(args.handler(args)))
        sys.stdout.flush()  # here, so a reader that went away is noticed below, not at exit
    except BrokenPipeError:
        return _reader_gone()
    except (KizunaError, DaemonError) as exc:
        print(f"kizuna {args.command}: {safe(exc.message, 500)}", file=sys.stderr)
        return EXIT_ERROR
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130  # interrupted, including a start abandoned by a second signal
    return code


def _reader_gone() -> int:
    """What `kizuna ... | head` does once head has read enough: stops quietly, like a command
    killed by SIGPIPE (exit 141), with no traceback and no error at exit.

    Python ignores SIGPIPE, so writes to a closed pipe raise BrokenPipeError; the rest of what
    is buffered for stdout goes to /dev/null, as the Python documentation recommends.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home", help="the daemon's home directory (default: $KIZUNA_HOME, else XDG directories)"
    )
    common.add_argument(
        "--target", help="reach the daemon at this gRPC target (unix:/path or 127.0.0.1:PORT)"
    )
    common.add_argument("--log-level", help="debug, info, warning or error (default info)")

    parser = argparse.ArgumentParser(
        prog="kizuna",
        description="Kizuna: your devices find each other on the local network and work together.",
    )
    parser.add_argument("--version", action="version", version=f"kizuna {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    daemon = commands.add_parser(
        "daemon", parents=[common], help="run the daemon in the foreground"
    )
    daemon.add_argument("--config", help="configuration file (default: HOME/config.toml)")
    daemon.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set identity.device_name=laptop (repeatable)",
    )
    daemon.set_defaults(handler=_daemon)

    status = commands.add_parser(
        "status", parents=[common], help="show this device and the daemon's state"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--socket",
        action="store_true",
        help="print only the path of the API's Unix socket (for grpcurl -unix and scripts)",
    )
    status.set_defaults(handler=_status)

    config = commands.add_parser(
        "config",
        parents=[common],
        help="show the daemon's effective configuration (as config.toml would set it)",
    )
    config.add_argument("--json", action="store_true", help="print one JSON object")
    config.set_defaults(handler=_config)

    events = commands.add_parser("events", parents=[common], help="follow the daemon's events")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.add_argument(
        "--type",
        action="append",
        default=[],
        dest="types",
        metavar="TYPE",
        help="only this event type, e.g. peer_discovered (repeatable)",
    )
    events.add_argument(
        "--after", type=int, default=0, metavar="SEQUENCE", help="replay events after SEQUENCE"
    )
    events.add_argument("--run-id", default="", help="the run ID that --after refers to")
    events.set_defaults(handler=_events)

    stop = commands.add_parser("stop", parents=[common], help="stop the daemon gracefully")
    stop.add_argument(
        "--grace", type=float, help="seconds in-flight calls may take (default from config)"
    )
    stop.set_defaults(handler=_stop)
    add_peer_commands(commands, common, _client, safe)
    add_transfer_commands(commands, common, _client, safe)
    add_stream_commands(commands, common, _client, safe)
    add_command_commands(commands, common, _client, safe)
    add_plugin_commands(commands, common, _client, safe)
    return parser


async def _daemon(args: argparse.Namespace) -> int:
    from kizuna_server.app import Daemon  # noqa: PLC0415 - client commands skip daemon imports
    from kizuna_server.config import load_config  # noqa: PLC0415

    layout = resolve_layout(args.home)
    try:
        config = load_config(
            layout, config_file=args.config and Path(args.config), overrides=args.set
        )
    except DaemonError as exc:
        print(f"kizuna daemon: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if config.security.trust_mode.value == "trust_all":
        logging.getLogger("kizuna").warning(
            "security.trust_mode = trust_all: EVERY device that asks is paired automatically. "
            "Use this only in a lab or for tests."
        )
    cap_arenas()
    reuse_large_buffers()
    daemon = Daemon(config)

    def banner() -> None:
        print(_banner(daemon, config), flush=True)

    await daemon.run(on_ready=banner)
    return 0


def _banner(daemon: "Daemon", config: "Config") -> str:
    node = daemon.describe()
    lines = [
        f"Kizuna {__version__} ready: {safe(node.name)} ({config.identity.device_type})",
        f"  device ID  {node.device_id_display}",
    ]
    for index, endpoint in enumerate(daemon.api_endpoints):
        label = "  API       " if index == 0 else "            "
        extra = f" (token in {config.api.token_file})" if endpoint.requires_token else ""
        lines.append(f"{label} {endpoint.target}{extra}")
    if daemon.peers is not None:
        lines.append(
            f"  peers      link port {daemon.peers.link_port}, pairing port "
            f"{daemon.peers.pairing_port}"
        )
    lines.append("  Stop with Ctrl+C or 'kizuna stop'.")
    return "\n".join(lines)


def _client(args: argparse.Namespace) -> Kizuna:
    return Kizuna(home=args.home, target=args.target, embedded=False)  # never starts one


async def _status(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        node = await k.node()
    if args.socket:
        unix = [e.removeprefix("unix:") for e in node.api_endpoints if e.startswith("unix:")]
        if not unix:
            print("kizuna status: the daemon serves no Unix socket", file=sys.stderr)
            return EXIT_ERROR
        print(unix[0])
        return 0
    if args.json:
        print(json_format.MessageToJson(node.message, indent=None))
        return 0
    print(f"{safe(node.name)} ({node.device_type}), {node.state}")
    print(f"  device ID    {node.device_id_display}")
    print(f"  certificate  {node.certificate_fingerprint}")
    print(f"  version      {node.version} (peer protocol {node.protocol_version})")
    if node.start_time is not None:
        print(f"  started      {node.start_time.astimezone():%Y-%m-%d %H:%M:%S}")
    for endpoint in node.api_endpoints:
        print(f"  API          {endpoint}")
    for peer_endpoint in node.message.peer_endpoints:
        print(f"  peers        {peer_endpoint.address}")
    for subsystem in node.subsystems:
        print(f"  {subsystem.name:<12} {subsystem.state}: {safe(subsystem.detail, 200)}")
    return 0


async def _config(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        config = await k.config()
    print(json.dumps(config) if args.json else config_toml(config))
    return 0


def config_toml(config: Mapping[str, Any]) -> str:
    """`kizuna config` for people: the settings as config.toml spells them (valid TOML), the
    derived [paths] and the daemon's notes as comments."""
    notes = config.get("notes", {})
    lines = [f"# note on {safe(key, 60)}: {safe(note, 300)}" for key, note in notes.items()]
    for section, table in config.items():
        if section == "notes":
            continue
        if lines:
            lines.append("")
        if section == "paths":
            lines.append("# derived from --home / KIZUNA_HOME and --config; not set in config.toml")
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_char(ch) for ch in value) + '"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key} = {_toml_value(v)}" for key, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_char(ch: str) -> str:
    """One character of a TOML basic string; what a terminal would act on is escaped (`safe`)."""
    if ch in ('"', "\\"):
        return "\\" + ch
    if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}:
        code = ord(ch)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


async def _events(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        subscription = k.subscribe_events(
            types=args.types, after_sequence=args.after, run_id=args.run_id
        )
        async with subscription:
            async for item in subscription:
                print(_format_event(item, as_json=args.json), flush=True)
    return 0


def _format_event(item: KizunaEvent | EventGap, *, as_json: bool) -> str:
    if isinstance(item, EventGap):
        if as_json:
            return json.dumps(
                {
                    "gap": {
                        "first_sequence": item.first_sequence,
                        "last_sequence": item.last_sequence,
                        "reason": item.reason,
                    }
                }
            )
        return (
            f"-- missed events {item.first_sequence}-{item.last_sequence} ({item.reason}); "
            "re-read state with 'kizuna status' --"
        )
    if as_json:
        return json_format.MessageToJson(item.message, indent=None)
    when = item.time.astimezone() if item.time is not None else datetime.now().astimezone()
    fields = json_format.MessageToDict(item.payload, preserving_proto_field_name=True)
    detail = " ".join(f"{key}={safe(_short(value), 80)}" for key, value in fields.items())
    return f"{when:%H:%M:%S} #{item.sequence:<5} {item.type:<22} {detail}"


def _short(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


async def _stop(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        await k.stop_daemon(grace=args.grace, reason="kizuna stop")
    print("the daemon is stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
