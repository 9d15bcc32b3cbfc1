"""`coprocessor serve --relay`: one process indexes the devchain (follow mode), serves gRPC and
relays for the example airdrop (mock verifier, `--relay-dev`), proving from the server's own
index (no second DuckDB open of the file). A claim requested on chain is fulfilled with the
node's own answer, then SIGTERM stops everything and the process exits 0. And a full proving
queue (`--max-pending 1`, the one job held by its worker) answers RESOURCE_EXHAUSTED through
the gRPC client."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner
from web3 import Web3

from coprocessor.cli import app
from coprocessor.errors import QueueFullError
from coprocessor.queue.worker import HOLD_ENV
from coprocessor.relayer import ExampleAirdrop, deploy_contracts
from coprocessor.relayer.query_contract import RequestStatus
from coprocessor.sdk.client import Client

from support.catalogue import CAT, busiest_receiver, params_for
from support.onchain import airdrop_plan, claim_result, contract, mine, node_volume, request_claim
from support.relayer import funded_account
from support.serve import ServeProcess

KEY_ENV = "SERVE_RELAY_TEST_KEY"
CONFIRMATIONS = 2
FULFIL_SECONDS = 45


@pytest.fixture(scope="module")
def airdrop(devnode):
    """The airdrop deployed for DUSD over the devchain's history (threshold 1 wei)."""
    h, w3 = devnode.history, Web3(Web3.HTTPProvider(devnode.url))
    token, first, last = h.tokens["DUSD"], h.first_block, h.last_block
    plan = airdrop_plan(token, first, last)
    example = ExampleAirdrop(
        query_hash=Web3.keccak(plan),
        token="0x" + token.hex(),
        from_block=first,
        to_block=last,
        threshold=1,
    )
    addresses = deploy_contracts(
        devnode.url, funded_account(w3), mock_verifier=True, example=example
    )
    return w3, addresses, plan


def _wait_fulfilled(w3: Web3, addresses: dict, query_id: bytes, srv: ServeProcess) -> None:
    """Mines a block at a time (confirmations) until the request is Fulfilled on chain."""
    query = contract(w3, "CoprocessorQuery", addresses["coprocessor_query"])
    deadline = time.monotonic() + FULFIL_SECONDS
    while time.monotonic() < deadline:
        if query.functions.requests(query_id).call()[2] == RequestStatus.FULFILLED:
            return
        assert srv.proc.poll() is None, srv.output()
        mine(w3)
        time.sleep(0.5)
    raise AssertionError(f"request not fulfilled:\n{srv.output()}")


def test_serve_relays_a_claim_from_its_own_index(devnode, airdrop, tmp_path):
    w3, addresses, plan = airdrop
    h = devnode.history
    token, first, last = h.tokens["DUSD"], h.first_block, h.last_block
    claimant = Web3.to_checksum_address(busiest_receiver(devnode.client, token, first, last))
    query_id = request_claim(w3, addresses, claimant, plan)
    mine(w3, CONFIRMATIONS)
    srv = ServeProcess(
        tmp_path / "index.duckdb",
        devnode.url,
        env={KEY_ENV: funded_account(w3).key.hex()},
        flags=("--relay", "--relay-dev"),
        contract=addresses["coprocessor_query"],
        key_env=KEY_ENV,
        confirmations=CONFIRMATIONS,
        index_poll=0.2,
    )
    try:
        assert addresses["coprocessor_query"].lower() in srv.output().lower()  # relaying_for
        _wait_fulfilled(w3, addresses, query_id, srv)
        volume, transfers = node_volume(
            devnode.client, token, bytes.fromhex(claimant[2:]), first, last
        )
        assert volume > 0
        stored = claim_result(w3, addresses, claimant)
        assert (stored[0], stored[1], stored[3], stored[4]) == (volume, transfers, True, True)
        assert srv.terminate() == 0, srv.output()
    finally:
        srv.kill()
    output = srv.output()
    assert "relayer.started" in output and "locked" not in output.lower()
    assert '"event": "stopped"' in output


def test_a_full_queue_is_resource_exhausted(devnode, tmp_path):
    """One pending job allowed; the first is held by the one worker: the second is refused."""
    srv = ServeProcess(tmp_path / "index.duckdb", devnode.url, env={HOLD_ENV: "5"}, max_pending=1)
    try:
        srv.wait_serving()
        with Client(srv.target, timeout=60) as client:
            query = "code_hash_at_block"
            client.submit(CAT[query], params=params_for((devnode,), query), dev=True)
            with pytest.raises(QueueFullError):
                client.submit(CAT[query], params=params_for((devnode,), query), dev=True)
        assert srv.terminate() == 0, srv.output()
    finally:
        srv.kill()


def test_relay_options_need_relay_and_a_contract(tmp_path):
    runner = CliRunner()
    base = ["serve", "--db", str(tmp_path / "i.duckdb"), "--rpc", "http://127.0.0.1:1"]
    result = runner.invoke(app, [*base, "--contract", "0x" + "00" * 20, "--relay-dev"])
    assert result.exit_code == 1 and "only apply with --relay" in result.output
    result = runner.invoke(app, [*base, "--relay", "--key-env", KEY_ENV])
    assert result.exit_code == 1 and "--relay needs --contract" in result.output
    assert not (tmp_path / "i.duckdb").exists()  # refused before anything was opened
