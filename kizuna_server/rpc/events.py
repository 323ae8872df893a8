"""EventService: streams the event log to subscribers, batching what is ready together.

Each subscriber drains its own bounded subscription, so one that stops reading only fills its
own queue (and then sees a gap); the publisher and other subscribers never wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio

from kizuna.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc
from kizuna_server.core.events import Batch, EventLog
from kizuna_server.errors import InvalidArgument
from kizuna_server.rpc.convert import event_type_names

#: Upper bound on events per response: keeps messages small while batching bursts.
MAX_BATCH = 256


class EventServicer(event_service_pb2_grpc.EventServiceServicer):
    """Thin adapter from SubscribeEvents to the event log."""

    def __init__(self, log: EventLog[event_pb2.Event], run_id: str) -> None:
        self._log = log
        self._run_id = run_id
        self._type_names = event_type_names()

    async def SubscribeEvents(
        self,
        request: event_service_pb2.SubscribeEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[event_service_pb2.SubscribeEventsResponse]:
        types = {self._type_name(t) for t in request.types}
        restarted = bool(request.run_id) and request.run_id != self._run_id
        after: int | None = None
        if restarted:
            after = 0
        elif request.after_sequence:
            after = request.after_sequence
        wake = asyncio.Event()
        subscription = self._log.subscribe(
            after_sequence=after, types=types, restarted=restarted, notify=wake.set
        )
        try:
            while True:
                wake.clear()
                batch = subscription.take(MAX_BATCH)
                if batch is not None:
                    yield _response(batch)
                elif subscription.ended:
                    return
                else:
                    await wake.wait()
        finally:
            subscription.cancel()

    def _type_name(self, number: int) -> str:
        name = self._type_names.get(number)
        if name is None:
            raise InvalidArgument(f"types: {number} is not an EventType", field="types")
        return name


def _response(batch: Batch[event_pb2.Event]) -> event_service_pb2.SubscribeEventsResponse:
    response = event_service_pb2.SubscribeEventsResponse(
        events=[entry.encoded for entry in batch.entries]
    )
    if batch.gap is not None:
        response.gap.first_sequence = batch.gap.first_sequence
        response.gap.last_sequence = batch.gap.last_sequence
        response.gap.reason = batch.gap.reason
    return response
