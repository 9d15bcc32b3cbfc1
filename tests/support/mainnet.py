"""Real mainnet fixtures from tests/fixtures/mainnet (in the repo; provenance in its SOURCES.md).

`$ETH_FIXTURES`, if set, points elsewhere. Tests that need them skip, saying why, where
the folder is absent.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest
import rlp
from eth_hash.auto import keccak

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("ETH_FIXTURES", REPO / "tests" / "fixtures" / "mainnet"))


ABSENT = (
    f"mainnet fixtures absent at {FIXTURES} "
    "(restore tests/fixtures/mainnet from git, or set ETH_FIXTURES)"
)


def require() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(ABSENT)
    return FIXTURES


def files(kind: str) -> list[Path]:
    """Fixture files of one kind (headers_rlp, block_rlp, proofs, receipts...); [] if absent."""
    folder = FIXTURES / kind
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def params(paths: list[Path]) -> list:
    """Fixture files as pytest parameters named by stem; where the folder is absent, one
    parameter skipped with the same reason as require()."""
    if not FIXTURES.is_dir():
        return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=ABSENT))]
    return [pytest.param(p, id=p.stem) for p in paths]


@cache
def load(path: Path) -> dict:
    return json.loads(path.read_text())


def hexbytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def hexint(value: str | None) -> int:
    return int(value, 16) if value else 0


def header_fields(header_rlp: bytes) -> list[bytes]:
    return rlp.decode(header_rlp)


def body_transactions(body_rlp: bytes) -> list[bytes]:
    """Raw EIP-2718 transactions of an RLP block body [txs, ommers, withdrawals?]."""
    txs = rlp.decode(body_rlp)[0]
    return [tx if isinstance(tx, bytes) else rlp.encode(tx) for tx in txs]


def bloom_of(logs: list[tuple[bytes, list[bytes]]]) -> bytes:
    bloom = 0
    for address, topics in logs:
        for item in (address, *topics):
            digest = keccak(item)
            for i in (0, 2, 4):
                bit = int.from_bytes(digest[i : i + 2], "big") & 2047
                bloom |= 1 << bit
    return bloom.to_bytes(256, "big")


def consensus_receipt(tx_type: int, status: int, cumulative_gas: int, logs, bloom: bytes) -> bytes:
    """type || rlp([status, cumulativeGasUsed, bloom, logs]) (legacy: no type byte)."""
    body = rlp.encode([status, cumulative_gas, bloom, [[a, list(t), d] for a, t, d in logs]])
    return body if tx_type == 0 else bytes([tx_type]) + body


def receipts_from_rpc(receipts: list[dict]) -> list[bytes]:
    """Consensus receipts from eth_getBlockReceipts JSON (bloom as the node gave it)."""
    out = []
    for r in receipts:
        logs = [
            (hexbytes(log["address"]), [hexbytes(t) for t in log["topics"]], hexbytes(log["data"]))
            for log in r["logs"]
        ]
        out.append(
            consensus_receipt(
                hexint(r.get("type")),
                hexint(r["status"]),
                hexint(r["cumulativeGasUsed"]),
                logs,
                hexbytes(r["logsBloom"]),
            )
        )
    return out


def receipts_from_eth69(receipts_rlp: bytes) -> list[bytes]:
    """Consensus receipts from eth/69 receipts [type, status, cumulativeGasUsed, logs]."""
    out = []
    for tx_type, status, gas, logs in rlp.decode(receipts_rlp):
        logs = [(a, list(t), d) for a, t, d in logs]
        bloom = bloom_of([(a, t) for a, t, _ in logs])
        out.append(
            consensus_receipt(
                int.from_bytes(tx_type, "big"),
                int.from_bytes(status, "big"),
                int.from_bytes(gas, "big"),
                logs,
                bloom,
            )
        )
    return out
