"""The gRPC wire format shared by the server and the SDK client: the generated `coprocessor.v1`
stubs, queries and jobs to and from messages, and the one table between the coprocessor's
exception tree and gRPC status codes.

A mapped error carries, in its google.rpc.Status details, an ErrorInfo whose reason is the
exception's class name (and, for SQL, a CompileErrorDetail with the token, line and column),
so the client raises the very class the server raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from coprocessor import zkvm
from coprocessor.compiler import CatalogueQuery
from coprocessor.compiler.journal import decode_journal
from coprocessor.errors import (
    AuthenticationError,
    ChainError,
    CompileError,
    ConfigError,
    CoprocessorError,
    DeadlineExceededError,
    IndexIncompleteError,
    InvalidArgument,
    JobFailedError,
    JobNotDoneError,
    JobNotFoundError,
    PlanRejectedError,
    QueryEvaluationError,
    QueueFullError,
    RequestConflictError,
    ResultMismatchError,
    ServiceError,
    ServiceUnavailableError,
)
from coprocessor.queue import Job, JobState
from coprocessor.sdk.result import TYPE_CODES, QueryResult, decode_journal_strict

try:
    from coprocessor._proto.v1 import query_service_pb2 as pb
    from coprocessor._proto.v1 import query_service_pb2_grpc as pb_grpc
except ImportError as _exc:  # pragma: no cover - an installation without `make setup`
    raise ConfigError(
        f"the gRPC stubs are missing ({_exc}): run `make setup` (or `make proto`)"
    ) from _exc

__all__ = ["pb", "pb_grpc"]

SERVICE_NAME = "coprocessor.v1.QueryService"
DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "coprocessor"
PROOF_KINDS = {
    "composite": pb.PROOF_KIND_COMPOSITE,
    "succinct": pb.PROOF_KIND_SUCCINCT,
    "dev": pb.PROOF_KIND_DEV,
}
PROOF_KIND_NAMES = {v: k for k, v in PROOF_KINDS.items()}
JOB_STATES = {
    JobState.QUEUED: pb.JOB_STATE_QUEUED,
    JobState.PROVING: pb.JOB_STATE_PROVING,
    JobState.DONE: pb.JOB_STATE_DONE,
    JobState.FAILED: pb.JOB_STATE_FAILED,
    JobState.CANCELLED: pb.JOB_STATE_CANCELLED,
}
JOB_STATE_NAMES = {v: k for k, v in JOB_STATES.items()}

# exception -> status code, most specific first (the server maps with the first match)
STATUS_OF_ERROR: list[tuple[type[CoprocessorError], grpc.StatusCode]] = [
    (CompileError, grpc.StatusCode.INVALID_ARGUMENT),
    (PlanRejectedError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (JobNotFoundError, grpc.StatusCode.NOT_FOUND),
    (RequestConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (QueueFullError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (IndexIncompleteError, grpc.StatusCode.FAILED_PRECONDITION),
    (JobNotDoneError, grpc.StatusCode.FAILED_PRECONDITION),
    (JobFailedError, grpc.StatusCode.FAILED_PRECONDITION),
    (QueryEvaluationError, grpc.StatusCode.FAILED_PRECONDITION),
    (ServiceUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (ChainError, grpc.StatusCode.UNAVAILABLE),
    (AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (DeadlineExceededError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (CoprocessorError, grpc.StatusCode.INTERNAL),
]
# the classes a client re-raises by name (each takes a message alone)
_ERRORS_BY_NAME: dict[str, type[CoprocessorError]] = {
    cls.__name__: cls
    for cls, _ in STATUS_OF_ERROR
    if cls not in (CompileError, CoprocessorError, ChainError)
} | {ResultMismatchError.__name__: ResultMismatchError}
# status code -> the error a client raises without a known ErrorInfo reason
_ERROR_OF_STATUS: dict[grpc.StatusCode, type[CoprocessorError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: JobNotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: RequestConflictError,
    grpc.StatusCode.FAILED_PRECONDITION: IndexIncompleteError,
    grpc.StatusCode.UNAVAILABLE: ServiceUnavailableError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def status_code_for(exc: CoprocessorError) -> grpc.StatusCode:
    for cls, code in STATUS_OF_ERROR:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def status_for(exc: CoprocessorError) -> status_pb2.Status:
    """The google.rpc.Status of an error: code, message, ErrorInfo (its class name) and, for a
    compile error, the refused token's position."""
    code = status_code_for(exc)
    status = status_pb2.Status(code=code.value[0], message=str(exc))
    info = error_details_pb2.ErrorInfo(reason=type(exc).__name__, domain=ERROR_DOMAIN)
    status.details.add().Pack(info)
    if isinstance(exc, CompileError):
        detail = pb.CompileErrorDetail(
            reason=exc.reason, token=exc.token, line=exc.line, column=exc.column
        )
        status.details.add().Pack(detail)
    return status


def error_from_status(
    code: grpc.StatusCode, message: str, details: bytes | None
) -> CoprocessorError:
    """The exception a failed call raises on the client: the server's own class when its
    details name one, else the class of the status code."""
    reason, compile_detail = "", None
    if details:
        status = status_pb2.Status.FromString(details)
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if any_detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                reason = info.reason
            detail = pb.CompileErrorDetail()
            if any_detail.Unpack(detail):
                compile_detail = detail
        message = status.message or message
    if compile_detail is not None:
        d = compile_detail
        return CompileError(d.reason, token=d.token, line=d.line, column=d.column)
    if reason in _ERRORS_BY_NAME:
        return _ERRORS_BY_NAME[reason](message)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return QueueFullError(message) if reason else InvalidArgument(message)
    return _ERROR_OF_STATUS.get(code, ServiceError)(f"{code.name}: {message}")


# --- queries --------------------------------------------------------------------------------------


def _param_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidArgument(f"a parameter must be bytes, an int or text, got {value!r}")
    return str(value)


def query_message(
    sql: str | CatalogueQuery,
    params: dict | None = None,
    at_block: int | None = None,
    views: dict[str, str] | None = None,
    anchor: str | None = None,
) -> pb.Query:
    """A question as a message: SQL (a catalogue query is sent as its SQL and views)."""
    if isinstance(sql, CatalogueQuery):
        views, sql = {**sql.views, **(views or {})}, sql.sql
    msg = pb.Query(
        sql=sql,
        params={k: _param_text(v) for k, v in (params or {}).items()},
        views=views or {},
    )
    if at_block is not None:
        msg.at_block = at_block
    if anchor is not None:
        msg.anchor = anchor
    return msg


def request_of(query: pb.Query, proof_kind: int) -> dict:
    """The request as the queue stores it (its identity for request-id idempotency)."""
    kind = PROOF_KIND_NAMES.get(proof_kind or pb.PROOF_KIND_COMPOSITE)
    if kind is None:
        raise InvalidArgument(f"unknown proof kind {proof_kind}")
    source = query.WhichOneof("source")
    if source is None:
        raise InvalidArgument("the query has neither sql nor catalogue_name")
    return {
        "sql": query.sql if source == "sql" else None,
        "catalogue_name": query.catalogue_name if source == "catalogue_name" else None,
        "params": dict(query.params),
        "views": dict(query.views),
        "at_block": query.at_block if query.HasField("at_block") else None,
        "anchor": query.anchor if query.HasField("anchor") else None,
        "proof_kind": kind,
    }


# --- jobs and results -----------------------------------------------------------------------------


def value_message(value: Any) -> pb.Value:
    if value is None:
        return pb.Value()
    if isinstance(value, bool):
        return pb.Value(bool_value=value)
    if isinstance(value, int):
        return pb.Value(uint256=str(value))
    return pb.Value(bytes_value=bytes(value))


def value_of(msg: pb.Value) -> Any:
    kind = msg.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "uint256":
        return int(msg.uint256)
    return getattr(msg, kind)


def _result_message(job: Job, receipt_size: int) -> pb.QueryResult:
    meta, stats, journal = job.meta, job.stats or {}, job.journal or b""
    types = meta.get("output_types", [])
    j = decode_journal(journal, types)
    return pb.QueryResult(
        columns=[pb.Column(name=n, type=t) for n, t in zip(meta["columns"], meta["column_types"])],
        rows=[pb.Row(values=[value_message(v) for v in row]) for row in job.rows],
        journal=journal,
        query_hash=j.query_hash,
        chain_id=j.chain_id,
        anchor_number=j.anchor_number,
        anchor_hash=j.anchor_hash,
        history_root=j.history_root,
        first_block=j.first_block,
        last_block=j.last_block,
        image_id=bytes.fromhex(stats.get("image_id", "")),
        dev=bool(meta.get("dev")),
        cycles=stats.get("cycles", 0),
        user_cycles=stats.get("user_cycles", 0),
        segments=stats.get("segments", 0),
        proving_seconds=stats.get("proving_seconds", 0.0),
        receipt_size=receipt_size,
        sql=meta.get("sql") or "",
        param_types=meta.get("param_types", []),
    )


def job_message(job: Job, receipt_size: int = 0) -> pb.Job:
    msg = pb.Job(
        job_id=job.id,
        request_id=job.request_id,
        state=JOB_STATES[job.state],
        proof_kind=PROOF_KINDS[job.request.get("proof_kind", "composite")],
        attempts=job.attempts,
        segments_done=job.segments_done,
        segments_total=job.segments_total,
        error_kind=job.error_kind,
        error_message=job.error_message,
        created_unix_ms=int(job.created * 1000),
        updated_unix_ms=int(job.updated * 1000),
        query_hash=job.query_hash,
        worker=job.worker,
    )
    if job.state == JobState.DONE and job.journal is not None:
        msg.result.CopyFrom(_result_message(job, receipt_size))
    return msg


# --- the client's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInfo:
    """A job as the server reports it (state: queued, proving, done, failed, cancelled)."""

    job_id: str
    state: str
    request_id: str
    attempts: int
    worker: str
    error_kind: str
    error_message: str
    query_hash: bytes
    created: bool = False  # for submit: False when the request id named an existing job
    segments_done: int = 0  # while proving: segments proven so far (succinct proofs report
    segments_total: int = 0  # each one; a composite proof reports 0 of N, then N of N)

    @property
    def terminal(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    @classmethod
    def of(cls, job: pb.Job, created: bool = False) -> JobInfo:
        return cls(
            job_id=job.job_id,
            state=str(JOB_STATE_NAMES[job.state]),
            request_id=job.request_id,
            attempts=job.attempts,
            worker=job.worker,
            error_kind=job.error_kind,
            error_message=job.error_message,
            query_hash=job.query_hash,
            created=created,
            segments_done=job.segments_done,
            segments_total=job.segments_total,
        )


def rpc_error(err: grpc.RpcError) -> CoprocessorError:
    """A failed call's exception in the coprocessor's tree (the one place gRPC errors map)."""
    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    details = None
    trailing = err.trailing_metadata() if callable(getattr(err, "trailing_metadata", None)) else ()
    for key, value in trailing or ():
        if key == DETAILS_KEY:
            details = value
    message = err.details() if callable(getattr(err, "details", None)) else str(err)
    return error_from_status(code, message or "", details)


def failed_job_error(job: JobInfo) -> JobFailedError:
    what = f"{job.error_kind}: {job.error_message}" if job.error_kind else job.state
    return JobFailedError(
        f"job {job.job_id} {job.state}: {what}", job_id=job.job_id, kind=job.error_kind
    )


def build_result(job: pb.Job, receipt_bytes: bytes) -> QueryResult:
    """A QueryResult whose rows and journal fields come from the receipt's journal; the server
    only says how to decode them (column names and types), as a sidecar file does."""
    info = job.result
    receipt = zkvm.Receipt.from_bytes(receipt_bytes)
    types = [c.type for c in info.columns]
    j = decode_journal_strict(receipt.journal, [TYPE_CODES[t] for t in types])
    return QueryResult.from_journal(
        j,
        receipt,
        columns=[c.name for c in info.columns],
        column_types=types,
        image_id=info.image_id,
        dev=receipt.is_fake,
        cycles=info.cycles,
        user_cycles=info.user_cycles,
        segments=info.segments,
        proving_seconds=info.proving_seconds,
        sql=info.sql or None,
        param_types=list(info.param_types),
    )
