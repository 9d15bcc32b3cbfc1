"""End to end on the indexed devchain: the example airdrop (ProvenAirdrop, mock verifier) asks
the coprocessor on chain how much of a devchain token each claimant received; the relayer with
the real `QueryGuestProver` (dev: the query guest's executor and a fake receipt, answered with
a mock seal) compiles the request's template and params over the index, proves, verifies the
receipt locally and fulfils; the airdrop's stored result is the node's own answer (the sum of
the claimant's incoming Transfer values from eth_getLogs), and only the claimant over the
threshold is paid.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from coprocessor.relayer import (
    ExampleAirdrop,
    QueryGuestProver,
    Relayer,
    RelayerConfig,
    deploy_contracts,
)
from coprocessor.relayer.prover import NO_GROTH16
from coprocessor.store import Store

from support.catalogue import busiest_receiver
from support.onchain import (
    GWEI,
    airdrop_plan,
    claim_result,
    mine,
    node_volume,
    request_claim,
    reward_balance,
)
from support.relayer import funded_account

CONFIRMATIONS = 2


@pytest.fixture(scope="module")
def delivery(env):
    """The airdrop deployed for DUSD over the devchain's history; threshold 1 wei."""
    node, store, ix = env
    h, w3 = node.history, Web3(Web3.HTTPProvider(node.url))
    token, first, last = h.tokens["DUSD"], h.first_block, h.last_block
    plan = airdrop_plan(token, first, last)
    example = ExampleAirdrop(
        query_hash=Web3.keccak(plan),
        token="0x" + token.hex(),
        from_block=first,
        to_block=last,
        threshold=1,
    )
    addresses = deploy_contracts(node.url, funded_account(w3), mock_verifier=True, example=example)
    return w3, addresses, plan


def _relay_until_fulfilled(relayer: Relayer, w3: Web3, query_ids: list[bytes]) -> None:
    for _ in range(12):
        relayer.run_once()
        states = {relayer.outbox.request(q).state for q in query_ids}
        if states == {"confirmed"}:  # fulfilled, at confirmation depth
            return
        mine(w3)
    raise AssertionError(f"not confirmed: {[relayer.outbox.request(q).state for q in query_ids]}")


def test_claims_are_proven_by_the_query_guest_and_fulfilled_on_chain(env, delivery, tmp_path):
    node, store, ix = env
    w3, addresses, plan = delivery
    h = node.history
    token, first, last = h.tokens["DUSD"], h.first_block, h.last_block
    rich = Web3.to_checksum_address(busiest_receiver(node.client, token, first, last))
    poor_account = funded_account(w3, ether=1)  # received no DUSD
    poor = poor_account.address
    query_ids = [request_claim(w3, addresses, c, plan) for c in (rich, poor_account)]
    mine(w3, CONFIRMATIONS)
    ix.run()  # the index reaches the head: the requests' range and a recent anchor
    config = RelayerConfig(
        rpc_url=node.url,
        contract=addresses["coprocessor_query"],
        db_path=tmp_path / "outbox.sqlite",
        key_env="ONCHAIN_TEST_KEY_UNUSED",
        confirmations=CONFIRMATIONS,
        dev=True,
        max_fee_per_gas_cap=1_000 * GWEI,
    )
    prover = QueryGuestProver(store, rpc_url=node.url, dev=True)
    with Relayer(config, prover=prover, account=funded_account(w3)) as relayer:
        _relay_until_fulfilled(relayer, w3, query_ids)
    for claimant in (rich, poor):
        volume, transfers = node_volume(
            node.client, token, bytes.fromhex(claimant[2:]), first, last
        )
        stored = claim_result(w3, addresses, claimant)
        assert stored[:2] == (volume, transfers)
        assert stored[3] is True and stored[4] is (volume >= 1)
        assert reward_balance(w3, addresses, claimant) == (10 * 10**18 if volume >= 1 else 0)
    assert claim_result(w3, addresses, rich)[0] > 0
    assert claim_result(w3, addresses, poor)[:2] == (0, 0)


def test_without_dev_the_prover_says_why_it_cannot_deliver(env, delivery, tmp_path):
    """A real seal needs Groth16, which cannot be made here: the request is deferred, with
    that reason, and nothing is sent."""
    node, store, _ = env
    w3, addresses, plan = delivery
    query_id = request_claim(w3, addresses, w3.eth.accounts[5], plan)
    mine(w3, CONFIRMATIONS)
    config = RelayerConfig(
        rpc_url=node.url,
        contract=addresses["coprocessor_query"],
        db_path=tmp_path / "outbox.sqlite",
        key_env="ONCHAIN_TEST_KEY_UNUSED",
        confirmations=CONFIRMATIONS,
        max_fee_per_gas_cap=1_000 * GWEI,
    )
    with Relayer(
        config, prover=QueryGuestProver(store, rpc_url=node.url), account=funded_account(w3)
    ) as relayer:
        relayer.run_once()
        record = relayer.outbox.request(query_id)
        assert (record.state, record.reason) == ("deferred", "prover_unavailable")
        assert relayer.outbox.count_transactions() == 0
    assert "Groth16" in NO_GROTH16


def test_a_request_the_index_cannot_serve_yet_waits_for_it(env, delivery, tmp_path):
    """An index that does not hold the request's blocks yet (here: an empty one) leaves the
    request new, retried on every tick, with nothing sent."""
    node = env[0]
    w3, addresses, plan = delivery
    query_id = request_claim(w3, addresses, w3.eth.accounts[6], plan)
    mine(w3, CONFIRMATIONS)
    config = RelayerConfig(
        rpc_url=node.url,
        contract=addresses["coprocessor_query"],
        db_path=tmp_path / "outbox.sqlite",
        key_env="ONCHAIN_TEST_KEY_UNUSED",
        confirmations=CONFIRMATIONS,
        dev=True,
        max_fee_per_gas_cap=1_000 * GWEI,
    )
    with Store(tmp_path / "empty.duckdb") as empty:
        prover = QueryGuestProver(empty, dev=True)
        with Relayer(config, prover=prover, account=funded_account(w3)) as relayer:
            for _ in range(2):
                relayer.run_once()
                record = relayer.outbox.request(query_id)
                assert (record.state, record.reason) == ("new", "index_not_ready")
            assert relayer.outbox.count_transactions() == 0
