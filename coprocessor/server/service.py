"""`QueryService` (coprocessor.v1): compiles queries in the server process (reading the one
DuckDB index through a cursor per gRPC thread, so compiles run side by side), queues them for
the prover workers and serves jobs, receipts and the schema.

Every method's CoprocessorError becomes a status through `errors.mapped` (once, here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from coprocessor import zkvm
from coprocessor.compiler import CatalogueQuery, CompiledQuery, catalogue
from coprocessor.compiler.journal import guest_input, keccak_po2
from coprocessor.compiler.schema import BUILTIN, SRC_EVENT, TYPE_NAMES
from coprocessor.errors import (
    CompileError,
    InvalidArgument,
    JobNotDoneError,
    ServiceUnavailableError,
)
from coprocessor.queue import JobState, ProvingQueue, ProvingTask, encode_rows
from coprocessor.sdk import Coprocessor, check_anchor
from coprocessor.sdk.result import QUERY_GUEST
from coprocessor.sdk.wire import JOB_STATES, job_message, pb, pb_grpc, request_of
from coprocessor.server.errors import mapped, mapped_stream

RECEIPT_CHUNK = 256 * 1024
WATCH_POLL_SECONDS = 0.05


@dataclass
class IndexHealth:
    """The index's lag behind the node, as the health monitor last measured it."""

    node_head: int = 0
    last_block: int = 0
    max_lag_blocks: int = 8
    serving: bool = False

    @property
    def lag(self) -> int:
        return max(0, self.node_head - self.last_block)


class QueryService(pb_grpc.QueryServiceServicer):
    def __init__(
        self,
        coprocessor: Coprocessor,
        queue: ProvingQueue,
        health: IndexHealth,
        accepting: Callable[[], bool],
    ):
        self.cp, self.queue, self.health, self._accepting = coprocessor, queue, health, accepting

    # --- compiling --------------------------------------------------------------------------

    def _compile(self, request: dict) -> CompiledQuery:
        sql: str | CatalogueQuery | None = request["sql"]
        if request["catalogue_name"] is not None:
            queries = catalogue()
            if request["catalogue_name"] not in queries:
                raise InvalidArgument(f"no catalogue query {request['catalogue_name']!r}")
            sql = queries[request["catalogue_name"]]
        assert sql is not None
        return self.cp.compile(
            sql,
            params=request["params"] or None,
            at_block=request["at_block"],
            views=request["views"] or None,
            anchor=request.get("anchor"),  # queues written before anchors have no key
        )

    def _task(self, compiled: CompiledQuery, kind: str) -> ProvingTask:
        witness, journal = compiled.witness, compiled.journal
        if witness is None or journal is None or compiled.expected is None:
            raise CompileError("the query was compiled without an index: nothing to prove")
        if self.cp.chain_id is None:
            raise InvalidArgument("no chain id: the index is empty")
        if self.cp.rpc is not None:  # the index's anchor must be the node's block
            check_anchor(self.cp.rpc, self.cp.chain_id, compiled.anchor, witness.anchor_hash)
        meta = {
            "columns": list(compiled.columns),
            "column_types": list(compiled.column_types),
            "output_types": list(compiled.plan.output_types),
            "param_types": list(compiled.param_types),
            "sql": compiled.sql,
            "rows": encode_rows(compiled.expected),
            "dev": kind == "dev",
        }
        return ProvingTask(
            guest_input=guest_input(compiled, self.cp.chain_id),
            expected_journal=journal,
            program=QUERY_GUEST,
            kind="succinct" if kind == "succinct" else "composite",
            dev=kind == "dev",
            segment_po2=zkvm.DEFAULT_PROVE_SEGMENT_PO2,
            keccak_po2=keccak_po2(compiled),
            meta=meta,
        )

    # --- jobs -------------------------------------------------------------------------------

    @mapped
    def SubmitQuery(self, request, context):
        if not self._accepting():
            raise ServiceUnavailableError("the server is shutting down: submit elsewhere or later")
        req = request_of(request.query, request.proof_kind)
        existing = self.queue.find_request(request.request_id, req)
        if existing is not None:
            return pb.SubmitQueryResponse(job=job_message(existing), created=False)
        compiled = self._compile(req)
        task = self._task(compiled, req["proof_kind"])
        job, created = self.queue.submit(
            req, task, request_id=request.request_id, query_hash=compiled.query_hash
        )
        return pb.SubmitQueryResponse(job=self._job_message(job), created=created)

    def _job_message(self, job) -> pb.Job:
        size = self.queue.receipt_size(job.id) if job.state == JobState.DONE else 0
        return job_message(job, size)

    @mapped
    def GetQuery(self, request, context):
        return pb.GetQueryResponse(job=self._job_message(self.queue.get(request.job_id)))

    @mapped_stream
    def WatchQuery(self, request, context) -> Iterator:
        job = self.queue.get(request.job_id)
        last_seen = 0
        while context.is_active():
            for event in self.queue.events(job.id, last_seen):
                last_seen = event.seq
                job = self.queue.get(job.id)
                msg = self._job_message(job)
                if event.state != job.state:  # a past state: as it was, without the result
                    msg.ClearField("result")
                    msg.state = JOB_STATES[event.state]
                msg.segments_done, msg.segments_total = event.segments_done, event.segments_total
                yield pb.WatchQueryResponse(job=msg)
                if event.state.terminal:
                    return
            if not self._accepting():
                raise ServiceUnavailableError("the server is shutting down: watch again later")
            time.sleep(WATCH_POLL_SECONDS)

    @mapped
    def CancelQuery(self, request, context):
        return pb.CancelQueryResponse(job=self._job_message(self.queue.cancel(request.job_id)))

    @mapped_stream
    def GetReceipt(self, request, context) -> Iterator:
        job = self.queue.get(request.job_id)
        data = self.queue.receipt(job.id)
        if job.state != JobState.DONE or data is None:
            raise JobNotDoneError(f"job {job.id} is {job.state}, not done: no receipt yet")
        for offset in range(0, len(data), RECEIPT_CHUNK):
            yield pb.GetReceiptResponse(
                chunk=data[offset : offset + RECEIPT_CHUNK], offset=offset, total_size=len(data)
            )

    # --- queries, schema, index -------------------------------------------------------------

    @mapped
    def ExplainQuery(self, request, context):
        compiled = self._compile(request_of(request.query, pb.PROOF_KIND_DEV))
        return pb.ExplainQueryResponse(
            query_hash=compiled.query_hash,
            explanation=compiled.explain(),
            columns=[
                pb.Column(name=n, type=t) for n, t in zip(compiled.columns, compiled.column_types)
            ],
            anchor_number=compiled.anchor or 0,
        )

    @mapped
    def ListTables(self, request, context):
        tables = [
            pb.Table(
                name=source.name,
                columns=[pb.Column(name=c.name, type=TYPE_NAMES[c.type]) for c in source.columns],
                event_view=source.kind == SRC_EVENT,
            )
            for source in BUILTIN.values()
        ]
        return pb.ListTablesResponse(tables=tables)

    @mapped
    def GetIndexStatus(self, request, context):
        cp = self.cp.store.checkpoint()
        h = self.health
        return pb.GetIndexStatusResponse(
            chain_id=cp.chain_id if cp else (self.cp.chain_id or 0),
            first_block=cp.first_block if cp else 0,
            last_block=cp.last_block if cp else 0,
            last_hash=cp.last_hash if cp else b"",
            node_head=h.node_head,
            lag_blocks=h.lag,
            max_lag_blocks=h.max_lag_blocks,
            serving=h.serving,
            jobs_by_state=self.queue.counts(),
            proving_seconds_total=self.queue.proving_seconds(),
        )


def add_to_server(service: QueryService, server: grpc.Server) -> None:
    pb_grpc.add_QueryServiceServicer_to_server(service, server)
