"""The witness the query guest checks: headers anchor→oldest, per-block scan items (bloom skip
or the whole transaction/receipt lists), state proofs. Encoding: PLAN.md "Witness"."""

from __future__ import annotations

from dataclasses import dataclass, field

from coprocessor import ethcore
from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.compiler.plan import rlp_encode
from coprocessor.errors import CompileError, IndexIncompleteError

WITNESS_VERSION = 1
MODE_BLOOM_SKIP, MODE_RECEIPTS, MODE_TXS_RECEIPTS = 1, 2, 3
MODE_NAMES = {MODE_BLOOM_SKIP: "skipped by bloom", MODE_RECEIPTS: "all receipts",
              MODE_TXS_RECEIPTS: "all transactions and receipts"}  # fmt: skip


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
    anchor_number: int
    anchor_hash: bytes
    headers: list[bytes]  # header RLP, oldest (plan.first_block) → anchor
    blocks: list[BlockItem]
    state: list[StateItem]

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
        return rlp_encode([
            WITNESS_VERSION, self.anchor_number, self.anchor_hash, self.headers,
            [[b.number, b.mode, b.transactions, b.receipts] for b in self.blocks],
            [[s.block, s.address, s.account_proof, [[k, n] for k, n in s.slots]] for s in self.state],
        ])  # fmt: skip


def build(store, plan: P.QueryPlan, source: S.Source, anchor: int, state_points: list[tuple]) -> Witness:
    first = plan.first_block
    hdr = store.sql("SELECT number, header_rlp, hash, logs_bloom FROM blocks WHERE number BETWEEN ? AND ? "
                    "ORDER BY number", [first, anchor])  # fmt: skip
    if len(hdr) != anchor - first + 1:
        raise IndexIncompleteError(f"blocks {first}..{anchor} are not all indexed: index them first",
                                   first=first, last=anchor)
    blooms = {n: bloom for n, _, _, bloom in hdr}
    blocks: list[BlockItem] = []
    kind = source.kind
    if kind in (S.SRC_TRANSACTIONS, S.SRC_RECEIPTS, *S.LOG_SOURCES):
        a, b = plan.first_block, plan.last_block
        receipts = _lists(store, "receipts", a, b)
        txs = _lists(store, "transactions", a, b) if kind == S.SRC_TRANSACTIONS else {}
        for n in range(a, b + 1):
            if kind in S.LOG_SOURCES and plan.bloom_keys and all(
                    ethcore.bloom_proves_absent(blooms[n], addr, topic) for addr, topic in plan.bloom_keys):
                blocks.append(BlockItem(n, MODE_BLOOM_SKIP))
            elif kind == S.SRC_TRANSACTIONS:
                blocks.append(BlockItem(n, MODE_TXS_RECEIPTS, txs.get(n, []), receipts.get(n, [])))
            else:
                blocks.append(BlockItem(n, MODE_RECEIPTS, [], receipts.get(n, [])))
    state: list[StateItem] = []
    if kind in S.STATE_SOURCES and state_points:
        acct = {(r[0], r[1]): list(r[2]) for r in store.sql(
            "SELECT block_number, address, proof FROM accounts WHERE block_number BETWEEN ? AND ?",
            [plan.first_block, plan.last_block])}  # fmt: skip
        slots = {}
        if kind == S.SRC_STORAGE:
            slots = {(r[0], r[1], r[2]): list(r[3]) for r in store.sql(
                "SELECT block_number, address, slot, proof FROM storage WHERE block_number BETWEEN ? AND ?",
                [plan.first_block, plan.last_block])}  # fmt: skip
        by_acct: dict[tuple, StateItem] = {}
        for pt in state_points:
            key = (pt[0], pt[1])
            if key not in by_acct:
                if key not in acct:
                    raise IndexIncompleteError(f"no account proof for 0x{pt[1].hex()} at block {pt[0]}")
                by_acct[key] = StateItem(pt[0], pt[1], acct[key])
                state.append(by_acct[key])
            if kind == S.SRC_STORAGE:
                if pt not in slots:
                    raise IndexIncompleteError(f"no storage proof for slot 0x{pt[2].hex()} at block {pt[0]}")
                by_acct[key].slots.append((pt[2], slots[pt]))
    return Witness(anchor, hdr[-1][2], [h for _, h, _, _ in hdr], blocks, state)


def _lists(store, table: str, a: int, b: int) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for n, raw in store.sql(f"SELECT block_number, raw FROM {table} WHERE block_number BETWEEN ? AND ? "
                            "ORDER BY block_number, tx_index", [a, b]):  # fmt: skip
        out.setdefault(n, []).append(raw)
    return out


# cycle figures measured with keccak on the accelerator (see README / issue 3 benchmarks)
CYCLES = {"header": 25_000, "account": 78_000, "storage": 67_000, "receipt": 35_000,
          "transaction": 30_000,
          "sender": 11_100_000}  # fmt: skip  # sender: software secp256k1 recovery (make bench, query)


def keccak_permutations(w: Witness) -> int:
    """An estimate (not a bound) of the keccak-f permutations the guest runs, 136 bytes
    absorbed per permutation: each header and proof node is hashed once; each receipt and
    transaction once inside its trie leaf, plus the branch nodes above it (~532 bytes); each
    proof also hashes its key; the plan is hashed once. Used only to size the keccak batch
    (`zkvm.keccak_po2_for`): an underestimate costs one more batch proof, never correctness."""

    def perms(data: bytes, extra: int = 0) -> int:
        return (len(data) + extra) // 136 + 1

    n = sum(perms(h) for h in w.headers) + 8
    for b in w.blocks:
        items = b.transactions + b.receipts
        n += sum(perms(x, 40) for x in items) + 5 * (len(items) // 16 + 1)
    for s in w.state:
        n += sum(perms(x) for x in s.account_proof) + 1
        n += sum(sum(perms(x) for x in nodes) + 1 for _, nodes in s.slots)
    return n


def estimate_cycles(w: Witness) -> dict[str, int]:
    c = w.counts()
    est = {
        "headers": c["headers"] * CYCLES["header"],
        "account proofs": c["account proofs"] * CYCLES["account"],
        "storage proofs": c["storage proofs"] * CYCLES["storage"],
        "receipts": c["receipts"] * CYCLES["receipt"],
        "transactions": c["transactions"] * CYCLES["transaction"],
    }
    est["total"] = sum(est.values())
    return est
