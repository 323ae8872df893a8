"""EventService: streams the event log to subscribers, batching what is ready together.

A subscriber written to less than `api.event_batch_ms` ago gets its next message when that
window has passed, with everything queued meanwhile: under load this cuts the messages (and
the CPU on both ends) per event, at a bounded latency cost; at low rates nothing waits.

Each event is serialized once, at publish time, as a one-event SubscribeEventsResponse. A
response to a subscriber is the concatenation of such chunks (protobuf defines concatenated
messages as merged ones, and repeated fields append), so fan-out costs no per-subscriber
encoding. Each subscriber drains its own bounded subscription, so one that stops reading only
fills its own queue (and then sees a gap); the publisher and other subscribers never wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from kizuna_client.v1 import event_service_pb2
from kizuna_server.core.events import Batch, EventLog, Gap, Payload
from kizuna_server.errors import InvalidArgument
from kizuna_server.rpc.convert import encode_event, event_type_names

#: Upper bound on events per response: keeps messages small while batching bursts.
MAX_BATCH = 256
SERVICE = "kizuna.v1.EventService"


def encode_for_subscribers(run_id: str) -> Callable[[int, float, Payload], bytes]:
    """The event log's encode hook: each event as the bytes of a one-event response."""
    encode = encode_event(run_id)

    def chunk(sequence: int, now: float, payload: Payload) -> bytes:
        response = event_service_pb2.SubscribeEventsResponse()
        response.events.append(encode(sequence, now, payload))
        return response.SerializeToString()

    return chunk


class EventServicer:
    """Thin adapter from SubscribeEvents to the event log. Responses leave as bytes."""

    def __init__(self, log: EventLog[bytes], run_id: str, *, batch_window: float = 0.0) -> None:
        self._log = log
        self._run_id = run_id
        self._batch_window = batch_window
        self._type_names = event_type_names()

    def register(self, server: grpc.aio.Server) -> None:
        """Adds the service with a pass-through serializer for the pre-encoded responses."""
        handler = grpc.unary_stream_rpc_method_handler(
            self.SubscribeEvents,
            request_deserializer=event_service_pb2.SubscribeEventsRequest.FromString,
            response_serializer=None,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"SubscribeEvents": handler}),)
        )

    async def SubscribeEvents(
        self,
        request: event_service_pb2.SubscribeEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        # Written with context.write rather than yielded: a generator would add one more
        # generator step per message in the guard, on the daemon's hottest path.
        types = {self._type_name(t) for t in request.types}
        if request.from_start and (request.after_sequence or request.run_id):
            raise InvalidArgument(
                "from_start replays the current run from its first event: give no "
                "after_sequence or run_id with it",
                field="from_start",
            )
        restarted = bool(request.run_id) and request.run_id != self._run_id
        after: int | None = None
        if restarted:
            after = 0
        elif request.after_sequence:
            after = request.after_sequence
        elif request.from_start:
            after = 0
        wake = asyncio.Event()
        subscription = self._log.subscribe(
            after_sequence=after, types=types, restarted=restarted, notify=wake.set
        )
        try:
            start = event_service_pb2.SubscribeEventsResponse()
            start.start.run_id = self._run_id
            start.start.last_sequence = self._log.last_sequence
            await context.write(start.SerializeToString())
            loop = asyncio.get_running_loop()
            next_write = 0.0
            while True:
                wake.clear()
                if not subscription.pending:
                    if subscription.ended:
                        return
                    await wake.wait()
                    continue
                delay = next_write - loop.time()
                if delay > 0:
                    # Written to moments ago: let what arrives meanwhile join this message.
                    await asyncio.sleep(delay)
                batch = subscription.take(MAX_BATCH)
                if batch is not None:
                    await context.write(_response(batch))
                    next_write = loop.time() + self._batch_window
        finally:
            subscription.cancel()

    def _type_name(self, number: int) -> str:
        name = self._type_names.get(number)
        if name is None:
            raise InvalidArgument(f"types: {number} is not an EventType", field="types")
        return name


def _response(batch: Batch[bytes]) -> bytes:
    chunks = [entry.encoded for entry in batch.entries]
    if batch.gap is not None:
        chunks.insert(0, _gap_chunk(batch.gap))
    return b"".join(chunks)


def _gap_chunk(gap: Gap) -> bytes:
    response = event_service_pb2.SubscribeEventsResponse()
    response.gap.first_sequence = gap.first_sequence
    response.gap.last_sequence = gap.last_sequence
    response.gap.reason = event_service_pb2.EventGap.Reason.Value(f"REASON_{gap.reason.upper()}")
    return response.SerializeToString()
