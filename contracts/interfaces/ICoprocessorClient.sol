// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice What CoprocessorQuery calls with a proven answer.
interface ICoprocessorClient {
    /// @param queryId the request's id (CoprocessorQuery.sendQuery), or for an answer delivered
    ///        without a request (CoprocessorQuery.fulfillOffchain) its delivery id.
    /// @param queryHash keccak256 of the query's plan template (what a client pins).
    /// @param params abi.encode of the query's parameter values, in declaration order.
    /// @param anchorNumber the block the answer is anchored to (its hash was checked on chain).
    /// @param rows abi.encode(Row[]) as laid out in contracts/README.md.
    /// @param extraData the bytes given with the request (or to fulfillOffchain).
    function coprocessorCallback(
        bytes32 queryId,
        bytes32 queryHash,
        bytes calldata params,
        uint64 anchorNumber,
        bytes calldata rows,
        bytes calldata extraData
    ) external;
}
