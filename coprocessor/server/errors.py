"""How a servicer method's CoprocessorError becomes a gRPC status, in one place: the code from
`coprocessor.sdk.wire.STATUS_OF_ERROR` and the details (its class, a SQL token's position)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator

import grpc
from grpc_status import rpc_status

from coprocessor.errors import CoprocessorError
from coprocessor.sdk.wire import status_code_for, status_for

log = logging.getLogger("coprocessor.server")


def abort_with(context: grpc.ServicerContext, exc: CoprocessorError) -> None:
    """Ends the call with the error's status (raises, as grpc's abort does)."""
    code = status_code_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.error("internal error: %s: %s", type(exc).__name__, exc)
    context.abort_with_status(rpc_status.to_status(status_for(exc)))


def mapped(method: Callable) -> Callable:
    """Wraps a unary servicer method: a CoprocessorError becomes its status."""

    @functools.wraps(method)
    def call(self, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except CoprocessorError as exc:
            abort_with(context, exc)

    return call


def mapped_stream(method: Callable[..., Iterator]) -> Callable[..., Iterator]:
    """Wraps a server-streaming servicer method: a CoprocessorError becomes its status."""

    @functools.wraps(method)
    def call(self, request, context: grpc.ServicerContext):
        try:
            yield from method(self, request, context)
        except CoprocessorError as exc:
            abort_with(context, exc)

    return call
