// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "./utils/Vm.sol";
import {CoprocessorFixture} from "./utils/CoprocessorFixture.sol";
import {CoprocessorQuery} from "../CoprocessorQuery.sol";
import {CoprocessorJournal} from "../CoprocessorJournal.sol";
import {IBlockHistory} from "../interfaces/IBlockHistory.sol";
import {RiscZeroMockVerifier} from "../RiscZeroMockVerifier.sol";
import {StandInRealVerifier} from "./helpers/StandInRealVerifier.sol";
import {BlockHistory} from "./helpers/BlockHistory.sol";
import {
    RecordingClient,
    RevertingClient,
    GasBurningClient,
    HugeReturnClient,
    ReentrantClient,
    RejectingReceiver,
    CalldataGasHarness
} from "./helpers/TestClients.sol";

contract CoprocessorQueryTest is CoprocessorFixture {
    bytes32 internal constant CALLBACK_FAILED_TOPIC = keccak256("CallbackFailed(bytes32,address)");

    RecordingClient internal client;

    function setUp() public override {
        super.setUp();
        client = new RecordingClient();
    }

    // -------------------------------------------------------------------------------------
    // sendQuery

    function test_sendQueryEscrowsAndRecordsTheRequest() public {
        (bytes32 id, uint256 escrow) = _send(query, address(client), 200_000, 10 gwei);
        vm.assertEq(escrow, 10 gwei * (OVERHEAD_GAS + 200_000) + PROTOCOL_FEE, "escrow formula");
        vm.assertEq(address(query).balance, escrow, "held");
        (
            address storedRefundee,
            uint64 deadline,
            CoprocessorQuery.Status status,
            address callback,
            uint32 gasLimit,
            uint64 maxFee,
            uint256 storedEscrow,
            bytes32 queryHash,
            bytes32 paramsHash,
            bytes memory extraData
        ) = query.requests(id);
        vm.assertEq(storedRefundee, refundee, "refundee");
        vm.assertEq(deadline, START_BLOCK + DEADLINE_BLOCKS, "deadline");
        vm.assertTrue(status == CoprocessorQuery.Status.Pending, "pending");
        vm.assertEq(callback, address(client), "callback");
        vm.assertEq(gasLimit, 200_000, "gas limit");
        vm.assertEq(maxFee, 10 gwei, "max fee");
        vm.assertEq(storedEscrow, escrow, "escrow");
        vm.assertEq(queryHash, QUERY_HASH, "query hash");
        vm.assertEq(paramsHash, keccak256(_params(requester)), "params hash");
        vm.assertEq(extraData, bytes("extra"), "extra data");
    }

    function test_queryIdBindsChainContractSenderNonceQueryParamsCallbackAndExtraData() public {
        (bytes32 first,) = _send(query, address(client), 1_000_000, 1 gwei);
        (bytes32 second,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory params = _params(requester);
        vm.assertEq(first, query.computeQueryId(requester, 0, QUERY_HASH, params, address(client), "extra"), "id 0");
        vm.assertEq(second, query.computeQueryId(requester, 1, QUERY_HASH, params, address(client), "extra"), "id 1");
        vm.assertEq(
            first,
            keccak256(
                abi.encode(
                    block.chainid,
                    address(query),
                    requester,
                    uint256(0),
                    QUERY_HASH,
                    keccak256(params),
                    address(client),
                    keccak256("extra")
                )
            ),
            "layout"
        );
        vm.assertEq(query.nonces(requester), 2, "nonce");
        vm.assertTrue(first != second, "nonce changes the id");
    }

    function test_sendQueryEmitsQueryRequested() public {
        uint256 escrow = query.requiredPayment(150_000, 3 gwei);
        bytes memory params = _params(requester);
        bytes32 id = query.computeQueryId(requester, 0, QUERY_HASH, params, address(client), "x");
        vm.deal(requester, escrow);
        vm.expectEmit(true, true, true, true, address(query));
        emit CoprocessorQuery.QueryRequested(
            id,
            requester,
            QUERY_HASH,
            0,
            params,
            PLAN,
            address(client),
            150_000,
            3 gwei,
            refundee,
            uint64(START_BLOCK + DEADLINE_BLOCKS),
            escrow,
            "x"
        );
        vm.prank(requester);
        query.sendQuery{value: escrow}(QUERY_HASH, params, PLAN, address(client), 150_000, 3 gwei, refundee, "x");
    }

    function test_sendQueryRejectsAPlanThatIsNotTheQueryHash() public {
        bytes memory otherPlan = "another plan";
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.PlanHashMismatch.selector, QUERY_HASH, keccak256(otherPlan))
        );
        query.sendQuery{value: PROTOCOL_FEE}(QUERY_HASH, "", otherPlan, address(client), 0, 0, refundee, "");
    }

    function test_sendQueryTakesExactlyTheRequiredPayment() public {
        uint256 required = query.requiredPayment(100_000, 2 gwei);
        vm.deal(address(this), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.IncorrectPayment.selector, required, required + 1));
        query.sendQuery{value: required + 1}(QUERY_HASH, "", PLAN, address(client), 100_000, 2 gwei, refundee, "");
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.IncorrectPayment.selector, required, required - 1));
        query.sendQuery{value: required - 1}(QUERY_HASH, "", PLAN, address(client), 100_000, 2 gwei, refundee, "");
    }

    function test_sendQueryRejectsTooMuchCallbackGasAndNoRefundee() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                CoprocessorQuery.CallbackGasLimitTooHigh.selector, MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS
            )
        );
        query.sendQuery(QUERY_HASH, "", PLAN, address(client), uint32(MAX_CALLBACK_GAS + 1), 0, refundee, "");
        vm.expectRevert(CoprocessorQuery.ZeroRefundee.selector);
        query.sendQuery{value: PROTOCOL_FEE}(QUERY_HASH, "", PLAN, address(client), 0, 0, address(0), "");
    }

    function testFuzz_sendQueryRejectsAnyOtherAmount(uint32 gasLimit, uint64 maxFee, uint256 sent) public {
        gasLimit = uint32(bound(gasLimit, 0, MAX_CALLBACK_GAS));
        uint256 required = query.requiredPayment(gasLimit, maxFee);
        sent = bound(sent, 0, required * 2);
        vm.assume(sent != required);
        vm.deal(address(this), sent);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.IncorrectPayment.selector, required, sent));
        query.sendQuery{value: sent}(QUERY_HASH, "", PLAN, address(client), gasLimit, maxFee, refundee, "");
    }

    // -------------------------------------------------------------------------------------
    // fulfil: the good path

    function test_goodFulfilmentDeliversAndPaysExactlyOnce() public {
        (bytes32 id, uint256 escrow) = _send(query, address(client), 1_000_000, 10 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        vm.txGasPrice(7 gwei);
        uint256 fulfillerBefore = fulfiller.balance;
        uint256 refundeeBefore = refundee.balance;

        vm.recordLogs();
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Settlement memory s = _settlement(logs);

        vm.assertTrue(s.callbackSucceeded, "callback succeeded");
        vm.assertEq(_countLogs(logs, CALLBACK_FAILED_TOPIC), 0, "no CallbackFailed");
        vm.assertEq(s.payment, s.gasCharged * _pricePaid(10 gwei) + PROTOCOL_FEE, "payment = gas x price + fee");
        vm.assertLe(s.gasCharged, OVERHEAD_GAS + 1_000_000, "within budget");
        vm.assertGt(s.gasCharged, 21_000, "charged the gas used");
        vm.assertEq(s.payment + s.refund, escrow, "escrow split");
        vm.assertEq(fulfiller.balance - fulfillerBefore, s.payment, "fulfiller paid");
        vm.assertEq(refundee.balance - refundeeBefore, s.refund, "rest refunded");
        vm.assertEq(address(query).balance, 0, "nothing left behind");
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");

        vm.assertEq(client.calls(), 1, "one callback");
        vm.assertEq(client.lastCaller(), address(query), "from the coprocessor");
        vm.assertEq(client.lastQueryId(), id, "query id");
        vm.assertEq(client.lastQueryHash(), QUERY_HASH, "query hash");
        vm.assertEq(client.lastParams(), _params(requester), "params");
        vm.assertEq(client.lastAnchorNumber(), START_BLOCK - 10, "anchor");
        vm.assertEq(client.lastRows(), _rows(7, 2), "rows");
        vm.assertEq(client.lastExtraData(), bytes("extra"), "extra data");

        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.NotPending.selector, id, CoprocessorQuery.Status.Fulfilled)
        );
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        vm.assertEq(client.calls(), 1, "still one callback");
    }

    function test_gasPriceAboveMaxFeeIsPaidAtMaxFee() public {
        (bytes32 id, uint256 escrow) = _send(query, address(client), 1_000_000, 2 gwei);
        bytes memory journal = _goodJournal();
        vm.txGasPrice(50 gwei);
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        Settlement memory s = _settlement(vm.getRecordedLogs());
        vm.assertEq(s.payment, s.gasCharged * _pricePaid(2 gwei) + PROTOCOL_FEE, "capped price");
        vm.assertEq(fulfiller.balance, s.payment, "paid");
        vm.assertEq(refundee.balance, escrow - s.payment, "refunded");
    }

    function test_fulfilledAfterTheDeadlineWhileNotRefunded() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 50);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
    }

    function test_unknownQueryIsNotPending() public {
        bytes memory journal = _goodJournal();
        bytes32 id = keccak256("nobody asked");
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.NotPending.selector, id, CoprocessorQuery.Status.None));
        query.fulfill(id, journal, seal);
    }

    // -------------------------------------------------------------------------------------
    // fulfil: what the journal must match

    function test_wrongQueryHashReverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes32 other = keccak256("another plan");
        bytes memory journal =
            _journal(block.chainid, other, START_BLOCK - 1, _anchor(START_BLOCK - 1), _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.QueryHashMismatch.selector, QUERY_HASH, other));
        query.fulfill(id, journal, seal);
    }

    function test_wrongParamsRevert() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory params = _params(makeAddr("someone else"));
        bytes memory journal =
            _journal(block.chainid, QUERY_HASH, START_BLOCK - 1, _anchor(START_BLOCK - 1), params, _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(
            abi.encodeWithSelector(
                CoprocessorQuery.ParamsMismatch.selector, keccak256(_params(requester)), keccak256(params)
            )
        );
        query.fulfill(id, journal, seal);
    }

    function test_wrongChainIdReverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal =
            _journal(1, QUERY_HASH, START_BLOCK - 1, _anchor(START_BLOCK - 1), _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.WrongChain.selector, 1, block.chainid));
        query.fulfill(id, journal, seal);
    }

    function test_journalOfThisChainRejectedAfterAChainIdChange() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        vm.chainId(5);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.WrongChain.selector, 31337, 5));
        query.fulfill(id, journal, seal);
    }

    function test_unsupportedJournalVersionReverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        journal[31] = 0x01;
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorJournal.UnsupportedJournalVersion.selector, 1));
        query.fulfill(id, journal, seal);
    }

    function test_sealOfAnotherJournalReverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory other = _journal(
            block.chainid, QUERY_HASH, START_BLOCK - 10, _anchor(START_BLOCK - 10), _params(requester), _rows(8, 2)
        );
        bytes memory seal = _seal(other);
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        query.fulfill(id, journal, seal);
    }

    function test_sealForAnotherImageReverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = mockVerifier.mockSeal(keccak256("another guest"), sha256(journal));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        query.fulfill(id, journal, seal);
    }

    function test_mockSealRejectedByARealVerifier() public {
        StandInRealVerifier real = new StandInRealVerifier();
        CoprocessorQuery onReal = _deploy(real, PROTOCOL_FEE);
        (bytes32 id,) = _send(onReal, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(StandInRealVerifier.SelectorUnknown.selector, bytes4(0xffffffff)));
        onReal.fulfill(id, journal, seal);
        // the same request goes through with the real verifier's own seal
        onReal.fulfill(id, journal, real.standInSeal(IMAGE_ID, sha256(journal)));
        vm.assertTrue(_status(onReal, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
    }

    // -------------------------------------------------------------------------------------
    // anchors

    function test_anchorHashNotOnChainWithin256Reverts() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        uint256 number = START_BLOCK - 200;
        bytes32 onChain = _anchor(number);
        bytes32 forged = keccak256("forged");
        bytes memory journal = _journal(block.chainid, QUERY_HASH, number, forged, _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorMismatch.selector, number, forged, onChain));
        query.fulfill(id, journal, seal);
    }

    function test_anchorWithin8191IsCheckedThroughTheHistoryContract() public {
        vm.roll(20_000);
        BlockHistory.install(vm);
        uint256 number = 20_000 - 5_000;
        bytes32 hash = keccak256("block 15000");
        BlockHistory.record(vm, number, hash);
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _journal(block.chainid, QUERY_HASH, number, hash, _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertEq(client.lastAnchorNumber(), number, "delivered");
    }

    function test_anchorHashNotOnChainWithin8191Reverts() public {
        vm.roll(20_000);
        BlockHistory.install(vm);
        uint256 number = 20_000 - 5_000;
        bytes32 onChain = keccak256("block 15000");
        BlockHistory.record(vm, number, onChain);
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes32 forged = keccak256("forged");
        bytes memory journal = _journal(block.chainid, QUERY_HASH, number, forged, _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorMismatch.selector, number, forged, onChain));
        query.fulfill(id, journal, seal);
    }

    function test_anchorBeyond8191IsUnavailable() public {
        vm.roll(20_000);
        BlockHistory.install(vm);
        uint256 number = 20_000 - 8_192;
        bytes32 hash = keccak256("old block");
        BlockHistory.record(vm, number, hash); // even a stale ring slot holding it is not used
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _journal(block.chainid, QUERY_HASH, number, hash, _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, number));
        query.fulfill(id, journal, seal);
    }

    function test_anchorWithin8191WithoutHistoryContractIsUnavailable() public {
        vm.roll(20_000);
        uint256 number = 20_000 - 300;
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal =
            _journal(block.chainid, QUERY_HASH, number, keccak256("x"), _params(requester), _rows(1, 1));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, number));
        query.fulfill(id, journal, seal);
    }

    function test_anchorInTheCurrentOrAFutureBlockIsUnavailable() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        for (uint256 number = START_BLOCK; number <= START_BLOCK + 1; number++) {
            bytes memory journal =
                _journal(block.chainid, QUERY_HASH, number, keccak256("x"), _params(requester), _rows(1, 1));
            bytes memory seal = _seal(journal);
            vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, number));
            query.fulfill(id, journal, seal);
        }
    }

    function test_blockHashWindowsAtTheirEdges() public {
        vm.roll(20_000);
        BlockHistory.install(vm);
        bytes32 recent = _anchor(20_000 - 256);
        bytes32 viaHistory = keccak256("age 257");
        bytes32 oldest = keccak256("age 8191");
        BlockHistory.record(vm, 20_000 - 257, viaHistory);
        BlockHistory.record(vm, 20_000 - 8191, oldest);
        vm.assertEq(query.blockHashOf(20_000 - 256), recent, "age 256: blockhash()");
        vm.assertEq(query.blockHashOf(20_000 - 257), viaHistory, "age 257: EIP-2935");
        vm.assertEq(query.blockHashOf(20_000 - 8191), oldest, "age 8191: EIP-2935");
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, 20_000 - 8192));
        query.blockHashOf(20_000 - 8192);
    }

    // -------------------------------------------------------------------------------------
    // anchors on BlockHistory (historyRoot != 0)

    function test_historyAnchoredJournalIsAcceptedWhenBlockHistoryKnowsItsRoot() public {
        bytes32 root = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        vm.assertTrue(blockHistory.isKnownRoot(root), "known root");
        vm.assertEq(address(query.blockHistory()), address(blockHistory), "pinned");
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(START_BLOCK - 15, root);
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
        vm.assertEq(client.calls(), 1, "one callback");
        vm.assertEq(client.lastAnchorNumber(), START_BLOCK - 15, "anchor");
        vm.assertEq(client.lastRows(), _rows(7, 2), "rows");

        // fulfillOffchain accepts it the same way
        RecordingClient other = new RecordingClient();
        other.deliver(query, journal, seal, "");
        vm.assertEq(other.calls(), 1, "delivered off-chain");
    }

    function test_historyAnchorIsNotLookedUpOnChain() public {
        bytes32 root = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        vm.roll(START_BLOCK + 100_000);
        uint256 number = START_BLOCK - 15;
        // far beyond blockhash() and EIP-2935: a block-hash anchor could not be checked any more
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, number));
        query.blockHashOf(number);
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(number, root);
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertEq(client.lastAnchorNumber(), number, "delivered");
    }

    function test_oldKnownRootIsStillAccepted() public {
        bytes32 old = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        vm.roll(START_BLOCK + 5);
        bytes32 current = _acceptHistory(START_BLOCK - 20, START_BLOCK + 2);
        vm.assertTrue(old != current, "the state moved on");
        vm.assertEq(blockHistory.historyRoot(), current, "current root");
        vm.assertTrue(blockHistory.isKnownRoot(old), "the old root stays known");
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(START_BLOCK - 15, old);
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
    }

    function test_unknownHistoryRootReverts() public {
        _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        bytes32 unknown = keccak256("a root BlockHistory never accepted");
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(START_BLOCK - 15, unknown);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.UnknownHistoryRoot.selector, unknown));
        query.fulfill(id, journal, seal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.UnknownHistoryRoot.selector, unknown));
        client.deliver(query, journal, seal, "");
        vm.assertEq(client.calls(), 0, "nothing delivered");
    }

    function test_historyAnchoredJournalRevertsWithoutBlockHistory() public {
        bytes32 root = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10); // known elsewhere
        CoprocessorQuery noHistory = _deploy(mockVerifier, IBlockHistory(address(0)), PROTOCOL_FEE);
        vm.assertEq(address(noHistory.blockHistory()), address(0), "no blockHistory");
        (bytes32 id,) = _send(noHistory, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(START_BLOCK - 15, root);
        bytes memory seal = _seal(journal);
        vm.expectRevert(CoprocessorQuery.HistoryAnchorsDisabled.selector);
        noHistory.fulfill(id, journal, seal);
        vm.expectRevert(CoprocessorQuery.HistoryAnchorsDisabled.selector);
        client.deliver(noHistory, journal, seal, "");
        // a journal anchored on a block hash still goes through
        bytes memory byHash = _goodJournal();
        bytes memory byHashSeal = _seal(byHash);
        noHistory.fulfill(id, byHash, byHashSeal);
        vm.assertTrue(_status(noHistory, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
    }

    function test_blockAnchoredJournalIsCheckedOnChainWhateverBlockHistoryKnows() public {
        bytes32 root = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        uint256 number = START_BLOCK - 15;
        bytes32 onChain = _anchor(number);
        bytes32 forged = keccak256("forged");
        bytes memory journal = _journal(block.chainid, QUERY_HASH, number, forged, _params(requester), _rows(7, 2));
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorMismatch.selector, number, forged, onChain));
        query.fulfill(id, journal, seal);

        // the right hash, but too old for blockhash() and EIP-2935: unavailable, though the
        // accepted state holds that block
        vm.roll(START_BLOCK + 10_000);
        journal = _journal(block.chainid, QUERY_HASH, number, onChain, _params(requester), _rows(7, 2));
        seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AnchorUnavailable.selector, number));
        query.fulfill(id, journal, seal);

        // anchored on the state's root, the same block goes through
        journal = _historyJournal(number, root);
        seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "fulfilled");
    }

    function test_historyAnchoredJournalStillNeedsItsSealAndChain() public {
        bytes32 root = _acceptHistory(START_BLOCK - 20, START_BLOCK - 10);
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _historyJournal(START_BLOCK - 15, root);
        bytes memory sealOfAnother = _seal(_historyJournal(START_BLOCK - 14, root));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        query.fulfill(id, journal, sealOfAnother);

        vm.chainId(5);
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.WrongChain.selector, 31337, 5));
        query.fulfill(id, journal, seal);
    }

    function test_constructorRefusesABlockHistoryWithoutCode() public {
        vm.expectRevert(CoprocessorQuery.InvalidConfiguration.selector);
        _deploy(mockVerifier, IBlockHistory(makeAddr("no code")), PROTOCOL_FEE);
    }

    // -------------------------------------------------------------------------------------
    // callbacks

    function test_callbackGetsExactlyItsGasLimit() public {
        uint32 limit = 1_000_000;
        (bytes32 id,) = _send(query, address(client), limit, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.assertLe(client.gasAtEntry(), limit, "no more than the limit");
        vm.assertGe(client.gasAtEntry(), limit - 1_000, "the limit, less the callee's dispatch");
    }

    function test_tooLittleGasForTheCallbackReverts() public {
        uint32 limit = uint32(MAX_CALLBACK_GAS);
        (bytes32 id,) = _send(query, address(client), limit, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        // enough for everything but 63/64 of what is left covering the callback's limit
        vm.expectRevert(CoprocessorQuery.InsufficientGasForCallback.selector);
        query.fulfill{gas: limit}(id, journal, seal);
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Pending, "still pending");
        // with enough gas the callback gets its full limit
        query.fulfill{gas: limit + limit / 63 + 400_000}(id, journal, seal);
        vm.assertGe(client.gasAtEntry(), limit - 1_000, "full limit");
    }

    function _fulfilWithFailingCallback(address callback, uint32 limit) internal returns (bytes32 id) {
        uint256 escrow;
        (id, escrow) = _send(query, callback, limit, 5 gwei);
        bytes memory journal = _goodJournal();
        vm.txGasPrice(3 gwei);
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Settlement memory s = _settlement(logs);
        vm.assertFalse(s.callbackSucceeded, "callback failed");
        vm.assertEq(_countLogs(logs, CALLBACK_FAILED_TOPIC), 1, "CallbackFailed");
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Fulfilled, "still fulfilled");
        vm.assertEq(fulfiller.balance, s.payment, "fulfiller still paid");
        vm.assertEq(s.payment, s.gasCharged * _pricePaid(5 gwei) + PROTOCOL_FEE, "payment");
        vm.assertEq(refundee.balance, escrow - s.payment, "refund");
        vm.assertEq(address(query).balance, 0, "nothing left behind");
    }

    function test_revertingCallbackIsRecordedAndPaid() public {
        _fulfilWithFailingCallback(address(new RevertingClient()), 200_000);
    }

    function test_callbackBurningAllItsGasIsRecordedAndPaid() public {
        GasBurningClient burner = new GasBurningClient();
        _fulfilWithFailingCallback(address(burner), 1_000_000);
        vm.assertEq(burner.counter(), 0, "its state was rolled back");
    }

    function test_reentrantCallbackCannotFulfilRefundOrWithdraw() public {
        ReentrantClient reentrant = new ReentrantClient(query);
        (bytes32 id,) = _send(query, address(reentrant), 500_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        reentrant.arm(journal, seal);
        vm.recordLogs();
        query.fulfill(id, journal, seal);
        Settlement memory s = _settlement(vm.getRecordedLogs());
        vm.assertTrue(s.callbackSucceeded, "callback itself succeeded");
        vm.assertEq(reentrant.calls(), 1, "called once");
        vm.assertEq(reentrant.fulfillError(), bytes32(CoprocessorQuery.Reentrancy.selector), "fulfill");
        vm.assertEq(reentrant.refundError(), bytes32(CoprocessorQuery.Reentrancy.selector), "refund");
        vm.assertEq(reentrant.withdrawError(), bytes32(CoprocessorQuery.Reentrancy.selector), "withdraw");
    }

    function test_hugeReturnDataIsNotCopied() public {
        uint256 size = 600_000; // ~743k gas of memory in the callee; as much again if copied
        HugeReturnClient huge = new HugeReturnClient(size);
        (bytes32 id,) = _send(query, address(huge), 2_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        uint256 before = gasleft();
        query.fulfill(id, journal, seal);
        uint256 used = before - gasleft();
        Settlement memory s = _settlement(vm.getRecordedLogs());
        vm.assertTrue(s.callbackSucceeded, "callback succeeded");
        uint256 words = size / 32;
        uint256 calleeMemoryGas = 3 * words + words * words / 512;
        vm.assertGt(used, calleeMemoryGas, "the callee paid for its payload");
        vm.assertLt(used, calleeMemoryGas + 250_000, "the coprocessor did not copy it");
    }

    // -------------------------------------------------------------------------------------
    // refunds and deferred payments

    function test_refundAfterTheDeadlineReturnsEverything() public {
        (bytes32 id, uint256 escrow) = _send(query, address(client), 250_000, 4 gwei);
        vm.roll(START_BLOCK + DEADLINE_BLOCKS);
        vm.expectRevert(
            abi.encodeWithSelector(
                CoprocessorQuery.DeadlineNotPassed.selector,
                START_BLOCK + DEADLINE_BLOCKS,
                START_BLOCK + DEADLINE_BLOCKS
            )
        );
        vm.prank(refundee);
        query.refund(id);

        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 1);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.NotRefundee.selector, requester, refundee));
        vm.prank(requester);
        query.refund(id);

        vm.prank(refundee);
        query.refund(id);
        vm.assertEq(refundee.balance, escrow, "everything back");
        vm.assertEq(address(query).balance, 0, "nothing left behind");
        vm.assertTrue(_status(query, id) == CoprocessorQuery.Status.Refunded, "refunded");

        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.NotPending.selector, id, CoprocessorQuery.Status.Refunded)
        );
        query.fulfill(id, journal, seal);
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.NotPending.selector, id, CoprocessorQuery.Status.Refunded)
        );
        vm.prank(refundee);
        query.refund(id);
    }

    function test_fulfilledRequestCannotBeRefunded() public {
        (bytes32 id,) = _send(query, address(client), 1_000_000, 1 gwei);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 1);
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.NotPending.selector, id, CoprocessorQuery.Status.Fulfilled)
        );
        vm.prank(refundee);
        query.refund(id);
    }

    function test_refundeeRejectingEthIsOwedAndWithdrawsElsewhere() public {
        RejectingReceiver receiver = new RejectingReceiver();
        uint256 escrow = query.requiredPayment(100_000, 3 gwei);
        vm.deal(requester, escrow);
        vm.prank(requester);
        bytes32 id = query.sendQuery{value: escrow}(
            QUERY_HASH, _params(requester), PLAN, address(client), 100_000, 3 gwei, address(receiver), ""
        );
        bytes memory journal = _goodJournal();
        vm.txGasPrice(1 gwei);
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        Settlement memory s = _settlement(vm.getRecordedLogs());
        vm.assertEq(fulfiller.balance, s.payment, "fulfiller paid");
        vm.assertEq(query.owed(address(receiver)), s.refund, "refund owed");
        vm.assertEq(address(query).balance, s.refund, "held for the refundee");

        address payable wallet = payable(makeAddr("wallet"));
        receiver.withdrawTo(query, wallet);
        vm.assertEq(wallet.balance, s.refund, "withdrawn");
        vm.assertEq(address(query).balance, 0, "nothing left behind");
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.NothingOwed.selector, address(receiver)));
        receiver.withdrawTo(query, wallet);
    }

    function test_refundToARejectingRefundeeIsOwed() public {
        RejectingReceiver receiver = new RejectingReceiver();
        uint256 escrow = query.requiredPayment(0, 1 gwei);
        vm.deal(requester, escrow);
        vm.prank(requester);
        bytes32 id = query.sendQuery{value: escrow}(
            QUERY_HASH, _params(requester), PLAN, address(client), 0, 1 gwei, address(receiver), ""
        );
        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 1);
        receiver.refund(query, id);
        vm.assertEq(query.owed(address(receiver)), escrow, "owed");
        receiver.withdrawTo(query, makeAddr("wallet"));
        vm.assertEq(makeAddr("wallet").balance, escrow, "withdrawn");
    }

    // -------------------------------------------------------------------------------------
    // fuzz: every wei accounted for

    function testFuzz_fulfilmentAccountsForEveryWei(
        uint32 gasLimit,
        uint64 maxFee,
        uint64 gasPrice,
        uint96 protocolFee,
        uint8 behaviour
    ) public {
        gasLimit = uint32(bound(gasLimit, 0, 1_500_000));
        maxFee = uint64(bound(maxFee, 0, 5_000 gwei));
        gasPrice = uint64(bound(gasPrice, 0, 10_000 gwei));
        protocolFee = uint96(bound(protocolFee, 0, 10 ether));
        CoprocessorQuery target = _deploy(mockVerifier, protocolFee);
        address callback = behaviour % 3 == 0
            ? address(client)
            : behaviour % 3 == 1 ? address(new RevertingClient()) : address(new GasBurningClient());

        (bytes32 id, uint256 escrow) = _send(target, callback, gasLimit, maxFee);
        vm.assertEq(escrow, uint256(maxFee) * (OVERHEAD_GAS + gasLimit) + protocolFee, "escrow");
        bytes memory journal = _goodJournal();
        vm.txGasPrice(gasPrice);
        uint256 fulfillerBefore = fulfiller.balance;
        uint256 refundeeBefore = refundee.balance;
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        vm.prank(fulfiller);
        target.fulfill(id, journal, seal);
        Settlement memory s = _settlement(vm.getRecordedLogs());

        uint256 price = _pricePaid(maxFee);
        vm.assertLe(s.gasCharged, OVERHEAD_GAS + gasLimit, "budget");
        vm.assertEq(s.payment, s.gasCharged * price + protocolFee, "payment");
        vm.assertEq(s.payment + s.refund, escrow, "split");
        vm.assertEq(fulfiller.balance - fulfillerBefore, s.payment, "fulfiller");
        vm.assertEq(refundee.balance - refundeeBefore, s.refund, "refundee");
        vm.assertEq(address(target).balance, 0, "contract");
    }

    function testFuzz_refundReturnsTheWholeEscrow(uint32 gasLimit, uint64 maxFee, uint96 protocolFee, uint16 late)
        public
    {
        gasLimit = uint32(bound(gasLimit, 0, MAX_CALLBACK_GAS));
        protocolFee = uint96(bound(protocolFee, 0, 10 ether));
        CoprocessorQuery target = _deploy(mockVerifier, protocolFee);
        (bytes32 id, uint256 escrow) = _send(target, address(client), gasLimit, maxFee);
        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 1 + late);
        uint256 before = refundee.balance;
        vm.prank(refundee);
        target.refund(id);
        vm.assertEq(refundee.balance - before, escrow, "refund");
        vm.assertEq(address(target).balance, 0, "contract");
    }

    /// Several requests, fulfilled, refunded or left pending in a fuzzed order: the contract
    /// always holds exactly the escrows still pending plus what it owes.
    function testFuzz_balanceIsPendingEscrowsPlusOwed(uint8 plan, uint64 maxFee, uint64 gasPrice) public {
        maxFee = uint64(bound(maxFee, 0, 1_000 gwei));
        gasPrice = uint64(bound(gasPrice, 0, 2_000 gwei));
        RejectingReceiver rejecting = new RejectingReceiver();
        bytes32[4] memory ids;
        uint256[4] memory escrows;
        for (uint256 i = 0; i < 4; i++) {
            escrows[i] = query.requiredPayment(100_000 * (i + 1), maxFee);
            vm.deal(requester, escrows[i]);
            vm.prank(requester);
            ids[i] = query.sendQuery{value: escrows[i]}(
                QUERY_HASH,
                _params(requester),
                PLAN,
                address(client),
                uint32(100_000 * (i + 1)),
                maxFee,
                i % 2 == 0 ? refundee : address(rejecting),
                ""
            );
        }
        vm.roll(START_BLOCK + DEADLINE_BLOCKS + 1);
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        vm.txGasPrice(gasPrice);
        uint256 pending;
        uint256 paidOut;
        for (uint256 i = 0; i < 4; i++) {
            uint256 action = (plan >> (2 * i)) & 3; // 0 pending, 1 fulfil, 2 refund, 3 fulfil
            if (action == 0) {
                pending += escrows[i];
            } else if (action == 2) {
                if (i % 2 == 0) {
                    vm.prank(refundee);
                    query.refund(ids[i]);
                } else {
                    rejecting.refund(query, ids[i]);
                }
            } else {
                vm.prank(fulfiller);
                query.fulfill(ids[i], journal, seal);
            }
        }
        paidOut = fulfiller.balance + refundee.balance;
        vm.assertEq(address(query).balance, pending + query.owed(address(rejecting)), "held = pending + owed");
        vm.assertEq(paidOut + address(query).balance, escrows[0] + escrows[1] + escrows[2] + escrows[3], "total");
    }

    function testFuzz_calldataIsPricedAsTheEvmPricesIt(bytes memory data, uint8 zeroRun) public {
        CalldataGasHarness harness = new CalldataGasHarness(mockVerifier);
        bytes memory withZeros = bytes.concat(data, new bytes(zeroRun), data);
        vm.assertEq(harness.calldataGas(withZeros), harness.calldataGasByteByByte(withZeros), "price");
    }

    // -------------------------------------------------------------------------------------
    // fulfillOffchain

    function test_fulfillOffchainDeliversToTheCallerOnce() public {
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        bytes32 id = client.deliver(query, journal, seal, "mine");
        vm.assertEq(id, keccak256(abi.encode(block.chainid, address(query), address(client), keccak256(journal))), "id");
        vm.assertTrue(query.offchainDelivered(id), "recorded");
        vm.assertEq(client.calls(), 1, "delivered");
        vm.assertEq(client.lastQueryId(), id, "delivery id");
        vm.assertEq(client.lastQueryHash(), QUERY_HASH, "query hash");
        vm.assertEq(client.lastParams(), _params(requester), "params");
        vm.assertEq(client.lastRows(), _rows(7, 2), "rows");
        vm.assertEq(client.lastExtraData(), bytes("mine"), "extra data");

        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.AlreadyDelivered.selector, id));
        client.deliver(query, journal, seal, "again");

        // another client may take the same proof once for itself
        RecordingClient other = new RecordingClient();
        other.deliver(query, journal, seal, "");
        vm.assertEq(other.calls(), 1, "other client");
    }

    function test_fulfillOffchainOnlyByTheCallbackItself() public {
        bytes memory journal = _goodJournal();
        bytes memory seal = _seal(journal);
        address frontRunner = makeAddr("front-runner");
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.CallerIsNotCallback.selector, frontRunner, address(client))
        );
        vm.prank(frontRunner);
        query.fulfillOffchain(journal, seal, address(client), "theirs");
        vm.assertEq(client.calls(), 0, "nothing delivered");
    }

    function test_fulfillOffchainChecksProofChainAndAnchor() public {
        bytes memory journal = _goodJournal();
        bytes memory sealOfAnother = _seal(_journal(1, QUERY_HASH, 1, bytes32(0), "", ""));
        vm.expectRevert(RiscZeroMockVerifier.InvalidMockSeal.selector);
        client.deliver(query, journal, sealOfAnother, "");

        bytes memory otherChain = _journal(1, QUERY_HASH, START_BLOCK - 1, _anchor(START_BLOCK - 1), "", "");
        bytes memory otherChainSeal = _seal(otherChain);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorQuery.WrongChain.selector, 1, block.chainid));
        client.deliver(query, otherChain, otherChainSeal, "");

        bytes32 onChain = _anchor(START_BLOCK - 2);
        bytes memory forged = _journal(block.chainid, QUERY_HASH, START_BLOCK - 2, keccak256("forged"), "", "");
        bytes memory forgedSeal = _seal(forged);
        vm.expectRevert(
            abi.encodeWithSelector(
                CoprocessorQuery.AnchorMismatch.selector, START_BLOCK - 2, keccak256("forged"), onChain
            )
        );
        client.deliver(query, forged, forgedSeal, "");
        vm.assertEq(client.calls(), 0, "nothing delivered");
    }
}
