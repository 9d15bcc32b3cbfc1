// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IRiscZeroVerifier} from "./interfaces/IRiscZeroVerifier.sol";
import {ReceiptClaim} from "./ReceiptClaim.sol";

/// @notice A verifier for LOCAL CHAINS AND TESTS ONLY: it accepts RISC Zero's fake seals, which
/// anyone can make without proving anything. A seal is accepted iff it is exactly
/// 0xFFFFFFFF ‖ claimDigest, where claimDigest is the digest of
/// `ReceiptClaim::ok(imageId, journal)` for the journal whose sha256 is `journalDigest`.
///
/// It says what it is: `isMock()` returns true and `VERIFIER_KIND` names it, so a relayer (or a
/// person) can refuse to treat a contract wired to it as secured by proofs. RISC Zero's real
/// verifier router has no verifier registered under 0xFFFFFFFF and rejects these seals.
contract RiscZeroMockVerifier is IRiscZeroVerifier {
    /// @notice The 4-byte selector of RISC Zero's fake seals.
    bytes4 public constant MOCK_SELECTOR = 0xFFFFFFFF;
    string public constant VERIFIER_KIND = "RiscZeroMockVerifier: accepts fake seals, NOT SECURE";

    error InvalidMockSeal();

    /// @notice Always true: this verifier checks no proof.
    function isMock() external pure returns (bool) {
        return true;
    }

    /// @notice The fake seal this verifier accepts for (imageId, sha256(journal)).
    function mockSeal(bytes32 imageId, bytes32 journalDigest) public pure returns (bytes memory) {
        return abi.encodePacked(MOCK_SELECTOR, ReceiptClaim.okDigest(imageId, journalDigest));
    }

    function verify(bytes calldata seal, bytes32 imageId, bytes32 journalDigest) external pure {
        if (keccak256(seal) != keccak256(mockSeal(imageId, journalDigest))) {
            revert InvalidMockSeal();
        }
    }
}
