"""The anchor of a query witness (PLAN.md "Anchors"): why the newest header N of the witness
is canonical, and which anchor a query takes.

- `WalkAnchor`: the headers run up to the anchor block; the contract checks its hash
  (blockhash for 256 blocks, EIP-2935 for 8191). A header (~9.7k cycles) per block walked.
- `HistoryAnchor`: N's hash is a leaf of a proven BlockHistory state; the journal commits the
  state's historyRoot and the contract asks BlockHistory whether it knows it. One MMR inclusion
  proof, whatever the distance to the head.
- `Eip2935Anchor`: N's hash is in the EIP-2935 history contract's storage in the state of a
  block A with A - 8191 <= N < A; A is the anchor the contract checks. One account and one
  storage proof.

`choose` picks the cheapest the caller allows; the guest checks whatever is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from coprocessor import ethcore
from coprocessor.errors import IndexIncompleteError, InvalidArgument
from coprocessor.history import BlockInclusion, HistoryJournal, block_inclusion

ANCHOR_WALK, ANCHOR_HISTORY, ANCHOR_EIP2935 = 0, 1, 2
NO_HISTORY_ROOT = bytes(32)
"""`historyRoot` of a journal anchored on a block hash (walk or EIP-2935), not on BlockHistory."""
KINDS = {"walk": ANCHOR_WALK, "history": ANCHOR_HISTORY, "eip2935": ANCHOR_EIP2935}
EIP2935_ADDRESS = bytes.fromhex("0000f90827f1c53a10cb7a02335b175320002935")
EIP2935_CODE_HASH = bytes.fromhex(
    "6e49e66782037c0555897870e29fa5e552daf4719552131a0abce779daec0a5d"
)
EIP2935_WINDOW = 8191
"""EIP-2935's HISTORY_SERVE_WINDOW: the state of block A holds the hashes of A-8191..A-1."""

# Guest cycles of each anchor's own checks (scripts/bench_history.py): a header walked (9,590
# measured); an MMR inclusion proof, ~1.1k cycles a level plus the peaks' root and historyRoot
# (12,856 measured for a height-3 tree on the devchain; 35k allowed for mainnet's up to 25
# levels, an estimate); A's header and the EIP-2935 account and storage proofs (~38k measured
# on the devchain; a mainnet account proof alone is ~69k, so 100k allowed, an estimate).
HEADER_CYCLES = 9_600
HISTORY_ANCHOR_CYCLES = 35_000
EIP2935_ANCHOR_CYCLES = 100_000


@dataclass(frozen=True)
class WalkAnchor:
    number: int
    hash: bytes
    kind = ANCHOR_WALK
    history_root = NO_HISTORY_ROOT

    def item(self) -> list:
        return [ANCHOR_WALK, self.number, self.hash]

    def describe(self, last_block: int) -> str:
        walked = self.number - last_block
        return (
            f"walk: headers up to anchor block {self.number} ({walked} after the range), "
            "hash checked on chain (blockhash / EIP-2935)"
        )


@dataclass(frozen=True)
class HistoryAnchor:
    state: HistoryJournal
    inclusion: BlockInclusion
    kind = ANCHOR_HISTORY

    @property
    def number(self) -> int:
        return self.inclusion.number

    @property
    def hash(self) -> bytes:
        return self.inclusion.hash

    @property
    def history_root(self) -> bytes:
        return self.state.history_root

    def item(self) -> list:
        s, inc = self.state, self.inclusion
        other = s.forward if inc.backward else s.backward
        return [
            ANCHOR_HISTORY,
            s.earliest,
            s.earliest_parent_hash,
            s.origin,
            s.latest,
            s.latest_hash,
            ethcore.mmr_root(other),
            list(inc.siblings),
            list(inc.peaks),
        ]

    def describe(self, last_block: int) -> str:
        s = self.state
        return (
            f"accumulator: block {self.number} proven in BlockHistory root "
            f"0x{self.history_root.hex()} (blocks {s.earliest}..{s.latest}, "
            f"{len(self.inclusion.siblings)}-level MMR proof)"
        )


@dataclass(frozen=True)
class Eip2935Anchor:
    header_rlp: bytes  # block A's header
    number: int  # A
    hash: bytes  # A's hash
    account_proof: list[bytes]
    storage_proof: list[bytes]
    kind = ANCHOR_EIP2935
    history_root = NO_HISTORY_ROOT

    def item(self) -> list:
        return [ANCHOR_EIP2935, self.header_rlp, self.account_proof, self.storage_proof]

    def describe(self, last_block: int) -> str:
        return (
            f"EIP-2935: block {last_block}'s hash read from the history contract's storage in "
            f"block {self.number}'s state, whose hash is checked on chain"
        )


Anchor = WalkAnchor | HistoryAnchor | Eip2935Anchor


def extra_cycles(kind: int, anchor: int, last_block: int) -> int:
    """Guest cycles an anchor of `kind` adds to the range's own headers."""
    if kind == ANCHOR_HISTORY:
        return HISTORY_ANCHOR_CYCLES
    if kind == ANCHOR_EIP2935:
        return EIP2935_ANCHOR_CYCLES
    return (anchor - last_block) * HEADER_CYCLES


def eip2935_slot(number: int) -> bytes:
    return (number % EIP2935_WINDOW).to_bytes(32, "big")


def eip2935_reaches(anchor: int, last_block: int) -> bool:
    return 0 < anchor - last_block <= EIP2935_WINDOW


def _eip2935_proofs(store, anchor: int, last_block: int) -> tuple[list, list] | None:
    """The indexed account and storage proofs EIP-2935 needs at `anchor`, if the index has
    them and they show the EIP's contract (else None)."""
    acct = store.sql(
        "SELECT exists, code_hash, proof FROM accounts WHERE block_number = ? AND address = ?",
        [anchor, EIP2935_ADDRESS],
    )
    slot = store.sql(
        "SELECT proof FROM storage WHERE block_number = ? AND address = ? AND slot = ?",
        [anchor, EIP2935_ADDRESS, eip2935_slot(last_block)],
    )
    if not acct or not slot or not acct[0][0] or acct[0][1] != EIP2935_CODE_HASH:
        return None
    return list(acct[0][2]), list(slot[0][0])


def choose(
    store,
    *,
    anchor: int,
    last_block: int,
    history: HistoryJournal | None,
    fetch_state=None,
    kind: str | None = None,
) -> Anchor:
    """The anchor of a witness whose range ends at `last_block`, `anchor` being the block the
    caller anchors at (the index's last by default). `kind` forces one ("walk", "history",
    "eip2935"); by default the cheapest available in guest cycles. `history` is a proven
    BlockHistory state (its root must be known to the contract that will check the proof);
    `fetch_state` fetches the EIP-2935 proofs the index lacks."""
    if kind is not None and kind not in KINDS:
        raise InvalidArgument(f"anchor kind {kind!r}: expected one of {', '.join(KINDS)}")
    wanted = KINDS.get(kind) if kind is not None else None
    if wanted == ANCHOR_HISTORY or (wanted is None and history is not None):
        if history is None:
            raise InvalidArgument("a history anchor needs a proven BlockHistory state")
        if history.covers(last_block):
            if wanted == ANCHOR_HISTORY or extra_cycles(
                ANCHOR_HISTORY, anchor, last_block
            ) < extra_cycles(ANCHOR_WALK, anchor, last_block):
                return HistoryAnchor(history, block_inclusion(store, history, last_block))
        elif wanted == ANCHOR_HISTORY:
            raise InvalidArgument(
                f"block {last_block} is outside the proven history {history.earliest}.."
                f"{history.latest}: run `coprocessor history prove` first"
            )
    if wanted == ANCHOR_EIP2935 or (
        wanted is None
        and eip2935_reaches(anchor, last_block)
        and extra_cycles(ANCHOR_EIP2935, anchor, last_block)
        < extra_cycles(ANCHOR_WALK, anchor, last_block)
    ):
        found = _eip2935(store, anchor, last_block, fetch_state, required=wanted is not None)
        if found is not None:
            return found
    return _walk(store, anchor)


def _walk(store, anchor: int) -> WalkAnchor:
    hashes = store.block_hashes(anchor, anchor)
    if anchor not in hashes:
        raise IndexIncompleteError(
            f"anchor block {anchor} is not indexed", first=anchor, last=anchor
        )
    return WalkAnchor(anchor, hashes[anchor])


def _eip2935(store, anchor: int, last_block: int, fetch_state, required: bool):
    if not eip2935_reaches(anchor, last_block):
        raise InvalidArgument(
            f"EIP-2935 reaches the {EIP2935_WINDOW} blocks before the anchor block "
            f"({max(0, anchor - EIP2935_WINDOW)}..{anchor - 1} from {anchor}), not {last_block}"
        )
    proofs = _eip2935_proofs(store, anchor, last_block)
    if proofs is None and fetch_state is not None:
        fetch_state(anchor, EIP2935_ADDRESS, (eip2935_slot(last_block),))
        proofs = _eip2935_proofs(store, anchor, last_block)
    if proofs is None:
        if required:
            raise IndexIncompleteError(
                f"no EIP-2935 history contract proof at block {anchor} (a chain before Prague, "
                "or not fetched: pass fetch_state=indexer.fetch_state)",
                first=anchor,
                last=anchor,
            )
        return None
    (header_rlp,) = store.sql("SELECT header_rlp FROM blocks WHERE number = ?", [anchor])[0]
    return Eip2935Anchor(header_rlp, anchor, ethcore.header_hash(header_rlp), proofs[0], proofs[1])
