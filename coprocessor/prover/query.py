"""Proving a compiled query with the query guest: the one path the SDK, the relayer and the
server's workers share.

`prove_query` builds the guest's input (`guest_input`), sizes the keccak batch
(`keccak_po2`), proves (proving.py: dev, monolithic, or split over workers or Ray) and
requires the proven journal to be, byte for byte, the journal the guest's code committed
natively at compile time for this chain and anchor (`check_journal`): an answer that differs
from the compiler's expected rows is never returned.
"""

from __future__ import annotations

from typing import Literal

from coprocessor import zkvm
from coprocessor.compiler import CompiledQuery
from coprocessor.compiler.journal import (
    JOURNAL_VERSION,
    QUERY_GUEST,
    Journal,
    decode_journal,
    guest_input,
    keccak_po2,
)
from coprocessor.errors import (
    CompileError,
    InvalidArgument,
    ReceiptFormatError,
    ResultMismatchError,
)
from coprocessor.prover.proving import OnProgress, prove


def check_journal(compiled: CompiledQuery, chain_id: int, journal: bytes) -> Journal:
    """Checks a proven journal against the compiled query: it must be, byte for byte, the
    journal the guest's code committed natively at compile time (whose rows DuckDB's answer
    matched), for this chain and anchor. Raises ResultMismatchError."""
    try:
        decoded = decode_journal(journal, compiled.plan.output_types)
    except ReceiptFormatError as exc:
        raise ResultMismatchError(f"bug: the proven journal does not decode: {exc}") from exc
    rows = decoded.result_rows()
    if rows != compiled.expected:
        raise ResultMismatchError(
            "bug: proven result differs from the expected one "
            f"(query 0x{compiled.query_hash.hex()}): guest {len(rows)} row(s) {rows[:3]!r}..., "
            f"expected {len(compiled.expected or [])} row(s) {(compiled.expected or [])[:3]!r}...; "
            "neither is returned"
        )
    got = decoded.header()
    assert compiled.witness is not None  # compiled with an index (it has expected rows)
    want = (
        JOURNAL_VERSION,
        chain_id,
        compiled.query_hash,
        compiled.anchor,
        compiled.witness.anchor_hash,
        compiled.witness.history_root,
        compiled.plan.first_block,
        compiled.plan.last_block,
        compiled.params_bytes,
    )
    if got != want or journal != compiled.journal:
        raise ResultMismatchError(
            f"bug: the proven journal's header {got!r} differs from the compiled query's {want!r}"
        )
    return decoded


def prove_query(
    compiled: CompiledQuery,
    chain_id: int | None,
    *,
    program: zkvm.Program | None = None,
    dev: bool = False,
    kind: Literal["composite", "succinct"] = "composite",
    workers: int = 1,
    ray_address: str | None = None,
    segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    on_progress: OnProgress | None = None,
) -> tuple[zkvm.Receipt, Journal]:
    """Proves a compiled query (module docstring): (receipt, its checked journal)."""
    if compiled.witness is None or compiled.witness_bytes is None or compiled.expected is None:
        raise CompileError("the query was compiled without an index: nothing to prove")
    if chain_id is None:
        raise InvalidArgument(
            "no chain id: the index is empty and no rpc was given (pass chain_id=)"
        )
    receipt = prove(
        program or zkvm.Program.load(QUERY_GUEST),
        guest_input(compiled, chain_id),
        kind=kind,
        dev=dev,
        workers=workers,
        ray_address=ray_address,
        segment_po2=segment_po2,
        keccak_po2=keccak_po2(compiled),
        on_progress=on_progress,
    )
    return receipt, check_journal(compiled, chain_id, receipt.journal)
