"""Servicers for capabilities a later version of the daemon builds.

Every method answers UNIMPLEMENTED with reason NOT_IMPLEMENTED and a message naming what is
missing, instead of grpc's anonymous "Method not implemented!". This is the only unbuilt path.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc.aio
from google.protobuf.descriptor import ServiceDescriptor

from kizuna_client.v1 import (
    command_service_pb2,
    command_service_pb2_grpc,
)
from kizuna_server.errors import NotImplementedCapability


@dataclass(frozen=True)
class PendingCapability:
    """A service whose capability is not built yet, and how to register it."""

    capability: str
    description: str
    descriptor: ServiceDescriptor
    register: Callable[[Any, grpc.aio.Server], None]


PENDING: tuple[PendingCapability, ...] = (
    PendingCapability(
        "commands",
        "remote commands",
        command_service_pb2.DESCRIPTOR.services_by_name["CommandService"],
        command_service_pb2_grpc.add_CommandServiceServicer_to_server,
    ),
)


def pending_servicer(pending: PendingCapability) -> object:
    """A servicer whose every method refuses with a message naming the missing capability."""

    def refuse(method: str) -> Callable[..., Any]:
        async def call(self: object, request: object, context: object) -> None:
            raise NotImplementedCapability(
                f"{pending.descriptor.full_name}.{method} is not available: this daemon does not "
                f"provide {pending.description} yet",
                capability=pending.capability,
            )

        return call

    methods = {m.name: refuse(m.name) for m in pending.descriptor.methods}
    return type(f"Pending{pending.descriptor.name}", (), methods)()


def add_pending_services(server: grpc.aio.Server) -> list[str]:
    """Registers every pending service; returns their full names (for reflection)."""
    for pending in PENDING:
        pending.register(pending_servicer(pending), server)
    return [p.descriptor.full_name for p in PENDING]
