"""Services a later version builds answer UNIMPLEMENTED with a reason naming what is missing."""

import grpc
import grpc.aio
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from kizuna_client import NotImplementedByDaemonError, error_from_rpc
from kizuna_server.app import Daemon
from kizuna_server.rpc.unimplemented import PENDING

METHODS = [
    (pending.capability, method) for pending in PENDING for method in pending.descriptor.methods
]


@pytest.mark.parametrize(("capability", "method"), METHODS, ids=[m.full_name for _, m in METHODS])
async def test_pending_method_is_unimplemented_with_reason(
    daemon: Daemon, capability: str, method: MethodDescriptor
) -> None:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    kind = (
        ("stream" if method.client_streaming else "unary")
        + "_"
        + ("stream" if method.server_streaming else "unary")
    )
    async with grpc.aio.insecure_channel(f"unix:{daemon.config.api.socket_path}") as channel:
        callable_ = getattr(channel, kind)(
            path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        request = request_class()

        async def invoke() -> None:
            if method.client_streaming and method.server_streaming:
                call = callable_()
                await call.write(request)
                await call.read()
            elif method.client_streaming:
                await callable_(iter([request]))
            elif method.server_streaming:
                async for _ in callable_(request):
                    pass
            else:
                await callable_(request)

        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await invoke()
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    error = error_from_rpc(failure.value)
    assert isinstance(error, NotImplementedByDaemonError)
    assert error.metadata["capability"] == capability
    assert method.full_name in error.message
    assert daemon.state.value == "ready"


def test_every_pending_service_is_a_later_capability() -> None:
    assert {p.capability for p in PENDING} == {"commands"}
