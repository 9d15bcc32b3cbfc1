// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The verification entry point of RISC Zero's verifiers (the subset of RISC Zero's
/// `IRiscZeroVerifier` that the coprocessor calls; ABI-compatible with RISC Zero's deployed
/// verifier router, which picks the verifier by the seal's first 4 bytes).
interface IRiscZeroVerifier {
    /// @notice Returns only if `seal` proves that the guest with image ID `imageId` halted
    /// normally (exit code Halted(0)) with a journal whose SHA-256 is `journalDigest`, with no
    /// unresolved assumptions. Reverts otherwise.
    function verify(bytes calldata seal, bytes32 imageId, bytes32 journalDigest) external view;
}
