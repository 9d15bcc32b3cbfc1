"""The request watcher over a fake chain (coprocessor/relayer/watcher.py): requests stored
once they are `confirmations` deep, each once; a reorganisation below the scanned range is
found by the recorded block hashes, rescanned, and requests gone from the chain are marked
removed while those that moved are kept."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.request import QueryRequest
from coprocessor.relayer.watcher import RequestWatcher

from support.relayer_requests import CONTRACT, SENDER, make_request


class FakeChain:
    """Blocks 0..head with hashes (fork tag in the hash) and the requests in each block."""

    def __init__(self, head: int):
        self.hashes = {n: self._hash(n, 0) for n in range(head + 1)}
        self.requests: dict[int, list[QueryRequest]] = {}
        self.log_queries: list[tuple[int, int]] = []

    @staticmethod
    def _hash(number: int, fork: int) -> bytes:
        return number.to_bytes(16, "big") + fork.to_bytes(16, "big")

    def head(self) -> int:
        return max(self.hashes)

    def block_hash(self, number: int) -> bytes | None:
        return self.hashes.get(number)

    def requests_between(self, first: int, last: int) -> list[QueryRequest]:
        self.log_queries.append((first, last))
        return [r for n in range(first, last + 1) for r in self.requests.get(n, [])]

    def add(self, request: QueryRequest) -> QueryRequest:
        request = replace(request, block_hash=self.hashes[request.block_number])
        self.requests.setdefault(request.block_number, []).append(request)
        return request

    def mine(self, blocks: int) -> None:
        for _ in range(blocks):
            self.hashes[self.head() + 1] = self._hash(self.head() + 1, 0)

    def reorg(self, depth: int, fork: int) -> None:
        """Replaces the newest `depth` blocks (same height) and drops their requests."""
        for number in range(self.head() - depth + 1, self.head() + 1):
            self.hashes[number] = self._hash(number, fork)
            self.requests.pop(number, None)


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db", chain_id=31337, contract=CONTRACT, sender=SENDER)
    yield box
    box.close()


def watcher(chain: FakeChain, outbox: Outbox, **overrides) -> RequestWatcher:
    settings = dict(confirmations=3, start_block=0, max_log_range=4) | overrides
    return RequestWatcher(chain, outbox, **settings)


def test_requests_are_stored_at_confirmation_depth_once(outbox):
    chain = FakeChain(head=10)
    request = chain.add(make_request(1, block=9))
    watch = watcher(chain, outbox)
    assert watch.poll() == 0 and outbox.request(request.query_id) is None  # 2 deep
    chain.mine(1)
    assert watch.poll() == 1 and outbox.request(request.query_id).state == "new"
    chain.mine(5)
    assert watch.poll() == 0  # never a second time
    assert max(last for _, last in chain.log_queries) == chain.head() - 2
    assert all(last - first < 4 for first, last in chain.log_queries)  # max_log_range


def test_a_reorganisation_below_the_scanned_range_is_rescanned(outbox):
    chain = FakeChain(head=20)
    gone = chain.add(make_request(1, block=17))
    moved = chain.add(make_request(2, block=17))
    kept = chain.add(make_request(3, block=12))
    watch = watcher(chain, outbox, confirmations=2)
    assert watch.poll() == 3
    outbox.update_request(moved.query_id, state="proved")

    chain.reorg(depth=6, fork=1)  # blocks 15..20 replaced: deeper than the confirmations
    chain.add(replace(moved, block_number=18))
    chain.mine(1)
    assert watch.poll() == 0
    assert outbox.request(gone.query_id).state == "removed"
    moved_record = outbox.request(moved.query_id)
    assert (moved_record.state, moved_record.request.block_number) == ("proved", 18)
    assert moved_record.request.block_hash == chain.block_hash(18)
    assert outbox.request(kept.query_id).state == "new"
    assert outbox.cursors()[0] == (20, chain.block_hash(20))  # head 21, 2 deep


def test_a_request_acted_on_is_left_to_the_tracker(outbox):
    chain = FakeChain(head=10)
    request = chain.add(make_request(4, block=8))
    watch = watcher(chain, outbox, confirmations=1)
    watch.poll()
    outbox.update_request(request.query_id, state="sending")
    chain.reorg(depth=4, fork=1)
    watch.poll()
    assert outbox.request(request.query_id).state == "sending"
