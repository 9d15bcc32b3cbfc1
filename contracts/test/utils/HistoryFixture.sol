// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase} from "./Vm.sol";
import {BlockHistory} from "../../BlockHistory.sol";
import {RiscZeroMockVerifier} from "../../RiscZeroMockVerifier.sol";
import {BlockHistory as Eip2935History} from "../helpers/BlockHistory.sol";

/// @notice A BlockHistory on the mock verifier, a fake chain at block HEAD (block n's hash is
/// keccak256(abi.encode(salt, n)); the canonical salt is "block", any other is a fork), the EIP-2935
/// contract installed, and an MMR model written from the definition (contracts/README.md), apart
/// from contracts/HistoryMmr.sol: peaks by repeated appends, siblings as subtree roots.
abstract contract HistoryFixture is TestBase {
    bytes32 internal constant HISTORY_IMAGE_ID = keccak256("history guest image (test)");
    bytes32 internal constant CANONICAL = "block";
    uint256 internal constant HEAD = 20_000;

    RiscZeroMockVerifier internal mockVerifier;
    BlockHistory internal history;

    /// @dev What a history journal claims: blocks [earliest, latest] of the chain `salt` names,
    /// split at origin.
    struct State {
        uint256 version;
        bytes32 selfImageId;
        uint256 chainId;
        uint256 earliest;
        uint256 origin;
        uint256 latest;
        bytes32 salt;
    }

    function setUp() public virtual {
        mockVerifier = new RiscZeroMockVerifier();
        history = new BlockHistory(mockVerifier, HISTORY_IMAGE_ID);
        vm.roll(HEAD);
        Eip2935History.install(vm);
    }

    // -------------------------------------------------------------------------------------
    // the fake chain

    function _hashOf(bytes32 salt, uint256 number) internal pure returns (bytes32) {
        return keccak256(abi.encode(salt, number));
    }

    function _parentHashOf(bytes32 salt, uint256 number) internal pure returns (bytes32) {
        return number == 0 ? bytes32(0) : _hashOf(salt, number - 1);
    }

    /// @dev Makes the canonical hash of `number` what this chain answers for it: blockhash()
    /// within 256 blocks of HEAD, EIP-2935's ring slot beyond.
    function _putOnChain(uint256 number) internal {
        bytes32 hash = _hashOf(CANONICAL, number);
        if (vm.getBlockNumber() - number <= 256) vm.setBlockhash(number, hash);
        else Eip2935History.record(vm, number, hash);
    }

    function _state(uint256 earliest, uint256 origin, uint256 latest) internal view returns (State memory) {
        return State(1, HISTORY_IMAGE_ID, block.chainid, earliest, origin, latest, CANONICAL);
    }

    // -------------------------------------------------------------------------------------
    // MMR model

    /// @dev Forward leaves: hashes of origin..latest ascending; backward: origin-1 down to earliest.
    function _forwardLeaves(State memory s) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](s.latest - s.origin + 1);
        for (uint256 i = 0; i < leaves.length; i++) {
            leaves[i] = _hashOf(s.salt, s.origin + i);
        }
    }

    function _backwardLeaves(State memory s) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](s.origin - s.earliest);
        for (uint256 j = 0; j < leaves.length; j++) {
            leaves[j] = _hashOf(s.salt, s.origin - 1 - j);
        }
    }

    /// @dev Peaks by appending the leaves one by one: push a height-0 peak, then merge the last
    /// two while their heights are equal.
    function _peaks(bytes32[] memory leaves) internal pure returns (bytes32[] memory peaks) {
        bytes32[] memory stack = new bytes32[](256);
        uint256[] memory heights = new uint256[](256);
        uint256 top = 0;
        for (uint256 i = 0; i < leaves.length; i++) {
            stack[top] = leaves[i];
            heights[top] = 0;
            top++;
            while (top >= 2 && heights[top - 1] == heights[top - 2]) {
                stack[top - 2] = keccak256(abi.encodePacked(stack[top - 2], stack[top - 1]));
                heights[top - 2]++;
                top--;
            }
        }
        peaks = new bytes32[](top);
        for (uint256 k = 0; k < top; k++) {
            peaks[k] = stack[k];
        }
    }

    /// @dev The root of the perfect tree of 2^height leaves starting at leaves[start].
    function _subtreeRoot(bytes32[] memory leaves, uint256 start, uint256 height) internal pure returns (bytes32) {
        if (height == 0) return leaves[start];
        uint256 half = 2 ** (height - 1);
        return keccak256(
            abi.encodePacked(_subtreeRoot(leaves, start, height - 1), _subtreeRoot(leaves, start + half, height - 1))
        );
    }

    function _mmrRoot(uint256 size, bytes32[] memory peaks) internal pure returns (bytes32) {
        bytes memory packed = abi.encodePacked(bytes32(size));
        for (uint256 k = 0; k < peaks.length; k++) {
            packed = bytes.concat(packed, peaks[k]);
        }
        return keccak256(packed);
    }

    /// @dev Inclusion proof of leaf `index`: its tree (set bits of the size, highest first), then
    /// at each level the root of the sibling subtree.
    function _proof(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32[] memory siblings, bytes32[] memory peaks)
    {
        peaks = _peaks(leaves);
        uint256 size = leaves.length;
        uint256 start = 0;
        for (uint256 h = 256; h > 0; h--) {
            uint256 height = h - 1;
            if ((size >> height) & 1 == 0) continue;
            if (index < start + 2 ** height) {
                siblings = new bytes32[](height);
                for (uint256 level = 0; level < height; level++) {
                    uint256 position = (index - start) >> level;
                    siblings[level] = _subtreeRoot(leaves, start + ((position ^ 1) << level), level);
                }
                return (siblings, peaks);
            }
            start += 2 ** height;
        }
        revert("model: index out of range");
    }

    /// @dev The proof of block `number` in the state `s` (forward or backward MMR by number).
    function _blockProof(State memory s, uint256 number)
        internal
        pure
        returns (bytes32[] memory siblings, bytes32[] memory peaks)
    {
        if (number >= s.origin) return _proof(_forwardLeaves(s), number - s.origin);
        return _proof(_backwardLeaves(s), s.origin - 1 - number);
    }

    // -------------------------------------------------------------------------------------
    // journals and seals

    /// @dev The journal the history guest commits for `s`: the flat tuple, encoded here field by
    /// field (not through HistoryJournal).
    function _journal(State memory s) internal pure returns (bytes memory) {
        return _encodeJournal(
            s, s.latest - s.origin + 1, _peaks(_forwardLeaves(s)), s.origin - s.earliest, _peaks(_backwardLeaves(s))
        );
    }

    function _encodeJournal(
        State memory s,
        uint256 forwardSize,
        bytes32[] memory forwardPeaks,
        uint256 backwardSize,
        bytes32[] memory backwardPeaks
    ) internal pure returns (bytes memory) {
        return abi.encode(
            s.version,
            s.selfImageId,
            s.chainId,
            s.earliest,
            _parentHashOf(s.salt, s.earliest),
            s.origin,
            s.latest,
            _hashOf(s.salt, s.latest),
            forwardSize,
            forwardPeaks,
            backwardSize,
            backwardPeaks
        );
    }

    /// @dev historyRoot of `s`, from the design's formula and the model's MMR roots.
    function _historyRoot(State memory s) internal pure returns (bytes32) {
        bytes32[] memory forward = _forwardLeaves(s);
        bytes32[] memory backward = _backwardLeaves(s);
        return keccak256(
            abi.encode(
                s.chainId,
                s.earliest,
                _parentHashOf(s.salt, s.earliest),
                s.origin,
                s.latest,
                _hashOf(s.salt, s.latest),
                _mmrRoot(forward.length, _peaks(forward)),
                _mmrRoot(backward.length, _peaks(backward))
            )
        );
    }

    function _seal(bytes memory journal) internal view returns (bytes memory) {
        return mockVerifier.mockSeal(HISTORY_IMAGE_ID, sha256(journal));
    }

    /// @dev appendRecent of the canonical state `s`, its latest hash put on chain first.
    function _appendRecent(State memory s) internal {
        _putOnChain(s.latest);
        bytes memory journal = _journal(s);
        history.appendRecent(journal, _seal(journal));
    }

    function _appendOlder(State memory s) internal {
        bytes memory journal = _journal(s);
        history.appendOlder(journal, _seal(journal));
    }
}
