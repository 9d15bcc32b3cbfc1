"""Writes history.json: block-hash accumulator vectors (keccak MMR, history journal version 1,
historyRoot) computed from the definitions in contracts/README.md ("BlockHistory"), for the
Solidity contract's tests and for the Rust and Python implementations.

    .venv/bin/python contracts/test/vectors/make_history.py          # rewrite history.json
    .venv/bin/python contracts/test/vectors/make_history.py --check  # fail if it is stale

Written from the definitions alone (eth_abi and eth_hash, none of the project's code): an MMR of
n leaves is the perfect trees of the set bits of n, highest first, each root computed by
recursion; root = keccak256(uint256(n) ‖ peaks); a proof is the sibling subtree roots from the
leaf up. `mmr`: leaves keccak256(uint256(i)) for sizes 0..33. `mainnet`: the real headers
1000001..1000010 of tests/fixtures/mainnet (hash = keccak256(raw RLP), checked against the
fixture's hash), split at origin 1000006: forward MMR 1000006..1000010, backward 1000005 down to
1000001, with the journal the history guest would commit for it (selfImageId as in the forge
fixture) and an inclusion proof of every block. Integers are decimal strings, bytes 0x-hex.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from eth_abi import encode
from eth_hash.auto import keccak

OUT = Path(__file__).with_name("history.json")
HEADERS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "mainnet" / "headers_rlp"
JOURNAL_TYPES = (
    "uint256 bytes32 uint256 uint256 bytes32 uint256 uint256 bytes32 uint256 bytes32[] uint256 "
    "bytes32[]"
).split()
# contracts/test/utils/HistoryFixture.sol: keccak256("history guest image (test)")
SELF_IMAGE_ID = keccak(b"history guest image (test)")
MAINNET_FIRST, MAINNET_ORIGIN, MAINNET_LAST = 1_000_001, 1_000_006, 1_000_010


def h(data: bytes) -> str:
    return "0x" + data.hex()


def tree_root(leaves: list[bytes], start: int, height: int) -> bytes:
    """Root of the perfect tree over leaves[start : start + 2**height]."""
    if height == 0:
        return leaves[start]
    half = 1 << (height - 1)
    left = tree_root(leaves, start, height - 1)
    return keccak(left + tree_root(leaves, start + half, height - 1))


def trees(size: int) -> list[tuple[int, int]]:
    """(first leaf, height) of each perfect tree, largest first."""
    out, start = [], 0
    for height in reversed(range(size.bit_length())):
        if size >> height & 1:
            out.append((start, height))
            start += 1 << height
    return out


def peaks(leaves: list[bytes]) -> list[bytes]:
    return [tree_root(leaves, start, height) for start, height in trees(len(leaves))]


def mmr_root(leaves: list[bytes]) -> bytes:
    return keccak(len(leaves).to_bytes(32, "big") + b"".join(peaks(leaves)))


def siblings(leaves: list[bytes], index: int) -> list[bytes]:
    for start, height in trees(len(leaves)):
        if start <= index < start + (1 << height):
            local = index - start
            return [
                tree_root(leaves, start + ((local >> level ^ 1) << level), level)
                for level in range(height)
            ]
    raise ValueError(f"leaf {index} is not in an MMR of {len(leaves)} leaves")


def mmr_vectors() -> list[dict]:
    out = []
    for size in range(34):
        leaves = [keccak(i.to_bytes(32, "big")) for i in range(size)]
        out.append(
            {
                "size": str(size),
                "leaves": [h(leaf) for leaf in leaves],
                "peaks": [h(peak) for peak in peaks(leaves)],
                "root": h(mmr_root(leaves)),
            }
        )
    return out


def mainnet_hashes() -> dict[int, bytes]:
    hashes = {}
    for number in range(MAINNET_FIRST, MAINNET_LAST + 1):
        path = HEADERS / f"{number}.json"
        fixture = json.loads(path.read_text())
        raw = bytes.fromhex(fixture["rlp"].removeprefix("0x"))
        if h(keccak(raw)) != fixture["hash"] or fixture["number"] != number:
            raise SystemExit(f"{path}: keccak256(rlp) is not the fixture's hash")
        hashes[number] = keccak(raw)
    return hashes


def parent_hash(raw_header_path: Path) -> bytes:
    """The first field of a header: RLP list prefix f9 LLLL, then a0 ‖ 32 bytes."""
    raw = bytes.fromhex(json.loads(raw_header_path.read_text())["rlp"].removeprefix("0x"))
    if raw[0] != 0xF9 or raw[3] != 0xA0:
        raise SystemExit(f"{raw_header_path}: not a header whose first item is 32 bytes")
    return raw[4:36]


def mainnet_vector() -> dict:
    hashes = mainnet_hashes()
    for number in range(MAINNET_FIRST + 1, MAINNET_LAST + 1):
        if parent_hash(HEADERS / f"{number}.json") != hashes[number - 1]:
            raise SystemExit(f"block {number} does not link to {number - 1}")
    forward = [hashes[n] for n in range(MAINNET_ORIGIN, MAINNET_LAST + 1)]
    backward = [hashes[n] for n in range(MAINNET_ORIGIN - 1, MAINNET_FIRST - 1, -1)]
    earliest_parent = parent_hash(HEADERS / f"{MAINNET_FIRST}.json")
    chain_id = 1
    fields = [
        1,
        SELF_IMAGE_ID,
        chain_id,
        MAINNET_FIRST,
        earliest_parent,
        MAINNET_ORIGIN,
        MAINNET_LAST,
        hashes[MAINNET_LAST],
        len(forward),
        peaks(forward),
        len(backward),
        peaks(backward),
    ]
    journal = encode(JOURNAL_TYPES, fields)
    forward_root, backward_root = mmr_root(forward), mmr_root(backward)
    history_root = keccak(
        encode(
            "uint256 uint256 bytes32 uint256 uint256 bytes32 bytes32 bytes32".split(),
            [
                chain_id,
                MAINNET_FIRST,
                earliest_parent,
                MAINNET_ORIGIN,
                MAINNET_LAST,
                hashes[MAINNET_LAST],
                forward_root,
                backward_root,
            ],
        )
    )
    proofs = []
    for number in range(MAINNET_FIRST, MAINNET_LAST + 1):
        if number >= MAINNET_ORIGIN:
            leaves, index = forward, number - MAINNET_ORIGIN
        else:
            leaves, index = backward, MAINNET_ORIGIN - 1 - number
        proofs.append(
            {
                "number": str(number),
                "hash": h(hashes[number]),
                "siblings": [h(s) for s in siblings(leaves, index)],
                "peaks": [h(p) for p in peaks(leaves)],
            }
        )
    return {
        "chainId": str(chain_id),
        "selfImageId": h(SELF_IMAGE_ID),
        "earliest": str(MAINNET_FIRST),
        "earliestParentHash": h(earliest_parent),
        "origin": str(MAINNET_ORIGIN),
        "latest": str(MAINNET_LAST),
        "latestHash": h(hashes[MAINNET_LAST]),
        "forwardSize": str(len(forward)),
        "forwardPeaks": [h(p) for p in peaks(forward)],
        "forwardRoot": h(forward_root),
        "backwardSize": str(len(backward)),
        "backwardPeaks": [h(p) for p in peaks(backward)],
        "backwardRoot": h(backward_root),
        "historyRoot": h(history_root),
        "journal": h(journal),
        "journalSha256": h(hashlib.sha256(journal).digest()),
        "proofs": proofs,
    }


def build() -> dict:
    return {"mmr": mmr_vectors(), "mainnet": mainnet_vector()}


def main(argv: list[str]) -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if argv[1:] == ["--check"]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
