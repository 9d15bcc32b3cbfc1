"""The relayer's SQLite outbox and its nonces (coprocessor/relayer/outbox.py, nonces.py):
WAL mode, one row per (chain id, contract, queryId), transactions stored before broadcast,
one relayer per outbox, and nonces handed out with no gap by threads at once."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace

import pytest

from coprocessor.errors import OutboxError
from coprocessor.relayer.fees import Fees
from coprocessor.relayer.nonces import NonceManager
from coprocessor.relayer.outbox import CURSORS_KEPT, Outbox
from coprocessor.relayer.records import Attempt
from coprocessor.relayer.request import QueryRequest

from support.relayer_requests import CONTRACT, SENDER, make_request


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db", chain_id=31337, contract=CONTRACT, sender=SENDER)
    yield box
    box.close()


def attempt_at(nonce: int, query_id: bytes, tag: int = 0) -> Attempt:
    return Attempt(
        tx_hash=(nonce * 1000 + tag).to_bytes(32, "big"),
        nonce=nonce,
        query_id=query_id,
        kind="fulfil",
        raw_tx=b"raw",
        fees=Fees(2 * 10**9, 10**9),
        state="signed",
    )


def test_wal_mode_and_one_row_per_chain_contract_query(outbox, tmp_path):
    request = make_request(1)
    assert outbox.add_request(request) is True
    assert outbox.add_request(request) is False
    record = outbox.request(request.query_id)
    assert record.request == request and record.state == "new"
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1
        columns = (31337, CONTRACT, request.query_id, 1, b"", "{}", "new", 0.0)
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            db.execute(
                "INSERT INTO requests (chain_id, contract, query_id, block_number, block_hash, "
                "request, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                columns,
            )


def test_a_second_relayer_cannot_open_the_same_outbox(outbox, tmp_path):
    with pytest.raises(OutboxError, match="another relayer"):
        Outbox(tmp_path / "outbox.db", chain_id=31337, contract=CONTRACT, sender=SENDER)


def test_a_request_seen_in_another_block_moves_and_a_removed_one_comes_back(outbox):
    request = make_request(2, block=10)
    outbox.add_request(request)
    assert outbox.remove_requests_after(9, keep=set()) == [request.query_id]
    assert outbox.request(request.query_id).state == "removed"
    moved = replace(request, block_number=11, block_hash=(11).to_bytes(32, "big"))
    assert outbox.add_request(moved) is False
    record = outbox.request(request.query_id)
    assert (record.state, record.request.block_number) == ("new", 11)


def test_transactions_are_stored_with_their_nonce_and_the_nonce_advances(outbox):
    request = make_request(3)
    outbox.add_request(request)
    outbox.raise_next_nonce(7)
    outbox.record_attempt(attempt_at(7, request.query_id), new_nonce=True, request_update={})
    assert outbox.next_nonce() == 8
    assert outbox.request(request.query_id).nonce == 7
    with pytest.raises(OutboxError, match="nonce 9 signed, 8 is next"):
        outbox.record_attempt(attempt_at(9, request.query_id), new_nonce=True, request_update={})
    assert outbox.next_nonce() == 8 and outbox.count_transactions() == 1  # rolled back
    # a replacement at the same nonce keeps the next nonce where it is
    outbox.record_attempt(attempt_at(7, request.query_id, 1), new_nonce=False, request_update={})
    assert [a.nonce for a in outbox.attempts_at(7)] == [7, 7] and outbox.next_nonce() == 8
    assert outbox.open_nonces() == [7]
    outbox.settle_nonce(7, winner=attempt_at(7, request.query_id, 1).tx_hash, state="confirmed")
    assert [a.state for a in outbox.attempts_at(7)] == ["superseded", "confirmed"]
    assert outbox.open_nonces() == []


class CountingNode:
    """A node that has seen `mined` transactions of the account (nonces.py reads only this)."""

    def __init__(self, mined: int, pending: int):
        self.mined, self.pending = mined, pending

    def nonce(self, address, block="latest"):
        return self.pending if block == "pending" else self.mined


def test_nonces_taken_by_threads_at_once_have_no_gap(outbox):
    manager = NonceManager(outbox, CountingNode(mined=3, pending=5), SENDER)
    assert manager.sync() == 5  # a fresh outbox starts after the node's pool
    requests = [make_request(i) for i in range(80)]
    for request in requests:
        outbox.add_request(request)
    taken: list[int] = []

    def worker(chunk: list[QueryRequest]) -> None:
        for request in chunk:
            attempt = manager.take(
                lambda nonce, qid=request.query_id: attempt_at(nonce, qid),
                request_update={"state": "sending"},
            )
            taken.append(attempt.nonce)

    threads = [threading.Thread(target=worker, args=(requests[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(5, 85))
    assert outbox.next_nonce() == 85 and outbox.count_transactions() == 80
    assert {outbox.request(r.query_id).nonce for r in requests} == set(range(5, 85))
    # the node saw more (another holder of the key): the next nonce follows it, never goes back
    assert NonceManager(outbox, CountingNode(mined=90, pending=90), SENDER).sync() == 90
    assert NonceManager(outbox, CountingNode(mined=10, pending=10), SENDER).sync() == 90


def test_scan_cursors_keep_the_newest(outbox):
    for number in range(CURSORS_KEPT + 10):
        outbox.advance_cursor(number, number.to_bytes(32, "big"))
    cursors = outbox.cursors()
    assert len(cursors) == CURSORS_KEPT and cursors[0][0] == CURSORS_KEPT + 9
    outbox.rewind_cursor(100)
    assert outbox.cursors()[0][0] == 100
