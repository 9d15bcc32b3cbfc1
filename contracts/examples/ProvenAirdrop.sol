// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CoprocessorClient} from "../CoprocessorClient.sol";
import {CoprocessorQuery} from "../CoprocessorQuery.sol";

interface IRewardToken {
    function transfer(address to, uint256 value) external returns (bool);
}

/// @notice Example consumer: pays `rewardAmount` of `rewardToken` once to each claimant whose
/// proven ERC-20 Transfer volume of `token` into their own address over blocks
/// `fromBlock`..`toBlock` reached `threshold`.
///
/// It pins one query, the catalogue's queries/transfer_volume_into_account.sql:
///
///   SELECT SUM(value) AS volume, COUNT(*) AS transfers FROM erc20_transfers
///   WHERE token = :token AND "to" = :account AND block_number BETWEEN :from_block AND :to_block
///
/// params = abi.encode(address token, address account, uint256 fromBlock, uint256 toBlock) and
/// rows = abi.encode(Row[]) with Row { uint256 nulls; uint256 volume; uint256 transfers; }.
/// The params must name the claimant, who is the sender of the claim: with a request
/// (`requestClaim`, answered later by any relayer) or with a proof in hand (`claimWithProof`).
/// Someone copying either transaction asks only about their own address.
contract ProvenAirdrop is CoprocessorClient {
    struct Row {
        uint256 nulls;
        uint256 volume;
        uint256 transfers;
    }

    /// @notice The proven answer stored for a claimant.
    struct ClaimResult {
        uint256 volume;
        uint256 transfers;
        uint64 anchorNumber;
        bool proven;
        bool paid;
    }

    uint32 public constant CALLBACK_GAS_LIMIT = 200_000;

    CoprocessorQuery public immutable query;
    bytes32 public immutable queryHash;
    address public immutable token;
    uint256 public immutable fromBlock;
    uint256 public immutable toBlock;
    uint256 public immutable threshold;
    IRewardToken public immutable rewardToken;
    uint256 public immutable rewardAmount;

    mapping(bytes32 queryId => address) public claimantOf;
    mapping(address claimant => ClaimResult) public results;
    address private transient _claimantWithProof;

    event ClaimRequested(bytes32 indexed queryId, address indexed claimant);
    event ClaimProven(address indexed claimant, uint256 volume, uint256 transfers, uint64 anchorNumber);
    event Paid(address indexed claimant, uint256 amount);

    error AlreadyPaid(address claimant);
    error UnknownQuery(bytes32 queryId);
    error ParamsNotForClaimant(address claimant);
    error UnexpectedRowCount(uint256 rows);
    error RewardTransferFailed();

    constructor(
        CoprocessorQuery query_,
        bytes32 queryHash_,
        address token_,
        uint256 fromBlock_,
        uint256 toBlock_,
        uint256 threshold_,
        IRewardToken rewardToken_,
        uint256 rewardAmount_
    ) CoprocessorClient(address(query_), _one(queryHash_)) {
        query = query_;
        queryHash = queryHash_;
        token = token_;
        fromBlock = fromBlock_;
        toBlock = toBlock_;
        threshold = threshold_;
        rewardToken = rewardToken_;
        rewardAmount = rewardAmount_;
    }

    /// @notice The params of msg.sender's claim.
    function claimParams(address claimant) public view returns (bytes memory) {
        return abi.encode(token, claimant, fromBlock, toBlock);
    }

    /// @notice The msg.value requestClaim takes at `maxFeePerGas`.
    function claimFee(uint64 maxFeePerGas) external view returns (uint256) {
        return query.requiredPayment(CALLBACK_GAS_LIMIT, maxFeePerGas);
    }

    /// @notice Asks the coprocessor about msg.sender (msg.value: claimFee(maxFeePerGas); what a
    /// fulfiller does not use goes back to msg.sender). `plan` is the pinned plan template.
    function requestClaim(bytes calldata plan, uint64 maxFeePerGas) external payable returns (bytes32 queryId) {
        if (results[msg.sender].paid) revert AlreadyPaid(msg.sender);
        queryId = query.sendQuery{value: msg.value}(
            queryHash, claimParams(msg.sender), plan, address(this), CALLBACK_GAS_LIMIT, maxFeePerGas, msg.sender, ""
        );
        claimantOf[queryId] = msg.sender;
        emit ClaimRequested(queryId, msg.sender);
    }

    /// @notice Claims with a proof msg.sender already has (journal and seal of the pinned query
    /// about msg.sender), delivered through the coprocessor's fulfillOffchain.
    function claimWithProof(bytes calldata journal, bytes calldata seal) external {
        _claimantWithProof = msg.sender;
        query.fulfillOffchain(journal, seal, address(this), "");
        _claimantWithProof = address(0);
    }

    function _onQueryResult(
        bytes32 queryId,
        bytes32,
        bytes calldata params,
        uint64 anchorNumber,
        bytes calldata rows,
        bytes calldata
    ) internal override {
        address claimant = claimantOf[queryId];
        if (claimant != address(0)) {
            delete claimantOf[queryId];
        } else {
            claimant = _claimantWithProof; // set only while claimWithProof runs
            if (claimant == address(0)) revert UnknownQuery(queryId);
        }
        if (keccak256(params) != keccak256(claimParams(claimant))) revert ParamsNotForClaimant(claimant);

        Row[] memory decoded = abi.decode(rows, (Row[]));
        if (decoded.length != 1) revert UnexpectedRowCount(decoded.length);
        Row memory row = decoded[0];
        uint256 volume = row.nulls & 1 == 0 ? row.volume : 0; // SUM over no rows is NULL
        uint256 transfers = row.nulls & 2 == 0 ? row.transfers : 0;

        ClaimResult storage result = results[claimant];
        if (result.paid) revert AlreadyPaid(claimant);
        result.volume = volume;
        result.transfers = transfers;
        result.anchorNumber = anchorNumber;
        result.proven = true;
        emit ClaimProven(claimant, volume, transfers, anchorNumber);
        if (volume < threshold) return;

        result.paid = true;
        if (!rewardToken.transfer(claimant, rewardAmount)) revert RewardTransferFailed();
        emit Paid(claimant, rewardAmount);
    }

    function _one(bytes32 value) private pure returns (bytes32[] memory list) {
        list = new bytes32[](1);
        list[0] = value;
    }
}
