"""Query requests made up for the relayer's unit tests (no node needed)."""

from __future__ import annotations

from coprocessor.relayer.request import QueryRequest

CONTRACT = "0x" + "Cc" * 20
SENDER = "0x" + "Aa" * 20


def make_request(index: int = 0, *, block: int = 10) -> QueryRequest:
    return QueryRequest(
        chain_id=31337,
        contract=CONTRACT,
        query_id=index.to_bytes(32, "big"),
        sender=SENDER,
        query_hash=b"\x05" * 32,
        nonce=index,
        params=b"\x00" * 31 + bytes([index % 256]),
        plan=b"plan",
        callback="0x" + "bb" * 20,
        callback_gas_limit=100_000,
        max_fee_per_gas=10**10,
        refundee=SENDER,
        deadline=1_000,
        escrow=2**200 + index,  # past SQLite's 64-bit integers: stored exactly
        extra_data=b"x",
        block_number=block,
        block_hash=block.to_bytes(32, "big"),
        tx_hash=b"\x03" * 32,
        log_index=index,
    )
