"""The relayer's query guest prover anchors on the block history its contract knows.

On a devchain of ~45 blocks (token activity in the first dozen, then empty blocks), indexed
from genesis and its block history proven in two dev steps next to the index (`coprocessor
history prove`'s StepLog), CoprocessorQuery is deployed with a BlockHistory and the example
airdrop (mock verifier) over the activity range, which ends 30 blocks before the head. The
relayer proves claims with its own `QueryGuestProver` over the index (dev receipts):

- while BlockHistory knows no root of the log, the journal is anchored on a block (historyRoot
  zero, anchor = the index's last block) and fulfils;
- once BlockHistory accepts the older state only, the journal is anchored on that state's root
  (the newest one the contract knows) at the range's last block, and fulfils; once it accepts
  the newest, the next claim is anchored on the newest root;
- a step log that cannot be read is logged and the claim is anchored on a block, and fulfils.

Each fulfilment stores the node's own answer (the claimant's incoming transfer volume).
"""

from __future__ import annotations

import logging
import shutil

import pytest
from eth_hash.auto import keccak
from web3 import Web3

from coprocessor.history import HistoryProver, StepLog, default_path
from coprocessor.indexer import Indexer
from coprocessor.relayer import ExampleAirdrop, Relayer, RelayerConfig, deploy_contracts
from coprocessor.relayer.journal import decode_canonical_journal
from coprocessor.store import Store

from support.catalogue import busiest_receiver
from support.devchain import start_devnode
from support.onchain import GWEI, airdrop_plan, claim_result, mine, node_volume, request_claim
from support.relayer import append_history, funded_account

CONFIRMATIONS = 2
BLOCKS_AFTER_RANGE = 30  # walking them would cost more than the history anchor's MMR proof
NO_HISTORY_ROOT = bytes(32)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """(devnode, web3, index path, index's last block, proven history steps, airdrop plan)."""
    node = start_devnode(blocks=12, txs=4)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        h = node.history
        plan = airdrop_plan(h.tokens["DUSD"], h.first_block, h.last_block)
        mine(w3, BLOCKS_AFTER_RANGE)
        db = tmp_path_factory.mktemp("relayer_history") / "index.duckdb"
        with Store(db) as store:
            Indexer(node.client, store).run(first=0)
            head = store.checkpoint().last_block
            with StepLog(default_path(db)) as log:
                steps = HistoryProver(store, log, dev=True).prove_pending(batch=head // 2 + 1)
        assert len(steps) == 2 and steps[0].journal.covers(h.last_block)
        assert steps[1].journal.latest == head
        yield node, w3, db, head, steps, plan
    finally:
        node.close()


@pytest.fixture
def contracts(chain):
    """CoprocessorQuery with a fresh BlockHistory (knowing no root) and the airdrop."""
    node, w3, _, _, _, plan = chain
    h = node.history
    example = ExampleAirdrop(
        query_hash=keccak(plan),
        token="0x" + h.tokens["DUSD"].hex(),
        from_block=h.first_block,
        to_block=h.last_block,
        threshold=1,
    )
    addresses = deploy_contracts(
        node.url,
        funded_account(w3),
        mock_verifier=True,
        example=example,
        deploy_block_history=True,
    )
    assert addresses["block_history"] is not None
    return addresses


def _relayer_config(chain, contracts, tmp_path, index_path) -> RelayerConfig:
    node = chain[0]
    return RelayerConfig(
        rpc_url=node.url,
        contract=contracts["coprocessor_query"],
        db_path=tmp_path / "outbox.sqlite",
        key_env="RELAYER_HISTORY_TEST_KEY_UNUSED",
        confirmations=CONFIRMATIONS,
        index_path=index_path,
        dev=True,
        max_fee_per_gas_cap=1_000 * GWEI,
    )


@pytest.fixture
def relayer(chain, contracts, tmp_path):
    """A relayer with its own QueryGuestProver over the index (dev receipts)."""
    _, w3, db, _, _, _ = chain
    config = _relayer_config(chain, contracts, tmp_path, db)
    with Relayer(config, account=funded_account(w3)) as relayer:
        yield relayer


def _claim_and_relay(chain, contracts, relayer: Relayer, claimant: str):
    """The airdrop asks about `claimant`; relays until the fulfilment is confirmed; checks the
    stored answer is the node's; returns the fulfilled journal, decoded."""
    node, w3, _, _, _, plan = chain
    h = node.history
    query_id = request_claim(w3, contracts, claimant, plan)
    mine(w3, CONFIRMATIONS)
    for _ in range(12):
        relayer.run_once()
        if relayer.outbox.request(query_id).state == "confirmed":
            break
        mine(w3)
    record = relayer.outbox.request(query_id)
    assert record.state == "confirmed", record
    assert record.journal is not None
    journal = decode_canonical_journal(record.journal)
    token, account = h.tokens["DUSD"], bytes.fromhex(claimant[2:])
    volume, transfers = node_volume(node.client, token, account, h.first_block, h.last_block)
    stored = claim_result(w3, contracts, claimant)
    assert stored[:4] == (volume, transfers, journal.anchor_number, True)
    return journal


def _claimants(chain) -> list[str]:
    node, w3, *_ = chain
    h = node.history
    rich = Web3.to_checksum_address(
        busiest_receiver(node.client, h.tokens["DUSD"], h.first_block, h.last_block)
    )
    return [rich, *(a for a in w3.eth.accounts[1:4] if a != rich)]


def test_without_a_known_root_the_relayer_anchors_on_a_block(chain, contracts, relayer):
    _, _, _, head, _, _ = chain
    journal = _claim_and_relay(chain, contracts, relayer, _claimants(chain)[0])
    assert journal.history_root == NO_HISTORY_ROOT
    assert journal.anchor_number == head  # the index's last block (walk or EIP-2935)


def test_the_relayer_anchors_on_the_newest_root_its_contract_knows(chain, contracts, relayer):
    node, w3, _, _, steps, _ = chain
    older, newest = (step.journal for step in steps)
    block_history, image_id = contracts["block_history"], older.self_image_id
    claimants = _claimants(chain)

    older_root = append_history(w3, block_history, older.encode(), image_id)
    journal = _claim_and_relay(chain, contracts, relayer, claimants[0])
    assert journal.history_root == older_root != newest.history_root
    assert journal.anchor_number == node.history.last_block  # the range's last block

    newest_root = append_history(w3, block_history, newest.encode(), image_id)
    journal = _claim_and_relay(chain, contracts, relayer, claimants[1])
    assert journal.history_root == newest_root
    assert journal.anchor_number == node.history.last_block


def test_an_unreadable_step_log_leaves_a_block_anchor(chain, contracts, tmp_path, caplog):
    _, w3, db, head, steps, _ = chain
    newest = steps[-1].journal
    append_history(w3, contracts["block_history"], newest.encode(), newest.self_image_id)
    copy = tmp_path / "copy" / "index.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(db, copy)
    default_path(copy).write_bytes(b"not a step log")
    config = _relayer_config(chain, contracts, tmp_path, copy)
    caplog.set_level(logging.WARNING, logger="coprocessor.relayer")
    with Relayer(config, account=funded_account(w3)) as relayer:
        journal = _claim_and_relay(chain, contracts, relayer, _claimants(chain)[0])
    assert journal.history_root == NO_HISTORY_ROOT
    assert journal.anchor_number == head
    assert any(getattr(r, "event", None) == "relayer.history_unavailable" for r in caplog.records)
