"""The relayer against a real anvil (127.0.0.1, free port), with the contracts deployed by
`deploy_contracts` and the test-only FixedAnswerProver at the proving seam (mock seals).

A good request is fulfilled exactly once; 50 requests at once leave no nonce gap; a
transaction stuck behind a base-fee jump is replaced; a fulfilment reorged out is sent
again exactly once; requests already fulfilled or unprofitable are skipped with a log line;
a mock seal toward a verifier that is not the mock is refused, and so is a proof anchored on a
history root the contract's BlockHistory does not know (or toward a contract without one).
Kill -9 and restart: see test_relayer_restart.py."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from eth_hash.auto import keccak
from web3.logs import DISCARD

from coprocessor import zkvm
from coprocessor.contracts import load_artifact, mock_seal
from coprocessor.errors import DeployError, InvalidArgument
from coprocessor.history import HISTORY_GUEST
from coprocessor.relayer import QueryContractTerms, Relayer, deploy_contracts
from coprocessor.relayer.fees import BUMP_DENOMINATOR, BUMP_NUMERATOR
from coprocessor.relayer.records import Attempt
from coprocessor.relayer.request import QueryRequest

from support.relayer import GWEI, RelayerChain, funded_account


@pytest.fixture
def chain():
    chain = RelayerChain.start()
    yield chain
    chain.stop()


def events(caplog, name: str, query_id: bytes | None = None) -> list[logging.LogRecord]:
    found = [r for r in caplog.records if getattr(r, "event", None) == name]
    if query_id is not None:
        found = [r for r in found if r.fields.get("query_id") == query_id]
    return found


def run_until_settled(relayer: Relayer, chain: RelayerChain, ticks: int = 30) -> None:
    for _ in range(ticks):
        relayer.run_once()
        if not relayer.busy():
            return
        chain.mine()
    raise AssertionError("the relayer did not settle")


def test_good_request_is_fulfilled_exactly_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    chain = RelayerChain.start(example=True)
    try:
        claimant = chain.requesters[0]
        query_id = chain.request_claim(claimant)
        config = chain.config(tmp_path / "outbox.db")
        with Relayer(config, prover=chain.prover(), account=chain.relayer) as relayer:
            relayer.run_once()  # the request is not yet at depth 2
            assert relayer.outbox.request(query_id) is None
            chain.mine()
            run_until_settled(relayer, chain)
            for _ in range(3):  # more ticks send nothing more
                chain.mine()
                relayer.run_once()
            record = relayer.outbox.request(query_id)
            assert record.state == "confirmed" and record.nonce == 0
            assert relayer.outbox.count_transactions() == 1

        (fulfilled,) = chain.fulfilled_events(query_id)
        assert (
            fulfilled.args.fulfiller == chain.relayer.address and fulfilled.args.callbackSucceeded
        )
        volume, transfers, _, proven, paid = chain.airdrop().functions.results(claimant).call()
        assert (volume, transfers, proven, paid) == (150 * 10**18, 3, True, True)
        assert chain.relayer_nonce() == 1
        assert len(events(caplog, "relayer.confirmed", query_id)) == 1
        with sqlite3.connect(tmp_path / "outbox.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        chain.stop()


def test_fifty_concurrent_requests_leave_no_nonce_gap(chain, tmp_path):
    w3 = chain.w3
    w3.provider.make_request("evm_setAutomine", [False])
    hashes = [
        w3.eth.send_transaction(
            chain.send_query_transaction(chain.requesters[i % 8], i, 50 * GWEI)
            | {"nonce": w3.eth.get_transaction_count(chain.requesters[i % 8], "pending")}
        )
        for i in range(50)
    ]
    chain.mine()
    w3.provider.make_request("evm_setAutomine", [True])
    query_ids = []
    for tx_hash in hashes:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert receipt.status == 1
        (event,) = chain.query.events.QueryRequested().process_receipt(receipt, errors=DISCARD)
        query_ids.append(bytes(event.args.queryId))
    assert len({w3.eth.get_transaction_receipt(h).blockNumber for h in hashes}) == 1

    config = chain.config(tmp_path / "outbox.db", confirmations=1, workers=4)
    with Relayer(config, prover=chain.prover(), account=chain.relayer) as relayer:
        run_until_settled(relayer, chain)
        nonces = sorted(
            attempt.nonce
            for query_id in query_ids
            for attempt in relayer.outbox.attempts_at(relayer.outbox.request(query_id).nonce)
        )
    assert nonces == list(range(50))  # one transaction per nonce, none skipped
    assert chain.relayer_nonce() == chain.relayer_nonce("pending") == 50
    for query_id in query_ids:
        assert len(chain.fulfilled_events(query_id)) == 1


def assert_bumped(old: Attempt, new: Attempt, cap: int) -> None:
    """`new` replaces `old`: same nonce, at least +12.5% on both fee fields, within the cap."""
    assert new.nonce == old.nonce and new.tx_hash != old.tx_hash
    for before, after in (
        (old.fees.max_fee_per_gas, new.fees.max_fee_per_gas),
        (old.fees.max_priority_fee_per_gas, new.fees.max_priority_fee_per_gas),
    ):
        assert after * BUMP_DENOMINATOR >= before * BUMP_NUMERATOR
    assert new.fees.max_fee_per_gas <= cap


def test_transaction_stuck_by_a_low_fee_is_replaced(chain, tmp_path, caplog):
    """The base fee jumps past the transaction's max fee. anvil then drops it from its pool
    (geth would keep it): the relayer finds it unknown, its rebroadcast is refused as
    underpriced, and a replacement at the same nonce with higher fees goes through."""
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    query_id = chain.request()
    chain.mine(2)
    w3 = chain.w3
    config = chain.config(tmp_path / "outbox.db", confirmations=1, replace_after_blocks=2)
    with Relayer(config, prover=chain.prover(), account=chain.relayer) as relayer:
        w3.provider.make_request("evm_setAutomine", [False])
        relayer.run_once()
        (first,) = relayer.outbox.attempts_at(0)
        w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(100 * GWEI)])
        w3.provider.make_request("evm_mine", [])
        assert first.fees.max_fee_per_gas < 100 * GWEI
        assert w3.eth.get_block("latest").transactions == []  # stuck: not mined
        relayer.run_once()
        first_again, second = relayer.outbox.attempts_at(0)
        assert first_again.tx_hash == first.tx_hash
        assert_bumped(first, second, config.max_fee_per_gas_cap)
        assert second.fees.max_fee_per_gas > 100 * GWEI  # what the base fee now asks
        w3.provider.make_request("evm_mine", [])
        w3.provider.make_request("evm_setAutomine", [True])
        run_until_settled(relayer, chain)
        states = [attempt.state for attempt in relayer.outbox.attempts_at(0)]
        assert states == ["superseded", "confirmed"]
    (fulfilled,) = chain.fulfilled_events(query_id)
    assert bytes(fulfilled.transactionHash) == second.tx_hash
    assert chain.relayer_nonce() == 1
    assert len(events(caplog, "relayer.replaced", query_id)) == 1


def test_transaction_left_unmined_in_the_pool_is_replaced_after_n_blocks(chain, tmp_path):
    """A transaction the node keeps but does not mine (here: blocks too small for its gas
    limit) is replaced after `replace_after_blocks` blocks, then mined once blocks allow."""
    query_id = chain.request()
    chain.mine(2)
    w3 = chain.w3
    config = chain.config(tmp_path / "outbox.db", confirmations=1, replace_after_blocks=2)
    with Relayer(config, prover=chain.prover(), account=chain.relayer) as relayer:
        w3.provider.make_request("evm_setAutomine", [False])
        relayer.run_once()
        (first,) = relayer.outbox.attempts_at(0)
        w3.provider.make_request("evm_setBlockGasLimit", [hex(180_000)])  # < its gas limit
        for _ in range(2):
            assert len(relayer.outbox.attempts_at(0)) == 1  # kept in the pool: waiting
            w3.provider.make_request("evm_mine", [])
            relayer.run_once()
        first_again, second = relayer.outbox.attempts_at(0)
        assert_bumped(first, second, config.max_fee_per_gas_cap)
        w3.provider.make_request("evm_setBlockGasLimit", [hex(30_000_000)])
        relayer.run_once()  # the replacement reaches the pool now
        w3.provider.make_request("evm_mine", [])
        w3.provider.make_request("evm_setAutomine", [True])
        run_until_settled(relayer, chain)
        assert [a.state for a in relayer.outbox.attempts_at(0)] == ["superseded", "confirmed"]
    (fulfilled,) = chain.fulfilled_events(query_id)
    assert bytes(fulfilled.transactionHash) == second.tx_hash
    assert chain.relayer_nonce() == 1


def test_fulfilment_reorged_out_is_sent_again_exactly_once(chain, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    query_id = chain.request()
    chain.mine(3)
    config = chain.config(tmp_path / "outbox.db", confirmations=3)
    with Relayer(config, prover=chain.prover(anchor_age=3), account=chain.relayer) as relayer:
        relayer.run_once()
        relayer.run_once()
        (attempt,) = relayer.outbox.attempts_at(0)
        assert attempt.state == "mined" and attempt.mined_block_number == chain.w3.eth.block_number
        assert len(chain.fulfilled_events(query_id)) == 1
        chain.w3.provider.make_request("anvil_reorg", [2, []])  # drops the fulfilment's block
        assert chain.fulfilled_events(query_id) == [] and chain.status(query_id) == 1
        relayer.run_once()  # sees it gone, sends the same transaction again (automine)
        run_until_settled(relayer, chain)
        for _ in range(3):
            chain.mine()
            relayer.run_once()
        record = relayer.outbox.request(query_id)
        assert record.state == "confirmed" and record.reorgs == 1
        assert relayer.outbox.count_transactions(query_id) == 1  # the same signed transaction
    assert len(chain.fulfilled_events(query_id)) == 1
    assert chain.relayer_nonce() == 1
    assert len(events(caplog, "relayer.reorged_out", query_id)) == 1
    assert len(events(caplog, "relayer.broadcast", query_id)) == 2


class CompetingProver:
    """Wraps the test prover: after proving, a competitor fulfils the same request first."""

    def __init__(self, chain: RelayerChain):
        self.chain, self.inner = chain, chain.prover()
        self.competitor = chain.w3.eth.accounts[1]

    def prove(self, request):
        journal, seal = self.inner.prove(request)
        call = self.chain.query.functions.fulfill(request.query_id, journal, seal)
        tx_hash = call.transact({"from": self.competitor})
        assert self.chain.w3.eth.wait_for_transaction_receipt(tx_hash).status == 1
        return journal, seal


def test_already_fulfilled_query_is_skipped(chain, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    raced = chain.request(salt=1)  # fulfilled by a competitor while we prove
    chain.mine(2)
    prover = CompetingProver(chain)
    config = chain.config(tmp_path / "outbox.db")
    with Relayer(config, prover=prover, account=chain.relayer) as relayer:
        relayer.run_once()
        assert relayer.outbox.request(raced).state == "fulfilled_elsewhere"
        (skip,) = events(caplog, "relayer.skip", raced)
        assert (
            skip.fields["reason"] == "already_fulfilled"
            and "NotPending" in skip.fields["simulation"]
        )
        assert f"query_id=0x{raced.hex()}" in skip.getMessage()

        early = chain.request(salt=2)  # fulfilled before the relayer even sees it
        chain.mine(2)
        proofs_before = prover.inner.calls
        _fulfil_directly(chain, early)
        relayer.run_once()
        assert relayer.outbox.request(early).state == "fulfilled_elsewhere"
        assert prover.inner.calls == proofs_before  # skipped before proving
        assert relayer.outbox.count_transactions() == 0
    assert chain.relayer_nonce() == 0


def _fulfil_directly(chain: RelayerChain, query_id: bytes) -> None:
    (event,) = chain.query.events.QueryRequested().get_logs(
        from_block=0, argument_filters={"queryId": query_id}
    )
    request = QueryRequest.from_event(event, chain_id=chain.w3.eth.chain_id)
    journal, seal = chain.prover().prove(request)
    tx_hash = chain.query.functions.fulfill(query_id, journal, seal).transact(
        {"from": chain.w3.eth.accounts[1]}
    )
    assert chain.w3.eth.wait_for_transaction_receipt(tx_hash).status == 1
    assert bytes(seal) == mock_seal(chain.image_id, journal)


def test_unprofitable_request_is_skipped(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    terms = QueryContractTerms(
        protocol_fee=0,
        fulfill_overhead_gas=300_000,
        deadline_blocks=100,
        max_callback_gas_limit=10**6,
    )
    chain = RelayerChain.start(terms=terms)
    try:
        query_id = chain.request(max_fee_per_gas=1)  # 1 wei per gas cannot pay for the gas
        chain.mine(2)
        with Relayer(
            chain.config(tmp_path / "o.db"), prover=chain.prover(), account=chain.relayer
        ) as relayer:
            relayer.run_once()
            relayer.run_once()
            assert relayer.outbox.request(query_id).state == "unprofitable"
            (skip,) = events(caplog, "relayer.skip", query_id)  # logged once, re-checked silently
            assert skip.fields["reason"] == "fee_below_gas_cost"
            assert skip.fields["payment"] < skip.fields["gas_cost"]
        assert chain.relayer_nonce() == 0 and chain.status(query_id) == 1
    finally:
        chain.stop()


def test_mock_seal_toward_a_verifier_that_is_not_the_mock_is_refused(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    chain = RelayerChain.start(real_verifier_stand_in=True)
    try:
        query_id = chain.request()
        chain.mine(2)
        config = chain.config(tmp_path / "outbox.db")
        with Relayer(config, prover=chain.prover(), account=chain.relayer) as relayer:
            relayer.run_once()
            record = relayer.outbox.request(query_id)
            assert (record.state, record.reason) == ("skipped", "mock_seal_refused")
            assert relayer.outbox.count_transactions() == 0
        (started,) = events(caplog, "relayer.started")
        assert started.fields["verifier_is_mock"] is False
        assert chain.relayer_nonce() == 0 and chain.status(query_id) == 1
    finally:
        chain.stop()


def test_deploy_checks_its_verifier(chain):
    assert chain.addresses["mock_verifier"] is True
    assert chain.query.functions.verifier().call() == chain.addresses["verifier"]
    assert bytes(chain.query.functions.queryImageId().call()) == chain.image_id
    deployer = funded_account(chain.w3, ether=1)
    with pytest.raises(InvalidArgument):
        deploy_contracts(
            chain.anvil.url, deployer, verifier=chain.addresses["verifier"], mock_verifier=True
        )
    with pytest.raises(DeployError, match="no contract at the verifier"):
        deploy_contracts(chain.anvil.url, deployer, verifier="0x" + "42" * 20)


def test_deploy_pins_no_blockhistory_an_existing_one_or_a_new_one(chain):
    assert chain.addresses["block_history"] is None
    assert int(chain.query.functions.blockHistory().call(), 16) == 0
    deployer = funded_account(chain.w3, ether=10)
    verifier = chain.addresses["verifier"]
    with_history = deploy_contracts(
        chain.anvil.url, deployer, verifier=verifier, deploy_block_history=True
    )
    history = chain.w3.eth.contract(
        address=with_history["block_history"], abi=load_artifact("BlockHistory").abi
    )
    recorded = bytes.fromhex(zkvm.recorded_image_ids()[HISTORY_GUEST])
    assert with_history["history_image_id"] == "0x" + recorded.hex()
    assert bytes(history.functions.historyImageId().call()) == recorded
    assert history.functions.verifier().call() == verifier
    query = chain.w3.eth.contract(
        address=with_history["coprocessor_query"], abi=load_artifact("CoprocessorQuery").abi
    )
    assert query.functions.blockHistory().call() == history.address

    reused = deploy_contracts(
        chain.anvil.url, deployer, verifier=verifier, block_history=history.address
    )
    assert reused["block_history"] == history.address and "history_image_id" not in reused
    with pytest.raises(InvalidArgument, match="not both"):
        deploy_contracts(
            chain.anvil.url,
            deployer,
            verifier=verifier,
            block_history=history.address,
            deploy_block_history=True,
        )
    with pytest.raises(DeployError, match="no contract at the BlockHistory"):
        deploy_contracts(
            chain.anvil.url, deployer, verifier=verifier, block_history="0x" + "42" * 20
        )


def _relay_once(chain: RelayerChain, tmp_path, prover) -> tuple[bytes, object]:
    """One request at depth, one relayer tick with `prover`: (queryId, its outbox record)."""
    query_id = chain.request()
    chain.mine(2)
    config = chain.config(tmp_path / "outbox.db")
    with Relayer(config, prover=prover, account=chain.relayer) as relayer:
        relayer.run_once()
        return query_id, relayer.outbox.request(query_id)


def test_history_anchored_proof_goes_only_to_a_blockhistory_that_knows_its_root(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    chain = RelayerChain.start(block_history=True)
    try:
        head = chain.w3.eth.block_number
        unknown = keccak(b"a root this BlockHistory never accepted")
        prover = chain.prover(history=(head - 1, unknown))
        query_id, record = _relay_once(chain, tmp_path, prover)
        assert (record.state, record.reason) == ("failed", "proof_check_failed")
        (skip,) = events(caplog, "relayer.skip", query_id)
        assert "does not know" in skip.fields["detail"]
        assert chain.relayer_nonce() == 0 and chain.status(query_id) == 1

        chain.mine(20)
        root = chain.accept_history(head + 1, head + 20)
        prover = chain.prover(history=(head + 10, root))
        config = chain.config(tmp_path / "outbox-known.db")
        query_id = chain.request(salt=1)
        with Relayer(config, prover=prover, account=chain.relayer) as relayer:
            run_until_settled(relayer, chain)
        assert chain.status(query_id) == 2  # Status.Fulfilled
        assert len(chain.fulfilled_events(query_id)) == 1
    finally:
        chain.stop()


def test_history_anchored_proof_is_refused_toward_a_contract_without_blockhistory(
    chain, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    head = chain.w3.eth.block_number
    prover = chain.prover(history=(head - 1, keccak(b"any root")))
    query_id, record = _relay_once(chain, tmp_path, prover)
    assert (record.state, record.reason) == ("failed", "proof_check_failed")
    (skip,) = events(caplog, "relayer.skip", query_id)
    assert "has no BlockHistory" in skip.fields["detail"]
    assert chain.relayer_nonce() == 0 and chain.status(query_id) == 1


def test_request_whose_block_is_reverted_is_removed_and_never_sent(chain, tmp_path, caplog):
    """With the default query guest prover and no index configured (and no --dev), the
    request is deferred; the chain then drops its block (evm_revert, then longer
    empty blocks): the relayer notices from the recorded hashes and removes it."""
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    w3 = chain.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    query_id = chain.request()
    chain.mine(2)
    config = chain.config(tmp_path / "outbox.db")
    with Relayer(config, account=chain.relayer) as relayer:  # QueryGuestProver
        relayer.run_once()
        record = relayer.outbox.request(query_id)
        assert (record.state, record.reason) == ("deferred", "prover_unavailable")
        assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
        chain.mine(6)
        relayer.run_once()
        assert relayer.outbox.request(query_id).state == "removed"
        assert relayer.outbox.count_transactions() == 0
    assert len(events(caplog, "relayer.reorg_detected")) == 1
    assert len(events(caplog, "relayer.request_removed", query_id)) == 1
    assert chain.status(query_id) == 0  # no such request on this chain


class SharedKeyProver:
    """Wraps the test prover: while it proves, another holder of the relayer's key uses the
    nonce the relayer is about to take."""

    def __init__(self, chain: RelayerChain):
        self.chain, self.inner = chain, chain.prover()

    def prove(self, request):
        w3, account = self.chain.w3, self.chain.relayer
        transfer = {"to": account.address, "value": 0, "gas": 21_000, "chainId": 31337}
        transfer |= {"nonce": w3.eth.get_transaction_count(account.address, "pending")}
        transfer |= {"maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI}
        signed = account.sign_transaction(transfer)
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        return self.inner.prove(request)


def test_nonce_too_low_is_reconciled_and_the_request_sent_at_a_new_nonce(chain, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    query_id = chain.request()
    chain.mine(2)
    config = chain.config(tmp_path / "outbox.db")
    with Relayer(config, prover=SharedKeyProver(chain), account=chain.relayer) as relayer:
        relayer.run_once()
        (broadcast,) = events(caplog, "relayer.broadcast", query_id)
        assert broadcast.fields["outcome"] == "nonce_too_low"
        run_until_settled(relayer, chain)
        (lost,) = relayer.outbox.attempts_at(0)
        assert lost.state == "dropped"
        record = relayer.outbox.request(query_id)
        assert (record.state, record.nonce) == ("confirmed", 1)
    assert len(events(caplog, "relayer.nonce_taken", query_id)) == 1
    assert len(chain.fulfilled_events(query_id)) == 1
    assert chain.relayer_nonce() == chain.relayer_nonce("pending") == 2


def test_fulfilment_whose_anchor_is_reorged_out_is_proven_again_at_the_same_nonce(
    chain, tmp_path, caplog
):
    """The proof is anchored at the head, so it waits one block (the contract cannot check
    the block it runs in). Then the reorg also replaces the anchor block: the resend would
    revert (AnchorMismatch), so the request is proven again and the new fulfilment replaces
    the old one at its nonce."""
    caplog.set_level(logging.INFO, logger="coprocessor.relayer")
    query_id = chain.request()
    chain.mine(3)
    config = chain.config(tmp_path / "outbox.db", confirmations=3)
    prover = chain.prover(anchor_age=0)
    with Relayer(config, prover=prover, account=chain.relayer) as relayer:
        relayer.run_once()
        assert relayer.outbox.request(query_id).state == "proved"  # anchor = head: waits
        assert relayer.outbox.count_transactions() == 0
        chain.mine()
        relayer.run_once()
        relayer.run_once()
        (old,) = relayer.outbox.attempts_at(0)
        assert old.state == "mined"
        chain.w3.provider.make_request("anvil_reorg", [3, []])  # anchor, its child, the fulfil
        run_until_settled(relayer, chain)
        superseded, confirmed = relayer.outbox.attempts_at(0)
        assert (superseded.tx_hash, superseded.state) == (old.tx_hash, "superseded")
        assert confirmed.state == "confirmed"
        record = relayer.outbox.request(query_id)
        assert (record.state, record.proofs, record.reorgs) == ("confirmed", 2, 1)
    assert prover.calls == 2
    (stale,) = events(caplog, "relayer.stale_proof", query_id)
    assert "AnchorMismatch" in stale.fields["simulation"]
    (fulfilled,) = chain.fulfilled_events(query_id)
    assert bytes(fulfilled.transactionHash) == confirmed.tx_hash
    assert chain.relayer_nonce() == 1
