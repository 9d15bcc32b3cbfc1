// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IRiscZeroVerifier} from "./interfaces/IRiscZeroVerifier.sol";
import {IBlockHistory} from "./interfaces/IBlockHistory.sol";
import {HistoryJournal} from "./HistoryJournal.sol";
import {HistoryMmr} from "./HistoryMmr.sol";

/// @notice This chain's proven block-hash accumulator: the hashes of blocks [earliest, latest],
/// split at `origin` into a forward MMR (origin..latest, grown by appendRecent) and a backward
/// MMR (origin-1 down to earliest, grown by appendOlder), each state proven by the history guest.
///
/// Trust: the seal is checked by `verifier` for the pinned `historyImageId`, and the journal's
/// selfImageId must be that same image (so every receipt composed into it is of this guest). The
/// guest proves the blocks link by parent hash; only this contract makes them canonical: a new
/// latest block's hash is checked with blockhash() or EIP-2935, and a backfill must end at the
/// stored latest block with the stored hash. Every state accepted is kept in `knownRoot`.
/// No owner, nothing to administer. See contracts/README.md, "BlockHistory".
contract BlockHistory is IBlockHistory {
    /// @notice EIP-2935 block hash history contract: `get` takes a 32-byte block number and
    /// answers for the last HISTORY_SERVE_WINDOW blocks.
    address public constant BLOCK_HASH_HISTORY = 0x0000F90827F1C53a10cb7A02335B175320002935;
    uint256 public constant BLOCKHASH_WINDOW = 256;
    uint256 public constant HISTORY_SERVE_WINDOW = 8191;

    IRiscZeroVerifier public immutable verifier;
    /// @notice Image ID of the history guest whose journals this contract accepts.
    bytes32 public immutable historyImageId;

    // The current state (all zero until the first appendRecent). Block numbers fit 64 bits
    // (EIP-4803) and share one slot; the MMR sizes follow from them (forwardSize(), backwardSize()).
    uint64 public earliest;
    uint64 public origin;
    uint64 public latest;
    bytes32 public earliestParentHash;
    bytes32 public latestHash;
    bytes32 public forwardRoot;
    bytes32 public backwardRoot;
    /// @notice HistoryMmr.historyRoot of the current state; zero while there is none.
    bytes32 public historyRoot;
    /// @notice Every historyRoot ever accepted (each was canonical on this chain).
    mapping(bytes32 historyRoot => bool) public knownRoot;

    error InvalidConfiguration();
    error WrongSelfImageId(bytes32 journalImageId, bytes32 historyImageId);
    error WrongChain(uint256 journalChainId, uint256 chainId);
    /// @notice The journal's block range, MMR sizes and peak counts disagree.
    error InconsistentJournal();
    /// @notice Neither blockhash() nor EIP-2935 serves this block (too old, current or future).
    error AnchorUnavailable(uint256 blockNumber);
    error LatestHashNotOnChain(uint256 latest, bytes32 journalHash, bytes32 chainHash);
    error OriginMismatch(uint256 journalOrigin, uint256 storedOrigin);
    /// @notice appendRecent: the journal's latest block is not beyond the stored one.
    error StaleHistory(uint256 journalLatest, uint256 storedLatest);
    /// @notice appendRecent: the journal covers fewer old blocks than the stored state.
    error EarliestNotCovered(uint256 journalEarliest, uint256 storedEarliest);
    /// @notice appendOlder before any appendRecent.
    error NoHistory();
    /// @notice appendOlder: the journal does not end at the stored latest block (it moved).
    error LatestMoved(uint256 journalLatest, uint256 storedLatest);
    /// @notice appendOlder: the journal's latest block has another hash than the stored one.
    error LatestHashMismatch(bytes32 journalHash, bytes32 storedHash);
    /// @notice appendOlder: the journal's earliest block is not older than the stored one.
    error EarliestNotOlder(uint256 journalEarliest, uint256 storedEarliest);

    constructor(IRiscZeroVerifier verifier_, bytes32 historyImageId_) {
        if (address(verifier_).code.length == 0) revert InvalidConfiguration();
        verifier = verifier_;
        historyImageId = historyImageId_;
    }

    // ---------------------------------------------------------------------------------------
    // updates

    /// @notice Accepts a proven state whose latest block hash is on this chain now (blockhash()
    /// for the last 256 blocks, EIP-2935 for the last 8191). The first call sets the origin; later
    /// ones must keep it, move latest forward and cover at least the stored older blocks.
    function appendRecent(bytes calldata journal, bytes calldata seal) external {
        HistoryJournal.Journal memory decoded = HistoryJournal.decode(journal);
        _checkJournal(decoded);
        if (historyRoot != 0) {
            if (decoded.origin != origin) revert OriginMismatch(decoded.origin, origin);
            if (decoded.latest <= latest) revert StaleHistory(decoded.latest, latest);
            if (decoded.earliest > earliest) revert EarliestNotCovered(decoded.earliest, earliest);
        }
        bytes32 onChain = blockHashOf(decoded.latest);
        if (onChain != decoded.latestHash) {
            revert LatestHashNotOnChain(decoded.latest, decoded.latestHash, onChain);
        }
        verifier.verify(seal, historyImageId, sha256(journal));
        _store(decoded);
    }

    /// @notice Accepts a proven state that extends the stored one toward genesis: same origin,
    /// same latest block and hash, an older earliest block.
    function appendOlder(bytes calldata journal, bytes calldata seal) external {
        HistoryJournal.Journal memory decoded = HistoryJournal.decode(journal);
        _checkJournal(decoded);
        if (historyRoot == 0) revert NoHistory();
        if (decoded.origin != origin) revert OriginMismatch(decoded.origin, origin);
        if (decoded.latest != latest) revert LatestMoved(decoded.latest, latest);
        if (decoded.latestHash != latestHash) revert LatestHashMismatch(decoded.latestHash, latestHash);
        if (decoded.earliest >= earliest) revert EarliestNotOlder(decoded.earliest, earliest);
        verifier.verify(seal, historyImageId, sha256(journal));
        _store(decoded);
    }

    // ---------------------------------------------------------------------------------------
    // reads

    /// @inheritdoc IBlockHistory
    function isKnownRoot(bytes32 root) external view returns (bool) {
        return knownRoot[root];
    }

    /// @inheritdoc IBlockHistory
    function isBlockHashValid(uint256 number, bytes32 hash, bytes32[] calldata siblings, bytes32[] calldata peaks)
        external
        view
        returns (bool)
    {
        (uint256 first, uint256 split, uint256 last) = (earliest, origin, latest);
        if (number < first || number > last) return false;
        if (number >= split) {
            bytes32 committed = forwardRoot;
            if (committed == 0) return false; // no state yet
            return HistoryMmr.verifyInclusion(number - split, hash, last - split + 1, siblings, peaks, committed);
        }
        return HistoryMmr.verifyInclusion(split - 1 - number, hash, split - first, siblings, peaks, backwardRoot);
    }

    /// @notice Leaves of the forward MMR: latest - origin + 1 (0 while there is no state).
    function forwardSize() external view returns (uint256) {
        return historyRoot == 0 ? 0 : latest - origin + 1;
    }

    /// @notice Leaves of the backward MMR: origin - earliest.
    function backwardSize() external view returns (uint256) {
        return origin - earliest;
    }

    /// @notice The hash of block `blockNumber` as this chain knows it: blockhash() for the last
    /// 256 blocks, the EIP-2935 history contract for the last 8191; reverts AnchorUnavailable
    /// beyond (and for the current or a future block).
    function blockHashOf(uint256 blockNumber) public view returns (bytes32 hash) {
        if (blockNumber >= block.number) revert AnchorUnavailable(blockNumber);
        uint256 age = block.number - blockNumber;
        if (age <= BLOCKHASH_WINDOW) {
            hash = blockhash(blockNumber);
        } else if (age <= HISTORY_SERVE_WINDOW) {
            address history = BLOCK_HASH_HISTORY;
            assembly ("memory-safe") {
                mstore(0, blockNumber)
                // at most 32 bytes are copied back, whatever the contract answers
                let answered := staticcall(gas(), history, 0, 32, 0, 32)
                if and(answered, eq(returndatasize(), 32)) { hash := mload(0) }
            }
        }
        if (hash == bytes32(0)) revert AnchorUnavailable(blockNumber);
    }

    // ---------------------------------------------------------------------------------------
    // internals

    /// @dev Pinned image, this chain, and a journal whose range, sizes and peaks agree.
    function _checkJournal(HistoryJournal.Journal memory decoded) private view {
        if (decoded.selfImageId != historyImageId) revert WrongSelfImageId(decoded.selfImageId, historyImageId);
        if (decoded.chainId != block.chainid) revert WrongChain(decoded.chainId, block.chainid);
        if (
            decoded.earliest > decoded.origin || decoded.origin > decoded.latest || decoded.forwardSize == 0
                || decoded.forwardSize - 1 != decoded.latest - decoded.origin
                || decoded.backwardSize != decoded.origin - decoded.earliest
                || decoded.forwardPeaks.length != HistoryMmr.peakCount(decoded.forwardSize)
                || decoded.backwardPeaks.length != HistoryMmr.peakCount(decoded.backwardSize)
        ) revert InconsistentJournal();
    }

    /// @dev Makes `decoded` (checked, proven, canonical) the current state.
    function _store(HistoryJournal.Journal memory decoded) private {
        bytes32 forward = HistoryMmr.root(decoded.forwardSize, decoded.forwardPeaks);
        bytes32 backward = HistoryMmr.root(decoded.backwardSize, decoded.backwardPeaks);
        bytes32 root = HistoryMmr.historyRoot(
            decoded.chainId,
            decoded.earliest,
            decoded.earliestParentHash,
            decoded.origin,
            decoded.latest,
            decoded.latestHash,
            forward,
            backward
        );
        // casting to 'uint64' is safe: earliest <= origin <= latest, and latest is either below
        // block.number (appendRecent) or the stored latest (appendOlder)
        // forge-lint: disable-next-line(unsafe-typecast)
        (earliest, origin, latest) = (uint64(decoded.earliest), uint64(decoded.origin), uint64(decoded.latest));
        earliestParentHash = decoded.earliestParentHash;
        latestHash = decoded.latestHash;
        forwardRoot = forward;
        backwardRoot = backward;
        historyRoot = root;
        knownRoot[root] = true;
        emit HistoryExtended(decoded.origin, decoded.earliest, decoded.latest, root);
    }
}
