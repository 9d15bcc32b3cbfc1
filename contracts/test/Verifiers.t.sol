// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {JournalVectors} from "./utils/JournalVectors.sol";
import {ReceiptClaim} from "../ReceiptClaim.sol";
import {RiscZeroMockVerifier} from "../RiscZeroMockVerifier.sol";
import {StandInRealVerifier} from "./helpers/StandInRealVerifier.sol";

/// @notice The claim digest against the shared vectors (which risc0-zkvm checks too, in
/// native/risc0-py/tests/claim_digest.rs), the mock verifier, and a mock seal on a real verifier.
contract VerifiersTest is JournalVectors {
    RiscZeroMockVerifier internal mock;
    StandInRealVerifier internal real;

    function setUp() public {
        mock = new RiscZeroMockVerifier();
        real = new StandInRealVerifier();
    }

    function test_claimDigestMatchesRisc0OnEveryVector() public view {
        uint256 count = _vectorCount();
        vm.assertGt(count, 0, "no vectors");
        for (uint256 i = 0; i < count; i++) {
            JournalVector memory v = _vector(i);
            vm.assertEq(sha256(v.journal), v.journalDigest, v.name);
            vm.assertEq(ReceiptClaim.okDigest(v.imageId, v.journalDigest), v.claimDigest, v.name);
        }
    }

    function test_taggedStructMatchesRisc0BinfmtTestVector() public pure {
        // risc0-binfmt hash.rs `test_tagged_struct`
        uint32[] memory data1 = new uint32[](3);
        (data1[0], data1[1], data1[2]) = (1, 2013265920, 3);
        bytes32 digest1 = ReceiptClaim.taggedStruct("foo", new bytes32[](0), data1);
        bytes32[] memory down2 = new bytes32[](2);
        (down2[0], down2[1]) = (digest1, digest1);
        uint32[] memory data2 = new uint32[](2);
        (data2[0], data2[1]) = (2013265920, 5);
        bytes32 digest2 = ReceiptClaim.taggedStruct("bar", down2, data2);
        bytes32[] memory down3 = new bytes32[](3);
        (down3[0], down3[1], down3[2]) = (digest1, digest2, digest1);
        uint32[] memory data3 = new uint32[](5);
        (data3[0], data3[1], data3[2], data3[3], data3[4]) = (6, 7, 2013265920, 9, 10);
        vm.assertEq(
            ReceiptClaim.taggedStruct("baz", down3, data3),
            0x9ff20cc6d365efa2af09181772f49013d05cdee6da896851614cae23aa5dd442,
            "tagged_struct"
        );
    }

    function test_mockAcceptsItsSealForEveryVector() public view {
        uint256 count = _vectorCount();
        for (uint256 i = 0; i < count; i++) {
            JournalVector memory v = _vector(i);
            bytes memory seal = abi.encodePacked(bytes4(0xffffffff), v.claimDigest);
            vm.assertEq(mock.mockSeal(v.imageId, v.journalDigest), seal, v.name);
            mock.verify(seal, v.imageId, v.journalDigest);
        }
    }

    function test_mockSaysWhatItIs() public view {
        vm.assertTrue(mock.isMock(), "isMock");
        vm.assertEq(mock.MOCK_SELECTOR(), bytes32(bytes4(0xffffffff)), "selector");
    }

    function test_mockRejectsAnotherJournal() public {
        JournalVector memory v = _vector(0);
        JournalVector memory other = _vector(1);
        bytes memory seal = mock.mockSeal(v.imageId, v.journalDigest);
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        mock.verify(seal, v.imageId, other.journalDigest);
    }

    function test_mockRejectsAnotherImage() public {
        JournalVector memory v = _vector(0);
        bytes memory seal = mock.mockSeal(v.imageId, v.journalDigest);
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        mock.verify(seal, keccak256("another image"), v.journalDigest);
    }

    function test_mockRejectsMalformedSeals() public {
        JournalVector memory v = _vector(0);
        bytes memory wrongSelector = abi.encodePacked(bytes4(0xfffffffe), v.claimDigest);
        bytes memory truncated = abi.encodePacked(bytes4(0xffffffff), bytes31(v.claimDigest));
        bytes memory extended = abi.encodePacked(bytes4(0xffffffff), v.claimDigest, uint8(0));
        bytes memory standIn = real.standInSeal(v.imageId, v.journalDigest);
        bytes[4] memory seals = [wrongSelector, truncated, extended, standIn];
        for (uint256 i = 0; i < seals.length; i++) {
            vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
            mock.verify(seals[i], v.imageId, v.journalDigest);
        }
    }

    function test_realVerifierRejectsMockSeal() public {
        JournalVector memory v = _vector(0);
        bytes memory seal = mock.mockSeal(v.imageId, v.journalDigest);
        vm.expectRevert(abi.encodeWithSelector(StandInRealVerifier.SelectorUnknown.selector, bytes4(0xffffffff)));
        real.verify(seal, v.imageId, v.journalDigest);
    }

    function test_realVerifierAcceptsItsOwnSeal() public view {
        JournalVector memory v = _vector(0);
        real.verify(real.standInSeal(v.imageId, v.journalDigest), v.imageId, v.journalDigest);
    }

    function test_realVerifierRejectsItsSealForAnotherJournal() public {
        JournalVector memory v = _vector(0);
        bytes memory seal = real.standInSeal(v.imageId, v.journalDigest);
        vm.expectRevert(StandInRealVerifier.VerificationFailed.selector);
        real.verify(seal, v.imageId, _vector(1).journalDigest);
    }
}
