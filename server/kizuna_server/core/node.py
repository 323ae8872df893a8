"""What the daemon reports about itself: its lifecycle state, subsystems and listeners.

Plain values; the rpc layer converts them and the app owns the live instances.
"""

from dataclasses import dataclass
from enum import StrEnum


class NodeState(StrEnum):
    """Lifecycle of the daemon (kizuna.v1.Node.State)."""

    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"


class SubsystemState(StrEnum):
    """Lifecycle of one subsystem (kizuna.v1.Subsystem.State)."""

    DISABLED = "disabled"
    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Subsystem:
    """One part of the daemon and how it is doing, in words a person can act on."""

    name: str
    state: SubsystemState
    detail: str


@dataclass(frozen=True, slots=True)
class ApiEndpoint:
    """A control-API listener: a Unix socket path, or a loopback "host:port" needing the token."""

    transport: str  # "unix" | "tcp"
    address: str
    requires_token: bool

    @property
    def target(self) -> str:
        """The gRPC target string a client dials."""
        return f"unix:{self.address}" if self.transport == "unix" else self.address
