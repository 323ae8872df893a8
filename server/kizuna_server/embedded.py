"""Runs a daemon inside an app's own process, for `Kizuna(config={...})`.

The settings mapping is one more configuration layer (above the home's config.toml); the
environment is not read, so an embedding app gets exactly what it asked for.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kizuna_client._layout import resolve_layout
from kizuna_server.app import Daemon
from kizuna_server.config import load_config


async def start_embedded(settings: Mapping[str, Any], *, home: Path) -> Daemon:
    """Starts a daemon with its files under `home` and returns it once it serves."""
    config = load_config(resolve_layout(home), env={}, data=settings)
    daemon = Daemon(config)
    await daemon.start()
    return daemon
