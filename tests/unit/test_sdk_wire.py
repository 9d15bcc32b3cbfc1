"""The gRPC wire format (`coprocessor.sdk.wire`): errors survive the trip through a status
as the very class raised (a compile error with its position), values stay exact, and a client
retries only idempotent calls, only on UNAVAILABLE."""

from __future__ import annotations

import time

import grpc
import pytest

from coprocessor.errors import (
    CompileError,
    CoprocessorError,
    IndexIncompleteError,
    InvalidArgument,
    JobNotFoundError,
    QueueFullError,
    RequestConflictError,
    ServiceUnavailableError,
)
from coprocessor.sdk.client import Client, RetryPolicy
from coprocessor.sdk.wire import (
    error_from_status,
    query_message,
    request_of,
    status_code_for,
    status_for,
    value_message,
    value_of,
)

CASES = [
    (CompileError("LIKE is not supported", token="LIKE", line=2, column=9), "INVALID_ARGUMENT"),
    (InvalidArgument("bad"), "INVALID_ARGUMENT"),
    (JobNotFoundError("no job"), "NOT_FOUND"),
    (RequestConflictError("taken"), "ALREADY_EXISTS"),
    (QueueFullError("full"), "RESOURCE_EXHAUSTED"),
    (IndexIncompleteError("not indexed"), "FAILED_PRECONDITION"),
    (ServiceUnavailableError("stopping"), "UNAVAILABLE"),
    (CoprocessorError("bug"), "INTERNAL"),
]


@pytest.mark.parametrize(("exc", "code"), CASES)
def test_errors_round_trip_through_a_status(exc, code):
    assert status_code_for(exc).name == code
    status = status_for(exc)
    back = error_from_status(status_code_for(exc), "", status.SerializeToString())
    assert isinstance(back, type(exc)) and str(exc) in str(back)
    if isinstance(exc, CompileError):
        assert (back.token, back.line, back.column, back.reason) == ("LIKE", 2, 9, exc.reason)


def test_a_status_without_details_maps_by_code():
    too_big = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "message larger", None)
    assert isinstance(too_big, InvalidArgument)
    gone = error_from_status(grpc.StatusCode.UNAVAILABLE, "connection refused", None)
    assert isinstance(gone, ServiceUnavailableError)


def test_values_and_requests_are_exact():
    for value in (2**256 - 1, 0, b"\x00" * 20, True, False, None):
        assert value_of(value_message(value)) == value
    msg = query_message("SELECT 1", {"a": b"\x01\x02", "n": 2**200}, at_block=7)
    req = request_of(msg, 0)
    assert req["params"] == {"a": "0x0102", "n": str(2**200)} and req["at_block"] == 7
    assert req["proof_kind"] == "composite" and req["sql"] == "SELECT 1"
    with pytest.raises(InvalidArgument):
        query_message("SELECT 1", {"x": 1.5})


def test_idempotent_calls_retry_on_unavailable_then_fail():
    retry = RetryPolicy(attempts=3, backoff=0.1, max_backoff=1.0)
    with Client("127.0.0.1:1", retry=retry, timeout=2) as client:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            client.tables()
        assert time.monotonic() - started >= 0.1 + 0.2  # two backoffs before the last attempt
