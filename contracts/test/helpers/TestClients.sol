// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICoprocessorClient} from "../../interfaces/ICoprocessorClient.sol";
import {CoprocessorQuery} from "../../CoprocessorQuery.sol";
import {IRiscZeroVerifier} from "../../interfaces/IRiscZeroVerifier.sol";
import {IBlockHistory} from "../../interfaces/IBlockHistory.sol";

/// @notice Records every callback (and the gas it was given) and can deliver off-chain answers
/// to itself.
contract RecordingClient is ICoprocessorClient {
    uint256 public calls;
    uint256 public gasAtEntry;
    address public lastCaller;
    bytes32 public lastQueryId;
    bytes32 public lastQueryHash;
    bytes public lastParams;
    uint64 public lastAnchorNumber;
    bytes public lastRows;
    bytes public lastExtraData;

    function coprocessorCallback(
        bytes32 queryId,
        bytes32 queryHash,
        bytes calldata params,
        uint64 anchorNumber,
        bytes calldata rows,
        bytes calldata extraData
    ) external {
        gasAtEntry = gasleft();
        calls++;
        lastCaller = msg.sender;
        lastQueryId = queryId;
        lastQueryHash = queryHash;
        lastParams = params;
        lastAnchorNumber = anchorNumber;
        lastRows = rows;
        lastExtraData = extraData;
    }

    function deliver(CoprocessorQuery query, bytes calldata journal, bytes calldata seal, bytes calldata extraData)
        external
        returns (bytes32)
    {
        return query.fulfillOffchain(journal, seal, address(this), extraData);
    }
}

contract RevertingClient is ICoprocessorClient {
    error NotToday();

    function coprocessorCallback(bytes32, bytes32, bytes calldata, uint64, bytes calldata, bytes calldata)
        external
        pure
    {
        revert NotToday();
    }
}

/// @notice Spends every unit of gas it gets.
contract GasBurningClient is ICoprocessorClient {
    uint256 public counter;

    function coprocessorCallback(bytes32, bytes32, bytes calldata, uint64, bytes calldata, bytes calldata) external {
        while (true) {
            counter++;
        }
    }
}

/// @notice Returns `size` bytes from its callback (a return data bomb for a caller that copies).
contract HugeReturnClient is ICoprocessorClient {
    uint256 public immutable size;

    constructor(uint256 size_) {
        size = size_;
    }

    function coprocessorCallback(bytes32, bytes32, bytes calldata, uint64, bytes calldata, bytes calldata)
        external
        view
    {
        uint256 n = size;
        assembly {
            return(0, n)
        }
    }
}

/// @notice Tries to re-enter the coprocessor from its callback and records how each try ended.
contract ReentrantClient is ICoprocessorClient {
    CoprocessorQuery public immutable query;
    bytes public journal;
    bytes public seal;
    bytes4 public fulfillError;
    bytes4 public refundError;
    bytes4 public withdrawError;
    uint256 public calls;

    constructor(CoprocessorQuery query_) {
        query = query_;
    }

    function arm(bytes calldata journal_, bytes calldata seal_) external {
        journal = journal_;
        seal = seal_;
    }

    function coprocessorCallback(bytes32 queryId, bytes32, bytes calldata, uint64, bytes calldata, bytes calldata)
        external
    {
        calls++;
        try query.fulfill(queryId, journal, seal) {
            fulfillError = bytes4(0xffffffff);
        } catch (bytes memory reason) {
            fulfillError = bytes4(reason);
        }
        try query.refund(queryId) {
            refundError = bytes4(0xffffffff);
        } catch (bytes memory reason) {
            refundError = bytes4(reason);
        }
        try query.withdraw(address(this)) {
            withdrawError = bytes4(0xffffffff);
        } catch (bytes memory reason) {
            withdrawError = bytes4(reason);
        }
    }
}

/// @notice A refundee (or fulfiller) that rejects plain ETH transfers, and can withdraw what the
/// coprocessor owes it to another address.
contract RejectingReceiver {
    receive() external payable {
        revert("no ETH here");
    }

    function withdrawTo(CoprocessorQuery query, address to) external {
        query.withdraw(to);
    }

    function refund(CoprocessorQuery query, bytes32 queryId) external {
        query.refund(queryId);
    }
}

/// @notice Reports tx.gasprice as a called contract sees it in a transaction. Under
/// `forge test --gas-report` (calls isolated as transactions of their own) vm.txGasPrice does not
/// reach them, so tests ask this instead of assuming the price they set. Not a view: forge runs
/// static calls outside that isolation.
contract GasPriceProbe {
    uint256 public lastSeen;

    function gasPrice() external returns (uint256) {
        lastSeen = tx.gasprice;
        return tx.gasprice;
    }
}

/// @notice A consumer that decodes the rows (uint256 columns) and keeps only their count: the
/// callback cost a real consumer pays at least.
contract DecodingClient is ICoprocessorClient {
    uint256 public rowCount;

    function coprocessorCallback(bytes32, bytes32, bytes calldata, uint64, bytes calldata rows, bytes calldata)
        external
    {
        uint256[3][] memory decoded = abi.decode(rows, (uint256[3][]));
        rowCount = decoded.length;
    }
}

/// @notice Exposes CoprocessorQuery's calldata pricing.
contract CalldataGasHarness is CoprocessorQuery {
    constructor(IRiscZeroVerifier verifier)
        CoprocessorQuery(verifier, bytes32(0), IBlockHistory(address(0)), 0, 1, 1, 0)
    {}

    function calldataGas(bytes calldata) external pure returns (uint256) {
        return _calldataGas();
    }

    /// The same, a byte at a time.
    function calldataGasByteByByte(bytes calldata) external pure returns (uint256 gasCost) {
        for (uint256 i = 0; i < msg.data.length; i++) {
            gasCost += msg.data[i] == 0 ? CALLDATA_GAS_PER_ZERO_BYTE : CALLDATA_GAS_PER_NONZERO_BYTE;
        }
    }
}
