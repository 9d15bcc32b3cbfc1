// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The block-hash accumulator's keccak Merkle mountain range and state root
/// (contracts/README.md, "BlockHistory"):
///
/// - a leaf is a 32-byte block hash as is; an internal node is keccak256(left ‖ right);
/// - an MMR of n leaves is the perfect binary trees given by the set bits of n, highest bit
///   (oldest leaves) first; `peaks` are their roots in that order;
/// - root(n, peaks) = keccak256(uint256(n) ‖ peaks[0] ‖ … ‖ peaks[m-1]); the empty MMR's root is
///   keccak256 of 32 zero bytes;
/// - an inclusion proof of leaf i is the siblings from the leaf up to its peak (exactly that
///   tree's height of them: the height comes from (i, n), never from the proof, which is why
///   leaves and nodes need no domain separation) and the whole peak list.
library HistoryMmr {
    /// @notice root(size, peaks) as defined above.
    function root(uint256 size, bytes32[] memory peaks) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(size, peaks));
    }

    /// @notice How many peaks an MMR of `size` leaves has (the set bits of size).
    function peakCount(uint256 size) internal pure returns (uint256 count) {
        unchecked {
            while (size != 0) {
                size &= size - 1;
                ++count;
            }
        }
    }

    /// @notice True iff `leaf` is leaf `leafIndex` of the MMR of `size` leaves whose root is
    /// `expectedRoot`, by `siblings` (bottom-up; bit j of the index within its tree set means the
    /// node at height j is a right child) and `peaks`. Never reverts on a malformed proof.
    function verifyInclusion(
        uint256 leafIndex,
        bytes32 leaf,
        uint256 size,
        bytes32[] calldata siblings,
        bytes32[] calldata peaks,
        bytes32 expectedRoot
    ) internal pure returns (bool) {
        if (leafIndex >= size) return false;
        // the tree holding the leaf: walk the set bits of size from the highest
        uint256 peakIndex;
        uint256 height;
        uint256 local = leafIndex;
        unchecked {
            uint256 rest = size;
            while (true) {
                height = highestBit(rest);
                uint256 treeSize = uint256(1) << height;
                if (local < treeSize) break;
                local -= treeSize;
                rest -= treeSize;
                ++peakIndex;
            }
        }
        if (siblings.length != height || peakIndex >= peaks.length) return false;
        bytes32 node = leaf;
        for (uint256 level = 0; level < height; ++level) {
            node = (local >> level) & 1 == 1 ? hashPair(siblings[level], node) : hashPair(node, siblings[level]);
        }
        return node == peaks[peakIndex] && keccak256(abi.encodePacked(size, peaks)) == expectedRoot;
    }

    /// @notice The accumulator state's root (what a query anchors on, what isKnownRoot knows).
    function historyRoot(
        uint256 chainId,
        uint256 earliest,
        bytes32 earliestParentHash,
        uint256 origin,
        uint256 latest,
        bytes32 latestHash,
        bytes32 forwardRoot,
        bytes32 backwardRoot
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(chainId, earliest, earliestParentHash, origin, latest, latestHash, forwardRoot, backwardRoot)
        );
    }

    /// @notice keccak256(left ‖ right): an internal node.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            node := keccak256(0x00, 0x40)
        }
    }

    /// @dev The index of the highest set bit of x (x > 0).
    function highestBit(uint256 x) internal pure returns (uint256 bit) {
        unchecked {
            if (x >> 128 != 0) (x, bit) = (x >> 128, bit + 128);
            if (x >> 64 != 0) (x, bit) = (x >> 64, bit + 64);
            if (x >> 32 != 0) (x, bit) = (x >> 32, bit + 32);
            if (x >> 16 != 0) (x, bit) = (x >> 16, bit + 16);
            if (x >> 8 != 0) (x, bit) = (x >> 8, bit + 8);
            if (x >> 4 != 0) (x, bit) = (x >> 4, bit + 4);
            if (x >> 2 != 0) (x, bit) = (x >> 2, bit + 2);
            if (x >> 1 != 0) bit += 1;
        }
    }
}
