"""The gRPC clients of `coprocessor serve`: `Client` (sync) and `AsyncClient` (asyncio), with
the embedded `Coprocessor`'s method names where they overlap (`prove`, `explain`,
`catalogue`) plus jobs (`submit`, `watch`, `get`, `cancel`, `result`, `receipt`).

    with Client("127.0.0.1:50051", token=None) as client:
        r = client.prove(sql, params={"token": "0x..."}, dev=True)   # a verified QueryResult

The server's word is never trusted: a result's rows are decoded from the receipt's journal,
and `result`/`prove` verify the seal against the recorded query image ID (and, when the
question is known, its queryHash and parameters) before returning. Every call has a deadline;
calls that are safe to repeat (reads, cancel, and submit, made idempotent by a request id) are
retried with backoff on UNAVAILABLE only; gRPC errors become the coprocessor's exceptions once,
in `coprocessor.sdk.wire.rpc_error`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc

from coprocessor.compiler import CatalogueQuery, catalogue
from coprocessor.sdk.result import QueryResult
from coprocessor.sdk.wire import (
    PROOF_KINDS,
    JobInfo,
    build_result,
    failed_job_error,
    pb,
    pb_grpc,
    query_message,
    rpc_error,
)

MiB = 1024 * 1024
Question = str | CatalogueQuery


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of idempotent calls that failed with UNAVAILABLE: `attempts` in all, waiting
    `backoff` seconds, doubled each time up to `max_backoff`."""

    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2**attempt)


class _ClientBase:
    def __init__(
        self,
        target: str,
        *,
        token: str | None,
        timeout: float,
        wait_timeout: float,
        retry: RetryPolicy | None,
        max_message_bytes: int,
    ):
        self.target, self.timeout, self.wait_timeout = target, timeout, wait_timeout
        self.retry = retry or RetryPolicy()
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]

    @staticmethod
    def catalogue() -> dict[str, CatalogueQuery]:
        return catalogue()

    @staticmethod
    def _submit_request(sql, params, at_block, views, dev, kind, request_id, anchor=None):
        return pb.SubmitQueryRequest(
            query=query_message(sql, params, at_block, views, anchor),
            proof_kind=PROOF_KINDS["dev" if dev else kind],
            request_id=request_id or uuid.uuid4().hex,
        )

    @staticmethod
    def _verified(result: QueryResult, sql, params, views, allow_dev: bool) -> QueryResult:
        result.verify(sql=sql, params=params, views=views, allow_dev=allow_dev)
        return result


class Client(_ClientBase):
    """Synchronous client (see the module docstring)."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        token: str | None = None,
        timeout: float = 30.0,
        wait_timeout: float = 3600.0,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = 16 * MiB,
    ):
        super().__init__(
            target,
            token=token,
            timeout=timeout,
            wait_timeout=wait_timeout,
            retry=retry,
            max_message_bytes=max_message_bytes,
        )
        self._channel = grpc.insecure_channel(target, options=self._options)
        self._stub = pb_grpc.QueryServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, request, *, idempotent: bool, timeout: float | None = None):
        for attempt in range(self.retry.attempts):
            try:
                return getattr(self._stub, method)(
                    request, timeout=timeout or self.timeout, metadata=self._metadata
                )
            except grpc.RpcError as err:
                last = attempt + 1 == self.retry.attempts
                if idempotent and not last and err.code() == grpc.StatusCode.UNAVAILABLE:
                    time.sleep(self.retry.delay(attempt))
                    continue
                raise rpc_error(err) from None
        raise AssertionError("unreachable")

    def explain(self, sql: Question, *, params=None, at_block=None, views=None, anchor=None) -> str:
        req = pb.ExplainQueryRequest(query=query_message(sql, params, at_block, views, anchor))
        return self._call("ExplainQuery", req, idempotent=True).explanation

    def submit(
        self,
        sql: Question,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        dev: bool = False,
        kind: str = "composite",
        request_id: str | None = None,
        anchor: str | None = None,
    ) -> JobInfo:
        """Queues the query (`anchor`: "walk", "history", "eip2935"; see Coprocessor.compile)."""
        req = self._submit_request(sql, params, at_block, views, dev, kind, request_id, anchor)
        resp = self._call("SubmitQuery", req, idempotent=True)
        return JobInfo.of(resp.job, resp.created)

    def get(self, job_id: str) -> JobInfo:
        return JobInfo.of(
            self._call("GetQuery", pb.GetQueryRequest(job_id=job_id), idempotent=True).job
        )

    def cancel(self, job_id: str) -> JobInfo:
        req = pb.CancelQueryRequest(job_id=job_id)
        return JobInfo.of(self._call("CancelQuery", req, idempotent=True).job)

    def watch(self, job_id: str, *, timeout: float | None = None) -> Iterator[JobInfo]:
        """Every state of the job, in order, until a terminal one (not retried)."""
        stream = self._stub.WatchQuery(
            pb.WatchQueryRequest(job_id=job_id),
            timeout=timeout or self.wait_timeout,
            metadata=self._metadata,
        )
        try:
            for resp in stream:
                yield JobInfo.of(resp.job)
        except grpc.RpcError as err:
            raise rpc_error(err) from None

    def receipt(self, job_id: str) -> bytes:
        for attempt in range(self.retry.attempts):
            try:
                stream = self._stub.GetReceipt(
                    pb.GetReceiptRequest(job_id=job_id),
                    timeout=self.timeout,
                    metadata=self._metadata,
                )
                return b"".join(chunk.chunk for chunk in stream)
            except grpc.RpcError as err:
                last = attempt + 1 == self.retry.attempts
                if not last and err.code() == grpc.StatusCode.UNAVAILABLE:
                    time.sleep(self.retry.delay(attempt))
                    continue
                raise rpc_error(err) from None
        raise AssertionError("unreachable")

    def result(
        self,
        job_id: str,
        *,
        sql: Question | None = None,
        params: dict | None = None,
        views: dict[str, str] | None = None,
        allow_dev: bool = False,
        timeout: float | None = None,
    ) -> QueryResult:
        """Waits for the job, downloads its receipt and returns the result, verified locally
        (seal, and the question when `sql` is given). JobFailedError if it failed."""
        for job in self.watch(job_id, timeout=timeout):
            if job.terminal and job.state != "done":
                raise failed_job_error(job)
        resp = self._call("GetQuery", pb.GetQueryRequest(job_id=job_id), idempotent=True)
        result = build_result(resp.job, self.receipt(job_id))
        return self._verified(result, sql, params, views, allow_dev)

    def prove(
        self,
        sql: Question,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        dev: bool = False,
        kind: str = "composite",
        timeout: float | None = None,
        anchor: str | None = None,
    ) -> QueryResult:
        """Submits, waits and returns the verified result (dev=True: fake receipt, verified
        with allow_dev)."""
        job = self.submit(
            sql, params=params, at_block=at_block, views=views, dev=dev, kind=kind, anchor=anchor
        )
        return self.result(
            job.job_id, sql=sql, params=params, views=views, allow_dev=dev, timeout=timeout
        )

    def tables(self) -> dict[str, list[tuple[str, str]]]:
        resp = self._call("ListTables", pb.ListTablesRequest(), idempotent=True)
        return {t.name: [(c.name, c.type) for c in t.columns] for t in resp.tables}

    def index_status(self) -> pb.GetIndexStatusResponse:
        return self._call("GetIndexStatus", pb.GetIndexStatusRequest(), idempotent=True)


class AsyncClient(_ClientBase):
    """The asyncio twin of `Client` (same methods, awaited; `watch` is an async iterator)."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        token: str | None = None,
        timeout: float = 30.0,
        wait_timeout: float = 3600.0,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = 16 * MiB,
    ):
        super().__init__(
            target,
            token=token,
            timeout=timeout,
            wait_timeout=wait_timeout,
            retry=retry,
            max_message_bytes=max_message_bytes,
        )
        self._channel = grpc.aio.insecure_channel(target, options=self._options)
        self._stub = pb_grpc.QueryServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _call(self, method: str, request, *, idempotent: bool):
        for attempt in range(self.retry.attempts):
            try:
                return await getattr(self._stub, method)(
                    request, timeout=self.timeout, metadata=self._metadata
                )
            except grpc.RpcError as err:
                last = attempt + 1 == self.retry.attempts
                if idempotent and not last and err.code() == grpc.StatusCode.UNAVAILABLE:
                    await asyncio.sleep(self.retry.delay(attempt))
                    continue
                raise rpc_error(err) from None
        raise AssertionError("unreachable")

    async def explain(
        self, sql: Question, *, params=None, at_block=None, views=None, anchor=None
    ) -> str:
        req = pb.ExplainQueryRequest(query=query_message(sql, params, at_block, views, anchor))
        return (await self._call("ExplainQuery", req, idempotent=True)).explanation

    async def submit(
        self,
        sql: Question,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        dev: bool = False,
        kind: str = "composite",
        request_id: str | None = None,
        anchor: str | None = None,
    ) -> JobInfo:
        """Queues the query (`anchor`: "walk", "history", "eip2935"; see Coprocessor.compile)."""
        req = self._submit_request(sql, params, at_block, views, dev, kind, request_id, anchor)
        resp = await self._call("SubmitQuery", req, idempotent=True)
        return JobInfo.of(resp.job, resp.created)

    async def get(self, job_id: str) -> JobInfo:
        req = pb.GetQueryRequest(job_id=job_id)
        return JobInfo.of((await self._call("GetQuery", req, idempotent=True)).job)

    async def cancel(self, job_id: str) -> JobInfo:
        req = pb.CancelQueryRequest(job_id=job_id)
        return JobInfo.of((await self._call("CancelQuery", req, idempotent=True)).job)

    async def watch(self, job_id: str, *, timeout: float | None = None) -> AsyncIterator[JobInfo]:
        """Every state of the job, in order, until a terminal one (not retried)."""
        stream = self._stub.WatchQuery(
            pb.WatchQueryRequest(job_id=job_id),
            timeout=timeout or self.wait_timeout,
            metadata=self._metadata,
        )
        try:
            async for resp in stream:
                yield JobInfo.of(resp.job)
        except grpc.RpcError as err:
            raise rpc_error(err) from None

    async def receipt(self, job_id: str) -> bytes:
        for attempt in range(self.retry.attempts):
            try:
                stream = self._stub.GetReceipt(
                    pb.GetReceiptRequest(job_id=job_id),
                    timeout=self.timeout,
                    metadata=self._metadata,
                )
                return b"".join([chunk.chunk async for chunk in stream])
            except grpc.RpcError as err:
                last = attempt + 1 == self.retry.attempts
                if not last and err.code() == grpc.StatusCode.UNAVAILABLE:
                    await asyncio.sleep(self.retry.delay(attempt))
                    continue
                raise rpc_error(err) from None
        raise AssertionError("unreachable")

    async def result(
        self,
        job_id: str,
        *,
        sql: Question | None = None,
        params: dict | None = None,
        views: dict[str, str] | None = None,
        allow_dev: bool = False,
        timeout: float | None = None,
    ) -> QueryResult:
        """See Client.result."""
        async for job in self.watch(job_id, timeout=timeout):
            if job.terminal and job.state != "done":
                raise failed_job_error(job)
        resp = await self._call("GetQuery", pb.GetQueryRequest(job_id=job_id), idempotent=True)
        result = build_result(resp.job, await self.receipt(job_id))
        return self._verified(result, sql, params, views, allow_dev)

    async def prove(
        self,
        sql: Question,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        dev: bool = False,
        kind: str = "composite",
        timeout: float | None = None,
        anchor: str | None = None,
    ) -> QueryResult:
        """See Client.prove."""
        job = await self.submit(
            sql, params=params, at_block=at_block, views=views, dev=dev, kind=kind, anchor=anchor
        )
        return await self.result(
            job.job_id, sql=sql, params=params, views=views, allow_dev=dev, timeout=timeout
        )

    async def tables(self) -> dict[str, list[tuple[str, str]]]:
        resp = await self._call("ListTables", pb.ListTablesRequest(), idempotent=True)
        return {t.name: [(c.name, c.type) for c in t.columns] for t in resp.tables}

    async def index_status(self) -> pb.GetIndexStatusResponse:
        return await self._call("GetIndexStatus", pb.GetIndexStatusRequest(), idempotent=True)
