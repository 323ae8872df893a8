"""Conversions between the daemon's domain values and kizuna.v1 messages (`to_proto` style).

Event payloads convert through one registry keyed by event type, so later subsystems add their
events by registering an encoder, not by editing the event servicer.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from kizuna_client.v1 import config_pb2, errors_pb2, event_pb2, node_pb2
from kizuna_server import PROTOCOL_VERSION, __version__
from kizuna_server.calls.errors import reason_enum
from kizuna_server.config import Config, unavailable_preferences
from kizuna_server.core.events import ErrorOccurred, NodeStateChanged, Payload
from kizuna_server.core.node import ApiEndpoint, NodeState, Subsystem
from kizuna_server.p2p.identity import Identity

_EVENT_TYPE_PREFIX = "EVENT_TYPE_"


def timestamp(seconds: float) -> Timestamp:
    """A Timestamp from seconds since the epoch."""
    whole = int(seconds // 1)
    # Split first: seconds * 1e9 as one float loses the sub-microsecond digits.
    return Timestamp(seconds=whole, nanos=min(round((seconds - whole) * 1e9), 999_999_999))


def _enum(enum_type: Any, prefix: str, value: str) -> Any:
    return enum_type.Value(f"{prefix}{value.upper()}")


def subsystem_name(name: str) -> node_pb2.SubsystemName.ValueType:
    """The SubsystemName of an internal subsystem name ("local_api"); UNSPECIFIED if unknown."""
    return _SUBSYSTEMS.get(name, node_pb2.SUBSYSTEM_NAME_UNSPECIFIED)


_SUBSYSTEMS = {
    name.removeprefix("SUBSYSTEM_NAME_").lower(): number
    for name, number in node_pb2.SubsystemName.items()
}


# --- events -----------------------------------------------------------------------------------

_ENCODERS: dict[str, Callable[[Any], Message]] = {}


def register_event(event_type: str, encode: Callable[[Any], Message]) -> None:
    """Registers how a payload with `event_type` becomes its Event.payload message."""
    payload_fields = event_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    if event_type not in {f.name for f in payload_fields}:
        raise ValueError(f"{event_type!r} is not a field of kizuna.v1.Event.payload")
    _ENCODERS[event_type] = encode


def event_type_names() -> dict[int, str]:
    """EventType enum value -> payload field name ("EVENT_TYPE_PEER_LOST" -> "peer_lost")."""
    return {
        number: name.removeprefix(_EVENT_TYPE_PREFIX).lower()
        for name, number in event_pb2.EventType.items()
        if number != event_pb2.EVENT_TYPE_UNSPECIFIED
    }


def encode_event(run_id: str) -> Callable[[int, float, Payload], event_pb2.Event]:
    """The event log's encode hook: builds each kizuna.v1.Event once, at publish time."""

    def encode(sequence: int, now: float, payload: Payload) -> event_pb2.Event:
        message = _ENCODERS[payload.event_type](payload)
        event = event_pb2.Event(sequence=sequence, time=timestamp(now), run_id=run_id)
        getattr(event, payload.event_type).CopyFrom(message)
        return event

    return encode


def _node_state(state: NodeState) -> node_pb2.Node.State.ValueType:
    return _enum(node_pb2.Node.State, "STATE_", state.value)  # type: ignore[no-any-return]


def _node_state_changed(payload: NodeStateChanged) -> Message:
    return event_pb2.NodeStateChanged(
        state=_node_state(NodeState(payload.state)), reason=payload.reason
    )


def _error_occurred(payload: ErrorOccurred) -> Message:
    return event_pb2.ErrorOccurred(
        error=errors_pb2.Error(
            reason=reason_enum(payload.reason),
            message=payload.message,
            metadata=dict(payload.metadata),
        ),
        subsystem=subsystem_name(payload.subsystem),
    )


register_event(NodeStateChanged.event_type, _node_state_changed)
register_event(ErrorOccurred.event_type, _error_occurred)


# --- node and configuration -------------------------------------------------------------------


def endpoint_to_proto(endpoint: ApiEndpoint) -> node_pb2.Endpoint:
    """A listener as a kizuna.v1.Endpoint."""
    return node_pb2.Endpoint(
        transport=_enum(node_pb2.Endpoint.Transport, "TRANSPORT_", endpoint.transport),
        address=endpoint.address,
        requires_token=endpoint.requires_token,
    )


def node_to_proto(
    *,
    identity: Identity,
    config: Config,
    start_time: float,
    api_endpoints: Iterable[ApiEndpoint],
    peer_endpoints: Iterable[str] = (),
) -> node_pb2.Node:
    """The parts of this device's kizuna.v1.Node that stay fixed while the daemon runs."""
    return node_pb2.Node(
        device_id=identity.device_id,
        device_id_display=identity.device_id_display,
        name=config.identity.device_name,
        device_type=_enum(node_pb2.DeviceType, "DEVICE_TYPE_", config.identity.device_type),
        certificate_fingerprint=identity.fingerprint,
        version=__version__,
        protocol_version=PROTOCOL_VERSION,
        api_endpoints=[endpoint_to_proto(e) for e in api_endpoints],
        peer_endpoints=[
            node_pb2.Endpoint(transport=node_pb2.Endpoint.TRANSPORT_TCP, address=address)
            for address in peer_endpoints
        ],
        start_time=timestamp(start_time),
    )


def node_with_status(
    fixed: node_pb2.Node, state: NodeState, subsystems: Iterable[Subsystem]
) -> node_pb2.Node:
    """A copy of `fixed` with the current state and subsystems filled in."""
    node = node_pb2.Node()
    node.CopyFrom(fixed)
    node.state = _node_state(state)
    node.subsystems.extend(
        node_pb2.Subsystem(
            name=subsystem_name(s.name),
            state=_enum(node_pb2.Subsystem.State, "STATE_", s.state.value),
            detail=s.detail,
        )
        for s in subsystems
    )
    return node


def _struct(table: Mapping[str, Any]) -> Struct:
    """A TOML table as a Struct (TOML's values are all JSON's, dates aside, which the
    allow-list does not take)."""
    struct = Struct()
    struct.update(dict(table))
    return struct


def config_to_proto(config: Config) -> config_pb2.Config:
    """The effective configuration; secrets appear only as file paths."""
    paths = config.paths
    return config_pb2.Config(
        identity=config_pb2.IdentityConfig(
            device_name=config.identity.device_name,
            device_type=_enum(node_pb2.DeviceType, "DEVICE_TYPE_", config.identity.device_type),
            user_name=config.identity.user_name,
            identity_path=str(config.identity.identity_path),
        ),
        discovery=config_pb2.DiscoveryConfig(
            enable_mdns=config.discovery.enable_mdns,
            interval_secs=config.discovery.interval_secs,
            timeout_secs=config.discovery.timeout_secs,
            static_peers=config.discovery.static_peers,
            interfaces=config.discovery.interfaces,
            ipv4=config.discovery.ipv4,
            ipv6=config.discovery.ipv6,
            enable_udp=config.discovery.enable_udp,
            udp_port=config.discovery.udp_port,
            enable_bluetooth=config.discovery.enable_bluetooth,
        ),
        security=config_pb2.SecurityConfig(
            trust_mode=_enum(config_pb2.TrustMode, "TRUST_MODE_", config.security.trust_mode.value),
            allowlist=config.security.allowlist,
            pairing_timeout_secs=config.security.pairing_timeout_secs,
            enable_encryption=config.security.enable_encryption,
            require_authentication=config.security.require_authentication,
            key_storage_path=str(config.security.key_storage_path),
        ),
        networking=config_pb2.NetworkingConfig(
            listen_port=config.networking.listen_port,
            listen_address=config.networking.listen_address,
            max_peers=config.networking.max_peers,
            enable_ipv6=config.networking.enable_ipv6,
            enable_quic=config.networking.enable_quic,
            enable_webrtc=config.networking.enable_webrtc,
            enable_websocket=config.networking.enable_websocket,
            connection_timeout_secs=config.networking.connection_timeout_secs,
        ),
        api=config_pb2.ApiConfig(
            socket_path=str(config.api.socket_path),
            tcp_address=config.api.tcp_address,
            token_file=str(config.api.token_file),
            event_replay_size=config.api.event_replay_size,
            event_queue_size=config.api.event_queue_size,
            shutdown_grace_secs=config.api.shutdown_grace_secs,
            event_batch_ms=config.api.event_batch_ms,
        ),
        transfers=config_pb2.TransfersConfig(
            inbox=str(config.transfers.inbox),
            offer_timeout_secs=config.transfers.offer_timeout_secs,
            free_space_reserve_mib=config.transfers.free_space_reserve_mib,
            max_files=config.transfers.max_files,
            history_size=config.transfers.history_size,
            max_pending_offers=config.transfers.max_pending_offers,
            max_pending_offers_per_peer=config.transfers.max_pending_offers_per_peer,
            max_pending_files=config.transfers.max_pending_files,
            max_running=config.transfers.max_running,
            max_running_per_peer=config.transfers.max_running_per_peer,
        ),
        streams=config_pb2.StreamsConfig(
            offer_timeout_secs=config.streams.offer_timeout_secs,
            max_streams=config.streams.max_streams,
            max_streams_per_peer=config.streams.max_streams_per_peer,
        ),
        commands=config_pb2.CommandsConfig(
            allow=[_struct(table) for table in config.commands.allow],
            approve_from=config.commands.approve_from,
            skip_approval_peers=config.commands.skip_approval_peers,
            approval_timeout_secs=config.commands.approval_timeout_secs,
            max_runs=config.commands.max_runs,
            max_runs_per_peer=config.commands.max_runs_per_peer,
        ),
        plugins=config_pb2.PluginsConfig(
            enabled=config.plugins.enabled,
            entries=[
                config_pb2.PluginEntry(name=e.name, path=e.path, enabled=e.enabled)
                for e in config.plugins.entries
            ],
        ),
        notes=[
            config_pb2.ConfigNote(key=key, message=message)
            for key, message in unavailable_preferences(config).items()
        ],
        paths=config_pb2.PathsConfig(
            home=str(paths.home) if paths.home is not None else "",
            config_file=str(paths.config_file),
            data_dir=str(paths.data_dir),
            runtime_dir=str(paths.runtime_dir),
        ),
    )
