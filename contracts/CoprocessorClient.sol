// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICoprocessorClient} from "./interfaces/ICoprocessorClient.sol";

/// @notice Base for contracts that receive proven answers: accepts callbacks only from the
/// coprocessor (CoprocessorQuery) and only for the queryHashes it pins (each the keccak256 of a
/// plan template whose meaning the deployer checked), then hands them to `_onQueryResult`.
abstract contract CoprocessorClient is ICoprocessorClient {
    address public immutable coprocessor;
    mapping(bytes32 queryHash => bool) public isPinnedQuery;

    error NotCoprocessor(address caller);
    error QueryNotPinned(bytes32 queryHash);

    event QueryPinned(bytes32 indexed queryHash);

    constructor(address coprocessor_, bytes32[] memory pinnedQueryHashes) {
        coprocessor = coprocessor_;
        for (uint256 i = 0; i < pinnedQueryHashes.length; i++) {
            isPinnedQuery[pinnedQueryHashes[i]] = true;
            emit QueryPinned(pinnedQueryHashes[i]);
        }
    }

    function coprocessorCallback(
        bytes32 queryId,
        bytes32 queryHash,
        bytes calldata params,
        uint64 anchorNumber,
        bytes calldata rows,
        bytes calldata extraData
    ) external {
        if (msg.sender != coprocessor) revert NotCoprocessor(msg.sender);
        if (!isPinnedQuery[queryHash]) revert QueryNotPinned(queryHash);
        _onQueryResult(queryId, queryHash, params, anchorNumber, rows, extraData);
    }

    /// @notice A proven answer to a pinned query, delivered by the coprocessor.
    function _onQueryResult(
        bytes32 queryId,
        bytes32 queryHash,
        bytes calldata params,
        uint64 anchorNumber,
        bytes calldata rows,
        bytes calldata extraData
    ) internal virtual;
}
