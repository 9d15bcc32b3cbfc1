// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IRiscZeroVerifier} from "../../interfaces/IRiscZeroVerifier.sol";
import {ReceiptClaim} from "../../ReceiptClaim.sol";

/// @notice Test stand-in for RISC Zero's verifier router (whose Groth16 seals cannot be made
/// here): it routes by the seal's first 4 bytes and, like the router, has no verifier under the
/// mock selector 0xFFFFFFFF, so fake seals revert SelectorUnknown. Its one known selector takes
/// seals that only this test contract defines (selector ‖ sha256("stand-in proof" ‖ claim)).
contract StandInRealVerifier is IRiscZeroVerifier {
    bytes4 public constant STAND_IN_SELECTOR = 0x73c457ba;

    error SelectorUnknown(bytes4 selector);
    error VerificationFailed();

    function standInSeal(bytes32 imageId, bytes32 journalDigest) public pure returns (bytes memory) {
        bytes32 claim = ReceiptClaim.okDigest(imageId, journalDigest);
        return abi.encodePacked(STAND_IN_SELECTOR, sha256(abi.encodePacked("stand-in proof", claim)));
    }

    function verify(bytes calldata seal, bytes32 imageId, bytes32 journalDigest) external pure {
        bytes4 selector = seal.length >= 4 ? bytes4(seal[:4]) : bytes4(0);
        if (selector != STAND_IN_SELECTOR) revert SelectorUnknown(selector);
        if (keccak256(seal) != keccak256(standInSeal(imageId, journalDigest))) revert VerificationFailed();
    }
}
