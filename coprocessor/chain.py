"""JSON-RPC client for any Ethereum node (layer 1).

httpx is used directly rather than web3.py's provider because the indexer
needs JSON-RPC *batches* with per-item errors, shared connection pooling
across threads, and one retry policy for every transport fault; web3.py
offers none of the three in a form we can control. Foreign errors (httpx,
json) are mapped here, once, to `coprocessor.errors.ChainError` subclasses.

Retry policy: HTTP 429 and 5xx, timeouts, refused or dropped connections and
unparseable bodies are retried with exponential backoff and jitter (honouring
Retry-After) up to `max_retries`, then `RpcUnavailableError` names the URL,
the method and the last fault. A JSON-RPC error object is *not* retried
(the node answered), except for the rate-limit codes some providers use.
Errors that say a request is too large become `RangeTooLargeError` so the
caller can split the batch.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from coprocessor.errors import (
    InvalidArgument,
    RangeTooLargeError,
    RpcError,
    RpcUnavailableError,
)

_TOO_LARGE_HINTS = (
    "too large",
    "too many",
    "limit exceeded",
    "exceeds",
    "range is too",
    "batch size",
    "response size",
    "query returned more than",
)
_RATE_LIMIT_CODES = {429, -32005, -32029}  # providers signal rate limits with these
# JSON-RPC 2.0 error codes (jsonrpc.org/specification, "Error object"); nodes without a method
# answer one of these two.
JSONRPC_INVALID_REQUEST = -32600
JSONRPC_METHOD_NOT_FOUND = -32601


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_retries: int = 8
    backoff: float = 0.05
    max_backoff: float = 4.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        return min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)


def _too_large(message: str) -> bool:
    m = message.lower()
    return any(h in m for h in _TOO_LARGE_HINTS)


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class RpcClient:
    """A synchronous JSON-RPC client; thread-safe (one httpx pool shared by threads).

    `call(method, params)` returns the result; `batch([(method, params), ...])`
    returns results in order and raises the first item error.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
        headers: dict[str, str] | None = None,
    ):
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"RPC URL must be http(s)://, got {url!r}")
        self.url = url
        self.retry = retry or RetryPolicy()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"content-type": "application/json", **(headers or {})},
        )
        self.requests = 0  # HTTP requests sent, retries included
        self.retries = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _post(self, payload: Any, what: str, *, raw: bool = False) -> Any:
        """POSTs with retries; the parsed response, or with `raw` the body bytes
        unparsed when it is a JSON array (a batch response), else parsed."""
        body = orjson.dumps(payload)
        last = "no attempt"
        for attempt in range(self.retry.max_retries + 1):
            if attempt:
                self.retries += 1
            self.requests += 1
            try:
                resp = self._http.post(self.url, content=body)
                status = resp.status_code
                if status == 429 or status >= 500:
                    ra = resp.headers.get("retry-after")
                    raise _Retry(f"HTTP {status}", float(ra) if ra and ra.isdigit() else None)
                if status == 413:
                    raise RangeTooLargeError(f"{what}: HTTP 413 request too large", method=what)
                if raw and status < 400 and resp.content.lstrip()[:1] == b"[":
                    return resp.content
                try:
                    data = orjson.loads(resp.content)
                except orjson.JSONDecodeError as exc:
                    if status >= 400:
                        raise RpcError(
                            f"{what}: HTTP {status}: {resp.text[:200]}", method=what
                        ) from exc
                    raise _Retry(f"unparseable response ({len(resp.content)} bytes)") from exc
                if isinstance(data, dict) and "error" in data and isinstance(payload, list):
                    # a whole-batch error: the node refused the batch as such
                    err = data["error"] or {}
                    msg, code = str(err.get("message", err)), err.get("code")
                    if code in _RATE_LIMIT_CODES and not _too_large(msg):
                        raise _Retry(f"rate limited: {msg}")
                    if _too_large(msg) or "batch" in msg.lower():
                        raise RangeTooLargeError(f"{what}: {msg}", code=code, method=what)
                    raise RpcError(f"{what}: {msg}", code=code, method=what)
                return data
            except _Retry as exc:
                last = str(exc)
                time.sleep(self.retry.delay(attempt, exc.retry_after))
            except httpx.TimeoutException as exc:
                last = f"timeout ({type(exc).__name__})"
                time.sleep(self.retry.delay(attempt))
            except httpx.TransportError as exc:  # refused, reset, dropped mid-response
                last = f"connection error ({type(exc).__name__}: {exc})"
                time.sleep(self.retry.delay(attempt))
        raise RpcUnavailableError(
            f"{self.url}: {what} failed after {self.retry.max_retries + 1} attempts; last: {last}"
        )

    @staticmethod
    def _item_error(err: dict, method: str) -> RpcError:
        msg, code = str(err.get("message", err)), err.get("code")
        cls = RangeTooLargeError if _too_large(msg) else RpcError
        return cls(f"{method}: {msg} (code {code})", code=code, method=method)

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        for attempt in range(self.retry.max_retries + 1):
            data = self._post(
                {"jsonrpc": "2.0", "id": self._next_id(), "method": method, "params": list(params)},
                method,
            )
            if not isinstance(data, dict):
                raise RpcError(f"{method}: malformed response {str(data)[:200]}", method=method)
            if "error" in data and data["error"] is not None:
                err = data["error"]
                if err.get("code") in _RATE_LIMIT_CODES and not _too_large(str(err)):
                    time.sleep(self.retry.delay(attempt))
                    continue
                raise self._item_error(err, method)
            return data.get("result")
        raise RpcUnavailableError(f"{self.url}: {method} still rate-limited after retries")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Results of several calls sent as one JSON-RPC batch, in order."""
        if not calls:
            return []
        return self._collect(calls, None)

    def batch_raw(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> RawBatch:
        """Sends several calls as one JSON-RPC batch and returns the response *unparsed*
        with the request id of each call (for a consumer that parses it natively).

        Transport faults are retried as for `batch`. `RawBatch.results()` gives what
        `batch` would have returned for the same calls from this response (parsing it,
        retrying items that were rate-limited or dropped, raising item errors).
        """
        if not calls:
            raise InvalidArgument("batch_raw needs at least one call")
        ids = {self._next_id(): i for i in range(len(calls))}
        data = self._post(self._payload(calls, ids), self._what(calls), raw=True)
        return RawBatch(self, list(calls), ids, data)

    @staticmethod
    def _what(calls) -> str:
        return f"batch of {len(calls)} ({calls[0][0]}...)"

    @staticmethod
    def _payload(calls, ids: dict[int, int]) -> list:
        return [
            {"jsonrpc": "2.0", "id": rid, "method": calls[i][0], "params": list(calls[i][1])}
            for rid, i in ids.items()
        ]

    def finish_batch(self, raw: RawBatch) -> list[Any]:
        """What `batch(raw.calls)` returns, starting from the response `raw` holds (items the
        node rate-limited or dropped are sent again; item errors are raised)."""
        return self._collect(raw.calls, (raw.id_of, raw.body))

    def _collect(self, calls, first: tuple[dict[int, int], Any] | None) -> list[Any]:
        """`batch`, optionally starting from an already received response (`first`)."""
        what = self._what(calls)
        pending = list(range(len(calls)))
        results: list[Any] = [None] * len(calls)
        for attempt in range(self.retry.max_retries + 1):
            if attempt == 0 and first is not None:
                ids, data = first
                ids = dict(ids)
                if isinstance(data, (bytes, bytearray)):
                    try:
                        data = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        data = None  # unparseable: retried below like a dropped batch
            else:
                ids = {self._next_id(): i for i in pending}
                data = self._post(self._payload(calls, ids), what)
            if data is None:
                retry = list(ids.values())
            else:
                if not isinstance(data, list):
                    raise RpcError(f"{what}: expected a batch response, got {str(data)[:200]}")
                retry = []
                for item in data:
                    item_id = item.get("id") if isinstance(item, dict) else None
                    i = ids.pop(item_id, None) if isinstance(item_id, int) else None
                    if i is None:
                        continue
                    err = item.get("error")
                    if err is not None:
                        if err.get("code") in _RATE_LIMIT_CODES and not _too_large(str(err)):
                            retry.append(i)
                            continue
                        raise self._item_error(err, calls[i][0])
                    results[i] = item.get("result")
                retry.extend(ids.values())  # items the node silently dropped
            if not retry:
                return results
            pending = sorted(retry)
            self.retries += 1
            time.sleep(self.retry.delay(attempt))
        raise RpcUnavailableError(f"{self.url}: {what}: {len(pending)} items still failing")

    # --- typed helpers ---------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def get_block(self, number: int | str, full: bool = True) -> dict | None:
        tag = hex(number) if isinstance(number, int) else number
        return self.call("eth_getBlockByNumber", [tag, full])


@dataclass
class RawBatch:
    """A batch response as received: `body` (bytes of a JSON array, or the already parsed
    response when it was not an array) and `ids`, the request id of each call in order."""

    client: RpcClient
    calls: list
    id_of: dict[int, int]  # request id -> call position
    body: Any

    @property
    def ids(self) -> list[int]:
        out = [0] * len(self.calls)
        for rid, i in self.id_of.items():
            out[i] = rid
        return out

    def results(self) -> list[Any]:
        """What `RpcClient.batch(calls)` returns, starting from this response."""
        return self.client.finish_batch(self)
