"""The witness the query guest checks: its anchor (anchors.py), headers oldest→newest, per-block
scan items (bloom skip or the whole transaction/receipt lists), state proofs. Encoding: PLAN.md
"Witness"."""

from __future__ import annotations

from dataclasses import dataclass, field

import rlp

from coprocessor import ethcore
from coprocessor.compiler import schema
from coprocessor.compiler.anchors import ANCHOR_WALK, Anchor, Eip2935Anchor, HistoryAnchor
from coprocessor.compiler.anchors import extra_cycles as anchor_cycles
from coprocessor.compiler.plan import QueryPlan
from coprocessor.errors import IndexIncompleteError

WITNESS_VERSION = 2
MODE_BLOOM_SKIP, MODE_RECEIPTS, MODE_TXS_RECEIPTS = 1, 2, 3


@dataclass
class BlockItem:
    number: int
    mode: int
    transactions: list[bytes] = field(default_factory=list)
    receipts: list[bytes] = field(default_factory=list)


@dataclass
class StateItem:
    block: int
    address: bytes
    account_proof: list[bytes]
    slots: list[tuple[bytes, list[bytes]]] = field(default_factory=list)


@dataclass
class Witness:
    anchor: Anchor
    headers: list[bytes]  # header RLP, oldest (plan.first_block) → newest (anchors.py)
    blocks: list[BlockItem]
    state: list[StateItem]

    @property
    def anchor_number(self) -> int:
        """The journal's anchorNumber."""
        return self.anchor.number

    @property
    def anchor_hash(self) -> bytes:
        """The journal's anchorHash."""
        return self.anchor.hash

    @property
    def history_root(self) -> bytes:
        """The journal's historyRoot (zero unless anchored on BlockHistory)."""
        return self.anchor.history_root

    def counts(self) -> dict[str, int]:
        return {
            "headers": len(self.headers),
            "blocks skipped by bloom": sum(b.mode == MODE_BLOOM_SKIP for b in self.blocks),
            "blocks with receipts": sum(b.mode != MODE_BLOOM_SKIP for b in self.blocks),
            "receipts": sum(len(b.receipts) for b in self.blocks),
            "transactions": sum(len(b.transactions) for b in self.blocks),
            "account proofs": len(self.state),
            "storage proofs": sum(len(s.slots) for s in self.state),
        }

    def encode(self) -> bytes:
        return rlp.encode(
            [
                WITNESS_VERSION,
                self.anchor.item(),
                self.headers,
                [[b.number, b.mode, b.transactions, b.receipts] for b in self.blocks],
                [
                    [s.block, s.address, s.account_proof, [[k, n] for k, n in s.slots]]
                    for s in self.state
                ],
            ]
        )


def build(
    store, plan: QueryPlan, source: schema.Source, anchor: Anchor, state_points: list[tuple]
) -> Witness:
    """The witness of `plan` with `anchor`, read from the index (`state_points`: the guest's
    list of the state proofs it needs, for state sources). A walk's headers run to the anchor
    block, the other anchors' to the plan's last block."""
    first = plan.first_block
    newest = anchor.number if anchor.kind == ANCHOR_WALK else plan.last_block
    hdr = store.sql(
        "SELECT number, header_rlp, hash, logs_bloom FROM blocks WHERE number BETWEEN ? AND ? "
        "ORDER BY number",
        [first, newest],
    )
    if len(hdr) != newest - first + 1:
        raise IndexIncompleteError(
            f"blocks {first}..{newest} are not all indexed: index them first",
            first=first,
            last=newest,
        )
    blooms = {n: bloom for n, _, _, bloom in hdr}
    blocks: list[BlockItem] = []
    if source.kind in (schema.SRC_TRANSACTIONS, schema.SRC_RECEIPTS, *schema.LOG_SOURCES):
        blocks = _block_items(store, plan, source.kind, blooms)
    state: list[StateItem] = []
    if source.kind in schema.STATE_SOURCES and state_points:
        state = _state_items(store, plan, source.kind, state_points)
    if anchor.kind == ANCHOR_WALK and hdr[-1][2] != anchor.hash:
        raise IndexIncompleteError(f"anchor block {newest}'s hash changed while compiling")
    return Witness(anchor, [h for _, h, _, _ in hdr], blocks, state)


def _block_items(store, plan: QueryPlan, kind: int, blooms: dict[int, bytes]) -> list[BlockItem]:
    """Per block of the range: skipped (its logsBloom proves every bloom key absent), or its
    whole receipt list (and transaction list, for the transactions source)."""
    a, b = plan.first_block, plan.last_block
    receipts = _lists(store, "receipts", a, b)
    txs = _lists(store, "transactions", a, b) if kind == schema.SRC_TRANSACTIONS else {}
    blocks = []
    for n in range(a, b + 1):
        if (
            kind in schema.LOG_SOURCES
            and plan.bloom_keys
            and all(
                ethcore.bloom_proves_absent(blooms[n], addr, topic)
                for addr, topic in plan.bloom_keys
            )
        ):
            blocks.append(BlockItem(n, MODE_BLOOM_SKIP))
        elif kind == schema.SRC_TRANSACTIONS:
            blocks.append(BlockItem(n, MODE_TXS_RECEIPTS, txs.get(n, []), receipts.get(n, [])))
        else:
            blocks.append(BlockItem(n, MODE_RECEIPTS, [], receipts.get(n, [])))
    return blocks


def _state_items(store, plan: QueryPlan, kind: int, state_points: list[tuple]) -> list[StateItem]:
    """The account proof (and storage proofs) at each state point, in the guest's order."""
    in_range = [plan.first_block, plan.last_block]
    acct = {
        (r[0], r[1]): list(r[2])
        for r in store.sql(
            "SELECT block_number, address, proof FROM accounts WHERE block_number BETWEEN ? AND ?",
            in_range,
        )
    }
    slots = {}
    if kind == schema.SRC_STORAGE:
        slots = {
            (r[0], r[1], r[2]): list(r[3])
            for r in store.sql(
                "SELECT block_number, address, slot, proof FROM storage "
                "WHERE block_number BETWEEN ? AND ?",
                in_range,
            )
        }
    state: list[StateItem] = []
    by_acct: dict[tuple, StateItem] = {}
    for pt in state_points:
        key = (pt[0], pt[1])
        if key not in by_acct:
            if key not in acct:
                raise IndexIncompleteError(f"no account proof for 0x{pt[1].hex()} at block {pt[0]}")
            by_acct[key] = StateItem(pt[0], pt[1], acct[key])
            state.append(by_acct[key])
        if kind == schema.SRC_STORAGE:
            if pt not in slots:
                raise IndexIncompleteError(
                    f"no storage proof for slot 0x{pt[2].hex()} at block {pt[0]}"
                )
            by_acct[key].slots.append((pt[2], slots[pt]))
    return state


def _lists(store, table: str, a: int, b: int) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for n, raw in store.sql(
        f"SELECT block_number, raw FROM {table} WHERE block_number BETWEEN ? AND ? "
        "ORDER BY block_number, tx_index",
        [a, b],
    ):
        out.setdefault(n, []).append(raw)
    return out


# Guest cycles per witness item, measured with keccak on the accelerator (`make bench`, README);
# sender: one secp256k1 signer recovery on the bigint2 accelerator, for a transaction's `from`.
CYCLES = {
    "header": 10_000,
    "account": 72_000,
    "storage": 61_000,
    "receipt": 20_000,
    "transaction": 25_000,
    "sender": 221_000,
}

# The keccak estimate's figures.
KECCAK_RATE_BYTES = (
    136  # keccak-256 absorbs 1088 bits (1600-bit state - 2 x 256 capacity) a permutation
)
# A trie leaf wraps its item in a list header, a string header and the compact-encoded key
# (an RLP-encoded index of a few bytes): allowed 40 bytes on top of the item.
LEAF_OVERHEAD_BYTES = 40
BRANCH_FANOUT = 16  # a hexary trie: one branch node above every 16 items
# A full branch node holds 16 child hashes (33 bytes each with their RLP header), an empty
# value and a 3-byte list header: 532 bytes, 4 permutations; counted as 5 to stay above it.
BRANCH_NODE_PERMUTATIONS = 5
PLAN_HASH_PERMUTATIONS = 8  # the plan's keccak (queryHash): plans up to 8 x 136 = 1088 bytes
KEY_HASH_PERMUTATIONS = 1  # keccak of a proof's 20-byte address or 32-byte slot: one block


def keccak_permutations(w: Witness) -> int:
    """An estimate (not a bound) of the keccak-f permutations the guest runs, 136 bytes
    absorbed per permutation: each header and proof node is hashed once; each receipt and
    transaction once inside its trie leaf, plus the branch nodes above it (~532 bytes); each
    proof also hashes its key; the plan is hashed once. Used only to size the keccak batch
    (`zkvm.keccak_po2_for`): an underestimate costs one more batch proof, never correctness."""

    def perms(data: bytes, extra: int = 0) -> int:
        return (len(data) + extra) // KECCAK_RATE_BYTES + 1  # the padding always adds a block

    n = sum(perms(h) for h in w.headers) + PLAN_HASH_PERMUTATIONS
    a = w.anchor
    if isinstance(a, Eip2935Anchor):
        n += perms(a.header_rlp) + 2 * KEY_HASH_PERMUTATIONS
        n += sum(perms(x) for x in a.account_proof + a.storage_proof)
    elif isinstance(a, HistoryAnchor):  # a pair per level, the peaks' root, historyRoot
        n += len(a.inclusion.siblings) + perms(b"", 32 + 32 * len(a.inclusion.peaks)) + 2
    for b in w.blocks:
        items = b.transactions + b.receipts
        n += sum(perms(x, LEAF_OVERHEAD_BYTES) for x in items)
        n += BRANCH_NODE_PERMUTATIONS * (len(items) // BRANCH_FANOUT + 1)
    for s in w.state:
        n += sum(perms(x) for x in s.account_proof) + KEY_HASH_PERMUTATIONS
        n += sum(sum(perms(x) for x in nodes) + KEY_HASH_PERMUTATIONS for _, nodes in s.slots)
    return n


def estimate_cycles(w: Witness) -> dict[str, int]:
    c = w.counts()
    est = {
        "headers": c["headers"] * CYCLES["header"],
        "account proofs": c["account proofs"] * CYCLES["account"],
        "storage proofs": c["storage proofs"] * CYCLES["storage"],
        "receipts": c["receipts"] * CYCLES["receipt"],
        "transactions": c["transactions"] * CYCLES["transaction"],
        "anchor": 0 if w.anchor.kind == ANCHOR_WALK else anchor_cycles(w.anchor.kind, 0, 0),
    }
    est["total"] = sum(est.values())
    return est
