"""The relayer's reading of a journal: the compiler's decoder (coprocessor/compiler/journal.py,
the layout of contracts/README.md "Journal", the current JOURNAL_VERSION), strict, with its
errors as ProofCheckError.

The relayer reads it to check a proof against the request before sending it; the contract
decodes the same bytes (CoprocessorJournal.sol), and the shared vectors in
contracts/test/vectors/journals.json pin the layout. Strict: the bytes must be exactly the
canonical encoding of the decoded fields (eth_abi alone accepts, e.g., trailing bytes).
"""

from __future__ import annotations

from eth_abi import encode as abi_encode

from coprocessor.compiler.journal import JOURNAL_TYPES, JOURNAL_VERSION, Journal, decode_journal
from coprocessor.errors import ProofCheckError, ReceiptFormatError

__all__ = ["JOURNAL_TYPES", "JOURNAL_VERSION", "Journal", "decode_canonical_journal"]


def decode_canonical_journal(data: bytes) -> Journal:
    """The journal's fields (rows left undecoded); ProofCheckError unless `data` is the
    canonical encoding of a journal of the current version."""
    try:
        journal = decode_journal(bytes(data))
    except ReceiptFormatError as exc:
        raise ProofCheckError(
            f"the journal is not a version-{JOURNAL_VERSION} journal: {exc}"
        ) from exc
    if abi_encode(JOURNAL_TYPES, [*journal.header(), journal.result]) != bytes(data):
        raise ProofCheckError("the journal is not the canonical encoding of its fields")
    return journal
