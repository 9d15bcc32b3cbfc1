// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The history guest's journal, version 1 (contracts/README.md, "BlockHistory"): one
/// flat tuple,
///
///   abi.encode(uint256 version = 1, bytes32 selfImageId, uint256 chainId, uint256 earliest,
///              bytes32 earliestParentHash, uint256 origin, uint256 latest, bytes32 latestHash,
///              uint256 forwardSize, bytes32[] forwardPeaks, uint256 backwardSize,
///              bytes32[] backwardPeaks)
///
/// The forward MMR holds the hashes of blocks origin..latest (leaf i = block origin + i), the
/// backward MMR those of origin-1 down to earliest (leaf j = block origin - 1 - j).
library HistoryJournal {
    uint256 internal constant VERSION = 1;

    struct Journal {
        uint256 version;
        bytes32 selfImageId;
        uint256 chainId;
        uint256 earliest;
        bytes32 earliestParentHash;
        uint256 origin;
        uint256 latest;
        bytes32 latestHash;
        uint256 forwardSize;
        bytes32[] forwardPeaks;
        uint256 backwardSize;
        bytes32[] backwardPeaks;
    }

    error UnsupportedHistoryJournalVersion(uint256 version);

    /// @notice Decodes a version-1 journal; reverts on any other version and on bytes that are not
    /// an ABI encoding of the tuple above.
    function decode(bytes calldata journal) internal pure returns (Journal memory decoded) {
        uint256 version = journal.length >= 32 ? uint256(bytes32(journal[0:32])) : 0;
        if (version != VERSION) revert UnsupportedHistoryJournalVersion(version);
        (
            decoded.version,
            decoded.selfImageId,
            decoded.chainId,
            decoded.earliest,
            decoded.earliestParentHash,
            decoded.origin,
            decoded.latest,
            decoded.latestHash,
            decoded.forwardSize,
            decoded.forwardPeaks,
            decoded.backwardSize,
            decoded.backwardPeaks
        ) =
            abi.decode(
                journal,
                (
                    uint256,
                    bytes32,
                    uint256,
                    uint256,
                    bytes32,
                    uint256,
                    uint256,
                    bytes32,
                    uint256,
                    bytes32[],
                    uint256,
                    bytes32[]
                )
            );
    }
}
