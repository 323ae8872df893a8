"""kizuna_client.settings: the effective configuration as config.toml-shaped data."""

from pathlib import Path
from typing import Any

import pytest

from kizuna_client._layout import resolve_layout
from kizuna_client.settings import SECTIONS, config_dict
from kizuna_client.v1 import config_pb2, node_pb2
from kizuna_server.config import DEVICE_TYPES, TrustMode, config_to_toml_dict, load_config
from kizuna_server.rpc.convert import config_to_proto


def _dict(home: Path, *overrides: str) -> dict[str, Any]:
    config = load_config(resolve_layout(home, env={}), env={}, overrides=list(overrides))
    return config_dict(config_to_proto(config))


def test_the_same_data_the_daemon_reads_from_config_toml(tmp_path: Path) -> None:
    config = load_config(
        resolve_layout(tmp_path, env={}),
        env={},
        overrides=["discovery.static_peers=a:1,[::1]:2", "api.tcp_address=127.0.0.1:0"],
    )

    data = config_dict(config_to_proto(config))

    assert data == config_to_toml_dict(config)
    assert list(data) == list(SECTIONS)


@pytest.mark.parametrize("mode", [mode.value for mode in TrustMode])
def test_trust_mode_is_spelled_as_in_config_toml(tmp_path: Path, mode: str) -> None:
    data = _dict(tmp_path, f"security.trust_mode={mode}")

    assert data["security"]["trust_mode"] == mode


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_device_type_is_spelled_as_in_config_toml(tmp_path: Path, device_type: str) -> None:
    data = _dict(tmp_path, f"identity.device_type={device_type}")

    assert data["identity"]["device_type"] == device_type


def test_a_value_this_client_does_not_know_stays_a_number() -> None:
    config = config_pb2.Config()
    config.security.trust_mode = config_pb2.TrustMode.ValueType(42)  # a newer daemon's mode
    config.identity.device_type = node_pb2.DEVICE_TYPE_TABLET

    data = config_dict(config)

    assert data["security"]["trust_mode"] == 42
    assert data["identity"]["device_type"] == "tablet"


def test_notes_only_when_the_daemon_has_some(tmp_path: Path) -> None:
    assert "notes" not in _dict(tmp_path)

    data = _dict(tmp_path, "networking.enable_quic=true")

    assert data["networking"]["enable_quic"] is True
    notes = data["notes"]
    assert list(notes) == ["networking.enable_quic"]
    assert "TCP with TLS 1.3" in notes["networking.enable_quic"]


def test_plugin_entries_are_tables() -> None:
    config = config_pb2.Config()
    config.plugins.enabled.append("transfers")
    config.plugins.entries.add(name="commands", enabled=False)

    plugins = config_dict(config)["plugins"]

    assert plugins == {
        "enabled": ["transfers"],
        "entries": [{"name": "commands", "path": "", "enabled": False}],
    }


def test_an_empty_home_is_left_out(tmp_path: Path) -> None:
    config = config_pb2.Config()
    config.paths.data_dir = str(tmp_path)

    paths = config_dict(config)["paths"]

    assert paths == {"config_file": "", "data_dir": str(tmp_path), "runtime_dir": ""}
    assert "home" in _dict(tmp_path)["paths"]
