"""Tests for the on-disk layout rule shared by the daemon and its clients."""

import os
from pathlib import Path

import pytest

from kizuna_client._layout import Layout, resolve_layout


def test_home_puts_everything_under_it(tmp_path: Path) -> None:
    layout = resolve_layout(tmp_path / "h", env={})

    assert layout == Layout(
        home=tmp_path / "h",
        config_file=tmp_path / "h" / "config.toml",
        data_dir=tmp_path / "h" / "data",
        runtime_dir=tmp_path / "h" / "run",
    )
    assert layout.socket_path == tmp_path / "h" / "run" / "kizuna.sock"
    assert layout.token_file == tmp_path / "h" / "data" / "api-token"
    assert layout.endpoint_file == tmp_path / "h" / "run" / "daemon.json"
    assert layout.lock_file == tmp_path / "h" / "run" / "daemon.lock"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    resolve_layout(tmp_path / "h", env={})
    resolve_layout(env={"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "run")})

    assert list(tmp_path.iterdir()) == []


def test_explicit_home_wins_over_kizuna_home(tmp_path: Path) -> None:
    layout = resolve_layout(tmp_path / "flag", env={"KIZUNA_HOME": str(tmp_path / "env")})

    assert layout.home == tmp_path / "flag"


def test_kizuna_home_is_used_without_explicit_home(tmp_path: Path) -> None:
    layout = resolve_layout(env={"KIZUNA_HOME": str(tmp_path / "env")})

    assert layout.home == tmp_path / "env"
    assert layout.config_file == tmp_path / "env" / "config.toml"


def test_relative_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert resolve_layout("a/../b", env={}).home == tmp_path / "b"
    assert resolve_layout(env={"KIZUNA_HOME": "c"}).home == tmp_path / "c"


def test_home_expands_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    assert resolve_layout("~/kz", env={}).home == tmp_path / "kz"


def test_empty_kizuna_home_means_xdg(tmp_path: Path) -> None:
    layout = resolve_layout(env={"KIZUNA_HOME": "", "HOME": str(tmp_path)})

    assert layout.home is None
    assert layout.config_file == tmp_path / ".config" / "kizuna" / "config.toml"


def test_xdg_defaults_come_from_home(tmp_path: Path) -> None:
    layout = resolve_layout(env={"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/7"})

    assert layout == Layout(
        home=None,
        config_file=tmp_path / ".config" / "kizuna" / "config.toml",
        data_dir=tmp_path / ".local" / "share" / "kizuna",
        runtime_dir=Path("/run/user/7/kizuna"),
    )


def test_xdg_variables_are_honoured(tmp_path: Path) -> None:
    layout = resolve_layout(
        env={
            "HOME": str(tmp_path / "ignored"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_RUNTIME_DIR": str(tmp_path / "rt"),
        }
    )

    assert layout.config_file == tmp_path / "cfg" / "kizuna" / "config.toml"
    assert layout.data_dir == tmp_path / "data" / "kizuna"
    assert layout.runtime_dir == tmp_path / "rt" / "kizuna"
    assert layout.socket_path == tmp_path / "rt" / "kizuna" / "kizuna.sock"


def test_relative_xdg_values_are_ignored(tmp_path: Path) -> None:
    layout = resolve_layout(
        env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": "cfg", "XDG_DATA_HOME": "data"}
    )

    assert layout.config_file == tmp_path / ".config" / "kizuna" / "config.toml"
    assert layout.data_dir == tmp_path / ".local" / "share" / "kizuna"


@pytest.mark.parametrize("runtime_dir", [None, "", "relative"])
def test_runtime_dir_falls_back_to_tmp_per_user(tmp_path: Path, runtime_dir: str | None) -> None:
    env = {"HOME": str(tmp_path)}
    if runtime_dir is not None:
        env["XDG_RUNTIME_DIR"] = runtime_dir

    layout = resolve_layout(env=env)

    assert layout.runtime_dir == Path(f"/tmp/kizuna-{os.getuid()}")


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUNA_HOME", str(tmp_path))

    assert resolve_layout().home == tmp_path


def test_layout_is_frozen(tmp_path: Path) -> None:
    layout = resolve_layout(tmp_path, env={})

    with pytest.raises(AttributeError):
        layout.home = None  # type: ignore[misc]
