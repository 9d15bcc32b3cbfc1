"""Finds `QueryRequested` events at confirmation depth, and notices when the chain moved.

Each poll scans from the block after the last one scanned up to `head - confirmations + 1`
(a request counts once `confirmations` blocks hold it), in ranges of `max_log_range`, and
records the hash of each range's last block (`scan_cursors`). Before scanning it checks
that the newest recorded block is still canonical; if not, a reorganisation reached below
the confirmation depth: it walks back through the recorded blocks to the newest one still
canonical, scans again from there, and marks `removed` the requests not found again on
which nothing was sent. Requests are keyed by queryId, so seeing one again never makes a
second one; a removed request seen again comes back.

The chain is read through a `RequestSource` (the node and the contract in production,
`ChainRequestSource`; a fake in unit tests).
"""

from __future__ import annotations

import logging
from typing import Protocol

from coprocessor.relayer.log import log_event
from coprocessor.relayer.node import Node
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.query_contract import QueryContract
from coprocessor.relayer.request import QueryRequest


class RequestSource(Protocol):
    def head(self) -> int: ...

    def block_hash(self, number: int) -> bytes | None: ...

    def requests_between(self, first: int, last: int) -> list[QueryRequest]: ...


class ChainRequestSource:
    """The node's `QueryRequested` logs of one CoprocessorQuery contract."""

    def __init__(self, node: Node, contract: QueryContract):
        self.node, self.contract = node, contract

    def head(self) -> int:
        return self.node.head()

    def block_hash(self, number: int) -> bytes | None:
        return self.node.block_hash(number)

    def requests_between(self, first: int, last: int) -> list[QueryRequest]:
        logs = self.node.logs(
            {
                "address": self.contract.address,
                "topics": [self.contract.requested_topic],
                "fromBlock": first,
                "toBlock": last,
            }
        )
        return [self.contract.decode_request_log(log) for log in logs if not log.get("removed")]


class RequestWatcher:
    def __init__(
        self,
        source: RequestSource,
        outbox: Outbox,
        *,
        confirmations: int,
        start_block: int,
        max_log_range: int,
    ):
        self.source, self.outbox = source, outbox
        self.confirmations, self.start_block = confirmations, start_block
        self.max_log_range = max_log_range

    def poll(self) -> int:
        """Scans the newly confirmed blocks; returns how many new requests it stored."""
        target = self.source.head() - self.confirmations + 1
        scanned, fork = self._canonical_cursor()
        first, new = scanned + 1, 0
        seen: set[bytes] = set()
        while first <= target:
            last = min(first + self.max_log_range - 1, target)
            block_hash = self.source.block_hash(last)
            requests = self.source.requests_between(first, last)
            if block_hash is None or self.source.block_hash(last) != block_hash:
                return new  # the chain moved while we read it: again on the next poll
            for request in requests:
                seen.add(request.query_id)
                if self.outbox.add_request(request):
                    new += 1
                    log_event(
                        "relayer.request_seen",
                        query_id=request.query_id,
                        block=request.block_number,
                        escrow=request.escrow,
                    )
            self.outbox.advance_cursor(last, block_hash)
            first = last + 1
        if fork is not None:
            for query_id in self.outbox.remove_requests_after(fork, keep=seen):
                log_event("relayer.request_removed", level=logging.WARNING, query_id=query_id)
        return new

    def _canonical_cursor(self) -> tuple[int, int | None]:
        """(last block scanned and still canonical, the fork block if the chain reorganised
        below the recorded scan, else None)."""
        cursors = self.outbox.cursors()
        if not cursors:
            return self.start_block - 1, None
        newest = cursors[0][0]
        for number, block_hash in cursors:
            if self.source.block_hash(number) == block_hash:
                if number == newest:
                    return number, None
                return self._rewind(number, newest)
        oldest = cursors[-1][0]
        return self._rewind(max(self.start_block, oldest - self.max_log_range) - 1, newest)

    def _rewind(self, fork: int, newest: int) -> tuple[int, int]:
        log_event("relayer.reorg_detected", level=logging.WARNING, fork=fork, scanned=newest)
        self.outbox.rewind_cursor(fork)
        return fork, fork
