"""Server reflection in both of its versions: grpc.reflection.v1 beside grpc.reflection.v1alpha.

grpcio-reflection serves only v1alpha, while grpcurl, Postman and current grpc tooling ask v1
first. The two versions declare the same messages, field for field, in different packages, so
one servicer answers both: v1 requests are decoded with v1alpha's classes (the bytes are the
same). The v1 service's own descriptor is v1alpha's file under the v1 package, added to the
descriptor pool so tools can describe it like any other service.
"""

from collections.abc import Sequence
from typing import Final

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

V1_SERVICE: Final = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE: Final = reflection.SERVICE_NAME
_V1_PACKAGE: Final = "grpc.reflection.v1"
_V1ALPHA_PACKAGE: Final = "grpc.reflection.v1alpha"


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serves both reflection versions on `server`, listing `service_names` and themselves."""
    _add_v1_descriptor()
    servicer = ReflectionServicer([*service_names, V1ALPHA_SERVICE, V1_SERVICE])
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE, {"ServerReflectionInfo": handler}),)
    )


def _add_v1_descriptor() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(V1_SERVICE)
    except KeyError:
        pass
    else:
        return  # another daemon in this process added it already
    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    file.name = "grpc/reflection/v1/reflection.proto"
    file.package = _V1_PACKAGE
    file.ClearField("options")  # v1alpha's language options name v1alpha's packages
    old, new = f".{_V1ALPHA_PACKAGE}.", f".{_V1_PACKAGE}."
    for message in file.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name.removeprefix(old)
    for service in file.service:
        for method in service.method:
            method.input_type = new + method.input_type.removeprefix(old)
            method.output_type = new + method.output_type.removeprefix(old)
    pool.AddSerializedFile(file.SerializeToString())
