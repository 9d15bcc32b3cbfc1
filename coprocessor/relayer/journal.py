"""The relayer's reading of a journal: the compiler's version-2 decoder
(coprocessor/compiler/journal.py, the layout of contracts/README.md "Journal"), strict, with
its errors as ProofCheckError.

The relayer reads it to check a proof against the request before sending it; the contract
decodes the same bytes (CoprocessorJournal.sol), and the shared vectors in
contracts/test/vectors/journals.json pin the layout. Strict: the bytes must be exactly the
canonical encoding of the decoded fields (eth_abi alone accepts, e.g., trailing bytes).
"""

from __future__ import annotations

from eth_abi import encode as abi_encode

from coprocessor.compiler.journal import JOURNAL_TYPES, Journal, decode_journal
from coprocessor.errors import ProofCheckError, ReceiptFormatError

JournalV2 = Journal  # the version-2 journal as the compiler decodes it (rows left undecoded)

__all__ = ["JOURNAL_TYPES", "JournalV2", "decode_journal_v2"]


def decode_journal_v2(data: bytes) -> Journal:
    """The journal's fields; ProofCheckError unless `data` is a canonical version-2 journal."""
    try:
        journal = decode_journal(bytes(data))
    except ReceiptFormatError as exc:
        raise ProofCheckError(f"the journal is not a version-2 journal: {exc}") from exc
    fields = [
        journal.version,
        journal.chain_id,
        journal.query_hash,
        journal.anchor_number,
        journal.anchor_hash,
        journal.first_block,
        journal.last_block,
        journal.params,
        journal.result,
    ]
    if abi_encode(JOURNAL_TYPES, fields) != bytes(data):
        raise ProofCheckError("the journal is not the canonical encoding of its fields")
    return journal
