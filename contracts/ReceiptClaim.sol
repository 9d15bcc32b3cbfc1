// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice RISC Zero's receipt claim digest, computed from its definition (risc0-binfmt
/// `tagged_struct`, risc0-zkvm `ReceiptClaim` / `Output` / `SystemState` `Digestible` impls):
///
///   taggedStruct(tag, down[], data[]) =
///       sha256(sha256(tag) ‖ down[0] ‖ … ‖ down[n-1] ‖ le32(data[0]) ‖ … ‖ le16(n))
///
///   ReceiptClaim = taggedStruct("risc0.ReceiptClaim", [input, pre, post, output], [sys, user])
///   Output       = taggedStruct("risc0.Output", [sha256(journal), assumptions], [])
///   SystemState  = taggedStruct("risc0.SystemState", [merkleRoot], [pc])
///
/// `ReceiptClaim::ok(imageId, journal)` is a guest that halted normally: input = 0 (none),
/// pre = imageId (pruned), post = SystemState{pc: 0, merkleRoot: 0}, exit code Halted(0)
/// = (0, 0), output = Output{sha256(journal), assumptions = 0 (pruned: none)}.
library ReceiptClaim {
    /// @notice The claim digest of `ReceiptClaim::ok(imageId, journal)`, given sha256(journal).
    function okDigest(bytes32 imageId, bytes32 journalDigest) internal pure returns (bytes32) {
        bytes32[] memory outputFields = new bytes32[](2);
        outputFields[0] = journalDigest;
        outputFields[1] = bytes32(0); // assumptions: none
        bytes32 output = taggedStruct("risc0.Output", outputFields, new uint32[](0));

        bytes32[] memory stateFields = new bytes32[](1); // merkle root 0
        uint32[] memory stateData = new uint32[](1); // pc 0
        bytes32 haltedState = taggedStruct("risc0.SystemState", stateFields, stateData);

        bytes32[] memory claimFields = new bytes32[](4);
        claimFields[0] = bytes32(0); // input: none
        claimFields[1] = imageId; // pre state, pruned to its digest: the image ID
        claimFields[2] = haltedState;
        claimFields[3] = output;
        uint32[] memory exitCode = new uint32[](2); // Halted(0): system 0, user 0
        return taggedStruct("risc0.ReceiptClaim", claimFields, exitCode);
    }

    /// @notice risc0-binfmt's `tagged_struct`.
    function taggedStruct(string memory tag, bytes32[] memory down, uint32[] memory data)
        internal
        pure
        returns (bytes32)
    {
        bytes memory packed = abi.encodePacked(sha256(bytes(tag)));
        for (uint256 i = 0; i < down.length; i++) {
            packed = abi.encodePacked(packed, down[i]);
        }
        for (uint256 i = 0; i < data.length; i++) {
            packed = abi.encodePacked(packed, littleEndian32(data[i]));
        }
        return sha256(abi.encodePacked(packed, littleEndian16(uint16(down.length))));
    }

    function littleEndian32(uint32 x) internal pure returns (bytes4) {
        return bytes4((x >> 24) | ((x >> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24));
    }

    function littleEndian16(uint16 x) internal pure returns (bytes2) {
        return bytes2((x >> 8) | (x << 8));
    }
}
