"""Registering a generated servicer with serializers of our own for some of its methods."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import grpc
import grpc.aio


class Codec(NamedTuple):
    """How one method's requests are read and its responses written."""

    decode_request: Callable[[bytes], Any]
    encode_response: Callable[[Any], bytes]


class _Recoding:
    """The server as a generated `add_*Servicer_to_server` sees it: the handlers it registers
    are passed on with `codecs` for the methods named there."""

    def __init__(self, server: grpc.aio.Server, codecs: Mapping[str, Codec]) -> None:
        self._server = server
        self._codecs = codecs

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Rebuilt from the method handlers, which the generated code registers next."""

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        if missing := set(self._codecs) - set(handlers):
            raise ValueError(f"{service} has no method {sorted(missing)}")
        recoded = {
            name: _recode(handler, self._codecs[name]) if name in self._codecs else handler
            for name, handler in handlers.items()
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, recoded),)
        )
        self._server.add_registered_method_handlers(service, recoded)  # type: ignore[attr-defined]


def _recode(
    handler: grpc.RpcMethodHandler[Any, Any], codec: Codec
) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.stream_stream is None:
        raise ValueError("only bidirectional methods take codecs of their own")
    return grpc.stream_stream_rpc_method_handler(
        handler.stream_stream,
        request_deserializer=codec.decode_request,
        response_serializer=codec.encode_response,
    )


def add_with_codecs(
    add: Callable[[Any, Any], None],
    servicer: object,
    server: grpc.aio.Server,
    codecs: Mapping[str, Codec],
) -> None:
    """`add(servicer, server)` (a generated registration function), with `codecs` by method
    name in place of the generated serializers."""
    add(servicer, _Recoding(server, codecs))
