// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {HistoryFixture} from "./utils/HistoryFixture.sol";
import {BlockHistory} from "../BlockHistory.sol";
import {IBlockHistory} from "../interfaces/IBlockHistory.sol";
import {HistoryJournal} from "../HistoryJournal.sol";
import {RiscZeroMockVerifier} from "../RiscZeroMockVerifier.sol";
import {IRiscZeroVerifier} from "../interfaces/IRiscZeroVerifier.sol";
import {HistoryMmr} from "../HistoryMmr.sol";
import {BlockHistory as Eip2935History} from "./helpers/BlockHistory.sol";

/// @notice forge's JSON array cheatcode (not in utils/Vm.sol).
interface JsonArrayVm {
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
}

contract BlockHistoryTest is HistoryFixture {
    bytes32 internal constant FORK = "fork";
    bytes32 internal constant OTHER_IMAGE_ID = keccak256("another guest");

    // -------------------------------------------------------------------------------------
    // the model itself

    function test_modelPeaksAreTheRootsOfThePerfectTreesOfTheSetBits() public pure {
        for (uint256 size = 0; size <= 40; size++) {
            bytes32[] memory leaves = new bytes32[](size);
            for (uint256 i = 0; i < size; i++) {
                leaves[i] = keccak256(abi.encode(i));
            }
            bytes32[] memory peaks = _peaks(leaves);
            uint256 k = 0;
            uint256 start = 0;
            for (uint256 h = 7; h > 0; h--) {
                if ((size >> (h - 1)) & 1 == 0) continue;
                vm.assertEq(peaks[k], _subtreeRoot(leaves, start, h - 1), "peak");
                start += 2 ** (h - 1);
                k++;
            }
            vm.assertEq(peaks.length, k, "one peak per set bit");
        }
        // 3 leaves: peaks keccak(a ‖ b), c
        bytes32[] memory three = new bytes32[](3);
        (three[0], three[1], three[2]) = (bytes32(uint256(1)), bytes32(uint256(2)), bytes32(uint256(3)));
        bytes32[] memory p = _peaks(three);
        vm.assertEq(p[0], keccak256(abi.encodePacked(three[0], three[1])), "3 leaves: first peak");
        vm.assertEq(p[1], three[2], "3 leaves: second peak");
        vm.assertEq(_mmrRoot(0, new bytes32[](0)), keccak256(new bytes(32)), "empty MMR");
    }

    // -------------------------------------------------------------------------------------
    // shared vectors (test/vectors/history.json, written by make_history.py from the definitions)

    function _vectors() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/contracts/test/vectors/history.json"));
    }

    function _bytes32Array(string memory json, string memory key) internal pure returns (bytes32[] memory) {
        return JsonArrayVm(address(vm)).parseJsonBytes32Array(json, key);
    }

    function test_mmrVectorsMatchTheModelAndTheLibrary() public view {
        string memory json = _vectors();
        for (uint256 size = 0; size <= 33; size++) {
            string memory entry = string.concat(".mmr[", vm.toString(size), "]");
            vm.assertEq(vm.parseJsonUint(json, string.concat(entry, ".size")), size, "size");
            bytes32[] memory leaves =
                size == 0 ? new bytes32[](0) : _bytes32Array(json, string.concat(entry, ".leaves"));
            bytes32[] memory peaks = size == 0 ? new bytes32[](0) : _bytes32Array(json, string.concat(entry, ".peaks"));
            vm.assertEq(keccak256(abi.encode(_peaks(leaves))), keccak256(abi.encode(peaks)), "peaks");
            vm.assertEq(peaks.length, HistoryMmr.peakCount(size), "peak count");
            bytes32 root = vm.parseJsonBytes32(json, string.concat(entry, ".root"));
            vm.assertEq(HistoryMmr.root(size, peaks), root, "library root");
            vm.assertEq(_mmrRoot(size, peaks), root, "model root");
        }
    }

    function test_mainnetVectorIsAcceptedAndEveryBlockProves() public {
        string memory json = _vectors();
        bytes memory journal = vm.parseJsonBytes(json, ".mainnet.journal");
        uint256 latest = vm.parseJsonUint(json, ".mainnet.latest");
        vm.assertEq(sha256(journal), vm.parseJsonBytes32(json, ".mainnet.journalSha256"), "sha256");
        vm.chainId(1);
        vm.roll(latest + 100);
        vm.setBlockhash(latest, vm.parseJsonBytes32(json, ".mainnet.latestHash"));
        history.appendRecent(journal, _seal(journal));

        vm.assertEq(history.historyRoot(), vm.parseJsonBytes32(json, ".mainnet.historyRoot"), "historyRoot");
        vm.assertEq(history.forwardRoot(), vm.parseJsonBytes32(json, ".mainnet.forwardRoot"), "forwardRoot");
        vm.assertEq(history.backwardRoot(), vm.parseJsonBytes32(json, ".mainnet.backwardRoot"), "backwardRoot");
        vm.assertEq(history.earliestParentHash(), vm.parseJsonBytes32(json, ".mainnet.earliestParentHash"), "parent");
        vm.assertEq(history.earliest(), vm.parseJsonUint(json, ".mainnet.earliest"), "earliest");
        vm.assertEq(history.origin(), vm.parseJsonUint(json, ".mainnet.origin"), "origin");
        vm.assertEq(history.latest(), latest, "latest");

        uint256 origin = history.origin();
        bytes32[] memory forwardLeaves = new bytes32[](history.forwardSize());
        bytes32[] memory backwardLeaves = new bytes32[](history.backwardSize());
        for (uint256 i = 0; i < 10; i++) {
            string memory entry = string.concat(".mainnet.proofs[", vm.toString(i), "]");
            uint256 number = vm.parseJsonUint(json, string.concat(entry, ".number"));
            bytes32 hash = vm.parseJsonBytes32(json, string.concat(entry, ".hash"));
            bytes32[] memory siblings = _bytes32Array(json, string.concat(entry, ".siblings"));
            bytes32[] memory peaks = _bytes32Array(json, string.concat(entry, ".peaks"));
            vm.assertTrue(history.isBlockHashValid(number, hash, siblings, peaks), "mainnet block proves");
            if (number >= origin) forwardLeaves[number - origin] = hash;
            else backwardLeaves[origin - 1 - number] = hash;
        }
        // the model over the same hashes gives the journal's peaks
        vm.assertEq(
            keccak256(abi.encode(_peaks(forwardLeaves))),
            keccak256(abi.encode(_bytes32Array(json, ".mainnet.forwardPeaks"))),
            "forward peaks"
        );
        vm.assertEq(
            keccak256(abi.encode(_peaks(backwardLeaves))),
            keccak256(abi.encode(_bytes32Array(json, ".mainnet.backwardPeaks"))),
            "backward peaks"
        );
    }

    // -------------------------------------------------------------------------------------
    // appendRecent

    function test_appendRecentWithinTheBlockhashWindowStoresTheState() public {
        State memory s = _state(HEAD - 40, HEAD - 40, HEAD - 10);
        bytes32 root = _historyRoot(s);
        vm.expectEmit(false, false, false, true, address(history));
        emit IBlockHistory.HistoryExtended(s.origin, s.earliest, s.latest, root);
        _appendRecent(s);

        vm.assertEq(history.historyRoot(), root, "historyRoot");
        vm.assertTrue(history.isKnownRoot(root), "known");
        vm.assertTrue(history.knownRoot(root), "knownRoot mapping");
        vm.assertEq(history.earliest(), s.earliest, "earliest");
        vm.assertEq(history.origin(), s.origin, "origin");
        vm.assertEq(history.latest(), s.latest, "latest");
        vm.assertEq(history.earliestParentHash(), _hashOf(CANONICAL, s.earliest - 1), "earliestParentHash");
        vm.assertEq(history.latestHash(), _hashOf(CANONICAL, s.latest), "latestHash");
        vm.assertEq(history.forwardSize(), 31, "forwardSize");
        vm.assertEq(history.backwardSize(), 0, "backwardSize");
        vm.assertEq(history.forwardRoot(), _mmrRoot(31, _peaks(_forwardLeaves(s))), "forwardRoot");
        vm.assertEq(history.backwardRoot(), keccak256(new bytes(32)), "backwardRoot: empty MMR");
    }

    function test_appendRecentThroughEip2935() public {
        State memory s = _state(HEAD - 5_100, HEAD - 5_100, HEAD - 5_000);
        vm.assertEq(blockhash(s.latest), bytes32(0), "outside blockhash()");
        _appendRecent(s);
        vm.assertEq(history.historyRoot(), _historyRoot(s), "historyRoot");
        vm.assertEq(history.latest(), s.latest, "latest");
    }

    function test_appendRecentAtTheWindowEdges() public {
        State memory s = _state(HEAD - 8_191 - 9, HEAD - 8_191 - 9, HEAD - 8_191);
        _appendRecent(s); // age 8191: the oldest EIP-2935 serves
        vm.assertEq(history.latest(), HEAD - 8_191, "age 8191");
        s.latest = HEAD - 257;
        _appendRecent(s);
        vm.assertEq(history.latest(), HEAD - 257, "age 257");
        s.latest = HEAD - 1;
        _appendRecent(s);
        vm.assertEq(history.latest(), HEAD - 1, "age 1");
    }

    function test_appendRecentTooOldForAnAnchorCheckReverts() public {
        State memory s = _state(HEAD - 8_300, HEAD - 8_300, HEAD - 8_192);
        Eip2935History.record(vm, s.latest, _hashOf(CANONICAL, s.latest)); // a ring slot is not used
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.AnchorUnavailable.selector, s.latest));
        history.appendRecent(journal, seal);
    }

    function test_appendRecentOfTheCurrentBlockReverts() public {
        State memory s = _state(HEAD - 5, HEAD - 5, HEAD);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.AnchorUnavailable.selector, HEAD));
        history.appendRecent(journal, seal);
    }

    function test_appendRecentWithoutTheHistoryContractBeyond256Reverts() public {
        vm.etch(Eip2935History.ADDRESS, "");
        State memory s = _state(HEAD - 400, HEAD - 400, HEAD - 300);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.AnchorUnavailable.selector, s.latest));
        history.appendRecent(journal, seal);
    }

    function test_appendRecentWithAHashNotOnChainReverts() public {
        uint256[2] memory latests = [HEAD - 10, HEAD - 5_000]; // blockhash(), then EIP-2935
        for (uint256 i = 0; i < 2; i++) {
            State memory forked = _state(latests[i] - 20, latests[i] - 20, latests[i]);
            forked.salt = FORK;
            _putOnChain(forked.latest); // the canonical hash
            bytes memory journal = _journal(forked);
            bytes memory seal = _seal(journal);
            vm.expectRevert(
                abi.encodeWithSelector(
                    BlockHistory.LatestHashNotOnChain.selector,
                    forked.latest,
                    _hashOf(FORK, forked.latest),
                    _hashOf(CANONICAL, forked.latest)
                )
            );
            history.appendRecent(journal, seal);
        }
    }

    function test_journalOfAnotherChainReverts() public {
        State memory s = _state(HEAD - 20, HEAD - 20, HEAD - 10);
        s.chainId = block.chainid + 1;
        _putOnChain(s.latest);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.WrongChain.selector, block.chainid + 1, block.chainid));
        history.appendRecent(journal, seal);
    }

    function test_journalCommittingAnotherSelfImageIdReverts() public {
        State memory s = _state(HEAD - 20, HEAD - 20, HEAD - 10);
        s.selfImageId = OTHER_IMAGE_ID;
        _putOnChain(s.latest);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal); // a seal of the pinned image, for that journal
        vm.expectRevert(
            abi.encodeWithSelector(BlockHistory.WrongSelfImageId.selector, OTHER_IMAGE_ID, HISTORY_IMAGE_ID)
        );
        history.appendRecent(journal, seal);
    }

    function test_sealOfAnotherImageOrJournalReverts() public {
        State memory s = _state(HEAD - 20, HEAD - 20, HEAD - 10);
        _putOnChain(s.latest);
        bytes memory journal = _journal(s);
        bytes memory otherImageSeal = mockVerifier.mockSeal(OTHER_IMAGE_ID, sha256(journal));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        history.appendRecent(journal, otherImageSeal);

        State memory shorter = _state(HEAD - 20, HEAD - 20, HEAD - 11);
        bytes memory otherJournalSeal = _seal(_journal(shorter));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        history.appendRecent(journal, otherJournalSeal);

        vm.assertEq(history.historyRoot(), bytes32(0), "nothing stored");
        history.appendRecent(journal, _seal(journal));
    }

    function test_unsupportedVersionReverts() public {
        State memory s = _state(HEAD - 20, HEAD - 20, HEAD - 10);
        s.version = 2;
        _putOnChain(s.latest);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(HistoryJournal.UnsupportedHistoryJournalVersion.selector, 2));
        history.appendRecent(journal, seal);
        vm.expectRevert(abi.encodeWithSelector(HistoryJournal.UnsupportedHistoryJournalVersion.selector, 0));
        history.appendRecent("", seal);
    }

    function test_inconsistentJournalReverts() public {
        State memory s = _state(HEAD - 30, HEAD - 20, HEAD - 10);
        _putOnChain(s.latest);
        bytes32[] memory forwardPeaks = _peaks(_forwardLeaves(s)); // 11 leaves: 3 peaks
        bytes32[] memory backwardPeaks = _peaks(_backwardLeaves(s)); // 10 leaves: 2 peaks
        bytes[5] memory journals = [
            _encodeJournal(s, 12, forwardPeaks, 10, backwardPeaks), // forward size off
            _encodeJournal(s, 11, forwardPeaks, 9, backwardPeaks), // backward size off
            _encodeJournal(s, 11, backwardPeaks, 10, backwardPeaks), // forward peak count
            _encodeJournal(s, 11, forwardPeaks, 10, forwardPeaks), // backward peak count
            _encodeJournal(_state(HEAD - 9, HEAD - 20, HEAD - 10), 11, forwardPeaks, 0, new bytes32[](0))
        ];
        for (uint256 i = 0; i < journals.length; i++) {
            bytes memory seal = _seal(journals[i]);
            vm.expectRevert(BlockHistory.InconsistentJournal.selector);
            history.appendRecent(journals[i], seal);
        }
        bytes memory zeroForward = _encodeJournal(s, 0, new bytes32[](0), 10, backwardPeaks);
        bytes memory zeroSeal = _seal(zeroForward);
        vm.expectRevert(BlockHistory.InconsistentJournal.selector);
        history.appendRecent(zeroForward, zeroSeal);
        history.appendRecent(_journal(s), _seal(_journal(s)));
    }

    function test_appendRecentExtendsTheStoredState() public {
        State memory s = _state(HEAD - 100, HEAD - 100, HEAD - 60);
        _appendRecent(s);
        bytes32 first = history.historyRoot();
        s.latest = HEAD - 1;
        _appendRecent(s);
        vm.assertEq(history.historyRoot(), _historyRoot(s), "extended");
        vm.assertEq(history.forwardSize(), 100, "forwardSize");
        vm.assertTrue(history.isKnownRoot(first) && history.isKnownRoot(_historyRoot(s)), "both known");
        // a state that also goes further back is an extension too
        vm.roll(HEAD + 5);
        s.earliest = s.origin - 7;
        s.latest = HEAD + 2;
        _appendRecent(s);
        vm.assertEq(history.earliest(), s.earliest, "earliest");
        vm.assertEq(history.backwardSize(), 7, "backwardSize");
    }

    function test_staleAppendRecentReverts() public {
        State memory older = _state(HEAD - 100, HEAD - 100, HEAD - 60);
        State memory newer = _state(HEAD - 100, HEAD - 100, HEAD - 30);
        _putOnChain(older.latest);
        bytes memory olderJournal = _journal(older);
        bytes memory olderSeal = _seal(olderJournal);
        _appendRecent(newer);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.StaleHistory.selector, older.latest, newer.latest));
        history.appendRecent(olderJournal, olderSeal);
        // the same state again is stale too
        bytes memory sameJournal = _journal(newer);
        bytes memory sameSeal = _seal(sameJournal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.StaleHistory.selector, newer.latest, newer.latest));
        history.appendRecent(sameJournal, sameSeal);
    }

    function test_appendRecentWithAnotherOriginOrLessOldHistoryReverts() public {
        State memory s = _state(HEAD - 100, HEAD - 80, HEAD - 60);
        _appendRecent(s);

        State memory otherOrigin = _state(HEAD - 100, HEAD - 90, HEAD - 50);
        _putOnChain(otherOrigin.latest);
        bytes memory journal = _journal(otherOrigin);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.OriginMismatch.selector, HEAD - 90, HEAD - 80));
        history.appendRecent(journal, seal);

        State memory lessOld = _state(HEAD - 99, HEAD - 80, HEAD - 50);
        journal = _journal(lessOld);
        seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.EarliestNotCovered.selector, HEAD - 99, HEAD - 100));
        history.appendRecent(journal, seal);
    }

    // -------------------------------------------------------------------------------------
    // appendOlder

    function test_appendOlderExtendsTowardGenesis() public {
        State memory s = _state(HEAD - 200, HEAD - 200, HEAD - 150);
        _appendRecent(s);
        bytes32 first = history.historyRoot();
        s.earliest = HEAD - 213;
        bytes32 root = _historyRoot(s);
        vm.expectEmit(false, false, false, true, address(history));
        emit IBlockHistory.HistoryExtended(s.origin, s.earliest, s.latest, root);
        _appendOlder(s); // no anchor needed: it ends at the stored latest block
        vm.assertEq(history.historyRoot(), root, "historyRoot");
        vm.assertEq(history.earliest(), HEAD - 213, "earliest");
        vm.assertEq(history.earliestParentHash(), _hashOf(CANONICAL, HEAD - 214), "earliestParentHash");
        vm.assertEq(history.backwardSize(), 13, "backwardSize");
        vm.assertEq(history.backwardRoot(), _mmrRoot(13, _peaks(_backwardLeaves(s))), "backwardRoot");
        vm.assertTrue(history.isKnownRoot(first) && history.isKnownRoot(root), "both known");
        // down to genesis: earliestParentHash zero
        s.earliest = 0;
        _appendOlder(s);
        vm.assertEq(history.earliest(), 0, "genesis");
        vm.assertEq(history.earliestParentHash(), bytes32(0), "genesis parent");
        vm.assertEq(history.backwardSize(), HEAD - 200, "backwardSize");
    }

    function test_appendOlderBeforeAnyHistoryReverts() public {
        State memory s = _state(HEAD - 30, HEAD - 20, HEAD - 10);
        bytes memory journal = _journal(s);
        bytes memory seal = _seal(journal);
        vm.expectRevert(BlockHistory.NoHistory.selector);
        history.appendOlder(journal, seal);
    }

    function test_appendOlderThatDoesNotLinkReverts() public {
        State memory s = _state(HEAD - 50, HEAD - 50, HEAD - 10);
        _appendRecent(s);

        State memory forked = _state(HEAD - 60, HEAD - 50, HEAD - 10);
        forked.salt = FORK;
        bytes memory journal = _journal(forked);
        bytes memory seal = _seal(journal);
        vm.expectRevert(
            abi.encodeWithSelector(
                BlockHistory.LatestHashMismatch.selector, _hashOf(FORK, HEAD - 10), _hashOf(CANONICAL, HEAD - 10)
            )
        );
        history.appendOlder(journal, seal);

        State memory otherOrigin = _state(HEAD - 60, HEAD - 40, HEAD - 10);
        journal = _journal(otherOrigin);
        seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.OriginMismatch.selector, HEAD - 40, HEAD - 50));
        history.appendOlder(journal, seal);
    }

    function test_appendOlderAfterLatestMovedReverts() public {
        State memory s = _state(HEAD - 50, HEAD - 50, HEAD - 10);
        _appendRecent(s);
        State memory backfill = _state(HEAD - 70, HEAD - 50, HEAD - 10); // proven on the old latest
        bytes memory journal = _journal(backfill);
        bytes memory seal = _seal(journal);
        s.latest = HEAD - 5;
        _appendRecent(s);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.LatestMoved.selector, HEAD - 10, HEAD - 5));
        history.appendOlder(journal, seal);
    }

    function test_appendOlderWhoseEarliestDoesNotDecreaseReverts() public {
        State memory s = _state(HEAD - 60, HEAD - 50, HEAD - 10);
        _appendRecent(s);
        bytes memory journal = _journal(s); // the same state
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.EarliestNotOlder.selector, HEAD - 60, HEAD - 60));
        history.appendOlder(journal, seal);
        State memory lessOld = _state(HEAD - 55, HEAD - 50, HEAD - 10);
        journal = _journal(lessOld);
        seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.EarliestNotOlder.selector, HEAD - 55, HEAD - 60));
        history.appendOlder(journal, seal);
    }

    function test_appendOlderChecksImageChainAndSeal() public {
        State memory s = _state(HEAD - 50, HEAD - 50, HEAD - 10);
        _appendRecent(s);
        State memory backfill = _state(HEAD - 70, HEAD - 50, HEAD - 10);

        backfill.selfImageId = OTHER_IMAGE_ID;
        bytes memory journal = _journal(backfill);
        bytes memory seal = _seal(journal);
        vm.expectRevert(
            abi.encodeWithSelector(BlockHistory.WrongSelfImageId.selector, OTHER_IMAGE_ID, HISTORY_IMAGE_ID)
        );
        history.appendOlder(journal, seal);

        backfill.selfImageId = HISTORY_IMAGE_ID;
        backfill.chainId = 5;
        journal = _journal(backfill);
        seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(BlockHistory.WrongChain.selector, 5, block.chainid));
        history.appendOlder(journal, seal);

        backfill.chainId = block.chainid;
        journal = _journal(backfill);
        seal = mockVerifier.mockSeal(OTHER_IMAGE_ID, sha256(journal));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        history.appendOlder(journal, seal);
    }

    // -------------------------------------------------------------------------------------
    // isBlockHashValid, isKnownRoot

    function test_isBlockHashValidForEveryBlockInBothDirections() public {
        State memory s = _state(HEAD - 24, HEAD - 13, HEAD - 1); // forward 13 leaves, backward 11
        _appendRecent(s);
        for (uint256 number = s.earliest; number <= s.latest; number++) {
            (bytes32[] memory siblings, bytes32[] memory peaks) = _blockProof(s, number);
            vm.assertTrue(history.isBlockHashValid(number, _hashOf(CANONICAL, number), siblings, peaks), "valid");
            vm.assertFalse(history.isBlockHashValid(number, _hashOf(FORK, number), siblings, peaks), "other hash");
        }
        (bytes32[] memory sib, bytes32[] memory pk) = _blockProof(s, s.earliest);
        vm.assertFalse(history.isBlockHashValid(s.earliest - 1, _hashOf(CANONICAL, s.earliest - 1), sib, pk), "before");
        (sib, pk) = _blockProof(s, s.latest);
        vm.assertFalse(history.isBlockHashValid(s.latest + 1, _hashOf(CANONICAL, s.latest + 1), sib, pk), "after");
    }

    function testFuzz_isBlockHashValidForAnyBlockOfAnyState(uint256 forwardSize, uint256 backwardSize, uint256 pick)
        public
    {
        forwardSize = bound(forwardSize, 1, 80);
        backwardSize = bound(backwardSize, 0, 80);
        State memory s = _state(HEAD - 1 - forwardSize - backwardSize, HEAD - forwardSize, HEAD - 1);
        _appendRecent(s);
        uint256 number = bound(pick, s.earliest, s.latest);
        bytes32 hash = _hashOf(CANONICAL, number);
        (bytes32[] memory siblings, bytes32[] memory peaks) = _blockProof(s, number);
        vm.assertTrue(history.isBlockHashValid(number, hash, siblings, peaks), "valid");

        if (siblings.length > 0) {
            uint256 level = pick % siblings.length;
            siblings[level] ^= bytes32(uint256(1));
            vm.assertFalse(history.isBlockHashValid(number, hash, siblings, peaks), "forged sibling");
            siblings[level] ^= bytes32(uint256(1));
        }
        uint256 peak = (pick >> 8) % peaks.length;
        peaks[peak] ^= bytes32(uint256(1));
        vm.assertFalse(history.isBlockHashValid(number, hash, siblings, peaks), "forged peak");
        peaks[peak] ^= bytes32(uint256(1));
        uint256 neighbour = number == s.earliest ? number + 1 : number - 1;
        if (neighbour <= s.latest) {
            vm.assertFalse(history.isBlockHashValid(neighbour, hash, siblings, peaks), "wrong number");
        }
    }

    function test_isBlockHashValidRejectsForgedProofs() public {
        State memory s = _state(HEAD - 1 - 22 - 9, HEAD - 22, HEAD - 1); // forward 22 = 16+4+2, backward 9
        _appendRecent(s);
        uint256 number = s.origin + 5; // forward leaf 5, in the 16-leaf tree: 4 siblings
        bytes32 hash = _hashOf(CANONICAL, number);
        (bytes32[] memory siblings, bytes32[] memory peaks) = _blockProof(s, number);
        vm.assertEq(siblings.length, 4, "height 4");
        vm.assertEq(peaks.length, 3, "3 peaks");
        vm.assertTrue(history.isBlockHashValid(number, hash, siblings, peaks), "valid");

        for (uint256 level = 0; level < siblings.length; level++) {
            bytes32[] memory forged = _copy(siblings);
            forged[level] = keccak256("forged");
            vm.assertFalse(history.isBlockHashValid(number, hash, forged, peaks), "forged sibling");
        }
        for (uint256 k = 0; k < peaks.length; k++) {
            bytes32[] memory forged = _copy(peaks);
            forged[k] = keccak256("forged");
            vm.assertFalse(history.isBlockHashValid(number, hash, siblings, forged), "forged peak");
        }
        // a peak list whose own root is right but which is read for another tree: too few, too many
        bytes32[] memory shortPeaks = new bytes32[](1);
        shortPeaks[0] = peaks[0];
        vm.assertFalse(history.isBlockHashValid(number, hash, siblings, shortPeaks), "missing peaks");
        bytes32[] memory longPeaks = new bytes32[](4);
        (longPeaks[0], longPeaks[1], longPeaks[2], longPeaks[3]) = (peaks[0], peaks[1], peaks[2], peaks[2]);
        vm.assertFalse(history.isBlockHashValid(number, hash, siblings, longPeaks), "extra peak");
        // siblings of the wrong count: the height comes from (index, size), not the proof
        bytes32[] memory longer = new bytes32[](5);
        for (uint256 i = 0; i < 4; i++) {
            longer[i] = siblings[i];
        }
        longer[4] = peaks[1];
        vm.assertFalse(history.isBlockHashValid(number, hash, longer, peaks), "extra sibling");
        bytes32[] memory shorter = new bytes32[](3);
        for (uint256 i = 0; i < 3; i++) {
            shorter[i] = siblings[i];
        }
        bytes32 node = keccak256(abi.encodePacked(siblings[0], hash)); // leaf 5 is a right child
        vm.assertFalse(history.isBlockHashValid(number, node, shorter, peaks), "an inner node as a leaf");
        vm.assertFalse(history.isBlockHashValid(number - 1, node, shorter, peaks), "an inner node as its sibling");
        // the same proof for another block number
        vm.assertFalse(history.isBlockHashValid(number + 1, hash, siblings, peaks), "next number");
        vm.assertFalse(history.isBlockHashValid(number - 1, hash, siblings, peaks), "previous number");
        vm.assertFalse(history.isBlockHashValid(number + 16, hash, siblings, peaks), "another tree");
        // a forward proof presented for a backward block
        uint256 backwardBlock = s.origin - 1 - 5; // backward leaf 5
        vm.assertFalse(
            history.isBlockHashValid(backwardBlock, _hashOf(CANONICAL, backwardBlock), siblings, peaks),
            "forward proof for a backward block"
        );
    }

    function test_proofAgainstAnOlderRootFailsAfterAnExtension() public {
        State memory s = _state(HEAD - 40, HEAD - 30, HEAD - 15); // forward 16 leaves: one peak
        _appendRecent(s);
        bytes32 oldRoot = history.historyRoot();
        uint256 number = s.origin + 3;
        bytes32 hash = _hashOf(CANONICAL, number);
        (bytes32[] memory oldSiblings, bytes32[] memory oldPeaks) = _blockProof(s, number);
        vm.assertTrue(history.isBlockHashValid(number, hash, oldSiblings, oldPeaks), "valid now");

        s.latest = HEAD - 12; // 19 leaves: the same 16-leaf tree, more peaks
        _appendRecent(s);
        vm.assertFalse(history.isBlockHashValid(number, hash, oldSiblings, oldPeaks), "old root no longer");
        (bytes32[] memory siblings, bytes32[] memory peaks) = _blockProof(s, number);
        vm.assertEq(keccak256(abi.encode(siblings)), keccak256(abi.encode(oldSiblings)), "same siblings");
        vm.assertTrue(history.isBlockHashValid(number, hash, siblings, peaks), "valid against the new root");

        // a backward proof made before a backfill
        uint256 older = s.origin - 4;
        (bytes32[] memory backSiblings, bytes32[] memory backPeaks) = _blockProof(s, older);
        vm.assertTrue(history.isBlockHashValid(older, _hashOf(CANONICAL, older), backSiblings, backPeaks), "back");
        s.earliest -= 3;
        _appendOlder(s);
        vm.assertFalse(
            history.isBlockHashValid(older, _hashOf(CANONICAL, older), backSiblings, backPeaks), "back, old root"
        );

        vm.assertTrue(history.isKnownRoot(oldRoot), "old root known");
        vm.assertTrue(history.isKnownRoot(history.historyRoot()), "current root known");
        vm.assertTrue(oldRoot != history.historyRoot(), "roots differ");
        vm.assertFalse(history.isKnownRoot(keccak256("never accepted")), "unknown root");
        vm.assertFalse(history.isKnownRoot(bytes32(0)), "zero root");
    }

    function test_isBlockHashValidIsFalseWithoutAState() public view {
        bytes32[] memory none = new bytes32[](0);
        bytes32[] memory onePeak = new bytes32[](1);
        onePeak[0] = _hashOf(CANONICAL, 0);
        vm.assertFalse(history.isBlockHashValid(0, _hashOf(CANONICAL, 0), none, onePeak), "no state");
        vm.assertFalse(history.isBlockHashValid(0, bytes32(0), none, none), "no state, empty");
        vm.assertEq(history.forwardSize(), 0, "forwardSize");
        vm.assertEq(history.backwardSize(), 0, "backwardSize");
    }

    function test_constructorRejectsAVerifierWithoutCode() public {
        vm.expectRevert(BlockHistory.InvalidConfiguration.selector);
        new BlockHistory(IRiscZeroVerifier(makeAddr("no code")), HISTORY_IMAGE_ID);
    }

    function _copy(bytes32[] memory values) internal pure returns (bytes32[] memory copy) {
        copy = new bytes32[](values.length);
        for (uint256 i = 0; i < values.length; i++) {
            copy[i] = values[i];
        }
    }
}
