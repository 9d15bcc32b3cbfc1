"""The CLI's `deploy` and `relay` on the indexed devchain: `deploy --mock-verifier --example
--json` prints the addresses (and the airdrop's queryHash and plan), a claimant asks on chain,
and `relay --once --dev` proves the request from the index and fulfils it: the airdrop stores
the node's own answer. Keys come from a file (deploy) and an environment variable (relay)."""

from __future__ import annotations

import json

from typer.testing import CliRunner
from web3 import Web3

from coprocessor.cli import app
from coprocessor.relayer.query_contract import RequestStatus

from support.catalogue import busiest_receiver
from support.onchain import claim_result, contract, mine, node_volume, request_claim
from support.relayer import funded_account

runner = CliRunner()
KEY_ENV = "CLI_RELAY_TEST_KEY"


def _deploy(env, tmp_path) -> dict:
    node = env[0]
    h, w3 = node.history, Web3(Web3.HTTPProvider(node.url))
    key_file = tmp_path / "deployer.key"
    key_file.write_text(funded_account(w3).key.hex())
    key_file.chmod(0o600)
    args = ["deploy", "--rpc", node.url, "--key-file", str(key_file), "--mock-verifier"]
    args += ["--example", "--token", "0x" + h.tokens["DUSD"].hex(), "--threshold", "1"]
    args += ["--from-block", str(h.first_block), "--to-block", str(h.last_block), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deploy_then_relay_once_fulfils_a_request(env, tmp_path):
    node, store, ix = env
    h, w3 = node.history, Web3(Web3.HTTPProvider(node.url))
    addresses = _deploy(env, tmp_path)
    assert addresses["mock_verifier"] is True and addresses["chain_id"] == 31337
    assert Web3.keccak(hexstr=addresses["plan"]).hex() == addresses["query_hash"].removeprefix("0x")
    token, first, last = h.tokens["DUSD"], h.first_block, h.last_block
    claimant = Web3.to_checksum_address(busiest_receiver(node.client, token, first, last))
    query_id = request_claim(w3, addresses, claimant, bytes.fromhex(addresses["plan"][2:]))
    mine(w3, 2)
    ix.run()  # the index reaches the head (the anchor) ...
    mine(w3)  # ... which the next block's blockhash() serves
    relayer_key = funded_account(w3).key.hex()
    args = ["relay", "--rpc", node.url, "--contract", addresses["coprocessor_query"]]
    args += ["--db", str(store.path), "--outbox", str(tmp_path / "outbox.sqlite")]
    args += ["--key-env", KEY_ENV, "--confirmations", "2", "--dev", "--once", "--json"]
    result = runner.invoke(app, args, env={KEY_ENV: relayer_key})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_requests"] == 1
    volume, transfers = node_volume(node.client, token, bytes.fromhex(claimant[2:]), first, last)
    assert volume > 0
    stored_volume, stored_transfers, anchor, proven, paid = claim_result(w3, addresses, claimant)
    assert (stored_volume, stored_transfers, proven, paid) == (volume, transfers, True, True)
    assert anchor > last
    query = contract(w3, "CoprocessorQuery", addresses["coprocessor_query"])
    assert query.functions.requests(query_id).call()[2] == RequestStatus.FULFILLED


def test_relay_refuses_a_key_on_two_sources(env, tmp_path):
    node = env[0]
    args = ["relay", "--rpc", node.url, "--contract", "0x" + "00" * 20, "--db", "x.duckdb"]
    args += ["--key-file", str(tmp_path / "k"), "--key-env", KEY_ENV]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "not both" in result.output
