// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CoprocessorFixture} from "./utils/CoprocessorFixture.sol";
import {DecodingClient} from "./helpers/TestClients.sol";
import {HistoryFixture} from "./utils/HistoryFixture.sol";
import {BlockHistory as Eip2935History} from "./helpers/BlockHistory.sol";

/// @notice forge's `cool` cheatcode (not in utils/Vm.sol): marks an account and its storage cold.
interface CoolingVm {
    function cool(address target) external;
}

/// @notice Gas of sendQuery and fulfill (by result size) in isolation, printed with `forge test
/// -vv --match-contract GasTest` (and counted in `forge test --gas-report`): fulfill with the
/// anchor checked by blockhash(), and with the anchor on a BlockHistory root (isKnownRoot). The
/// root is accepted in setUp, a transaction of its own, so the BlockHistory account and its
/// storage are cold when fulfill reads them, as in a real fulfilment (foundry's `cool` would
/// leave the account warm). fulfill's figure is with the mock verifier; RISC Zero's Groth16
/// router verification costs about 316k more.
contract GasTest is CoprocessorFixture {
    event log_named_uint(string key, uint256 val);

    DecodingClient internal client;
    bytes32 internal historyRoot;

    function setUp() public override {
        super.setUp();
        client = new DecodingClient();
        historyRoot = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
    }

    function _rowsOf(uint256 count) internal pure returns (bytes memory) {
        uint256[3][] memory rows = new uint256[3][](count);
        for (uint256 i = 0; i < count; i++) {
            rows[i] = [uint256(0), 1_000 ether + i, i];
        }
        return abi.encode(rows);
    }

    function _measure(uint256 rowCount, bool onHistoryRoot) internal {
        uint256 escrow = query.requiredPayment(2_000_000, 1 gwei);
        vm.deal(requester, escrow);
        bytes memory params = _params(requester);
        vm.prank(requester);
        uint256 before = gasleft();
        bytes32 id =
            query.sendQuery{value: escrow}(QUERY_HASH, params, PLAN, address(client), 2_000_000, 1 gwei, refundee, "");
        uint256 sendGas = before - gasleft();

        uint256 anchorNumber = START_BLOCK - 10;
        bytes32 root = onHistoryRoot ? historyRoot : bytes32(0);
        bytes memory journal =
            _journal(block.chainid, QUERY_HASH, anchorNumber, _anchor(anchorNumber), root, params, _rowsOf(rowCount));
        bytes memory seal = _seal(journal);
        vm.prank(fulfiller);
        before = gasleft();
        query.fulfill(id, journal, seal);
        uint256 fulfillGas = before - gasleft();
        vm.assertEq(client.rowCount(), rowCount, "delivered");

        emit log_named_uint("rows", rowCount);
        emit log_named_uint("journal bytes", journal.length);
        emit log_named_uint("sendQuery gas (execution)", sendGas);
        emit log_named_uint(
            onHistoryRoot
                ? "fulfill gas (execution, mock verifier, anchor on a history root)"
                : "fulfill gas (execution, mock verifier, anchor by blockhash())",
            fulfillGas
        );
    }

    function test_gas_1_row() public {
        _measure(1, false);
    }

    function test_gas_10_rows() public {
        _measure(10, false);
    }

    function test_gas_100_rows() public {
        _measure(100, false);
    }

    function test_gas_1_row_history_anchor() public {
        _measure(1, true);
    }

    function test_gas_10_rows_history_anchor() public {
        _measure(10, true);
    }

    function test_gas_100_rows_history_anchor() public {
        _measure(100, true);
    }
}

/// @notice Gas of BlockHistory at mainnet scale (a forward MMR of about 2M leaves, a backward one
/// of about 1.06M): appendRecent (first state, then extensions by a 1024-block batch checked
/// through EIP-2935 and through blockhash()), appendOlder, and isBlockHashValid with depth-20
/// proofs. The MMRs are not built: each journal carries peaks of the right count, and the peak a
/// proof ends in is folded from its siblings; the contract cannot tell them from real ones.
/// appendRecent and appendOlder include the mock verifier (RISC Zero's router: about 316k more).
/// Before each measured call the contracts' accounts and storage are made cold again, as at the
/// start of a transaction of its own.
contract BlockHistoryGasTest is HistoryFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant CHAIN_HEAD = 22_000_000;
    uint256 internal constant ORIGIN = 20_000_000;
    uint256 internal constant BATCH = 1024;
    uint256 internal constant BACKWARD_SIZE = (1 << 20) + 12_345;
    uint256 internal constant FORWARD_LEAF = 123_456;
    uint256 internal constant BACKWARD_LEAF = 654_321;

    function setUp() public override {
        super.setUp();
        vm.roll(CHAIN_HEAD);
    }

    /// @dev What a new transaction would find: no account or slot accessed yet.
    function _cool() internal {
        CoolingVm(address(vm)).cool(address(history));
        CoolingVm(address(vm)).cool(address(mockVerifier));
        CoolingVm(address(vm)).cool(Eip2935History.ADDRESS);
    }

    function _syntheticPeaks(uint256 size, bytes32 firstPeak) internal pure returns (bytes32[] memory peaks) {
        uint256 count = 0;
        for (uint256 rest = size; rest != 0; rest &= rest - 1) {
            count++;
        }
        peaks = new bytes32[](count);
        peaks[0] = firstPeak;
        for (uint256 k = 1; k < count; k++) {
            peaks[k] = keccak256(abi.encode("peak", size, k));
        }
    }

    /// @dev Siblings of leaf `index` in a 2^20-leaf tree and the tree's root folded from them.
    function _depth20Proof(uint256 index, bytes32 leaf)
        internal
        pure
        returns (bytes32[] memory siblings, bytes32 peak)
    {
        siblings = new bytes32[](20);
        peak = leaf;
        for (uint256 level = 0; level < 20; level++) {
            siblings[level] = keccak256(abi.encode("sibling", index, level));
            peak = (index >> level) & 1 == 1
                ? keccak256(abi.encodePacked(siblings[level], peak))
                : keccak256(abi.encodePacked(peak, siblings[level]));
        }
    }

    function _journalAt(State memory s, bytes32 forwardFirstPeak, bytes32 backwardFirstPeak)
        internal
        pure
        returns (bytes memory)
    {
        uint256 forwardSize = s.latest - s.origin + 1;
        uint256 backwardSize = s.origin - s.earliest;
        bytes32[] memory backwardPeaks =
            backwardSize == 0 ? new bytes32[](0) : _syntheticPeaks(backwardSize, backwardFirstPeak);
        return
            _encodeJournal(s, forwardSize, _syntheticPeaks(forwardSize, forwardFirstPeak), backwardSize, backwardPeaks);
    }

    function _measureAppendRecent(State memory s, bytes32 forwardFirstPeak, string memory label) internal {
        _putOnChain(s.latest);
        bytes memory journal = _journalAt(s, forwardFirstPeak, bytes32(0));
        bytes memory seal = _seal(journal);
        _cool();
        uint256 before = gasleft();
        history.appendRecent(journal, seal);
        uint256 used = before - gasleft();
        emit log_named_uint(string.concat(label, ": journal bytes"), journal.length);
        emit log_named_uint(string.concat(label, ": gas (execution, mock verifier)"), used);
    }

    function test_gas_blockHistory() public {
        bytes32 forwardLeaf = _hashOf(CANONICAL, ORIGIN + FORWARD_LEAF);
        (bytes32[] memory forwardSiblings, bytes32 forwardPeak) = _depth20Proof(FORWARD_LEAF, forwardLeaf);

        State memory s = _state(ORIGIN, ORIGIN, CHAIN_HEAD - 2_100);
        _measureAppendRecent(s, forwardPeak, "appendRecent, first state, EIP-2935");
        s.latest += BATCH;
        _measureAppendRecent(s, forwardPeak, "appendRecent, +1024 blocks, EIP-2935");
        s.latest += BATCH;
        _measureAppendRecent(s, forwardPeak, "appendRecent, +1024 blocks, blockhash()");
        emit log_named_uint("forward MMR leaves", history.forwardSize());

        uint256 backwardNumber = ORIGIN - 1 - BACKWARD_LEAF;
        bytes32 backwardLeaf = _hashOf(CANONICAL, backwardNumber);
        (bytes32[] memory backwardSiblings, bytes32 backwardPeak) = _depth20Proof(BACKWARD_LEAF, backwardLeaf);
        s.earliest = ORIGIN - BACKWARD_SIZE;
        bytes memory journal = _journalAt(s, forwardPeak, backwardPeak);
        bytes memory seal = _seal(journal);
        _cool();
        uint256 before = gasleft();
        history.appendOlder(journal, seal);
        uint256 used = before - gasleft();
        emit log_named_uint("appendOlder: journal bytes", journal.length);
        emit log_named_uint("appendOlder: gas (execution, mock verifier)", used);
        emit log_named_uint("backward MMR leaves", history.backwardSize());

        bytes32[] memory forwardPeaks = _syntheticPeaks(history.forwardSize(), forwardPeak);
        _cool();
        before = gasleft();
        bool valid = history.isBlockHashValid(ORIGIN + FORWARD_LEAF, forwardLeaf, forwardSiblings, forwardPeaks);
        used = before - gasleft();
        vm.assertTrue(valid, "forward proof");
        emit log_named_uint("isBlockHashValid, forward, depth 20: peaks", forwardPeaks.length);
        emit log_named_uint("isBlockHashValid, forward, depth 20: gas (execution)", used);

        bytes32[] memory backwardPeaks = _syntheticPeaks(BACKWARD_SIZE, backwardPeak);
        _cool();
        before = gasleft();
        valid = history.isBlockHashValid(backwardNumber, backwardLeaf, backwardSiblings, backwardPeaks);
        used = before - gasleft();
        vm.assertTrue(valid, "backward proof");
        emit log_named_uint("isBlockHashValid, backward, depth 20: peaks", backwardPeaks.length);
        emit log_named_uint("isBlockHashValid, backward, depth 20: gas (execution)", used);
    }
}
