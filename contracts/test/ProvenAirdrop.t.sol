// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "./utils/Vm.sol";
import {CoprocessorFixture} from "./utils/CoprocessorFixture.sol";
import {JournalVectors} from "./utils/JournalVectors.sol";
import {CoprocessorQuery} from "../CoprocessorQuery.sol";
import {CoprocessorClient} from "../CoprocessorClient.sol";
import {ProvenAirdrop, IRewardToken} from "../examples/ProvenAirdrop.sol";
import {DevToken} from "../DevToken.sol";

/// @notice The example consumer end to end on the mock verifier: request, fulfil, pay.
contract ProvenAirdropTest is CoprocessorFixture, JournalVectors {
    address internal constant TOKEN = 0x1111111111111111111111111111111111111111;
    uint256 internal constant THRESHOLD = 100 ether;
    uint256 internal constant REWARD = 10 ether;
    bytes32 internal constant CALLBACK_FAILED_TOPIC = keccak256("CallbackFailed(bytes32,address)");

    DevToken internal reward;
    ProvenAirdrop internal airdrop;
    address internal claimant = makeAddr("claimant");

    function setUp() public override {
        super.setUp();
        (airdrop, reward) = _deployAirdrop(query, QUERY_HASH);
    }

    function _deployAirdrop(CoprocessorQuery target, bytes32 queryHash)
        internal
        returns (ProvenAirdrop deployed, DevToken rewardToken)
    {
        address[] memory holders = new address[](1);
        holders[0] = address(this);
        rewardToken = new DevToken("Reward", "RWD", holders, 1_000 ether);
        deployed =
            new ProvenAirdrop(target, queryHash, TOKEN, 1, 40, THRESHOLD, IRewardToken(address(rewardToken)), REWARD);
        rewardToken.transfer(address(deployed), 100 ether);
    }

    function _journalFor(address account, uint256 volume, uint256 transfers) internal returns (bytes memory) {
        uint256 anchorNumber = vm.getBlockNumber() - 5;
        return _journal(
            block.chainid, QUERY_HASH, anchorNumber, _anchor(anchorNumber), _params(account), _rows(volume, transfers)
        );
    }

    function _requestClaim(address who) internal returns (bytes32 queryId, uint256 fee) {
        fee = airdrop.claimFee(2 gwei);
        vm.deal(who, fee);
        vm.prank(who);
        queryId = airdrop.requestClaim{value: fee}(PLAN, 2 gwei);
    }

    function test_requestedClaimIsPaidOnceTheVolumeIsProven() public {
        (bytes32 id, uint256 fee) = _requestClaim(claimant);
        vm.assertEq(airdrop.claimantOf(id), claimant, "request recorded");
        bytes memory journal = _journalFor(claimant, 150 ether, 3);
        bytes memory seal = _seal(journal);

        vm.txGasPrice(1 gwei);
        vm.recordLogs();
        vm.prank(fulfiller);
        query.fulfill(id, journal, seal);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Settlement memory s = _settlement(logs);

        vm.assertTrue(s.callbackSucceeded, "callback succeeded");
        vm.assertEq(reward.balanceOf(claimant), REWARD, "reward paid");
        (uint256 volume, uint256 transfers, uint64 anchorNumber, bool proven, bool paid) = airdrop.results(claimant);
        vm.assertEq(volume, 150 ether, "volume stored");
        vm.assertEq(transfers, 3, "transfers stored");
        vm.assertEq(anchorNumber, START_BLOCK - 5, "anchor stored");
        vm.assertTrue(proven && paid, "proven and paid");
        vm.assertEq(airdrop.claimantOf(id), address(0), "request cleared");
        // fees: the claimant was the refundee
        vm.assertEq(fulfiller.balance, s.payment, "fulfiller paid");
        vm.assertEq(claimant.balance, fee - s.payment, "claimant refunded the rest");

        vm.expectRevert(abi.encodeWithSelector(ProvenAirdrop.AlreadyPaid.selector, claimant));
        vm.prank(claimant);
        airdrop.requestClaim(PLAN, 2 gwei);
    }

    function test_volumeBelowThresholdIsStoredButNotPaid() public {
        (bytes32 id,) = _requestClaim(claimant);
        bytes memory journal = _journalFor(claimant, 99 ether, 9);
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        (uint256 volume,,, bool proven, bool paid) = airdrop.results(claimant);
        vm.assertEq(volume, 99 ether, "stored");
        vm.assertTrue(proven, "proven");
        vm.assertFalse(paid, "not paid");
        vm.assertEq(reward.balanceOf(claimant), 0, "no reward");
    }

    function test_nullSumCountsAsZero() public {
        (bytes32 id,) = _requestClaim(claimant);
        uint256[3][] memory rows = new uint256[3][](1);
        rows[0] = [uint256(1), 500 ether, 0]; // volume NULL: its value is ignored
        uint256 anchorNumber = START_BLOCK - 5;
        bytes memory journal = _journal(
            block.chainid, QUERY_HASH, anchorNumber, _anchor(anchorNumber), _params(claimant), abi.encode(rows)
        );
        bytes memory seal = _seal(journal);
        query.fulfill(id, journal, seal);
        (uint256 volume,,,, bool paid) = airdrop.results(claimant);
        vm.assertEq(volume, 0, "NULL is 0");
        vm.assertFalse(paid, "not paid");
    }

    function test_requestNotMadeThroughTheAirdropIsRefusedByItsCallback() public {
        uint256 escrow = query.requiredPayment(200_000, 1 gwei);
        vm.deal(claimant, escrow);
        vm.prank(claimant);
        bytes32 id = query.sendQuery{value: escrow}(
            QUERY_HASH, _params(claimant), PLAN, address(airdrop), 200_000, 1 gwei, claimant, ""
        );
        bytes memory journal = _journalFor(claimant, 150 ether, 3);
        bytes memory seal = _seal(journal);
        vm.recordLogs();
        query.fulfill(id, journal, seal);
        vm.assertEq(_countLogs(vm.getRecordedLogs(), CALLBACK_FAILED_TOPIC), 1, "CallbackFailed");
        vm.assertEq(reward.balanceOf(claimant), 0, "no reward");
    }

    function test_claimWithProofPaysTheClaimant() public {
        bytes memory journal = _journalFor(claimant, 200 ether, 4);
        bytes memory seal = _seal(journal);
        vm.prank(claimant);
        airdrop.claimWithProof(journal, seal);
        vm.assertEq(reward.balanceOf(claimant), REWARD, "paid");
        vm.expectRevert(); // the same proof cannot be delivered twice
        vm.prank(claimant);
        airdrop.claimWithProof(journal, seal);
    }

    function test_frontRunningAClaimWithProofTakesNothing() public {
        bytes memory journal = _journalFor(claimant, 200 ether, 4);
        bytes memory seal = _seal(journal);
        address frontRunner = makeAddr("front-runner");
        vm.expectRevert(abi.encodeWithSelector(ProvenAirdrop.ParamsNotForClaimant.selector, frontRunner));
        vm.prank(frontRunner);
        airdrop.claimWithProof(journal, seal);
        // nor can the front-runner deliver it to the airdrop directly
        vm.expectRevert(
            abi.encodeWithSelector(CoprocessorQuery.CallerIsNotCallback.selector, frontRunner, address(airdrop))
        );
        vm.prank(frontRunner);
        query.fulfillOffchain(journal, seal, address(airdrop), "");
        // the claimant's own claim still goes through
        vm.prank(claimant);
        airdrop.claimWithProof(journal, seal);
        vm.assertEq(reward.balanceOf(claimant), REWARD, "claimant paid");
        vm.assertEq(reward.balanceOf(frontRunner), 0, "front-runner got nothing");
    }

    function test_answerToAnUnpinnedQueryIsRefused() public {
        uint256 anchorNumber = START_BLOCK - 5;
        bytes32 otherQuery = keccak256("another plan");
        bytes memory journal = _journal(
            block.chainid, otherQuery, anchorNumber, _anchor(anchorNumber), _params(claimant), _rows(500 ether, 1)
        );
        bytes memory seal = _seal(journal);
        vm.expectRevert(abi.encodeWithSelector(CoprocessorClient.QueryNotPinned.selector, otherQuery));
        vm.prank(claimant);
        airdrop.claimWithProof(journal, seal);
    }

    function test_onlyTheCoprocessorMayCallBack() public {
        vm.expectRevert(abi.encodeWithSelector(CoprocessorClient.NotCoprocessor.selector, address(this)));
        airdrop.coprocessorCallback(bytes32(0), QUERY_HASH, _params(claimant), 1, _rows(500 ether, 1), "");
    }

    /// The shared vector "transfer-volume" (written by make_journals.py) claimed as it is.
    function test_sharedVectorJournalIsClaimable() public {
        JournalVector memory v = _vectorNamed("transfer-volume");
        vm.assertEq(v.historyRoot, bytes32(0), "anchored on a block hash");
        CoprocessorQuery vectorQuery = new CoprocessorQuery(
            mockVerifier, v.imageId, blockHistory, PROTOCOL_FEE, OVERHEAD_GAS, DEADLINE_BLOCKS, MAX_CALLBACK_GAS
        );
        (ProvenAirdrop vectorAirdrop, DevToken vectorReward) = _deployAirdrop(vectorQuery, v.queryHash);
        vm.roll(v.anchorNumber + 50);
        vm.setBlockhash(v.anchorNumber, v.anchorHash);
        (, address account,,) = abi.decode(v.params, (address, address, uint256, uint256));
        bytes memory seal = abi.encodePacked(bytes4(0xffffffff), v.claimDigest);
        vm.prank(account);
        vectorAirdrop.claimWithProof(v.journal, seal);
        (uint256 volume, uint256 transfers,,,) = vectorAirdrop.results(account);
        vm.assertEq(volume, 1_500 ether, "volume");
        vm.assertEq(transfers, 7, "transfers");
        vm.assertEq(vectorReward.balanceOf(account), REWARD, "paid");
    }
}
