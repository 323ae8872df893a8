"""Tests for configuration loading: defaults, TOML, environment, --set and their errors."""

import dataclasses
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from kizuna_client._layout import Layout, resolve_layout
from kizuna_server.config import (
    BUILTIN_PLUGINS,
    PLUGINS,
    RESERVED_ENV_VARS,
    Config,
    TrustMode,
    config_to_toml_dict,
    load_config,
    parse_host_port,
    unavailable_preferences,
)
from kizuna_server.core.device_id import device_id_from_public_key_der, format_device_id
from kizuna_server.errors import ConfigError, InvalidArgument

DEVICE_ID = device_id_from_public_key_der(b"any bytes")


def _load(
    home: Path,
    toml: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    config_file: Path | None = None,
) -> Config:
    """Loads with `home` as KIZUNA_HOME-style layout, writing `toml` as its config file."""
    layout = resolve_layout(home, env={})
    if toml is not None:
        home.mkdir(parents=True, exist_ok=True)
        layout.config_file.write_text(toml, encoding="utf-8")
    return load_config(layout, config_file=config_file, env=env or {}, overrides=overrides)


def _config_error(
    home: Path,
    toml: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    config_file: Path | None = None,
) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(home, toml, env=env, overrides=overrides, config_file=config_file)
    return caught.value


# --- defaults and values ----------------------------------------------------------------------


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "studio")

    config = _load(tmp_path)

    assert config.identity.device_name == "studio"
    assert config.identity.device_type == "desktop"
    assert config.discovery.enable_mdns is True
    assert config.discovery.interval_secs == 30
    assert config.discovery.timeout_secs == 120
    assert config.discovery.static_peers == ()
    assert config.discovery.interfaces == ()
    assert (config.discovery.ipv4, config.discovery.ipv6) == (True, True)
    assert config.security.trust_mode is TrustMode.MANUAL
    assert config.security.allowlist == ()
    assert config.security.pairing_timeout_secs == 120
    assert config.networking.listen_port == 47120
    assert config.networking.listen_address == ""
    assert config.networking.max_peers == 256
    assert config.api.socket_path == tmp_path / "run" / "kizuna.sock"
    assert config.api.tcp_address == ""
    assert config.api.token_file == tmp_path / "data" / "api-token"
    assert config.api.event_replay_size == 10_000
    assert config.api.event_queue_size == 1024
    assert config.api.shutdown_grace_secs == 5.0
    assert config.plugins.enabled == (*PLUGINS, *BUILTIN_PLUGINS)
    assert config.paths.home == tmp_path
    assert config.paths.config_file == tmp_path / "config.toml"
    assert config.paths.data_dir == tmp_path / "data"
    assert config.paths.runtime_dir == tmp_path / "run"


@pytest.mark.parametrize(
    ("hostname", "device_name"),
    [
        ("bell\x07host\n", "bellhost"),
        ("h" * 100, "h" * 64),
        ("\x00\x01", "kizuna-device"),
        ("", "kizuna-device"),
    ],
)
def test_default_device_name_is_a_cleaned_hostname(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostname: str, device_name: str
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: hostname)

    assert _load(tmp_path).identity.device_name == device_name


def test_toml_values(tmp_path: Path) -> None:
    grouped_id = format_device_id(DEVICE_ID).lower()
    config = _load(
        tmp_path,
        f"""
        [identity]
        device_name = "Kitchen tablet ✓"
        device_type = "tablet"

        [discovery]
        enable_mdns = false
        interval_secs = 10
        timeout_secs = 10
        static_peers = ["192.168.1.20:47120", "[fe80::1]:9", "nas.local:1"]
        interfaces = ["eth0", "wlan0"]
        ipv6 = false

        [security]
        trust_mode = "allowlist_only"
        allowlist = ["{grouped_id}"]
        pairing_timeout_secs = 10

        [networking]
        listen_port = 0
        listen_address = "::"
        max_peers = 10000

        [api]
        socket_path = "/run/k.sock"
        tcp_address = "127.0.0.1:0"
        token_file = "/secrets/token"
        event_replay_size = 16
        event_queue_size = 100000
        shutdown_grace_secs = 0

        [plugins]
        enabled = ["streams"]
        """,
    )

    assert config.identity.device_name == "Kitchen tablet ✓"
    assert config.identity.device_type == "tablet"
    assert config.discovery.enable_mdns is False
    assert (config.discovery.interval_secs, config.discovery.timeout_secs) == (10, 10)
    assert config.discovery.static_peers == ("192.168.1.20:47120", "[fe80::1]:9", "nas.local:1")
    assert config.discovery.interfaces == ("eth0", "wlan0")
    assert (config.discovery.ipv4, config.discovery.ipv6) == (True, False)
    assert config.security.trust_mode is TrustMode.ALLOWLIST_ONLY
    assert config.security.allowlist == (DEVICE_ID,)
    assert config.security.pairing_timeout_secs == 10
    assert config.networking.listen_port == 0
    assert config.networking.listen_address == "::"
    assert config.networking.max_peers == 10000
    assert config.api.socket_path == Path("/run/k.sock")
    assert config.api.tcp_address == "127.0.0.1:0"
    assert config.api.token_file == Path("/secrets/token")
    assert config.api.event_replay_size == 16
    assert config.api.event_queue_size == 100_000
    assert config.api.shutdown_grace_secs == 0.0
    assert isinstance(config.api.shutdown_grace_secs, float)
    assert config.plugins.enabled == ("streams",)


def test_missing_default_config_file_means_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path / "never-created").discovery.interval_secs == 30


def test_config_is_frozen(tmp_path: Path) -> None:
    config = _load(tmp_path)

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.discovery.interval_secs = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "tcp_address", ["127.0.0.1:0", "127.8.9.10:5000", "[::1]:65535", "localhost:47122"]
)
def test_loopback_tcp_addresses_are_accepted(tmp_path: Path, tcp_address: str) -> None:
    config = _load(tmp_path, overrides=[f"api.tcp_address={tcp_address}"])

    assert config.api.tcp_address == tcp_address


# --- precedence -------------------------------------------------------------------------------


def test_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    toml = "[discovery]\ninterval_secs = 10\nipv6 = false\n[networking]\nmax_peers = 5\n"
    env = {"KIZUNA_DISCOVERY_INTERVAL_SECS": "20", "KIZUNA_NETWORKING_MAX_PEERS": "6"}

    config = _load(tmp_path, toml, env=env, overrides=["discovery.interval_secs=25"])

    assert config.discovery.interval_secs == 25  # --set beats env, file and default
    assert config.networking.max_peers == 6  # env beats file and default
    assert config.discovery.ipv6 is False  # file beats default
    assert config.discovery.timeout_secs == 120  # default


def test_later_override_wins(tmp_path: Path) -> None:
    config = _load(tmp_path, overrides=["api.event_queue_size=100", "api.event_queue_size=200"])

    assert config.api.event_queue_size == 200


def test_cross_field_rules_apply_to_the_merged_result(tmp_path: Path) -> None:
    # Each source alone would be fine or not; only the final values are compared.
    config = _load(
        tmp_path,
        "[discovery]\ninterval_secs = 600\nipv4 = false\n",
        env={"KIZUNA_DISCOVERY_TIMEOUT_SECS": "900"},
        overrides=["discovery.ipv4=true", "discovery.ipv6=false"],
    )

    assert (config.discovery.interval_secs, config.discovery.timeout_secs) == (600, 900)
    assert (config.discovery.ipv4, config.discovery.ipv6) == (True, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("On", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_bool_words_from_text(tmp_path: Path, text: str, expected: bool) -> None:
    config = _load(tmp_path, env={"KIZUNA_DISCOVERY_ENABLE_MDNS": text})

    assert config.discovery.enable_mdns is expected


def test_text_values_are_parsed_by_type(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        env={
            "KIZUNA_IDENTITY_DEVICE_NAME": "from env",
            "KIZUNA_DISCOVERY_STATIC_PEERS": "10.0.0.1:1, [::1]:2",
            "KIZUNA_SECURITY_TRUST_MODE": "trust_all",
            "KIZUNA_API_SHUTDOWN_GRACE_SECS": "2.5",
        },
        overrides=["plugins.enabled=", "security.allowlist=" + DEVICE_ID.lower()],
    )

    assert config.identity.device_name == "from env"
    assert config.discovery.static_peers == ("10.0.0.1:1", "[::1]:2")
    assert config.security.trust_mode is TrustMode.TRUST_ALL
    assert config.api.shutdown_grace_secs == 2.5
    assert config.plugins.enabled == ()
    assert config.security.allowlist == (DEVICE_ID,)


def test_override_value_may_contain_equals(tmp_path: Path) -> None:
    config = _load(tmp_path, overrides=["identity.device_name=a=b"])

    assert config.identity.device_name == "a=b"


def test_reserved_and_foreign_env_vars_are_ignored(tmp_path: Path) -> None:
    env = dict.fromkeys(RESERVED_ENV_VARS - {"KIZUNA_CONFIG"}, "whatever")
    env |= {"PATH": "/bin", "kizuna_lower_case": "x", "XKIZUNA_FOO": "x"}

    assert _load(tmp_path, env=env).discovery.interval_secs == 30


def test_kizuna_config_env_chooses_the_file(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[discovery]\ninterval_secs = 7\n", encoding="utf-8")

    config = _load(tmp_path / "home", env={"KIZUNA_CONFIG": str(other)})

    assert config.discovery.interval_secs == 7
    assert config.paths.config_file == other


def test_config_flag_wins_over_kizuna_config(tmp_path: Path) -> None:
    flag = tmp_path / "flag.toml"
    flag.write_text("[discovery]\ninterval_secs = 8\n", encoding="utf-8")
    env = {"KIZUNA_CONFIG": str(tmp_path / "missing.toml")}

    config = _load(tmp_path / "home", env=env, config_file=flag)

    assert config.discovery.interval_secs == 8
    assert config.paths.config_file == flag


# --- paths ------------------------------------------------------------------------------------


def test_relative_paths_in_toml_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/")
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "k.toml").write_text(
        '[api]\nsocket_path = "s.sock"\ntoken_file = "../secrets/token"\n', encoding="utf-8"
    )

    config = _load(tmp_path / "home", config_file=config_dir / "k.toml")

    assert config.api.socket_path == config_dir / "s.sock"
    assert config.api.token_file == tmp_path / "secrets" / "token"


def test_relative_paths_from_env_and_overrides_resolve_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = _load(
        tmp_path / "home",
        "[api]\nsocket_path = 'ignored.sock'\n",
        env={"KIZUNA_API_SOCKET_PATH": "env.sock"},
        overrides=["api.token_file=sub/token"],
    )

    assert config.api.socket_path == tmp_path / "env.sock"
    assert config.api.token_file == tmp_path / "sub" / "token"


def test_relative_config_flag_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.toml").write_text("[discovery]\ninterval_secs = 9\n", encoding="utf-8")

    config = _load(tmp_path / "home", config_file=Path("k.toml"))

    assert config.paths.config_file == tmp_path / "k.toml"
    assert config.discovery.interval_secs == 9


# --- errors -----------------------------------------------------------------------------------


class Bad(NamedTuple):
    """One bad value, tried from each source: as a TOML literal and as env / --set text."""

    key: str
    literal: str
    text: str
    says: str
    item: str | None = None  # the offending list item, shown instead of the whole value


BAD_VALUES = [
    Bad("discovery.interval_secs", "-5", "-5", "expected an integer from 1 to 3600"),
    Bad("networking.max_peers", '"12"', "twelve", "expected an integer from 1 to 10000"),
    Bad(
        "networking.listen_port",
        "true",
        "true",
        "expected 0 (pick a free port) or an integer from 1024 to 65535",
    ),
    Bad(
        "networking.listen_port",
        "22",
        "22",
        "expected 0 (pick a free port) or an integer from 1024 to 65535",
    ),
    Bad("discovery.enable_mdns", "1", "maybe", "true"),
    Bad("api.shutdown_grace_secs", "60.5", "61", "expected a number from 0 to 60"),
    Bad("api.shutdown_grace_secs", "nan", "nan", "expected a number from 0 to 60"),
    Bad("identity.device_type", '"fridge"', "fridge", "expected one of 'desktop'"),
    Bad("identity.device_name", '"a\\u0007b"', "a\x07b", "without control characters"),
    Bad("identity.device_name", '""', "", "1 to 64 characters"),
    Bad("identity.device_name", '"' + "n" * 65 + '"', "n" * 65, "1 to 64 characters"),
    Bad("security.trust_mode", '"all"', "all", "expected one of 'manual'"),
    Bad("security.pairing_timeout_secs", "5", "5", "from 10 to 3600"),
    Bad("api.tcp_address", '"0.0.0.0:8080"', "0.0.0.0:8080", "only listens on loopback"),
    Bad("api.tcp_address", '"[::]:1"', "[::]:1", "only listens on loopback"),
    Bad("api.tcp_address", '"localhost"', "localhost", "missing ':port'"),
    Bad("networking.listen_address", '"eth0"', "eth0", "an IP address"),
    Bad("discovery.static_peers", '["a:1", "nas"]', "a:1,nas", "missing ':port'", item="nas"),
    Bad("discovery.static_peers", '["nas:0"]', "nas:0", "port must be from 1", item="nas:0"),
    Bad("discovery.static_peers", '["::1:9"]', "::1:9", "needs brackets", item="::1:9"),
    Bad("discovery.interfaces", '[""]', "eth0,", "non-empty interface name", item=""),
    Bad("security.allowlist", '["bad-id"]', "bad-id", "52 base32 characters", item="bad-id"),
    Bad(
        "plugins.enabled",
        '["Video"]',
        "Video",
        "expected a plugin name (a-z, 0-9, '-')",
        item="Video",
    ),
    Bad("plugins.enabled", '["streams", "streams"]', "streams,streams", "lists 'streams' twice"),
    Bad("api.event_queue_size", "8", "8", "from 16 to 100000"),
    Bad("api.socket_path", '"/' + "d" * 120 + '"', "/" + "d" * 120, "--home / KIZUNA_HOME"),
    Bad("api.token_file", '""', "", "expected a file path"),
]


def _source_inputs(
    source: str, home: Path, settings: Mapping[str, tuple[str, str]]
) -> tuple[str | None, dict[str, str], list[str], str]:
    """The TOML, env and overrides that set each `key` to (TOML literal, text), and the label."""
    if source == "toml":
        tables: dict[str, list[str]] = {}
        for key, (literal, _) in settings.items():
            section, name = key.split(".")
            tables.setdefault(section, []).append(f"{name} = {literal}")
        lines = [line for section, body in tables.items() for line in [f"[{section}]", *body]]
        return "\n".join(lines), {}, [], f"(in {home / 'config.toml'})"
    if source == "env":
        env = {
            "KIZUNA_" + key.replace(".", "_").upper(): text for key, (_, text) in settings.items()
        }
        return None, env, [], "(from environment variable KIZUNA_"
    return None, {}, [f"{key}={text}" for key, (_, text) in settings.items()], "(from --set)"


@pytest.mark.parametrize("source", ["toml", "env", "set"])
@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda bad: f"{bad.key}={bad.text[:20]}")
def test_bad_value_names_key_value_and_source(tmp_path: Path, source: str, bad: Bad) -> None:
    settings = {bad.key: (bad.literal, bad.text)}
    toml, env, overrides, label = _source_inputs(source, tmp_path, settings)

    error = _config_error(tmp_path, toml, env=env, overrides=overrides)

    if bad.item is not None:
        shown: object = bad.item
    elif source == "toml":
        shown = tomllib.loads(f"v = {bad.literal}")["v"]
    else:
        shown = bad.text
    assert error.message.startswith(f"{bad.key}: ")
    assert bad.says in error.message
    assert f"got {repr(shown)[:60]}" in error.message
    assert label in error.message
    assert error.metadata == {"key": bad.key}


def test_list_must_be_a_list_in_toml(tmp_path: Path) -> None:
    # From text every value is a list (comma-separated), so only TOML can give a non-list.
    error = _config_error(tmp_path, '[discovery]\nstatic_peers = "a:1"\n')

    assert error.message == (
        "discovery.static_peers: expected a list of host:port addresses, got 'a:1' "
        f"(in {tmp_path / 'config.toml'})"
    )


@pytest.mark.parametrize("source", ["toml", "env", "set"])
def test_timeout_shorter_than_interval(tmp_path: Path, source: str) -> None:
    settings = {"discovery.interval_secs": ("60", "60"), "discovery.timeout_secs": ("30", "30")}
    toml, env, overrides, label = _source_inputs(source, tmp_path, settings)

    error = _config_error(tmp_path, toml, env=env, overrides=overrides)

    assert error.message.startswith("discovery.timeout_secs: must be at least")
    assert "discovery.interval_secs (60," in error.message
    assert "got 30" in error.message
    assert label in error.message
    assert error.metadata == {"key": "discovery.timeout_secs"}


@pytest.mark.parametrize("source", ["toml", "env", "set"])
def test_ipv4_and_ipv6_both_off(tmp_path: Path, source: str) -> None:
    settings = {"discovery.ipv4": ("false", "false"), "discovery.ipv6": ("false", "no")}
    toml, env, overrides, label = _source_inputs(source, tmp_path, settings)

    error = _config_error(tmp_path, toml, env=env, overrides=overrides)

    assert "discovery.ipv4 and discovery.ipv6: at least one must be true" in error.message
    assert "ipv4=False" in error.message
    assert "ipv6=False" in error.message
    assert label in error.message


def test_default_values_are_named_as_such_in_cross_field_errors(tmp_path: Path) -> None:
    error = _config_error(tmp_path, overrides=["discovery.interval_secs=600"])

    assert "(600, from --set)" in error.message
    assert "got 120 (the default)" in error.message


def test_unknown_section_in_toml(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "[discovry]\nenable_mdns = true\n")

    assert error.message == (
        f"unknown section 'discovry' in {tmp_path / 'config.toml'} (did you mean 'discovery'?)"
    )
    assert error.metadata == {"key": "discovry"}


def test_unknown_key_in_toml_suggests_the_closest(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "[discovery]\nenable_mdsn = true\n")

    assert error.message == (
        f"unknown key 'discovery.enable_mdsn' in {tmp_path / 'config.toml'} "
        "(did you mean 'enable_mdns'?)"
    )
    assert error.metadata == {"key": "discovery.enable_mdsn"}


def test_unknown_key_without_close_match_has_no_suggestion(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "[api]\nzzz = 1\n")

    assert error.message == f"unknown key 'api.zzz' in {tmp_path / 'config.toml'}"


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("netwrking.max_peers=3", "unknown section 'netwrking' from --set (did you mean"),
        ("networking.max_peer=3", "unknown key 'networking.max_peer' from --set (did you mean"),
        ("max_peers=3", "unknown section 'max_peers' from --set"),
        ("networking.max_peers", "--set expects section.key=value, got 'networking.max_peers'"),
        ("paths.data_dir=/x", "unknown section 'paths' from --set; paths come from --home"),
    ],
)
def test_bad_override_names(tmp_path: Path, override: str, says: str) -> None:
    assert says in _config_error(tmp_path, overrides=[override]).message


def test_paths_cannot_be_set_in_toml(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "[paths]\ndata_dir = '/x'\n")

    assert "unknown section 'paths' in" in error.message
    assert "--home / KIZUNA_HOME" in error.message


def test_section_must_be_a_table(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "discovery = 5\n")

    assert error.message == (
        f"discovery: expected a table [discovery], got 5 (in {tmp_path / 'config.toml'})"
    )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("KIZUNA_DISCOVERY_ENABLE_MDSN", "(did you mean 'KIZUNA_DISCOVERY_ENABLE_MDNS'?)"),
        ("KIZUNA_PATHS_DATA_DIR", "unknown environment variable KIZUNA_PATHS_DATA_DIR"),
        ("KIZUNA_", "unknown environment variable KIZUNA_"),
    ],
)
def test_unknown_kizuna_env_var(tmp_path: Path, name: str, says: str) -> None:
    error = _config_error(tmp_path, env={name: "1"})

    assert says in error.message
    assert error.metadata == {"key": name}


def test_too_long_default_socket_path_asks_for_a_shorter_home(tmp_path: Path) -> None:
    home = tmp_path / ("h" * 100)

    error = _config_error(home)

    assert error.message.startswith("api.socket_path: the socket path is")
    assert "use a shorter --home / KIZUNA_HOME" in error.message
    assert "(the default)" in error.message


def test_socket_path_limit_counts_encoded_bytes(tmp_path: Path) -> None:
    # 60 two-byte characters: 60 characters but 120 bytes.
    error = _config_error(tmp_path, overrides=["api.socket_path=/" + "é" * 60])

    assert "bytes" in error.message


def test_invalid_toml_names_file_and_position(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "[discovery]\ninterval_secs = = 3\n")

    assert str(tmp_path / "config.toml") in error.message
    assert "is not valid TOML" in error.message
    assert "line 2" in error.message


def test_non_utf8_toml_is_invalid(tmp_path: Path) -> None:
    tmp_path.joinpath("config.toml").write_bytes(b"[identity]\ndevice_name = '\xff'\n")

    assert "is not valid TOML" in _config_error(tmp_path).message


def test_explicit_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"

    error = _config_error(tmp_path, config_file=missing)

    assert error.message == (
        f"paths.config_file: the config file does not exist, got {str(missing)!r} (from --config)"
    )
    assert error.metadata == {"key": "paths.config_file"}


def test_missing_file_from_kizuna_config(tmp_path: Path) -> None:
    error = _config_error(tmp_path, env={"KIZUNA_CONFIG": str(tmp_path / "missing.toml")})

    assert "(from environment variable KIZUNA_CONFIG)" in error.message


def test_unreadable_config_file(tmp_path: Path) -> None:
    error = _config_error(tmp_path, config_file=tmp_path)  # a directory

    assert f"cannot read config file {tmp_path}" in error.message


def test_long_values_are_truncated_in_messages(tmp_path: Path) -> None:
    error = _config_error(tmp_path, overrides=["identity.device_name=" + "x" * 500])

    assert "x" * 200 not in error.message
    assert "...'" not in error.message
    assert "'" + "x" * 60 in error.message
    assert len(error.message) < 300


def test_config_error_is_an_invalid_argument(tmp_path: Path) -> None:
    error = _config_error(tmp_path, overrides=["api.event_queue_size=1"])

    assert isinstance(error, InvalidArgument)
    assert error.reason == "INVALID_ARGUMENT"


# --- the effective configuration as data ------------------------------------------------------


def test_config_to_toml_dict(tmp_path: Path) -> None:
    config = _load(tmp_path, overrides=["security.trust_mode=trust_all"])

    data = config_to_toml_dict(config)

    assert data["security"] == {
        "trust_mode": "trust_all",
        "allowlist": [],
        "pairing_timeout_secs": 120,
        "enable_encryption": True,
        "require_authentication": True,
        "key_storage_path": str(tmp_path / "data"),
    }
    assert type(data["security"]["trust_mode"]) is str
    assert data["api"]["socket_path"] == str(tmp_path / "run" / "kizuna.sock")
    assert data["plugins"] == {"enabled": [*PLUGINS, *BUILTIN_PLUGINS], "entries": []}
    assert data["paths"]["home"] == str(tmp_path)


def test_unset_home_is_left_out(tmp_path: Path) -> None:
    layout = resolve_layout(env={"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)})

    data = config_to_toml_dict(load_config(layout, env={}))

    assert "home" not in data["paths"]
    assert data["paths"]["runtime_dir"] == str(tmp_path / "kizuna")


def test_toml_dict_reloads_to_the_same_config(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        overrides=[
            "discovery.static_peers=a:1,[::1]:2",
            f"security.allowlist={DEVICE_ID}",
            "api.tcp_address=127.0.0.1:0",
        ],
    )
    data = config_to_toml_dict(config)
    del data["paths"]
    # JSON scalars and arrays of strings are valid TOML values.
    toml = "\n".join(
        f"[{section}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
        for section, table in data.items()
    )

    assert _load(tmp_path / "again", toml) == dataclasses.replace(
        config, paths=_load(tmp_path / "again").paths
    )


# --- host:port --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "default_port", "expected"),
    [
        ("example.local:80", None, ("example.local", 80)),
        ("10.0.0.1:0", None, ("10.0.0.1", 0)),
        ("[::1]:47120", None, ("::1", 47120)),
        ("[fe80::1%eth0]:9", None, ("fe80::1%eth0", 9)),
        ("nas", 47120, ("nas", 47120)),
        ("[::1]", 5, ("::1", 5)),
    ],
)
def test_parse_host_port(text: str, default_port: int | None, expected: tuple[str, int]) -> None:
    assert parse_host_port(text, default_port=default_port) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("nas", "missing ':port'"),
        (":80", "non-empty host"),
        ("my host:80", "no spaces"),
        ("nas:http", "port must be a number from 0 to 65535, not 'http'"),
        ("nas:65536", "not '65536'"),
        ("nas:-1", "not '-1'"),
        ("nas:", "not ''"),
        ("::1:80", "needs brackets"),
        ("[::1:80", "missing ']'"),
        ("[::1]80", "expected ':port' after ']'"),
        ("[10.0.0.1]:80", "expected an IPv6 address"),
        ("[nas]:80", "expected an IPv6 address"),
    ],
)
def test_parse_host_port_errors(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_host_port(text)


def test_every_key_is_documented() -> None:
    from kizuna_server.config import config_to_toml_dict

    docs = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    config = load_config(resolve_layout(Path("/tmp/kz-docs")), env={})
    for section, values in config_to_toml_dict(config).items():
        if section == "paths":
            continue
        for key in values:
            assert f"`{section}.{key}`" in docs, f"{section}.{key} is missing from the docs"


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return resolve_layout(tmp_path, env={})


def test_the_api_tcp_port_may_not_be_one_of_the_daemons_peer_ports(layout: Layout) -> None:
    # The README once suggested 127.0.0.1:47121: the pairing port, so the daemon could not start.
    for port, which in ((47120, "link"), (47121, "pairing")):
        with pytest.raises(ConfigError, match=f"own peer {which} port.*such as 47122") as caught:
            load_config(layout, env={}, overrides=[f"api.tcp_address=127.0.0.1:{port}"])
        assert caught.value.metadata["key"] == "api.tcp_address"
    moved = load_config(
        layout, env={}, overrides=["networking.listen_port=50000", "api.tcp_address=[::1]:47121"]
    )
    assert moved.api.tcp_address == "[::1]:47121"


def test_the_seeds_configuration_keys_are_accepted(layout: Layout) -> None:
    seed = {
        "identity": {"device_name": "My Python App", "user_name": "Alice"},
        "discovery": {
            "enable_mdns": True,
            "enable_udp": True,
            "enable_bluetooth": False,
            "interval_secs": 5,
            "timeout_secs": 30,
        },
        "security": {
            "enable_encryption": True,
            "require_authentication": True,
            "trust_mode": "manual",
        },
        "networking": {
            "listen_port": 8080,
            "enable_ipv6": True,
            "enable_quic": True,
            "enable_webrtc": True,
            "enable_websocket": True,
            "connection_timeout_secs": 30,
        },
        "plugins": [{"name": "commands", "path": "", "enabled": False, "config": {}}],
    }
    config = load_config(layout, env={}, data=seed)
    assert config.identity.user_name == "Alice"
    assert (config.discovery.enable_udp, config.discovery.interval_secs) == (True, 5)
    assert config.networking.listen_port == 8080
    assert config.networking.connection_timeout_secs == 30
    assert "commands" not in config.plugins.enabled
    assert config.networking.enable_webrtc  # acted on: media streams use WebRTC
    assert sorted(unavailable_preferences(config)) == [
        "networking.enable_quic",
        "networking.enable_websocket",
    ]


@pytest.mark.parametrize("key", ["enable_encryption", "require_authentication"])
def test_switches_that_would_weaken_security_are_refused(layout: Layout, key: str) -> None:
    with pytest.raises(ConfigError, match=f"security.{key}: .*cannot be turned off") as caught:
        load_config(layout, env={}, data={"security": {key: False}})
    assert caught.value.metadata["key"] == f"security.{key}"


def test_ipv6_off_means_ipv4_only_and_not_no_address_family(layout: Layout) -> None:
    config = load_config(layout, env={}, data={"networking": {"enable_ipv6": False}})
    assert (config.discovery.ipv4, config.discovery.ipv6) == (True, False)
    with pytest.raises(ConfigError, match="at least one must be true"):
        load_config(
            layout,
            env={},
            data={"networking": {"enable_ipv6": False}, "discovery": {"ipv4": False}},
        )


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"name": "fax", "enabled": True}, "no plugin named 'fax' is installed"),
        ({"name": "fax", "path": "/opt/x.so"}, "'path' is a module path"),
        ({"name": "Fax", "path": "fax.plugin:Fax"}, "a plugin name is a-z"),
        ({"name": "streams", "path": "/opt/x.so"}, "is built in"),
        ({"name": "streams", "config": {"a": 1}}, "takes no 'config'"),
        ({"name": "streams", "colour": "red"}, "unknown field 'colour'"),
        ("streams", "expected a table"),
    ],
)
def test_plugin_entries_this_version_cannot_honour_are_refused_with_the_reason(
    layout: Layout, entry: object, reason: str
) -> None:
    with pytest.raises(ConfigError, match=f"plugins.entries: entry 0: .*{reason}"):
        load_config(layout, env={}, data={"plugins": [entry]})
