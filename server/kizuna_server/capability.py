"""The one way a capability (transfers, streams, ...) joins the daemon.

A capability package brings its peer-plane service (what other daemons call on the link port)
and its control-API servicer (what apps call), and the composition root (`app.Daemon`)
registers it. The planes never import a capability: the peer plane sees only the
`PeerCapability` shape below, the control API only servicers handed to it. A capability may use
both planes (`PeerNetwork` to reach peers, `rpc.convert` to encode its events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import grpc.aio

from kizuna_server.core.events import EventLog, Payload
from kizuna_server.core.node import Subsystem

if TYPE_CHECKING:
    from kizuna_server.config import Config
    from kizuna_server.p2p.network import PeerNetwork


@dataclass(frozen=True)
class Host:
    """What the daemon gives each capability: its configuration, the peer network, and the
    event log's publish (call on the daemon's loop)."""

    config: Config
    network: PeerNetwork
    publish: Callable[[Payload], None]
    #: The event log, for capabilities that follow events (plugins).
    events: EventLog[bytes] | None = None


class PeerCapability(Protocol):
    """The part of a capability the peer plane knows: a name peers see in
    `Peer.capabilities`, and its services on the link port."""

    @property
    def name(self) -> str: ...

    def add_peer_services(self, server: grpc.aio.Server, *, offered: bool) -> None:
        """Registers the link-port services. `offered` is false when plugins.enabled leaves
        the capability out: the service must then refuse what peers start (`CapabilityOff`) and
        still serve what this device started."""


class Capability(PeerCapability, Protocol):
    """A whole capability, as the composition root drives it."""

    @property
    def api_services(self) -> Sequence[str]:
        """Full names of the control-API services it registers (health and reflection)."""

    async def start(self) -> None:
        """Called before the peer ports open, so peers find it ready."""

    async def stop(self) -> None:
        """Called on daemon stop, after API calls drained and before the peer ports close."""

    def add_api_services(self, server: grpc.aio.Server) -> None:
        """Registers the control-API servicers on one API server (called per listener)."""

    def subsystems(self) -> list[Subsystem]:
        """Its entries in `kizuna status` (may be empty)."""
