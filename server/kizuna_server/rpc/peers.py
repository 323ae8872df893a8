"""PeerService: the control API over the peer network, plus peer and pairing conversions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from google.protobuf.message import Message

from kizuna_client.v1 import (
    errors_pb2,
    event_pb2,
    node_pb2,
    peer_pb2,
    peer_service_pb2,
    peer_service_pb2_grpc,
)
from kizuna_server.calls.errors import reason_enum
from kizuna_server.core.device_id import format_device_id, parse_device_id
from kizuna_server.core.peers import (
    PairingCompleted,
    PairingFailed,
    PairingRequested,
    PairingSnapshot,
    PeerConnected,
    PeerDisconnected,
    PeerDiscovered,
    PeerForgotten,
    PeerIdentityAlert,
    PeerLost,
    PeerSnapshot,
    PeerUpdated,
)
from kizuna_server.core.trust import Permissions
from kizuna_server.errors import InvalidArgument, KizunaError
from kizuna_server.rpc.convert import register_event, timestamp

if TYPE_CHECKING:
    from kizuna_server.p2p.network import PeerNetwork

_PERMISSION_FIELDS: Final = ("files", "auto_accept_files", "streams", "commands")
_MAX_PAGE: Final = 1000
_DEFAULT_PAGE: Final = 100


# --- conversions ------------------------------------------------------------------------------


def _enum_value(enum_type: Any, name: str) -> Any:
    return enum_type.Value(name) if name in enum_type.DESCRIPTOR.values_by_name else 0


def permissions_to_proto(permissions: Permissions) -> peer_pb2.PeerPermissions:
    return peer_pb2.PeerPermissions(
        files=permissions.files,
        auto_accept_files=permissions.auto_accept_files,
        streams=permissions.streams,
        commands=permissions.commands,
    )


def peer_to_proto(peer: PeerSnapshot) -> peer_pb2.Peer:
    """A PeerSnapshot as a kizuna.v1.Peer."""
    message = peer_pb2.Peer(
        device_id=peer.device_id,
        device_id_display=format_device_id(peer.device_id),
        name=peer.name,
        device_type=_enum_value(node_pb2.DeviceType, f"DEVICE_TYPE_{peer.device_type.upper()}"),
        addresses=peer.addresses,
        source=_enum_value(peer_pb2.Peer.Source, f"SOURCE_{peer.source.value.upper()}"),
        trust=_enum_value(peer_pb2.Peer.Trust, f"TRUST_{peer.trust.value.upper()}"),
        connection=_enum_value(
            peer_pb2.Peer.Connection, f"CONNECTION_{peer.connection.value.upper()}"
        ),
        certificate_fingerprint=peer.fingerprint,
        protocol_version=peer.protocol_version,
        capabilities=peer.capabilities,
        online=peer.online,
        user_name=peer.user_name,
    )
    if peer.permissions is not None:
        message.permissions.CopyFrom(permissions_to_proto(peer.permissions))
    if peer.last_seen:
        message.last_seen_time.CopyFrom(timestamp(peer.last_seen))
    if peer.paired_time is not None:
        message.paired_time.CopyFrom(timestamp(peer.paired_time))
    if peer.next_attempt is not None:
        message.next_attempt_time.CopyFrom(timestamp(peer.next_attempt))
    return message


def pairing_to_proto(pairing: PairingSnapshot) -> peer_pb2.Pairing:
    """A PairingSnapshot as a kizuna.v1.Pairing."""
    message = peer_pb2.Pairing(
        id=pairing.id,
        peer_id=pairing.peer_id,
        peer_name=pairing.peer_name,
        direction=peer_pb2.Pairing.DIRECTION_OUTGOING
        if pairing.outgoing
        else peer_pb2.Pairing.DIRECTION_INCOMING,
        state=_enum_value(peer_pb2.Pairing.State, f"STATE_{pairing.state.upper()}"),
        code=pairing.code,
        create_time=timestamp(pairing.created),
        expire_time=timestamp(pairing.expires),
    )
    if pairing.error_reason:
        message.error.CopyFrom(
            errors_pb2.Error(
                reason=reason_enum(pairing.error_reason), message=pairing.error_message
            )
        )
    return message


def _error(reason: str, message: str) -> errors_pb2.Error | None:
    return errors_pb2.Error(reason=reason_enum(reason), message=message) if reason else None


register_event(
    PeerDiscovered.event_type, lambda e: event_pb2.PeerDiscovered(peer=peer_to_proto(e.peer))
)
register_event(PeerUpdated.event_type, lambda e: event_pb2.PeerUpdated(peer=peer_to_proto(e.peer)))
register_event(
    PeerLost.event_type,
    lambda e: event_pb2.PeerLost(
        peer=peer_to_proto(e.peer),
        reason=event_pb2.PeerLost.Reason.Value(f"REASON_{e.reason.upper()}"),
    ),
)
register_event(
    PeerConnected.event_type, lambda e: event_pb2.PeerConnected(peer=peer_to_proto(e.peer))
)


def _disconnected(event: PeerDisconnected) -> Message:
    return event_pb2.PeerDisconnected(
        peer=peer_to_proto(event.peer), error=_error(event.error_reason, event.error_message)
    )


register_event(PeerDisconnected.event_type, _disconnected)
register_event(
    PeerIdentityAlert.event_type,
    lambda e: event_pb2.PeerIdentityMismatch(
        peer_id=e.peer_id,
        expected_fingerprint=e.expected_fingerprint,
        presented_fingerprint=e.presented_fingerprint,
        address=e.address,
    ),
)
register_event(PeerForgotten.event_type, lambda e: event_pb2.PeerForgotten(peer_id=e.peer_id))
register_event(
    PairingRequested.event_type,
    lambda e: event_pb2.PairingRequested(pairing=pairing_to_proto(e.pairing)),
)
register_event(
    PairingCompleted.event_type,
    lambda e: event_pb2.PairingCompleted(
        pairing=pairing_to_proto(e.pairing), peer=peer_to_proto(e.peer)
    ),
)
register_event(
    PairingFailed.event_type, lambda e: event_pb2.PairingFailed(pairing=pairing_to_proto(e.pairing))
)


# --- the service ------------------------------------------------------------------------------


class InvalidPageToken(KizunaError):
    """A page_token this daemon did not issue."""

    reason = "INVALID_PAGE_TOKEN"


def _peer_id(text: str) -> str:
    return parse_device_id(text, field="peer_id")


def _page(page_token: str, total: int) -> int:
    if not page_token:
        return 0
    if not (page_token.isascii() and page_token.isdigit()) or int(page_token) > total:
        raise InvalidPageToken(f"page_token {page_token[:40]!r} is not one this daemon issued")
    return int(page_token)


class PeerServicer(peer_service_pb2_grpc.PeerServiceServicer):
    """kizuna.v1.PeerService."""

    def __init__(self, network: PeerNetwork) -> None:
        self._network = network

    async def ListPeers(
        self, request: peer_service_pb2.ListPeersRequest, context: Any
    ) -> peer_service_pb2.ListPeersResponse:
        peers = self._network.peers(
            trusted_only=request.trusted_only, online_only=request.online_only
        )
        size = min(request.page_size or _DEFAULT_PAGE, _MAX_PAGE)
        start = _page(request.page_token, len(peers))
        page = peers[start : start + size]
        following = start + size
        return peer_service_pb2.ListPeersResponse(
            peers=[peer_to_proto(p) for p in page],
            next_page_token=str(following) if following < len(peers) else "",
        )

    async def GetPeer(
        self, request: peer_service_pb2.GetPeerRequest, context: Any
    ) -> peer_service_pb2.GetPeerResponse:
        peer = self._network.snapshot(_peer_id(request.peer_id))
        return peer_service_pb2.GetPeerResponse(peer=peer_to_proto(peer))

    async def AddPeer(
        self, request: peer_service_pb2.AddPeerRequest, context: Any
    ) -> peer_service_pb2.AddPeerResponse:
        if not request.address.strip():
            raise InvalidArgument("address: expected host:port", field="address")
        peer = await self._network.add_peer(request.address, persist=request.persist)
        return peer_service_pb2.AddPeerResponse(peer=peer_to_proto(peer))

    async def RemovePeer(
        self, request: peer_service_pb2.RemovePeerRequest, context: Any
    ) -> peer_service_pb2.RemovePeerResponse:
        await self._network.remove_peer(_peer_id(request.peer_id))
        return peer_service_pb2.RemovePeerResponse()

    async def ConnectPeer(
        self, request: peer_service_pb2.ConnectPeerRequest, context: Any
    ) -> peer_service_pb2.ConnectPeerResponse:
        peer = await self._network.connect_peer(_peer_id(request.peer_id))
        return peer_service_pb2.ConnectPeerResponse(peer=peer_to_proto(peer))

    async def DisconnectPeer(
        self, request: peer_service_pb2.DisconnectPeerRequest, context: Any
    ) -> peer_service_pb2.DisconnectPeerResponse:
        await self._network.disconnect_peer(_peer_id(request.peer_id))
        return peer_service_pb2.DisconnectPeerResponse()

    async def RequestPairing(
        self, request: peer_service_pb2.RequestPairingRequest, context: Any
    ) -> peer_service_pb2.RequestPairingResponse:
        pairing = await self._network.request_pairing(_peer_id(request.peer_id))
        return peer_service_pb2.RequestPairingResponse(pairing=pairing_to_proto(pairing))

    async def ListPairings(
        self, request: peer_service_pb2.ListPairingsRequest, context: Any
    ) -> peer_service_pb2.ListPairingsResponse:
        return peer_service_pb2.ListPairingsResponse(
            pairings=[pairing_to_proto(p) for p in self._network.pairings()]
        )

    async def ConfirmPairing(
        self, request: peer_service_pb2.ConfirmPairingRequest, context: Any
    ) -> peer_service_pb2.ConfirmPairingResponse:
        pairing = await self._network.confirm_pairing(
            request.pairing_id, request.code if request.code else None
        )
        return peer_service_pb2.ConfirmPairingResponse(pairing=pairing_to_proto(pairing))

    async def RejectPairing(
        self, request: peer_service_pb2.RejectPairingRequest, context: Any
    ) -> peer_service_pb2.RejectPairingResponse:
        self._network.reject_pairing(request.pairing_id)
        return peer_service_pb2.RejectPairingResponse()

    async def CancelPairing(
        self, request: peer_service_pb2.CancelPairingRequest, context: Any
    ) -> peer_service_pb2.CancelPairingResponse:
        self._network.cancel_pairing(request.pairing_id)
        return peer_service_pb2.CancelPairingResponse()

    async def TrustPeer(
        self, request: peer_service_pb2.TrustPeerRequest, context: Any
    ) -> peer_service_pb2.TrustPeerResponse:
        permissions = None
        if request.HasField("permissions"):
            p = request.permissions
            permissions = Permissions(p.files, p.auto_accept_files, p.streams, p.commands)
        peer = await self._network.trust_peer(_peer_id(request.peer_id), permissions)
        return peer_service_pb2.TrustPeerResponse(peer=peer_to_proto(peer))

    async def UpdatePeerPermissions(
        self, request: peer_service_pb2.UpdatePeerPermissionsRequest, context: Any
    ) -> peer_service_pb2.UpdatePeerPermissionsResponse:
        paths = list(request.update_mask.paths) or list(_PERMISSION_FIELDS)
        unknown = [p for p in paths if p not in _PERMISSION_FIELDS]
        if unknown:
            raise InvalidArgument(
                f"update_mask: no permission named {unknown[0]!r} (have: "
                f"{', '.join(_PERMISSION_FIELDS)})",
                field="update_mask",
            )
        changes = {name: bool(getattr(request.permissions, name)) for name in paths}
        peer = await self._network.update_permissions(_peer_id(request.peer_id), changes)
        return peer_service_pb2.UpdatePeerPermissionsResponse(peer=peer_to_proto(peer))

    async def ForgetPeer(
        self, request: peer_service_pb2.ForgetPeerRequest, context: Any
    ) -> peer_service_pb2.ForgetPeerResponse:
        await self._network.forget_peer(_peer_id(request.peer_id))
        return peer_service_pb2.ForgetPeerResponse()
