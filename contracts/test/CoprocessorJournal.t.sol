// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {JournalVectors} from "./utils/JournalVectors.sol";
import {CoprocessorJournal} from "../CoprocessorJournal.sol";

contract JournalDecoder {
    function decode(bytes calldata journal) external pure returns (CoprocessorJournal.Journal memory) {
        return CoprocessorJournal.decode(journal);
    }
}

/// @notice The Solidity decoder on the shared journal vectors (contracts/test/vectors).
contract CoprocessorJournalTest is JournalVectors {
    struct TransferVolumeRow {
        uint256 nulls;
        uint256 volume;
        uint256 transfers;
    }

    JournalDecoder internal decoder;

    function setUp() public {
        decoder = new JournalDecoder();
    }

    function test_decodesEveryVector() public view {
        uint256 count = _vectorCount();
        vm.assertGt(count, 0, "no vectors");
        for (uint256 i = 0; i < count; i++) {
            JournalVector memory v = _vector(i);
            CoprocessorJournal.Journal memory j = decoder.decode(v.journal);
            vm.assertEq(j.version, v.version, v.name);
            vm.assertEq(j.chainId, v.chainId, v.name);
            vm.assertEq(j.queryHash, v.queryHash, v.name);
            vm.assertEq(j.queryHash, keccak256(v.plan), v.name);
            vm.assertEq(j.anchorNumber, v.anchorNumber, v.name);
            vm.assertEq(j.anchorHash, v.anchorHash, v.name);
            vm.assertEq(j.historyRoot, v.historyRoot, v.name);
            vm.assertEq(j.firstBlock, v.firstBlock, v.name);
            vm.assertEq(j.lastBlock, v.lastBlock, v.name);
            vm.assertEq(j.params, v.params, v.name);
            vm.assertEq(j.result, v.result, v.name);
        }
    }

    function test_decodesTransferVolumeRows() public view {
        JournalVector memory v = _vectorNamed("transfer-volume");
        TransferVolumeRow[] memory rows = abi.decode(decoder.decode(v.journal).result, (TransferVolumeRow[]));
        vm.assertEq(rows.length, 1, "rows");
        vm.assertEq(rows[0].nulls, 0, "nulls");
        vm.assertEq(rows[0].volume, 1_500 ether, "volume");
        vm.assertEq(rows[0].transfers, 7, "transfers");
        (address token, address account, uint256 fromBlock, uint256 toBlock) =
            abi.decode(v.params, (address, address, uint256, uint256));
        vm.assertEq(token, address(0x1111111111111111111111111111111111111111), "token");
        vm.assertEq(account, address(0xA1A1a1a1A1A1A1A1A1a1a1a1a1a1A1A1a1A1a1a1), "account");
        vm.assertEq(fromBlock, 1, "from");
        vm.assertEq(toBlock, 40, "to");
    }

    function test_vectorsHoldBothAnchorKinds() public view {
        uint256 count = _vectorCount();
        uint256 onHistory;
        for (uint256 i = 0; i < count; i++) {
            if (_vector(i).historyRoot != bytes32(0)) onHistory++;
        }
        vm.assertGt(onHistory, 0, "a vector anchored on a history root");
        vm.assertLt(onHistory, count, "a vector anchored on a block hash");
    }

    function test_rejectsVersion1() public {
        bytes memory v1 =
            abi.encode(uint8(1), uint64(31337), bytes32(0), uint64(1), bytes32(0), uint64(0), uint64(1), bytes(""));
        vm.expectRevert(abi.encodeWithSelector(CoprocessorJournal.UnsupportedJournalVersion.selector, 1));
        decoder.decode(v1);
    }

    /// A version-2 journal (no historyRoot) is refused by its version word, not misread.
    function test_rejectsVersion2() public {
        bytes memory v2 = abi.encode(
            uint8(2), uint64(31337), bytes32(0), uint64(1), bytes32(0), uint64(0), uint64(1), bytes(""), bytes("")
        );
        vm.expectRevert(abi.encodeWithSelector(CoprocessorJournal.UnsupportedJournalVersion.selector, 2));
        decoder.decode(v2);
    }

    function test_decodesHistoryRootBetweenAnchorHashAndFirstBlock() public view {
        bytes32 anchorHash = keccak256("anchor");
        bytes32 root = keccak256("history root");
        bytes memory journal = abi.encode(
            uint8(3), uint64(1), keccak256("plan"), uint64(7), anchorHash, root, uint64(2), uint64(6), "p", "r"
        );
        CoprocessorJournal.Journal memory j = decoder.decode(journal);
        vm.assertEq(j.anchorNumber, 7, "anchorNumber");
        vm.assertEq(j.anchorHash, anchorHash, "anchorHash");
        vm.assertEq(j.historyRoot, root, "historyRoot");
        vm.assertEq(j.firstBlock, 2, "firstBlock");
        vm.assertEq(j.lastBlock, 6, "lastBlock");
        vm.assertEq(j.params, bytes("p"), "params");
        vm.assertEq(j.result, bytes("r"), "result");
    }

    function test_rejectsEmptyAndTruncated() public {
        vm.expectRevert(abi.encodeWithSelector(CoprocessorJournal.UnsupportedJournalVersion.selector, 0));
        decoder.decode("");
        bytes memory journal = _vector(0).journal;
        bytes memory truncated = new bytes(journal.length - 1);
        for (uint256 i = 0; i < truncated.length; i++) {
            truncated[i] = journal[i];
        }
        vm.expectRevert();
        decoder.decode(truncated);
    }

    function test_rejectsOutOfRangeChainId() public {
        bytes memory journal = _vector(0).journal;
        journal[32 + 23] = 0x01; // a bit above uint64 in the chainId word
        vm.expectRevert();
        decoder.decode(journal);
    }
}
