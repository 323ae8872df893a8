"""The configuration `Kizuna(config)` takes, as typed dictionaries.

Sections and keys are those of config.toml (docs/configuration.md is the reference, with every
default and range). The seed binding's keys are all here; the daemon refuses the ones that would
weaken security and notes the ones this version keeps only as preferences:

```python
config: KizunaConfig = {
    "identity": {"device_name": "My Python App", "user_name": "Alice"},
    "discovery": {"enable_mdns": True, "enable_udp": True, "interval_secs": 5},
    "security": {"trust_mode": "manual"},
    "networking": {"connection_timeout_secs": 30},
}
```
"""

from typing import Any, Literal, TypedDict

__all__ = [
    "ApiConfig",
    "DiscoveryConfig",
    "IdentityConfig",
    "KizunaConfig",
    "NetworkingConfig",
    "PluginConfig",
    "SecurityConfig",
    "StreamKind",
    "TransfersConfig",
    "TrustMode",
]

#: What start_stream can stream: a built-in capture source, or frames the app sends ("data").
StreamKind = Literal["camera", "screen", "audio", "data"]
#: How a device answers a pairing request from a device it does not know yet.
TrustMode = Literal["manual", "trust_all", "allowlist_only"]


class IdentityConfig(TypedDict, total=False):
    """[identity]: how this device presents itself."""

    device_name: str
    device_type: Literal["desktop", "laptop", "phone", "tablet", "server", "tv", "other"]
    user_name: str
    identity_path: str


class DiscoveryConfig(TypedDict, total=False):
    """[discovery]: how peers are found."""

    enable_mdns: bool
    enable_udp: bool
    udp_port: int
    enable_bluetooth: bool
    interval_secs: int
    timeout_secs: int
    static_peers: list[str]
    interfaces: list[str]
    ipv4: bool
    ipv6: bool


class SecurityConfig(TypedDict, total=False):
    """[security]: trust policy (encryption and authentication are always on)."""

    enable_encryption: Literal[True]
    require_authentication: Literal[True]
    trust_mode: TrustMode
    allowlist: list[str]
    pairing_timeout_secs: int
    key_storage_path: str


class NetworkingConfig(TypedDict, total=False):
    """[networking]: the peer ports and how links are made."""

    listen_port: int
    listen_address: str
    max_peers: int
    enable_ipv6: bool
    enable_quic: bool
    enable_webrtc: bool
    enable_websocket: bool
    connection_timeout_secs: int


class ApiConfig(TypedDict, total=False):
    """[api]: the local control API."""

    socket_path: str
    tcp_address: str
    token_file: str
    event_replay_size: int
    event_queue_size: int
    shutdown_grace_secs: float
    event_batch_ms: int


class TransfersConfig(TypedDict, total=False):
    """[transfers]: where received files land and the limits on offers."""

    inbox: str
    offer_timeout_secs: int
    free_space_reserve_mib: int
    max_files: int
    history_size: int
    max_pending_offers: int
    max_pending_offers_per_peer: int
    max_pending_files: int
    max_running: int
    max_running_per_peer: int


class StreamsConfig(TypedDict, total=False):
    """[streams]: limits on live streams."""

    offer_timeout_secs: int
    max_streams: int
    max_streams_per_peer: int


class PluginConfig(TypedDict, total=False):
    """One entry of the seed's plugin list: a built-in capability turned on or off."""

    name: str
    path: str
    enabled: bool
    config: dict[str, Any]


class KizunaConfig(TypedDict, total=False):
    """Everything `Kizuna(config)` accepts; "home" is the node's folder (default: a persistent
    one named after identity.device_name)."""

    home: str
    identity: IdentityConfig
    discovery: DiscoveryConfig
    security: SecurityConfig
    networking: NetworkingConfig
    api: ApiConfig
    transfers: TransfersConfig
    streams: StreamsConfig
    plugins: list[PluginConfig]
