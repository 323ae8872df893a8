"""Where a daemon keeps its files: config, data and runtime directories, socket, token, lock.

Shared by the daemon and its clients so both find the same socket and token; pure, creates nothing.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layout", "resolve_layout"]


@dataclass(frozen=True)
class Layout:
    """The directories one daemon uses; `home` is None for the per-user XDG layout."""

    home: Path | None
    config_file: Path
    data_dir: Path
    runtime_dir: Path

    @property
    def socket_path(self) -> Path:
        """The Unix socket of the local gRPC API."""
        return self.runtime_dir / "kizuna.sock"

    @property
    def token_file(self) -> Path:
        """The bearer token clients present on the local API."""
        return self.data_dir / "api-token"

    @property
    def endpoint_file(self) -> Path:
        """Written by the running daemon: the endpoints it actually listens on."""
        return self.runtime_dir / "daemon.json"

    @property
    def lock_file(self) -> Path:
        """Held by the running daemon so a second one on the same layout refuses to start."""
        return self.runtime_dir / "daemon.lock"


def resolve_layout(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Layout:
    """Applies the layout rule: explicit `home`, else `KIZUNA_HOME`, else the XDG directories.

    With a home H everything lives under it (H/config.toml, H/data, H/run), which lets several
    daemons run side by side. `env` defaults to `os.environ`.
    """
    env = os.environ if env is None else env
    chosen = home if home is not None else env.get("KIZUNA_HOME") or None
    if chosen is not None:
        root = Path(os.path.abspath(os.path.expanduser(chosen)))
        return Layout(
            home=root,
            config_file=root / "config.toml",
            data_dir=root / "data",
            runtime_dir=root / "run",
        )
    user_home = Path(env.get("HOME") or Path.home())
    config_home = _xdg_dir(env, "XDG_CONFIG_HOME", user_home / ".config")
    data_home = _xdg_dir(env, "XDG_DATA_HOME", user_home / ".local" / "share")
    runtime_home = env.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime_home):
        runtime_dir = Path(runtime_home) / "kizuna"
    else:
        # No per-user runtime directory (e.g. no login session): the daemon must create this one
        # with mode 0700 and refuse it when another user owns it.
        runtime_dir = Path(f"/tmp/kizuna-{os.getuid()}")  # noqa: S108
    return Layout(
        home=None,
        config_file=config_home / "kizuna" / "config.toml",
        data_dir=data_home / "kizuna",
        runtime_dir=runtime_dir,
    )


def _xdg_dir(env: Mapping[str, str], name: str, default: Path) -> Path:
    # The XDG spec says relative values are invalid and must be ignored.
    value = env.get(name, "")
    return Path(value) if os.path.isabs(value) else default
