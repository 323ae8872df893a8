"""Runs a daemon inside an app's own process, for `Kizuna(config)` and for `Kizuna()` when no
daemon runs.

Where its files live (docs/architecture.md, "In-process nodes"):

- `Kizuna()` with no daemon running: the device's own home (`--home` / `KIZUNA_HOME` / XDG), read
  the way `kizuna daemon` reads it, environment included: it *is* the device's daemon, for as long
  as the app runs.
- `Kizuna(config)`: `config["home"]` if given; otherwise a persistent home of its own,
  DATA/nodes/<name>, named after `identity.device_name` (or the program), so its identity, trust
  and history survive restarts. Its settings are one more layer above that home's config.toml;
  the environment is not read, so the app gets exactly what it asked for. Unless the settings
  say otherwise it receives into the person's inbox, not into its home.

Both take free ports when `networking.listen_port` was not given and the default ones are taken.
"""

import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kizuna_client._layout import Layout, resolve_layout
from kizuna_server.app import Daemon
from kizuna_server.config import default_listen_port, load_config, personal_inbox
from kizuna_server.files import ensure_private_directory

__all__ = ["node_home", "start_embedded"]


async def start_embedded(
    settings: Mapping[str, Any], *, home: Path | None = None, device_home: bool = False
) -> Daemon:
    """Starts a daemon and returns it once it serves. See the module docstring for `home`."""
    data = {section: _copy(values) for section, values in settings.items()}
    env: Mapping[str, str] | None
    if device_home:
        layout = resolve_layout(home)
        env = None  # read like `kizuna daemon` would
    else:
        layout = resolve_layout(home if home is not None else node_home(data))
        env = {}
        if home is None:
            transfers = data.setdefault("transfers", {})
            if isinstance(transfers, dict):
                transfers.setdefault("inbox", str(personal_inbox()))
            api = data.setdefault("api", {})
            if isinstance(api, dict) and "socket_path" not in api:
                # Sockets belong in the runtime directory (short paths, cleared at logout).
                runtime = resolve_layout().runtime_dir
                ensure_private_directory(runtime)
                api["socket_path"] = str(runtime / f"node-{layout_name(layout)}.sock")
    networking = data.setdefault("networking", {})
    if isinstance(networking, dict) and "listen_port" not in networking:
        config = load_config(layout, env=env, data=data)
        port = config.networking.listen_port
        if port == default_listen_port() and not _free(port, config.networking.listen_address):
            networking["listen_port"] = 0  # another node has the defaults: take free ports
    config = load_config(layout, env=env, data=data)
    daemon = Daemon(config)
    await daemon.start()
    return daemon


def node_home(settings: Mapping[str, Any]) -> Path:
    """DATA/nodes/<name>: the persistent home of an in-process node configured without one."""
    identity = settings.get("identity")
    name = identity.get("device_name", "") if isinstance(identity, Mapping) else ""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:48]
    if not slug:
        slug = re.sub(r"[^a-z0-9]+", "-", Path(sys.argv[0] or "python").stem.lower()).strip("-")
    return resolve_layout().data_dir / "nodes" / (slug or "python")


def layout_name(layout: Layout) -> str:
    """The <name> of a DATA/nodes/<name> home."""
    return layout.home.name if layout.home is not None else "device"


def _copy(values: object) -> object:
    return dict(values) if isinstance(values, Mapping) else values


def _free(port: int, address: str) -> bool:
    """True when both peer ports (link and pairing) can be bound now."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for candidate in (port, port + 1):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, candidate))
            except OSError:
                return False
    return True
