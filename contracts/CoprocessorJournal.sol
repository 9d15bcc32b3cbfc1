// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The query guest's journal, version 3 (contracts/README.md, "Journal"):
///
///   abi.encode(uint8 version = 3, uint64 chainId, bytes32 queryHash, uint64 anchorNumber,
///              bytes32 anchorHash, bytes32 historyRoot, uint64 firstBlock, uint64 lastBlock,
///              bytes params, bytes result)
///
/// historyRoot is zero when the anchor is to be checked by its block hash on chain, else the
/// root of the BlockHistory state the guest proved the anchor in.
library CoprocessorJournal {
    uint8 internal constant VERSION = 3;

    struct Journal {
        uint8 version;
        uint64 chainId;
        bytes32 queryHash;
        uint64 anchorNumber;
        bytes32 anchorHash;
        bytes32 historyRoot;
        uint64 firstBlock;
        uint64 lastBlock;
        bytes params;
        bytes result;
    }

    error UnsupportedJournalVersion(uint256 version);

    /// @notice Decodes a version-3 journal; reverts on any other version and on bytes that are not
    /// an ABI encoding of the layout above (values out of their type's range included).
    function decode(bytes calldata journal) internal pure returns (Journal memory decoded) {
        uint256 version = journal.length >= 32 ? uint256(bytes32(journal[0:32])) : 0;
        if (version != VERSION) revert UnsupportedJournalVersion(version);
        (
            decoded.version,
            decoded.chainId,
            decoded.queryHash,
            decoded.anchorNumber,
            decoded.anchorHash,
            decoded.historyRoot,
            decoded.firstBlock,
            decoded.lastBlock,
            decoded.params,
            decoded.result
        ) = abi.decode(journal, (uint8, uint64, bytes32, uint64, bytes32, bytes32, uint64, uint64, bytes, bytes));
    }
}
