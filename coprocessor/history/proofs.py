"""Inclusion proofs of block hashes in a proven accumulator state, from the index's hashes:
what a query witness or `BlockHistory.isBlockHashValid` takes. Only the leaves of the tree
that holds the block are read; the peaks come from the state itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from coprocessor import ethcore
from coprocessor.errors import IndexIncompleteError, InvalidArgument
from coprocessor.history.journal import HistoryJournal
from coprocessor.store import Store


@dataclass(frozen=True)
class BlockInclusion:
    """Block `number` with hash `hash` is leaf `index` of the forward MMR (or the backward
    one when `backward`) of `size` leaves and root `root`."""

    number: int
    hash: bytes
    backward: bool
    index: int
    size: int
    root: bytes
    siblings: tuple[bytes, ...]
    peaks: tuple[bytes, ...]

    def verify(self) -> None:
        """EthDataError unless the proof leads to `root`."""
        proof = ethcore.MmrProof(self.siblings, self.peaks)
        ethcore.mmr_verify(self.root, self.size, self.index, self.hash, proof)


def tree_of(size: int, index: int) -> tuple[int, int]:
    """(first leaf, height) of the perfect tree holding leaf `index` of an MMR of `size`."""
    if not 0 <= index < size:
        raise InvalidArgument(f"leaf {index} is outside an MMR of {size} leaves")
    offset = 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            if index < offset + (1 << height):
                return offset, height
            offset += 1 << height
    raise InvalidArgument(f"leaf {index} is outside an MMR of {size} leaves")


def block_inclusion(store: Store, state: HistoryJournal, number: int) -> BlockInclusion:
    """The inclusion proof of block `number` in `state` (checked before it is returned)."""
    if not state.covers(number):
        raise InvalidArgument(
            f"block {number} is outside the accumulator's {state.earliest}..{state.latest}"
        )
    backward = number < state.origin
    mmr = state.backward if backward else state.forward
    index = state.origin - 1 - number if backward else number - state.origin
    offset, height = tree_of(mmr.size, index)
    if backward:
        low, high = state.origin - offset - (1 << height), state.origin - 1 - offset
    else:
        low, high = state.origin + offset, state.origin + offset + (1 << height) - 1
    hashes = store.block_hashes(low, high)
    if len(hashes) != high - low + 1:
        raise IndexIncompleteError(
            f"the index lacks hashes of blocks {low}..{high}", first=low, last=high
        )
    leaves = [hashes[n] for n in (range(high, low - 1, -1) if backward else range(low, high + 1))]
    tree_proof = ethcore.mmr_proof(leaves, index - offset)
    inclusion = BlockInclusion(
        number=number,
        hash=hashes[number],
        backward=backward,
        index=index,
        size=mmr.size,
        root=ethcore.mmr_root(mmr),
        siblings=tree_proof.siblings,
        peaks=mmr.peaks,
    )
    inclusion.verify()
    return inclusion


__all__ = ["BlockInclusion", "block_inclusion", "tree_of"]
