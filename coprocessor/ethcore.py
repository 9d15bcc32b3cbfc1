"""Ethereum verification from Python, with exactly the guests' rules.

Every function here runs `ethcore` (guest_programs/ethcore, Rust, no_std)
natively through the cdylib: the same code the RISC Zero guests run, so what
the indexer accepts is what a proof can check. Arguments travel as one RLP
command (`ethcore::ops`); a failed check raises `EthDataError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp

from coprocessor.errors import EthDataError, InvalidArgument
from coprocessor.ffi import run_ethcore, run_ingest_blocks

# Command numbers of ethcore::ops (guest_programs/ethcore/src/ops.rs).
HEADER_HASH = 1
VERIFY_CHAIN = 2
ACCOUNT_PROOF = 3
STORAGE_PROOF = 4
ACCOUNT_STORAGE = 5
TRANSACTIONS_ROOT = 6
RECEIPTS_ROOT = 7
ORDERED_TRIE_ROOT = 8
DECODE_TRANSACTION = 9
WITHDRAWALS_ROOT = 10
BLOOM_ABSENT = 11
BATCH = 12

# Command numbers of the accumulator (ethcore::mmr), answered by the native library
# (native/risc0-py/src/commands.rs) besides ethcore::ops.
MMR_APPEND = 101
MMR_ROOT = 102
MMR_PROOF = 103
MMR_VERIFY = 104
HISTORY_STEP = 105
HISTORY_DECODE = 106


@dataclass(frozen=True)
class HeaderInfo:
    hash: bytes
    number: int
    field_count: int
    """15 Frontier..Berlin, 16 London, 17 Shanghai, 20 Cancun, 21 Prague/Osaka."""


@dataclass(frozen=True)
class Account:
    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes


@dataclass(frozen=True)
class Transaction:
    type: int
    chain_id: int | None
    nonce: int
    gas_limit: int
    to: bytes | None
    value: int
    input: bytes
    gas_price: int | None
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    max_fee_per_blob_gas: int | None
    blob_hashes_count: int
    access_list_len: int
    authorization_list_len: int
    hash: bytes

    @property
    def selector(self) -> bytes | None:
        return self.input[:4] if len(self.input) >= 4 else None


def command(op: int, *args) -> bytes:
    """The RLP bytes of one ethcore command (also the input of the ethcheck guest)."""
    return rlp.encode([op, *args])


def _fixed_bytes(value: bytes, size: int, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise InvalidArgument(f"{what} must be {size} bytes, got {value!r:.80}")
    return bytes(value)


def _byte_list(values: Sequence[bytes], what: str) -> list[bytes]:
    if isinstance(values, (bytes, bytearray, str)):
        raise InvalidArgument(f"{what} must be a sequence of bytes")
    out = []
    for value in values:
        if not isinstance(value, (bytes, bytearray)):
            raise InvalidArgument(f"{what} must hold bytes, got {type(value).__name__}")
        out.append(bytes(value))
    return out


def _run_op(op: int, *args):
    """Runs one ethcore command and decodes its RLP output."""
    return rlp.decode(run_ethcore(command(op, *args)))


def _uint(big_endian: bytes) -> int:
    return int.from_bytes(big_endian, "big")


def _optional_uint(big_endian: bytes) -> int | None:
    """An optional field: empty bytes mean absent."""
    return _uint(big_endian) if big_endian else None


def _account(fields: list) -> Account | None:
    if not fields:
        return None
    nonce, balance, storage_root, code_hash = fields
    return Account(_uint(nonce), _uint(balance), storage_root, code_hash)


def decode_header(header_rlp: bytes) -> HeaderInfo:
    """Strictly decodes a header (field count must match a fork) and hashes it."""
    hash_, number, count = _run_op(HEADER_HASH, _byte_list([header_rlp], "header")[0])
    return HeaderInfo(hash_, _uint(number), _uint(count))


def header_hash(header_rlp: bytes) -> bytes:
    return decode_header(header_rlp).hash


def verify_chain(headers_rlp: Sequence[bytes], anchor: bytes) -> tuple[int, int]:
    """Checks headers (oldest to newest) link by parentHash to `anchor`, the newest's hash.

    Returns (oldest number, newest number).
    """
    first, last = _run_op(
        VERIFY_CHAIN, _byte_list(headers_rlp, "headers"), _fixed_bytes(anchor, 32, "anchor")
    )
    return _uint(first), _uint(last)


def verify_account_proof(
    state_root: bytes, address: bytes, proof: Sequence[bytes]
) -> Account | None:
    """The account proven by an eth_getProof accountProof; None when proven absent."""
    fields = _run_op(
        ACCOUNT_PROOF,
        _fixed_bytes(state_root, 32, "state_root"),
        _fixed_bytes(address, 20, "address"),
        _byte_list(proof, "proof"),
    )
    return _account(fields)


def verify_storage_proof(storage_root: bytes, slot: bytes, proof: Sequence[bytes]) -> int:
    """The storage word proven at `slot` (32 bytes); 0 when proven absent."""
    value = _run_op(
        STORAGE_PROOF,
        _fixed_bytes(storage_root, 32, "storage_root"),
        _fixed_bytes(slot, 32, "slot"),
        _byte_list(proof, "proof"),
    )
    return _uint(value)


def verify_account_storage(
    state_root: bytes, address: bytes, slots: Sequence[bytes], nodes: Sequence[bytes]
) -> tuple[Account | None, list[int]]:
    """An account and several of its slots from one multiproof (the union of proof nodes)."""
    fields, values = _run_op(
        ACCOUNT_STORAGE,
        _fixed_bytes(state_root, 32, "state_root"),
        _fixed_bytes(address, 20, "address"),
        [_fixed_bytes(slot, 32, "slot") for slot in slots],
        _byte_list(nodes, "nodes"),
    )
    return _account(fields), [_uint(value) for value in values]


def transactions_root(raw_transactions: Sequence[bytes]) -> bytes:
    """transactionsRoot of raw (EIP-2718 envelope) transactions."""
    return _run_op(TRANSACTIONS_ROOT, _byte_list(raw_transactions, "transactions"))


def receipts_root(consensus_receipts: Sequence[bytes]) -> tuple[bytes, bytes]:
    """(receiptsRoot, block logsBloom) of consensus-encoded receipts.

    Each receipt's stored bloom must equal the bloom recomputed from its logs.
    """
    root, bloom = _run_op(RECEIPTS_ROOT, _byte_list(consensus_receipts, "receipts"))
    return root, bloom


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    return _run_op(ORDERED_TRIE_ROOT, _byte_list(values, "values"))


def withdrawals_root(withdrawals: Sequence[tuple[int, int, bytes, int]]) -> bytes:
    """withdrawalsRoot of (index, validator_index, address, amount_gwei) tuples."""
    items = [
        [index, validator_index, _fixed_bytes(address, 20, "withdrawal address"), amount_gwei]
        for index, validator_index, address, amount_gwei in withdrawals
    ]
    return _run_op(WITHDRAWALS_ROOT, items)


def decode_transaction(raw: bytes) -> Transaction:
    """Strictly decodes a raw (EIP-2718) transaction and hashes it."""
    fields = _run_op(DECODE_TRANSACTION, _byte_list([raw], "transaction")[0])
    return Transaction(
        type=_uint(fields[0]),
        chain_id=_optional_uint(fields[1]),
        nonce=_uint(fields[2]),
        gas_limit=_uint(fields[3]),
        to=fields[4] or None,
        value=_uint(fields[5]),
        input=fields[6],
        gas_price=_optional_uint(fields[7]),
        max_fee_per_gas=_optional_uint(fields[8]),
        max_priority_fee_per_gas=_optional_uint(fields[9]),
        max_fee_per_blob_gas=_optional_uint(fields[10]),
        blob_hashes_count=_uint(fields[11]),
        access_list_len=_uint(fields[12]),
        authorization_list_len=_uint(fields[13]),
        hash=fields[14],
    )


def bloom_proves_absent(bloom: bytes, address: bytes, topic: bytes) -> bool:
    """True when `bloom` proves no log has both `address` and `topic`."""
    flag = _run_op(
        BLOOM_ABSENT,
        _fixed_bytes(bloom, 256, "bloom"),
        _fixed_bytes(address, 20, "address"),
        _fixed_bytes(topic, 32, "topic"),
    )
    return _uint(flag) == 1


@dataclass(frozen=True)
class MmrPeaks:
    """A keccak MMR of block hashes as its size and peaks (largest tree first)."""

    size: int
    peaks: tuple[bytes, ...]


@dataclass(frozen=True)
class MmrProof:
    """The inclusion proof of one leaf: siblings bottom-up and the MMR's peaks."""

    siblings: tuple[bytes, ...]
    peaks: tuple[bytes, ...]


@dataclass(frozen=True)
class DecodedHistory:
    """A history journal as the Rust decoder reads it, with its historyRoot."""

    self_image_id: bytes
    chain_id: int
    earliest: int
    earliest_parent_hash: bytes
    origin: int
    latest: int
    latest_hash: bytes
    forward: MmrPeaks
    backward: MmrPeaks
    history_root: bytes


def _hashes(values: Sequence[bytes], what: str) -> list[bytes]:
    return [_fixed_bytes(value, 32, what) for value in _byte_list(values, what)]


def _size(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise InvalidArgument(f"{what} must be an int in [0, 2**64), got {value!r}")
    return value


def mmr_append(mmr: MmrPeaks, leaves: Sequence[bytes]) -> MmrPeaks:
    """The MMR after appending `leaves` (32-byte hashes) in order."""
    size, peaks = _run_op(
        MMR_APPEND,
        _size(mmr.size, "size"),
        _hashes(mmr.peaks, "peaks"),
        _hashes(leaves, "leaves"),
    )
    return MmrPeaks(_uint(size), tuple(peaks))


def mmr_root(mmr: MmrPeaks) -> bytes:
    """mmrRoot = keccak256(uint256 size ‖ peaks...)."""
    return _run_op(MMR_ROOT, _size(mmr.size, "size"), _hashes(mmr.peaks, "peaks"))


def mmr_proof(leaves: Sequence[bytes], index: int) -> MmrProof:
    """The inclusion proof of leaf `index` in the MMR of `leaves`."""
    siblings, peaks = _run_op(MMR_PROOF, _hashes(leaves, "leaves"), _size(index, "index"))
    return MmrProof(tuple(siblings), tuple(peaks))


def mmr_verify(root: bytes, size: int, index: int, leaf: bytes, proof: MmrProof) -> None:
    """Checks that `leaf` is leaf `index` of the MMR of `size` leaves committed by `root`;
    raises EthDataError when it is not."""
    _run_op(
        MMR_VERIFY,
        _fixed_bytes(root, 32, "root"),
        _size(size, "size"),
        _size(index, "index"),
        _fixed_bytes(leaf, 32, "leaf"),
        _hashes(proof.siblings, "siblings"),
        _hashes(proof.peaks, "peaks"),
    )


def history_step(guest_input: bytes) -> bytes:
    """The journal the history guest commits for `guest_input` (its checks, natively; the
    previous receipt is not verified here)."""
    return _run_op(HISTORY_STEP, _byte_list([guest_input], "guest input")[0])


def decode_history(journal: bytes) -> DecodedHistory:
    """Decodes a history journal with the guest's strict decoder (EthDataError if it is not
    one the guest would commit)."""
    fields = _run_op(HISTORY_DECODE, _byte_list([journal], "journal")[0])
    return DecodedHistory(
        self_image_id=fields[0],
        chain_id=_uint(fields[1]),
        earliest=_uint(fields[2]),
        earliest_parent_hash=fields[3],
        origin=_uint(fields[4]),
        latest=_uint(fields[5]),
        latest_hash=fields[6],
        forward=MmrPeaks(_uint(fields[7]), tuple(fields[8])),
        backward=MmrPeaks(_uint(fields[9]), tuple(fields[10])),
        history_root=fields[11],
    )


def ingest_blocks(
    body: bytes | bytearray | memoryview,
    first: int,
    block_ids: Sequence[int],
    receipt_ids: Sequence[int] = (),
) -> bytes | None:
    """The indexer's fast path, host only: blocks first.. validated straight from a JSON-RPC
    batch response `body` (the results with request ids `block_ids`, and `receipt_ids` for
    eth_getBlockReceipts, empty when receipts are not indexed).

    Returns the rows as column buffers (wire format in native/risc0-py/src/ingest/columns.rs,
    read by `coprocessor.indexer.native`), or None when the fast path declines: a check
    failed or the JSON is not in the canonical shape it accepts. The indexer's Python path
    (the reference) then decides on the same data. Anything else raises: InvalidArgument when
    the ids do not pair up (a receipts id for every block, or none), InternalError for a bug
    of the native path.
    """
    spec = command(first, list(block_ids), list(receipt_ids))
    return run_ingest_blocks(body, spec)


__all__ = [
    "Account",
    "DecodedHistory",
    "EthDataError",
    "HeaderInfo",
    "MmrPeaks",
    "MmrProof",
    "Transaction",
    "bloom_proves_absent",
    "command",
    "decode_header",
    "decode_history",
    "decode_transaction",
    "header_hash",
    "history_step",
    "ingest_blocks",
    "mmr_append",
    "mmr_proof",
    "mmr_root",
    "mmr_verify",
    "ordered_trie_root",
    "receipts_root",
    "transactions_root",
    "verify_account_proof",
    "verify_account_storage",
    "verify_chain",
    "verify_storage_proof",
    "withdrawals_root",
]
