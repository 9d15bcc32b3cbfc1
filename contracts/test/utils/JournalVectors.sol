// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase} from "./Vm.sol";

/// @notice Reads contracts/test/vectors/journals.json (written by make_journals.py).
abstract contract JournalVectors is TestBase {
    struct JournalVector {
        string name;
        bytes journal;
        uint256 version;
        uint256 chainId;
        bytes32 queryHash;
        bytes plan;
        uint256 anchorNumber;
        bytes32 anchorHash;
        bytes32 historyRoot;
        uint256 firstBlock;
        uint256 lastBlock;
        bytes params;
        bytes result;
        bytes32 journalDigest;
        bytes32 imageId;
        bytes32 claimDigest;
    }

    function _vectorsJson() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/contracts/test/vectors/journals.json"));
    }

    function _vectorCount() internal view returns (uint256) {
        return vm.parseJsonUint(_vectorsJson(), ".count");
    }

    function _vector(uint256 index) internal view returns (JournalVector memory v) {
        string memory json = _vectorsJson();
        string memory prefix = string.concat(".vectors[", vm.toString(index), "].");
        v.name = vm.parseJsonString(json, string.concat(prefix, "name"));
        v.journal = vm.parseJsonBytes(json, string.concat(prefix, "journal"));
        v.version = vm.parseJsonUint(json, string.concat(prefix, "version"));
        v.chainId = vm.parseJsonUint(json, string.concat(prefix, "chainId"));
        v.queryHash = vm.parseJsonBytes32(json, string.concat(prefix, "queryHash"));
        v.plan = vm.parseJsonBytes(json, string.concat(prefix, "plan"));
        v.anchorNumber = vm.parseJsonUint(json, string.concat(prefix, "anchorNumber"));
        v.anchorHash = vm.parseJsonBytes32(json, string.concat(prefix, "anchorHash"));
        v.historyRoot = vm.parseJsonBytes32(json, string.concat(prefix, "historyRoot"));
        v.firstBlock = vm.parseJsonUint(json, string.concat(prefix, "firstBlock"));
        v.lastBlock = vm.parseJsonUint(json, string.concat(prefix, "lastBlock"));
        v.params = vm.parseJsonBytes(json, string.concat(prefix, "params"));
        v.result = vm.parseJsonBytes(json, string.concat(prefix, "result"));
        v.journalDigest = vm.parseJsonBytes32(json, string.concat(prefix, "journalDigest"));
        v.imageId = vm.parseJsonBytes32(json, string.concat(prefix, "imageId"));
        v.claimDigest = vm.parseJsonBytes32(json, string.concat(prefix, "claimDigest"));
    }

    function _vectorNamed(string memory name) internal view returns (JournalVector memory v) {
        uint256 count = _vectorCount();
        for (uint256 i = 0; i < count; i++) {
            v = _vector(i);
            if (keccak256(bytes(v.name)) == keccak256(bytes(name))) return v;
        }
        revert(string.concat("no journal vector named ", name));
    }
}
