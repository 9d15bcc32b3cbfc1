// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice What consumers of the block-hash accumulator call (contracts/BlockHistory.sol): a
/// query contract anchors on a historyRoot it knows, a dApp checks a block hash with an MMR proof.
interface IBlockHistory {
    /// @notice A proven accumulator state was accepted: blocks [earliest, latest] are covered,
    /// split at `origin`, and `historyRoot` commits to them (HistoryMmr.historyRoot).
    event HistoryExtended(uint256 origin, uint256 earliest, uint256 latest, bytes32 historyRoot);

    /// @notice True iff `historyRoot` is the root of a state this contract accepted at some point
    /// (the current one or an older one): every such state was canonical on this chain.
    function isKnownRoot(bytes32 historyRoot) external view returns (bool);

    /// @notice True iff `hash` is the hash of block `number` by an inclusion proof against the
    /// CURRENT state: `siblings` from the leaf up to its peak, `peaks` the whole peak list of the
    /// forward MMR (number >= origin) or the backward MMR (number < origin).
    function isBlockHashValid(uint256 number, bytes32 hash, bytes32[] calldata siblings, bytes32[] calldata peaks)
        external
        view
        returns (bool);
}
