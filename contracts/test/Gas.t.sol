// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CoprocessorFixture} from "./utils/CoprocessorFixture.sol";
import {DecodingClient} from "./helpers/TestClients.sol";

/// @notice Gas of sendQuery and fulfill (by result size) in isolation, printed with `forge test
/// -vv --match-contract GasTest` (and counted in `forge test --gas-report`). fulfill's figure is
/// with the mock verifier; RISC Zero's Groth16 router verification costs about 316k more.
contract GasTest is CoprocessorFixture {
    event log_named_uint(string key, uint256 val);

    DecodingClient internal client;

    function setUp() public override {
        super.setUp();
        client = new DecodingClient();
    }

    function _rowsOf(uint256 count) internal pure returns (bytes memory) {
        uint256[3][] memory rows = new uint256[3][](count);
        for (uint256 i = 0; i < count; i++) {
            rows[i] = [uint256(0), 1_000 ether + i, i];
        }
        return abi.encode(rows);
    }

    function _measure(uint256 rowCount) internal {
        uint256 escrow = query.requiredPayment(2_000_000, 1 gwei);
        vm.deal(requester, escrow);
        bytes memory params = _params(requester);
        vm.prank(requester);
        uint256 before = gasleft();
        bytes32 id =
            query.sendQuery{value: escrow}(QUERY_HASH, params, PLAN, address(client), 2_000_000, 1 gwei, refundee, "");
        uint256 sendGas = before - gasleft();

        uint256 anchorNumber = START_BLOCK - 10;
        bytes memory journal =
            _journal(block.chainid, QUERY_HASH, anchorNumber, _anchor(anchorNumber), params, _rowsOf(rowCount));
        bytes memory seal = _seal(journal);
        vm.prank(fulfiller);
        before = gasleft();
        query.fulfill(id, journal, seal);
        uint256 fulfillGas = before - gasleft();
        vm.assertEq(client.rowCount(), rowCount, "delivered");

        emit log_named_uint("rows", rowCount);
        emit log_named_uint("journal bytes", journal.length);
        emit log_named_uint("sendQuery gas (execution)", sendGas);
        emit log_named_uint("fulfill gas (execution, mock verifier)", fulfillGas);
    }

    function test_gas_1_row() public {
        _measure(1);
    }

    function test_gas_10_rows() public {
        _measure(10);
    }

    function test_gas_100_rows() public {
        _measure(100);
    }
}
