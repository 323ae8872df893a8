"""The daemon's configuration: one typed, frozen `Config`, its schema and its loading rules.

Precedence, lowest first: defaults < TOML file < an embedding app's settings <
`KIZUNA_<SECTION>_<KEY>` environment < `--set`.
"""

import dataclasses
import difflib
import ipaddress
import os
import re
import socket
import tomllib
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final

from kizuna_client._layout import Layout
from kizuna_server.commands.allowlist import RISKS, AllowListError, parse_allowlist
from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import ConfigError, InvalidArgument

__all__ = [
    "BUILTIN_PLUGINS",
    "DEVICE_TYPES",
    "PLUGINS",
    "PREFERENCES",
    "RESERVED_ENV_VARS",
    "ApiConfig",
    "CommandsConfig",
    "Config",
    "DiscoveryConfig",
    "IdentityConfig",
    "NetworkingConfig",
    "PathsConfig",
    "PluginEntry",
    "PluginsConfig",
    "SecurityConfig",
    "StreamsConfig",
    "TransfersConfig",
    "TrustMode",
    "config_to_toml_dict",
    "default_listen_port",
    "load_config",
    "parse_host_port",
    "personal_inbox",
    "unavailable_preferences",
]


class TrustMode(StrEnum):
    """How the daemon answers a pairing request from a device it does not know yet."""

    MANUAL = "manual"  # ask the user through the API
    TRUST_ALL = "trust_all"  # accept every device (test rigs, kiosks)
    ALLOWLIST_ONLY = "allowlist_only"  # accept only security.allowlist, refuse the rest


DEVICE_TYPES: Final = ("desktop", "laptop", "phone", "tablet", "server", "tv", "other")
PLUGINS: Final = ("transfers", "streams", "commands")
#: Plugins shipped with Kizuna (found by entry point like any other; on by default).
BUILTIN_PLUGINS: Final = ("text", "clipboard")
_PLUGIN_NAME: Final = re.compile(r"[a-z][a-z0-9-]{0,31}")
#: A plugin's `path`: a module path with an optional attribute, or a Python file.
_PLUGIN_PATH: Final = re.compile(r"([A-Za-z_][\w.]*|.+\.py)(:[A-Za-z_]\w*)?")

#: `KIZUNA_*` variables that steer the daemon or CLI without being configuration keys.
RESERVED_ENV_VARS: Final = frozenset(
    {"KIZUNA_HOME", "KIZUNA_CONFIG", "KIZUNA_LOG_LEVEL", "KIZUNA_TARGET", "KIZUNA_TOKEN_FILE"}
)

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH_BYTES: Final = 107
_MAX_DEVICE_NAME: Final = 64
_MAX_SHOWN: Final = 80


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    device_name: str
    device_type: str
    user_name: str
    identity_path: Path


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    enable_mdns: bool
    interval_secs: int
    timeout_secs: int
    static_peers: tuple[str, ...]
    interfaces: tuple[str, ...]
    ipv4: bool
    ipv6: bool
    enable_udp: bool
    udp_port: int
    enable_bluetooth: bool


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    trust_mode: TrustMode
    allowlist: tuple[str, ...]
    pairing_timeout_secs: int
    enable_encryption: bool
    require_authentication: bool
    key_storage_path: Path


@dataclass(frozen=True, slots=True)
class NetworkingConfig:
    listen_port: int
    listen_address: str
    max_peers: int
    enable_ipv6: bool
    enable_quic: bool
    enable_webrtc: bool
    enable_websocket: bool
    connection_timeout_secs: int


@dataclass(frozen=True, slots=True)
class ApiConfig:
    socket_path: Path
    tcp_address: str
    token_file: Path
    event_replay_size: int
    event_queue_size: int
    shutdown_grace_secs: float
    event_batch_ms: int


@dataclass(frozen=True, slots=True)
class TransfersConfig:
    inbox: Path
    offer_timeout_secs: int
    free_space_reserve_mib: int
    max_files: int
    history_size: int
    max_pending_offers: int
    max_pending_offers_per_peer: int
    max_pending_files: int
    max_running: int
    max_running_per_peer: int


@dataclass(frozen=True, slots=True)
class StreamsConfig:
    offer_timeout_secs: int
    max_streams: int
    max_streams_per_peer: int


@dataclass(frozen=True, slots=True)
class CommandsConfig:
    """[commands]. `allow` holds the owner's [[commands.allow]] tables as written (checked
    at load: `commands.allowlist.parse_allowlist` reads them again, against
    `paths.config_file`'s folder)."""

    allow: tuple[Mapping[str, Any], ...]
    approve_from: str
    skip_approval_peers: tuple[str, ...]
    approval_timeout_secs: int
    max_runs: int
    max_runs_per_peer: int


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """One entry of the seed's plugin list: {name, path, enabled, config}."""

    name: str
    path: str
    enabled: bool
    config: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PluginsConfig:
    enabled: tuple[str, ...]
    entries: tuple[PluginEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class PathsConfig:
    """Derived from the layout (--home / KIZUNA_HOME) and --config; never set in TOML."""

    home: Path | None
    config_file: Path
    data_dir: Path
    runtime_dir: Path


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the daemon is configured with; built only by `load_config`."""

    identity: IdentityConfig
    discovery: DiscoveryConfig
    security: SecurityConfig
    networking: NetworkingConfig
    api: ApiConfig
    transfers: TransfersConfig
    streams: StreamsConfig
    commands: CommandsConfig
    plugins: PluginsConfig
    paths: PathsConfig


# --- host:port ------------------------------------------------------------------------------


def parse_host_port(text: str, *, default_port: int | None = None) -> tuple[str, int]:
    """Splits ``host:port`` or ``[ipv6]:port``; with `default_port` the port may be left out.

    >>> parse_host_port("[::1]:47120")
    ('::1', 47120)
    """
    port_text: str | None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError("missing ']' after the IPv6 address")
        _require_ip(host, "between '[' and ']'", version=6)
        if rest and not rest.startswith(":"):
            raise ValueError("expected ':port' after ']'")
        port_text = rest[1:] if rest else None
    elif ":" not in text:
        host, port_text = text, None
    else:
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise ValueError("an IPv6 address needs brackets, as in [::1]:47120")
    if not host or any(ch.isspace() for ch in host):
        raise ValueError("expected host:port with a non-empty host and no spaces")
    if port_text is None:
        if default_port is None:
            raise ValueError("missing ':port' (expected host:port, or [address]:port for IPv6)")
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise ValueError(f"the port must be a number from 0 to 65535, not {port_text!r}")
    return host, int(port_text)


def _require_ip(text: str, where: str, *, version: int) -> None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"expected an IPv{version} address {where}") from None
    if address.version != version:
        raise ValueError(f"expected an IPv{version} address {where}")


# --- value kinds ------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value failed its kind's check; `detail` replaces "expected <kind>" when more precise."""

    def __init__(self, detail: str | None = None, *, value: object = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.value = value  # the offending list item, when it is not the whole value


class _Kind(ABC):
    """How one key's value is read: from TOML (typed) or from text (env, --set), then checked."""

    @property
    @abstractmethod
    def expected(self) -> str:
        """Completes "expected ...", e.g. "an integer from 1 to 3600"."""

    def from_text(self, text: str) -> object:
        """Turns env / --set text into the value TOML would have given; strings stay strings."""
        return text

    @abstractmethod
    def check(self, raw: object, base_dir: Path) -> object:
        """Returns the typed value or raises _Invalid; relative paths resolve against base_dir."""


@dataclass(frozen=True)
class _Int(_Kind):
    low: int
    high: int
    zero: bool = False  # 0 is allowed too, meaning "pick one"

    @property
    def expected(self) -> str:
        span = f"an integer from {self.low} to {self.high}"
        return f"0 (pick a free port) or {span}" if self.zero else span

    def from_text(self, text: str) -> object:
        try:
            return int(text)
        except ValueError:
            raise _Invalid() from None

    def check(self, raw: object, base_dir: Path) -> object:
        # bool is a subclass of int in Python, but `true` is not a number in TOML.
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _Invalid()
        if not (self.low <= raw <= self.high or (self.zero and raw == 0)):
            raise _Invalid()
        return raw


@dataclass(frozen=True)
class _Float(_Kind):
    low: float
    high: float

    @property
    def expected(self) -> str:
        return f"a number from {self.low:g} to {self.high:g}"

    def from_text(self, text: str) -> object:
        try:
            return float(text)
        except ValueError:
            raise _Invalid() from None

    def check(self, raw: object, base_dir: Path) -> object:
        # NaN fails the range comparison, so it is refused too.
        if (
            not isinstance(raw, int | float)
            or isinstance(raw, bool)
            or not self.low <= raw <= self.high
        ):
            raise _Invalid()
        return float(raw)


_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class _Bool(_Kind):
    @property
    def expected(self) -> str:
        return "true or false"

    def from_text(self, text: str) -> object:
        word = text.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise _Invalid("expected true/false, 1/0, yes/no or on/off")

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, bool):
            raise _Invalid()
        return raw


@dataclass(frozen=True)
class _Fixed(_Bool):
    """A switch that must keep its one safe value; `reason` says why it cannot change."""

    value: bool
    reason: str

    def check(self, raw: object, base_dir: Path) -> object:
        if super().check(raw, base_dir) is not self.value:
            raise _Invalid(self.reason)
        return raw


@dataclass(frozen=True)
class _Choice(_Kind):
    options: tuple[str, ...]
    convert: Callable[[str], object] = str

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(repr(option) for option in self.options)

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, str) or raw not in self.options:
            raise _Invalid()
        return self.convert(raw)


@dataclass(frozen=True)
class _Text(_Kind):
    """A string checked and canonicalised by `convert`, which raises _Invalid."""

    description: str
    convert: Callable[[str], object]

    @property
    def expected(self) -> str:
        return self.description

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, str):
            raise _Invalid()
        return self.convert(raw)


@dataclass(frozen=True)
class _Path(_Kind):
    unix_socket: bool = False

    @property
    def expected(self) -> str:
        return "a file path"

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, str) or not raw or "\0" in raw:
            raise _Invalid()
        path = Path(os.path.abspath(base_dir / os.path.expanduser(raw)))
        size = len(os.fsencode(path))
        if self.unix_socket and size > _MAX_SOCKET_PATH_BYTES:
            raise _Invalid(
                f"the socket path is {size} bytes but a Unix socket path may have at most "
                f"{_MAX_SOCKET_PATH_BYTES}; use a shorter --home / KIZUNA_HOME or set "
                "api.socket_path"
            )
        return path


@dataclass(frozen=True)
class _List(_Kind):
    """A TOML array of `item`s; from text, comma-separated (the empty string is no items)."""

    item: _Kind
    noun: str
    unique: bool = False

    @property
    def expected(self) -> str:
        return f"a list of {self.noun}"

    def from_text(self, text: str) -> object:
        return [part.strip() for part in text.split(",")] if text.strip() else []

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, list):
            raise _Invalid()
        values = []
        for item in raw:
            try:
                value = self.item.check(item, base_dir)
            except _Invalid as invalid:
                raise _Invalid(
                    invalid.detail or f"expected {self.item.expected} in the list", value=item
                ) from None
            if self.unique and value in values:
                raise _Invalid(f"lists {item!r} twice")
            values.append(value)
        return tuple(values)


@dataclass(frozen=True)
class _CommandList(_Kind):
    """[[commands.allow]]: the owner's allow-list (docs/commands.md)."""

    @property
    def expected(self) -> str:
        return "a list of [[commands.allow]] tables"

    def from_text(self, text: str) -> object:
        raise _Invalid("the allow-list is set in the config file ([[commands.allow]])")

    def check(self, raw: object, base_dir: Path) -> object:
        try:
            parse_allowlist(raw, base_dir)
        except AllowListError as exc:
            raise _Invalid(str(exc)) from None
        assert isinstance(raw, list)
        return tuple(raw)


@dataclass(frozen=True)
class _PluginList(_Kind):
    """The seed's plugin list: an entry turns a built-in capability or a plugin on or off; a
    plugin's entry may name where it is (`path`) and carry its `config`."""

    @property
    def expected(self) -> str:
        return "a list of {name, path, enabled, config} tables"

    def from_text(self, text: str) -> object:
        raise _Invalid("the plugin list is set in the config file or by an embedding app")

    def check(self, raw: object, base_dir: Path) -> object:
        if not isinstance(raw, list):
            raise _Invalid()
        entries = []
        for index, item in enumerate(raw):
            where = f"entry {index}"
            if not isinstance(item, dict):
                raise _Invalid(f"{where}: expected a table with name, path, enabled, config")
            unknown = set(item) - {"name", "path", "enabled", "config"}
            if unknown:
                raise _Invalid(f"{where}: unknown field {sorted(unknown)[0]!r}")
            name, path = item.get("name"), item.get("path", "")
            enabled, settings = item.get("enabled", True), item.get("config", {})
            if not isinstance(name, str) or not name:
                raise _Invalid(f"{where}: 'name' must be a non-empty string")
            if not isinstance(path, str) or not isinstance(enabled, bool):
                raise _Invalid(f"{where}: 'path' must be a string and 'enabled' true or false")
            if not isinstance(settings, dict):
                raise _Invalid(f"{where}: 'config' must be a table")
            if not _PLUGIN_NAME.fullmatch(name):
                raise _Invalid(f"{where}: a plugin name is a-z, 0-9 and '-', at most 32")
            if name in PLUGINS and path:
                raise _Invalid(f"{where}: {name!r} is built in; give it no 'path'")
            if name in PLUGINS and settings:
                raise _Invalid(f"{where}: {name!r} takes no 'config'; set its [{name}] keys")
            if path and not _PLUGIN_PATH.fullmatch(path):
                raise _Invalid(
                    f"{where}: 'path' is a module path (package.module:Class) or a Python file "
                    "(/path/to/plugin.py:Class)"
                )
            if not path and name not in PLUGINS and name not in _installed_plugins():
                raise _Invalid(
                    f"{where}: no plugin named {name!r} is installed; give its 'path' "
                    "(package.module:Class or /path/to/plugin.py:Class)"
                )
            entries.append(PluginEntry(name, path, enabled, settings))
        return tuple(entries)


def _plugin_name(text: str) -> str:
    if not _PLUGIN_NAME.fullmatch(text):
        raise _Invalid()
    return text


def _installed_plugins() -> set[str]:
    """Names of the plugins installed in this environment (the kizuna.plugins entry points)."""
    return {point.name for point in entry_points(group="kizuna.plugins")}


def _device_name(text: str) -> str:
    if not 1 <= len(text) <= _MAX_DEVICE_NAME or any(_is_control(ch) for ch in text):
        raise _Invalid()
    return text


def _user_name(text: str) -> str:
    if len(text) > _MAX_DEVICE_NAME or any(_is_control(ch) for ch in text):
        raise _Invalid()
    return text


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc"


def _default_device_name(_layout: Layout) -> str:
    name = "".join(ch for ch in socket.gethostname() if not _is_control(ch))
    return name[:_MAX_DEVICE_NAME] or "kizuna-device"


def _default_inbox(layout: Layout) -> str:
    """HOME/inbox for a daemon with its own home; otherwise a folder of its own in Downloads."""
    if layout.home is not None:
        return str(layout.home / "inbox")
    return str(personal_inbox())


def personal_inbox() -> Path:
    """The person's inbox: Kizuna in the Downloads folder ($XDG_DOWNLOAD_DIR or ~/Downloads)."""
    downloads = os.environ.get("XDG_DOWNLOAD_DIR", "")
    if not os.path.isabs(downloads):
        downloads = os.path.join(os.path.expanduser("~"), "Downloads")
    return Path(downloads, "Kizuna")


def default_listen_port() -> int:
    """networking.listen_port when nothing sets it."""
    port = _SCHEMA["networking"]["listen_port"].default
    assert isinstance(port, int)
    return port


def _non_empty(text: str) -> str:
    if not text:
        raise _Invalid()
    return text


def _static_peer(text: str) -> str:
    try:
        _, port = parse_host_port(text)
    except ValueError as error:
        raise _Invalid(str(error)) from None
    if port == 0:
        raise _Invalid("a peer's port must be from 1 to 65535")
    return text


def _allowlisted_id(text: str) -> str:
    try:
        return parse_device_id(text, field="security.allowlist")
    except InvalidArgument:
        raise _Invalid() from None


def _listen_address(text: str) -> str:
    if not text:
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _Invalid() from None


def _loopback_address(text: str) -> str:
    if not text:
        return text
    try:
        host, _ = parse_host_port(text)
    except ValueError as error:
        raise _Invalid(str(error)) from None
    if host != "localhost" and not _is_loopback_ip(host):
        raise _Invalid(
            "the control API only listens on loopback (127.0.0.0/8, ::1 or localhost); "
            "other devices reach this one through the peer protocol"
        )
    return text


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """One configuration key. Defaults are written as TOML would give them and are checked too."""

    kind: _Kind
    default: object = None
    default_factory: Callable[[Layout], object] | None = None

    def default_for(self, layout: Layout) -> object:
        return self.default_factory(layout) if self.default_factory else self.default


_SCHEMA: Final[Mapping[str, Mapping[str, _Field]]] = {
    "identity": {
        "device_name": _Field(
            _Text("a name of 1 to 64 characters without control characters", _device_name),
            default_factory=_default_device_name,
        ),
        "device_type": _Field(_Choice(DEVICE_TYPES), "desktop"),
        # Shown to peers beside the device name ("Alice's laptop"); empty shows none.
        "user_name": _Field(
            _Text("up to 64 characters without control characters", _user_name), ""
        ),
        # This device's key and certificate: the device ID derives from them.
        "identity_path": _Field(
            _Path(), default_factory=lambda layout: str(layout.data_dir / "identity")
        ),
    },
    "discovery": {
        "enable_mdns": _Field(_Bool(), True),
        "interval_secs": _Field(_Int(1, 3600), 30),
        "timeout_secs": _Field(_Int(1, 86400), 120),
        "static_peers": _Field(_List(_Text("host:port", _static_peer), "host:port addresses"), []),
        "interfaces": _Field(
            _List(_Text("a non-empty interface name", _non_empty), "interface names"), []
        ),
        "ipv4": _Field(_Bool(), True),
        "ipv6": _Field(_Bool(), True),
        # A UDP multicast announcement beside mDNS, for networks that filter mDNS.
        "enable_udp": _Field(_Bool(), True),
        "udp_port": _Field(_Int(1024, 65535), 47120),
        # A preference: this version has no Bluetooth discovery (PREFERENCES says so at start).
        "enable_bluetooth": _Field(_Bool(), False),
    },
    "security": {
        "trust_mode": _Field(_Choice(tuple(mode.value for mode in TrustMode), TrustMode), "manual"),
        "allowlist": _Field(
            _List(
                _Text("a device ID (52 base32 characters, dashes optional)", _allowlisted_id),
                "device IDs",
            ),
            [],
        ),
        "pairing_timeout_secs": _Field(_Int(10, 3600), 120),
        "enable_encryption": _Field(
            _Fixed(
                True,
                "Kizuna always encrypts: every link between devices is TLS 1.3 and the local API "
                "never leaves this machine; it cannot be turned off",
            ),
            True,
        ),
        "require_authentication": _Field(
            _Fixed(
                True,
                "Kizuna always authenticates: every device proves its ID with its certificate "
                "and only paired devices may do more than ask to pair; it cannot be turned off "
                "(security.trust_mode = 'trust_all' pairs with anyone, for labs)",
            ),
            True,
        ),
        # The trust store (trust.json): the pinned certificates of paired devices.
        "key_storage_path": _Field(_Path(), default_factory=lambda layout: str(layout.data_dir)),
    },
    "networking": {
        # Not below 1024: peers never dial such ports from mDNS (docs/peers.md).
        "listen_port": _Field(_Int(1024, 65535, zero=True), 47120),
        "listen_address": _Field(
            _Text("an IP address, or '' for all addresses", _listen_address), ""
        ),
        "max_peers": _Field(_Int(1, 10000), 256),
        # false: IPv4 only, for the peer ports, discovery and dialling.
        "enable_ipv6": _Field(_Bool(), True),
        # Preferences for transports this version lacks (PREFERENCES says what is used instead).
        "enable_quic": _Field(_Bool(), False),
        # On: live media over WebRTC held its picture through 2% loss where the link froze for
        # 0.7 s (bench/streams.py); it falls back to the link by itself (docs/streams.md).
        "enable_webrtc": _Field(_Bool(), True),
        "enable_websocket": _Field(_Bool(), False),
        # How long dialling a peer may take; also bounds connect_to_peer's wait for a pairing.
        "connection_timeout_secs": _Field(_Int(1, 3600), 30),
    },
    "api": {
        "socket_path": _Field(
            _Path(unix_socket=True), default_factory=lambda layout: str(layout.socket_path)
        ),
        "tcp_address": _Field(
            _Text("a loopback host:port, or '' for no TCP listener", _loopback_address), ""
        ),
        "token_file": _Field(_Path(), default_factory=lambda layout: str(layout.token_file)),
        "event_replay_size": _Field(_Int(16, 1_000_000), 10_000),
        "event_queue_size": _Field(_Int(16, 100_000), 1024),
        "shutdown_grace_secs": _Field(_Float(0, 60), 5.0),
        "event_batch_ms": _Field(_Int(0, 1000), 5),
    },
    "transfers": {
        "inbox": _Field(_Path(), default_factory=_default_inbox),
        "offer_timeout_secs": _Field(_Int(10, 86400), 300),
        "free_space_reserve_mib": _Field(_Int(0, 1_048_576), 512),
        "max_files": _Field(_Int(1, 100_000), 100_000),
        "history_size": _Field(_Int(0, 100_000), 1000),
        "max_pending_offers": _Field(_Int(1, 10_000), 64),
        "max_pending_offers_per_peer": _Field(_Int(1, 10_000), 8),
        "max_pending_files": _Field(_Int(1, 10_000_000), 200_000),
        "max_running": _Field(_Int(1, 256), 4),
        "max_running_per_peer": _Field(_Int(1, 256), 2),
    },
    "streams": {
        "offer_timeout_secs": _Field(_Int(5, 3600), 60),
        "max_streams": _Field(_Int(1, 1024), 32),
        "max_streams_per_peer": _Field(_Int(1, 1024), 8),
    },
    "commands": {
        "allow": _Field(_CommandList(), []),
        # The lowest risk class whose runs wait for the owner ("none": by-risk runs never do).
        "approve_from": _Field(_Choice((*RISKS, "none")), "medium"),
        "skip_approval_peers": _Field(
            _List(_Text("a device ID", _allowlisted_id), "device IDs", unique=True), []
        ),
        "approval_timeout_secs": _Field(_Int(5, 3600), 60),
        "max_runs": _Field(_Int(1, 4096), 256),
        "max_runs_per_peer": _Field(_Int(1, 4096), 64),
    },
    "plugins": {
        "enabled": _Field(
            _List(
                _Text("a plugin name (a-z, 0-9, '-')", _plugin_name), "plugin names", unique=True
            ),
            [*PLUGINS, *BUILTIN_PLUGINS],
        ),
        # The seed's form, `plugins = [{name, path, enabled, config}]` (TOML: [[plugins]]).
        "entries": _Field(_PluginList(), []),
    },
}

#: Switches this version accepts as preferences only: key -> what is used instead.
PREFERENCES: Final[Mapping[str, str]] = {
    "discovery.enable_bluetooth": (
        "this version has no Bluetooth discovery; devices are found over mDNS, the UDP "
        "announcement and addresses added by hand"
    ),
    "networking.enable_quic": (
        "this version has no QUIC transport; links between devices use TCP with TLS 1.3"
    ),
    "networking.enable_websocket": (
        "this version has no WebSocket transport; links between devices use TCP with TLS 1.3"
    ),
}


def unavailable_preferences(config: "Config") -> dict[str, str]:
    """Preferences set to true whose capability this version lacks, with what is used instead."""
    chosen = {}
    for name, instead in PREFERENCES.items():
        section, key = name.split(".")
        if getattr(getattr(config, section), key):
            chosen[name] = instead
    return chosen


_ENV_NAMES: Final = {
    f"KIZUNA_{section}_{key}".upper(): (section, key)
    for section, fields in _SCHEMA.items()
    for key in fields
}


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where a value came from, as error messages name it, and how to read it."""

    label: str  # "in /h/config.toml", "from environment variable KIZUNA_X", "from --set"
    base_dir: Path  # relative paths resolve against it
    textual: bool  # values are strings parsed by the key's kind


@dataclass(frozen=True)
class _Setting:
    value: object
    source: _Source


def load_config(
    layout: Layout,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    data: Mapping[str, Any] | None = None,
) -> Config:
    """Builds the effective configuration or raises ConfigError naming key, value and source.

    `config_file` (from --config) wins over `KIZUNA_CONFIG`, which wins over the layout's file;
    only the layout's file may be missing. `data` is a TOML-shaped mapping from an app that
    embeds the daemon, applied over the file. `overrides` are ``section.key=value`` from --set.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd()
    settings: dict[tuple[str, str], _Setting] = {}

    defaults = _Source("the default", cwd, textual=False)
    refused_defaults: dict[tuple[str, str], ConfigError] = {}
    for section, fields in _SCHEMA.items():
        for key, field in fields.items():
            try:
                settings[section, key] = _read(section, key, field.default_for(layout), defaults)
            except ConfigError as refused:  # a derived default (a long socket path): an error
                refused_defaults[section, key] = refused  # only if nothing else sets the key

    path, chosen_by = _choose_config_file(layout, config_file, env, cwd)
    for (section, key), raw, source in _read_toml(path, chosen_by):
        settings[section, key] = _read(section, key, raw, source)

    embedded = _Source("in the settings given to the embedded daemon", cwd, textual=False)
    for (section, key), raw, source in _tables(data or {}, embedded):
        settings[section, key] = _read(section, key, raw, source)

    for name in sorted(env):
        if name.startswith("KIZUNA_") and name not in RESERVED_ENV_VARS:
            section, key = _env_key(name)
            source = _Source(f"from environment variable {name}", cwd, textual=True)
            settings[section, key] = _read(section, key, env[name], source)

    overridden = _Source("from --set", cwd, textual=True)
    for override in overrides:
        name, sep, text = override.partition("=")
        if not sep:
            raise ConfigError(
                f"--set expects section.key=value, got {_shown(override)}", key=override
            )
        section, _, key = name.strip().partition(".")
        _check_known(section, key, overridden)
        settings[section, key] = _read(section, key, text, overridden)

    for unset, refusal in refused_defaults.items():
        if unset not in settings:
            raise refusal
    _check_together(settings)
    return _build(settings, layout, path)


def config_to_toml_dict(config: Config) -> dict[str, dict[str, object]]:
    """The effective configuration as TOML-shaped plain data (paths as str, lists for tuples).

    `paths.home` is left out when unset: TOML has no null.
    """
    result: dict[str, dict[str, object]] = {}
    for section in dataclasses.fields(config):
        values = getattr(config, section.name)
        table: dict[str, object] = {}
        for field in dataclasses.fields(values):
            value = getattr(values, field.name)
            if value is not None:
                table[field.name] = _to_plain(value)
        result[section.name] = table
    return result


def _to_plain(value: object) -> object:
    if isinstance(value, PluginEntry):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return [_to_plain(item) for item in value]
    if isinstance(value, Path | StrEnum):
        return str(value)
    return value


def _choose_config_file(
    layout: Layout, config_file: Path | None, env: Mapping[str, str], cwd: Path
) -> tuple[Path, str | None]:
    """The file to read and, when the user named it, how (it must then exist)."""
    if config_file is not None:
        chosen, chosen_by = os.fspath(config_file), "from --config"
    elif env.get("KIZUNA_CONFIG"):
        chosen, chosen_by = env["KIZUNA_CONFIG"], "from environment variable KIZUNA_CONFIG"
    else:
        return layout.config_file, None
    return Path(os.path.abspath(cwd / os.path.expanduser(chosen))), chosen_by


def _read_toml(path: Path, chosen_by: str | None) -> list[tuple[tuple[str, str], object, _Source]]:
    """The (key, value, source) triples in the file; a missing default file holds none."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        if chosen_by is None:
            return []
        raise ConfigError(
            f"paths.config_file: the config file does not exist, got {_shown(str(path))} "
            f"({chosen_by})",
            key="paths.config_file",
        ) from None
    except OSError as error:
        raise ConfigError(
            f"cannot read config file {path}: {error.strerror}", key="paths.config_file"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"config file {path} is not valid TOML: {error}", key="paths.config_file"
        ) from None

    return _tables(document, _Source(f"in {path}", path.parent, textual=False))


def _tables(
    document: Mapping[str, Any], source: _Source
) -> list[tuple[tuple[str, str], object, _Source]]:
    """The (key, value, source) triples of a TOML-shaped mapping of sections."""
    triples: list[tuple[tuple[str, str], object, _Source]] = []
    for section, table in document.items():
        _check_known(section, None, source)
        if section == "plugins" and isinstance(table, list):
            triples.append((("plugins", "entries"), table, source))
            continue
        if not isinstance(table, dict):
            raise ConfigError(
                f"{section}: expected a table [{section}], got {_shown(table)} ({source.label})",
                key=section,
            )
        for key, raw in table.items():
            _check_known(section, key, source)
            triples.append(((section, key), raw, source))
    return triples


def _env_key(name: str) -> tuple[str, str]:
    if name in _ENV_NAMES:
        return _ENV_NAMES[name]
    known = sorted(_ENV_NAMES) + sorted(RESERVED_ENV_VARS)
    raise ConfigError(
        f"unknown environment variable {name}{_suggestion(name, known)}; "
        "configuration variables are named KIZUNA_<SECTION>_<KEY>",
        key=name,
    )


def _check_known(section: str, key: str | None, source: _Source) -> None:
    """Refuses a section (key None) or section.key the schema lacks, suggesting a close name."""
    if section not in _SCHEMA:
        hint = (
            "; paths come from --home / KIZUNA_HOME and --config"
            if section == "paths"
            else _suggestion(section, list(_SCHEMA))
        )
        raise ConfigError(f"unknown section {section!r} {source.label}{hint}", key=section)
    if key is not None and key not in _SCHEMA[section]:
        name = f"{section}.{key}"
        raise ConfigError(
            f"unknown key {name!r} {source.label}{_suggestion(key, list(_SCHEMA[section]))}",
            key=name,
        )


def _suggestion(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read(section: str, key: str, raw: object, source: _Source) -> _Setting:
    kind = _SCHEMA[section][key].kind
    try:
        parsed = kind.from_text(raw) if source.textual and isinstance(raw, str) else raw
        return _Setting(kind.check(parsed, source.base_dir), source)
    except _Invalid as invalid:
        detail = invalid.detail or f"expected {kind.expected}"
        shown = raw if invalid.value is None else invalid.value
        raise ConfigError(
            f"{section}.{key}: {detail}, got {_shown(shown)} ({source.label})",
            key=f"{section}.{key}",
        ) from None


def _check_together(settings: Mapping[tuple[str, str], _Setting]) -> None:
    """Rules that involve more than one key, checked once every source has been applied."""
    interval = settings["discovery", "interval_secs"]
    timeout = settings["discovery", "timeout_secs"]
    if _as_int(timeout.value) < _as_int(interval.value):
        raise ConfigError(
            f"discovery.timeout_secs: must be at least discovery.interval_secs "
            f"({interval.value!r}, {interval.source.label}), "
            f"got {timeout.value!r} ({timeout.source.label})",
            key="discovery.timeout_secs",
        )
    ipv4 = settings["discovery", "ipv4"]
    ipv6 = settings["discovery", "ipv6"]
    if not settings["networking", "enable_ipv6"].value:
        ipv6 = settings["networking", "enable_ipv6"]
    if not ipv4.value and not ipv6.value:
        raise ConfigError(
            "discovery.ipv4 and discovery.ipv6: at least one must be true, got "
            f"ipv4={ipv4.value!r} ({ipv4.source.label}) and "
            f"ipv6={ipv6.value!r} ({ipv6.source.label})",
            key="discovery.ipv4",
        )
    _check_ports(settings)


def _check_ports(settings: Mapping[tuple[str, str], _Setting]) -> None:
    """The local API's TCP port may not be one of the daemon's own peer ports."""
    api = settings["api", "tcp_address"]
    listen = settings["networking", "listen_port"]
    port = _as_int(listen.value)
    if not api.value or port == 0:
        return
    _, api_port = parse_host_port(str(api.value))
    if api_port in (port, port + 1):
        which = "link" if api_port == port else "pairing"
        raise ConfigError(
            f"api.tcp_address: port {api_port} is this daemon's own peer {which} port "
            f"(networking.listen_port {port} {listen.source.label}, and the next one for "
            f"pairing); choose another, such as {port + 2}, got {api.value!r} "
            f"({api.source.label})",
            key="api.tcp_address",
        )


def _as_int(value: object) -> int:
    assert isinstance(value, int)  # the schema checked it
    return value


def _build(settings: Mapping[tuple[str, str], _Setting], layout: Layout, path: Path) -> Config:
    def section(name: str) -> dict[str, Any]:
        # Any: each value was checked by the kind declared for its dataclass field.
        return {key: settings[name, key].value for key in _SCHEMA[name]}

    discovery = section("discovery")
    discovery["ipv6"] = discovery["ipv6"] and settings["networking", "enable_ipv6"].value
    plugins = section("plugins")
    entries: tuple[PluginEntry, ...] = plugins["entries"]
    if entries:  # the seed's list: capabilities it turns off are left out
        off = {entry.name for entry in entries if not entry.enabled}
        on = [entry.name for entry in entries if entry.enabled]
        plugins["enabled"] = tuple(
            dict.fromkeys([n for n in plugins["enabled"] if n not in off] + on)
        )
    return Config(
        identity=IdentityConfig(**section("identity")),
        discovery=DiscoveryConfig(**discovery),
        security=SecurityConfig(**section("security")),
        networking=NetworkingConfig(**section("networking")),
        api=ApiConfig(**section("api")),
        transfers=TransfersConfig(**section("transfers")),
        streams=StreamsConfig(**section("streams")),
        commands=CommandsConfig(**section("commands")),
        plugins=PluginsConfig(**plugins),
        paths=PathsConfig(
            home=layout.home,
            config_file=path,
            data_dir=layout.data_dir,
            runtime_dir=layout.runtime_dir,
        ),
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
