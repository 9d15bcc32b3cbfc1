"""The query guest's input and journal (PLAN.md "Journal", version 3).

data = guest_input(compiled, chain_id)    # rlp([chain_id, plan_template, witness, params])
j = decode_journal(execution.journal, compiled.plan.output_types)
j.query_hash, j.params, j.rows            # rows as in compiled.expected (NULL = None)
decode_params(j.params, ["address", "uint256"])   # the parameter values
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from coprocessor import zkvm
from coprocessor.compiler import schema
from coprocessor.compiler.anchors import NO_HISTORY_ROOT
from coprocessor.compiler.witness import keccak_permutations
from coprocessor.errors import CompileError, ReceiptFormatError

QUERY_GUEST = "query"
"""The guest (guest_programs/query, image_ids.json) whose input and journal this module codes."""
JOURNAL_VERSION = 3
JOURNAL_TYPES = [
    "uint8",
    "uint64",
    "bytes32",
    "uint64",
    "bytes32",
    "bytes32",
    "uint64",
    "uint64",
    "bytes",
    "bytes",
]
ABI_TYPES = {
    schema.UINT: "uint256",
    schema.ADDRESS: "address",
    schema.BYTES32: "bytes32",
    schema.BYTES: "bytes",
    schema.BOOL: "bool",
}


@dataclass(frozen=True)
class Journal:
    version: int
    chain_id: int
    query_hash: bytes
    anchor_number: int
    anchor_hash: bytes
    history_root: bytes  # the BlockHistory state's root the anchor is in; NO_HISTORY_ROOT if none
    first_block: int
    last_block: int
    params: bytes  # abi.encode(parameter values) in declaration order; b"" without parameters
    result: bytes  # abi.encode(Row[]), Row = (uint256 nulls, column values...)
    rows: list[tuple] | None  # decoded rows (None when output types were not given)

    def header(self) -> tuple:
        """version, chain id, queryHash, anchor (number, hash, history root), block range,
        parameter values (ABI-encoded): what a journal says besides its rows."""
        return (
            self.version,
            self.chain_id,
            self.query_hash,
            self.anchor_number,
            self.anchor_hash,
            self.history_root,
            self.first_block,
            self.last_block,
            self.params,
        )

    @property
    def anchored_on_history(self) -> bool:
        """True when the anchor is proven in a BlockHistory state (`history_root`), not
        checked on chain by its block hash."""
        return self.history_root != NO_HISTORY_ROOT

    def result_rows(self) -> list[tuple]:
        """The decoded rows; a ReceiptFormatError if the journal was decoded without the plan's
        output types."""
        if self.rows is None:
            raise ReceiptFormatError("the journal was decoded without output types: no rows")
        return self.rows


def guest_input(compiled, chain_id: int) -> bytes:
    """The query guest's stdin: rlp([chain_id, plan_template, witness, params])."""
    if compiled.witness_bytes is None:
        raise CompileError("the query was compiled without a witness (pass store=...)")
    return rlp.encode(
        [chain_id, compiled.plan_bytes, compiled.witness_bytes, compiled.params_bytes]
    )


def keccak_po2(compiled) -> int:
    """The keccak-accelerator batch size (po2) for proving `compiled`: the smallest that holds
    its witness's estimated keccak permutations (zkvm.keccak_po2_for)."""
    if compiled.witness is None:
        raise CompileError("the query was compiled without a witness (pass store=...)")
    return zkvm.keccak_po2_for(keccak_permutations(compiled.witness))


def row_abi_type(output_types) -> str:
    return "(" + ",".join(["uint256", *(ABI_TYPES[t] for t in output_types)]) + ")[]"


def abi_decode_checked(types: list[str], data: bytes) -> tuple:
    """eth_abi's decode, its errors mapped (here, once) to ReceiptFormatError."""
    try:
        return abi_decode(types, data)
    except (DecodingError, OverflowError, ValueError) as exc:
        raise ReceiptFormatError(f"not ABI-encoded as {', '.join(types)}: {exc}") from exc


def decode_rows(result: bytes, output_types) -> list[tuple]:
    (rows,) = abi_decode_checked([row_abi_type(output_types)], result)
    out = []
    for nulls, *vals in rows:
        row: list = []
        for i, (t, v) in enumerate(zip(output_types, vals)):
            if nulls >> i & 1:
                row.append(None)
            elif t == schema.ADDRESS:
                row.append(bytes.fromhex(v[2:]))
            else:
                row.append(v)
        out.append(tuple(row))
    return out


def decode_params(params: bytes, abi_types: list[str]) -> tuple:
    """The parameter values of a journal's `params` (addresses as 20 bytes)."""
    if not abi_types:
        if params:
            raise ReceiptFormatError("parameter values given to a query without parameters")
        return ()
    values = abi_decode_checked(list(abi_types), params)
    return tuple(bytes.fromhex(v[2:]) if t == "address" else v for t, v in zip(abi_types, values))


def decode_journal(data: bytes, output_types=None) -> Journal:
    """Decodes a version-3 journal; with the plan's `output_types`, also the result rows."""
    v, chain_id, qh, an, ah, hr, first, last, params, result = abi_decode_checked(
        JOURNAL_TYPES, data
    )
    if v != JOURNAL_VERSION:
        raise ReceiptFormatError(f"journal version {v}, expected {JOURNAL_VERSION}")
    rows = decode_rows(result, output_types) if output_types is not None else None
    return Journal(v, chain_id, qh, an, ah, hr, first, last, params, result, rows)
