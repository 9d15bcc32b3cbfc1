"""Decoding of the query guest's journal, version 2 (contracts/README.md "Journal").

    abi.encode(uint8 version = 2, uint64 chainId, bytes32 queryHash, uint64 anchorNumber,
               bytes32 anchorHash, uint64 firstBlock, uint64 lastBlock, bytes params,
               bytes result)

The relayer reads it to check a proof against the request before sending it; the contract
decodes the same bytes (CoprocessorJournal.sol), and the shared vectors in
contracts/test/vectors/journals.json pin the layout (tests/unit/test_relayer_journal.py).
Decoding is strict: the bytes must be exactly the canonical encoding of the decoded values.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from coprocessor.errors import ProofCheckError

JOURNAL_VERSION = 2
JOURNAL_TYPES = (
    "uint8",
    "uint64",
    "bytes32",
    "uint64",
    "bytes32",
    "uint64",
    "uint64",
    "bytes",
    "bytes",
)


@dataclass(frozen=True)
class JournalV2:
    version: int
    chain_id: int
    query_hash: bytes
    anchor_number: int
    anchor_hash: bytes
    first_block: int
    last_block: int
    params: bytes
    result: bytes  # abi.encode(Row[])


def decode_journal_v2(data: bytes) -> JournalV2:
    """The journal's fields; ProofCheckError unless `data` is a canonical version-2 journal."""
    try:
        values = abi_decode(list(JOURNAL_TYPES), data)
    except (DecodingError, OverflowError, ValueError) as exc:
        raise ProofCheckError(f"the journal is not ABI-encoded as version 2: {exc}") from exc
    if abi_encode(list(JOURNAL_TYPES), values) != bytes(data):
        raise ProofCheckError("the journal is not the canonical encoding of its fields")
    journal = JournalV2(*values)
    if journal.version != JOURNAL_VERSION:
        raise ProofCheckError(f"journal version {journal.version}, the contract takes only 2")
    return journal
