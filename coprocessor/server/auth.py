"""Bearer-token authentication: a server interceptor that refuses, with UNAUTHENTICATED, any
call whose `authorization` metadata is not `Bearer <token>`. Health checks need no token (load
balancers and orchestrators probe them). Without a configured token every call is accepted:
the server allows that only on a loopback address, and says so at startup."""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path

import grpc

from coprocessor.errors import ConfigError

TOKEN_ENV = "COPROCESSOR_TOKEN"
OPEN_METHODS_PREFIX = "/grpc.health.v1.Health/"


def load_token(token_file: Path | None, environ: dict[str, str]) -> str | None:
    """The token from a file (first line) or COPROCESSOR_TOKEN; None when neither is set."""
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc}") from exc
        if not token:
            raise ConfigError(f"the token file {token_file} is empty")
        return token
    return environ.get(TOKEN_ENV) or None


def is_loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(request, context: grpc.ServicerContext):
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


class BearerTokenInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def _authorized(self, details: grpc.HandlerCallDetails) -> bool:
        if details.method.startswith(OPEN_METHODS_PREFIX):
            return True
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(given, self._expected)
        return False

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or self._authorized(handler_call_details):
            return handler
        if handler.unary_stream is not None:
            make = grpc.unary_stream_rpc_method_handler
        elif handler.stream_unary is not None:
            make = grpc.stream_unary_rpc_method_handler
        elif handler.stream_stream is not None:
            make = grpc.stream_stream_rpc_method_handler
        else:
            make = grpc.unary_unary_rpc_method_handler
        return make(
            _refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
