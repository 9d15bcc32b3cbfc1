"""The accumulator's MMR written from its definition (notes/HISTORY_DESIGN.md), independently of
ethcore::mmr, for tests to compare against: peaks are the roots of the perfect trees given by
the set bits of n (highest first), a node is keccak(left ‖ right), the root is
keccak(uint256 n ‖ peaks)."""

from __future__ import annotations

from eth_hash.auto import keccak


def tree_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    half = len(leaves) // 2
    return keccak(tree_root(leaves[:half]) + tree_root(leaves[half:]))


def trees(n: int) -> list[tuple[int, int]]:
    """(first leaf, size) of each perfect tree: the set bits of n, highest first."""
    out, offset = [], 0
    for bit in reversed(range(n.bit_length())):
        if n >> bit & 1:
            out.append((offset, 1 << bit))
            offset += 1 << bit
    return out


def peaks(leaves: list[bytes]) -> list[bytes]:
    return [tree_root(leaves[o : o + s]) for o, s in trees(len(leaves))]


def root(n: int, peak_list: list[bytes]) -> bytes:
    return keccak(n.to_bytes(32, "big") + b"".join(peak_list))


def proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Siblings bottom-up, by building the levels of the tree that holds `index`."""
    for offset, size in trees(len(leaves)):
        if offset <= index < offset + size:
            level, position, siblings = leaves[offset : offset + size], index - offset, []
            while len(level) > 1:
                siblings.append(level[position ^ 1])
                level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
                position //= 2
            return siblings
    raise AssertionError("index outside the MMR")
