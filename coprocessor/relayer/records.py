"""What the outbox holds, as Python values: request records, transaction attempts, states."""

from __future__ import annotations

from dataclasses import dataclass

from coprocessor.relayer.fees import Fees
from coprocessor.relayer.request import QueryRequest

# new: to prove | deferred: no prover could answer (retried at the next start) | proved: to
# send | unprofitable: re-checked every tick | sending: a nonce holds its fulfilment |
# confirmed: fulfilled by us at depth | fulfilled_elsewhere | skipped | failed | removed: its
# block left the canonical chain before anything was sent.
REQUEST_STATES = (
    "new",
    "deferred",
    "proved",
    "unprofitable",
    "sending",
    "confirmed",
    "fulfilled_elsewhere",
    "skipped",
    "failed",
    "removed",
)
FINAL_REQUEST_STATES = ("confirmed", "fulfilled_elsewhere", "skipped", "failed", "removed")
# signed: stored, maybe not broadcast | broadcast | mined (not yet at depth) | confirmed |
# superseded: another transaction of its nonce won | dropped: its nonce went to another one.
OPEN_TX_STATES = ("signed", "broadcast", "mined")


@dataclass(frozen=True)
class RequestRecord:
    request: QueryRequest
    state: str
    reason: str | None
    journal: bytes | None
    seal: bytes | None
    nonce: int | None
    proofs: int
    reorgs: int


@dataclass(frozen=True)
class Attempt:
    """One signed transaction at a nonce (a nonce has several when it was replaced)."""

    tx_hash: bytes
    nonce: int
    query_id: bytes
    kind: str  # 'fulfil' | 'cancel'
    raw_tx: bytes
    fees: Fees
    state: str
    broadcast_block: int | None = None
    mined_block_number: int | None = None
    mined_block_hash: bytes | None = None
    receipt_status: int | None = None
