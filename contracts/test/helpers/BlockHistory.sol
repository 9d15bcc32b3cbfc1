// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "../utils/Vm.sol";

/// @notice Installs EIP-2935's block hash history contract in the forge EVM (which does not
/// predeploy it): the runtime code as anvil 1.7.1 has it at genesis, and its ring buffer slot
/// `number % 8191` written directly (the system call that fills it does not run under forge).
library BlockHistory {
    address internal constant ADDRESS = 0x0000F90827F1C53a10cb7A02335B175320002935;
    uint256 internal constant SERVE_WINDOW = 8191;
    bytes internal constant RUNTIME_CODE =
        hex"3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500";

    function install(Vm vm) internal {
        vm.etch(ADDRESS, RUNTIME_CODE);
    }

    function record(Vm vm, uint256 blockNumber, bytes32 blockHash) internal {
        vm.store(ADDRESS, bytes32(blockNumber % SERVE_WINDOW), blockHash);
    }
}
