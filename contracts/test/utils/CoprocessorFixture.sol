// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase, Vm} from "./Vm.sol";
import {CoprocessorQuery} from "../../CoprocessorQuery.sol";
import {BlockHistory} from "../../BlockHistory.sol";
import {IBlockHistory} from "../../interfaces/IBlockHistory.sol";
import {IRiscZeroVerifier} from "../../interfaces/IRiscZeroVerifier.sol";
import {RiscZeroMockVerifier} from "../../RiscZeroMockVerifier.sol";
import {GasPriceProbe} from "../helpers/TestClients.sol";

/// @notice A CoprocessorQuery on the mock verifier and a real BlockHistory (on the same mock
/// verifier) as its blockHistory, a chain at block 1000 with known hashes (block n's is
/// keccak256(abi.encode("block", n))), and helpers to build journals, seals, requests and
/// accepted BlockHistory states.
abstract contract CoprocessorFixture is TestBase {
    bytes32 internal constant IMAGE_ID = keccak256("query guest image (test)");
    bytes32 internal constant HISTORY_IMAGE_ID = keccak256("history guest image (test)");
    uint256 internal constant PROTOCOL_FEE = 0.001 ether;
    uint256 internal constant OVERHEAD_GAS = 300_000;
    uint256 internal constant DEADLINE_BLOCKS = 100;
    uint256 internal constant MAX_CALLBACK_GAS = 5_000_000;
    uint256 internal constant START_BLOCK = 1000;
    bytes32 internal constant FULFILLED_TOPIC = keccak256("Fulfilled(bytes32,address,bool,uint256,uint256,uint256)");

    bytes internal constant PLAN = "plan template: transfer volume of :token into :account";
    bytes32 internal immutable QUERY_HASH = keccak256(PLAN);

    RiscZeroMockVerifier internal mockVerifier;
    GasPriceProbe internal gasPriceProbe;
    BlockHistory internal blockHistory;
    CoprocessorQuery internal query;
    address internal requester = makeAddr("requester");
    address internal refundee = makeAddr("refundee");
    address internal fulfiller = makeAddr("fulfiller");

    struct Settlement {
        bool callbackSucceeded;
        uint256 gasCharged;
        uint256 payment;
        uint256 refund;
    }

    function setUp() public virtual {
        mockVerifier = new RiscZeroMockVerifier();
        gasPriceProbe = new GasPriceProbe();
        blockHistory = new BlockHistory(mockVerifier, HISTORY_IMAGE_ID);
        query = _deploy(mockVerifier, PROTOCOL_FEE);
        vm.roll(START_BLOCK);
    }

    function _deploy(IRiscZeroVerifier verifier, uint256 protocolFee) internal returns (CoprocessorQuery) {
        return _deploy(verifier, blockHistory, protocolFee);
    }

    function _deploy(IRiscZeroVerifier verifier, IBlockHistory history, uint256 protocolFee)
        internal
        returns (CoprocessorQuery)
    {
        return new CoprocessorQuery(
            verifier, IMAGE_ID, history, protocolFee, OVERHEAD_GAS, DEADLINE_BLOCKS, MAX_CALLBACK_GAS
        );
    }

    function _params(address account) internal pure returns (bytes memory) {
        return abi.encode(address(0x1111111111111111111111111111111111111111), account, uint256(1), uint256(40));
    }

    function _rows(uint256 volume, uint256 transfers) internal pure returns (bytes memory) {
        uint256[3][] memory rows = new uint256[3][](1);
        rows[0] = [uint256(0), volume, transfers];
        return abi.encode(rows);
    }

    /// @dev The hash of block `number` on this fake chain.
    function _blockHash(uint256 number) internal pure returns (bytes32) {
        return keccak256(abi.encode("block", number));
    }

    /// @dev Gives block `number` its hash (blockhash() window) and returns it.
    function _anchor(uint256 number) internal returns (bytes32 hash) {
        hash = _blockHash(number);
        vm.setBlockhash(number, hash);
    }

    /// @dev A journal anchored on a block hash (historyRoot zero).
    function _journal(
        uint256 chainId,
        bytes32 queryHash,
        uint256 anchorNumber,
        bytes32 anchorHash,
        bytes memory params,
        bytes memory result
    ) internal pure returns (bytes memory) {
        return _journal(chainId, queryHash, anchorNumber, anchorHash, bytes32(0), params, result);
    }

    /// @dev A version-3 journal, encoded field by field (not through CoprocessorJournal).
    function _journal(
        uint256 chainId,
        bytes32 queryHash,
        uint256 anchorNumber,
        bytes32 anchorHash,
        bytes32 historyRoot,
        bytes memory params,
        bytes memory result
    ) internal pure returns (bytes memory) {
        return abi.encode(
            uint8(3),
            uint64(chainId),
            queryHash,
            uint64(anchorNumber),
            anchorHash,
            historyRoot,
            uint64(1),
            uint64(40),
            params,
            result
        );
    }

    /// @dev A journal for the standard request anchored at block `anchorNumber` inside the
    /// BlockHistory state whose root is `historyRoot`.
    function _historyJournal(uint256 anchorNumber, bytes32 historyRoot) internal view returns (bytes memory) {
        return _journal(
            block.chainid,
            QUERY_HASH,
            anchorNumber,
            _blockHash(anchorNumber),
            historyRoot,
            _params(requester),
            _rows(7, 2)
        );
    }

    /// @dev Has blockHistory accept (appendRecent, mock seal) the state of blocks first..last,
    /// all of them in the forward MMR (origin = earliest = first), `last`'s hash put on chain
    /// first; returns the state's historyRoot. A later call must keep `first` (the origin).
    function _acceptHistory(uint256 first, uint256 last) internal returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](last - first + 1);
        for (uint256 i = 0; i < leaves.length; i++) {
            leaves[i] = _blockHash(first + i);
        }
        _anchor(last);
        bytes memory journal = abi.encode(
            uint256(1), // history journal version
            HISTORY_IMAGE_ID,
            block.chainid,
            first, // earliest
            _blockHash(first - 1), // earliestParentHash
            first, // origin
            last, // latest
            leaves[leaves.length - 1], // latestHash
            leaves.length, // forwardSize
            _mmrPeaks(leaves),
            uint256(0), // backwardSize
            new bytes32[](0)
        );
        blockHistory.appendRecent(journal, mockVerifier.mockSeal(HISTORY_IMAGE_ID, sha256(journal)));
        return blockHistory.historyRoot();
    }

    /// @dev The peaks of the MMR of `leaves` (contracts/README.md, "BlockHistory"): append the
    /// leaves one by one, merging the last two peaks while they are of equal height.
    function _mmrPeaks(bytes32[] memory leaves) internal pure returns (bytes32[] memory peaks) {
        bytes32[] memory stack = new bytes32[](64);
        uint256[] memory heights = new uint256[](64);
        uint256 top = 0;
        for (uint256 i = 0; i < leaves.length; i++) {
            (stack[top], heights[top]) = (leaves[i], 0);
            top++;
            while (top >= 2 && heights[top - 1] == heights[top - 2]) {
                stack[top - 2] = keccak256(abi.encodePacked(stack[top - 2], stack[top - 1]));
                heights[top - 2]++;
                top--;
            }
        }
        peaks = new bytes32[](top);
        for (uint256 k = 0; k < top; k++) {
            peaks[k] = stack[k];
        }
    }

    /// @dev A journal for the standard request (QUERY_HASH, _params(requester)) anchored 10
    /// blocks back.
    function _goodJournal() internal returns (bytes memory) {
        uint256 anchorNumber = vm.getBlockNumber() - 10;
        return _journal(block.chainid, QUERY_HASH, anchorNumber, _anchor(anchorNumber), _params(requester), _rows(7, 2));
    }

    function _seal(bytes memory journal) internal view returns (bytes memory) {
        return mockVerifier.mockSeal(IMAGE_ID, sha256(journal));
    }

    function _send(CoprocessorQuery target, address callback, uint32 callbackGasLimit, uint64 maxFeePerGas)
        internal
        returns (bytes32 queryId, uint256 escrow)
    {
        escrow = target.requiredPayment(callbackGasLimit, maxFeePerGas);
        vm.deal(requester, requester.balance + escrow);
        vm.prank(requester);
        queryId = target.sendQuery{value: escrow}(
            QUERY_HASH, _params(requester), PLAN, callback, callbackGasLimit, maxFeePerGas, refundee, "extra"
        );
    }

    /// @dev The gas price a fulfilment is paid at: tx.gasprice as contracts see it (the one set
    /// by vm.txGasPrice, or 0 under --gas-report), at most maxFeePerGas.
    function _pricePaid(uint256 maxFeePerGas) internal returns (uint256) {
        uint256 txPrice = gasPriceProbe.gasPrice();
        return txPrice < maxFeePerGas ? txPrice : maxFeePerGas;
    }

    function _status(CoprocessorQuery target, bytes32 queryId) internal view returns (CoprocessorQuery.Status status) {
        (,, status,,,,,,,) = target.requests(queryId);
    }

    /// @dev The one Fulfilled event among `logs` (from vm.getRecordedLogs()).
    function _settlement(Vm.Log[] memory logs) internal pure returns (Settlement memory s) {
        uint256 found;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == FULFILLED_TOPIC) {
                (s.callbackSucceeded, s.gasCharged, s.payment, s.refund) =
                    abi.decode(logs[i].data, (bool, uint256, uint256, uint256));
                found++;
            }
        }
        vm.assertEq(found, 1, "exactly one Fulfilled event");
    }

    function _countLogs(Vm.Log[] memory logs, bytes32 topic) internal pure returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == topic) n++;
        }
    }
}
