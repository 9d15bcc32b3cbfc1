"""One-block query-guest inputs over given raw transactions (mainnet fixture blocks), for the
sender-recovery tests and `make bench`.

The header is the block's own with transactionsRoot recomputed from the given transactions
(so they may be altered) and receiptsRoot from stand-in receipts (one per transaction, of its
type, status 1, no logs): good for questions about transactions, not about receipts.
"""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.compiler import compile
from coprocessor.compiler import witness as W
from coprocessor.compiler.anchors import WalkAnchor
from coprocessor.indexer.encode import header_rlp

from support import mainnet

MAINNET = 1
TRANSACTIONS_ROOT, RECEIPTS_ROOT, NUMBER = 4, 5, 8  # header field indexes


def tx_type(raw: bytes) -> int:
    """EIP-2718 type of raw transaction bytes (0 for legacy, an RLP list)."""
    return raw[0] if raw[0] < 0x80 else 0


def stand_in_receipts(raw_txs: list[bytes]) -> list[bytes]:
    """One receipt per transaction, of its type, status 1, no logs."""
    return [
        mainnet.consensus_receipt(tx_type(raw), 1, 21_000 * (i + 1), [], bytes(256))
        for i, raw in enumerate(raw_txs)
    ]


def query_input(block: dict, raw_txs: list[bytes], sql: str, number: int | None = None):
    """(compiled query, guest input) for `sql` (`{n}` = the block number) over one block of
    chain 1 holding `raw_txs`; `number` replaces the block's number."""
    fields = rlp.decode(header_rlp(block))
    n = int.from_bytes(fields[NUMBER], "big") if number is None else number
    receipts = stand_in_receipts(raw_txs)
    fields[TRANSACTIONS_ROOT] = ethcore.transactions_root(raw_txs)
    fields[RECEIPTS_ROOT] = ethcore.ordered_trie_root(receipts)
    fields[NUMBER] = n
    header = rlp.encode(fields)
    q = compile(sql.format(n=n))
    items = [W.BlockItem(n, W.MODE_TXS_RECEIPTS, raw_txs, receipts)]
    witness = W.Witness(WalkAnchor(n, keccak(header)), [header], items, [])
    return q, rlp.encode([MAINNET, q.plan_bytes, witness.encode(), q.params_bytes])
