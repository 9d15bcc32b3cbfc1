"""The relayer's query guest prover refuses what it cannot deliver, before any proving: a
request with no index to prove from, and, without dev, any request (a real receipt would need a
Groth16 seal, which cannot be made here); a missing or locked index is said plainly."""

from __future__ import annotations

import pytest

from coprocessor.errors import InvalidArgument, ProverUnavailableError
from coprocessor.relayer.prover import NO_GROTH16, QueryGuestProver
from coprocessor.relayer.request import QueryRequest


def _request() -> QueryRequest:
    return QueryRequest(
        chain_id=31337,
        contract="0x" + "11" * 20,
        query_id=b"\x01" * 32,
        sender="0x" + "22" * 20,
        query_hash=b"\x02" * 32,
        nonce=0,
        params=b"",
        plan=b"\xc0",
        callback="0x" + "33" * 20,
        callback_gas_limit=100_000,
        max_fee_per_gas=10**9,
        refundee="0x" + "22" * 20,
        deadline=100,
        escrow=10**15,
        extra_data=b"",
        block_number=1,
        block_hash=b"\x03" * 32,
        tx_hash=b"\x04" * 32,
        log_index=0,
    )


def test_without_dev_a_request_is_refused_with_the_groth16_reason():
    with pytest.raises(ProverUnavailableError, match="Groth16") as exc:
        QueryGuestProver(None).prove(_request())
    assert NO_GROTH16 in str(exc.value)


def test_without_an_index_nothing_is_proven():
    with pytest.raises(ProverUnavailableError, match="no index to prove from"):
        QueryGuestProver(None, dev=True).prove(_request())


def test_a_missing_index_file_is_named(tmp_path):
    with pytest.raises(ProverUnavailableError, match="no index at"):
        QueryGuestProver(tmp_path / "none.duckdb", dev=True).prove(_request())


def test_sync_index_needs_the_node():
    with pytest.raises(InvalidArgument):
        QueryGuestProver(None, sync_index=True)
