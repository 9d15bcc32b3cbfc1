"""On-chain delivery on the indexed devchain: the example airdrop deployed for a devchain token
and range, claims requested on chain, and the node's own answer to compare with.

Shared by tests/integration/test_onchain_delivery.py and test_cli_relay.py.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from coprocessor.compiler import catalogue, compile
from coprocessor.contracts import load_artifact

from support.catalogue import TRANSFER, logs

QUERY = "transfer_volume_into_account"  # ProvenAirdrop's query
GWEI = 10**9
MAX_FEE_PER_GAS = 50 * GWEI


def airdrop_plan(token: bytes, first: int, last: int) -> bytes:
    """The template of queries/transfer_volume_into_account.sql (its keccak is the queryHash);
    the parameter values given here only type the parameters."""
    q = catalogue()[QUERY]
    params = {"token": token, "account": bytes(20), "from_block": first, "to_block": last}
    compiled = compile(q.sql, params=params, views=q.views)
    assert compiled.prepared is not None and compiled.prepared.prepared
    assert compiled.query_hash == keccak(compiled.plan_bytes)
    return compiled.plan_bytes


def node_volume(client, token: bytes, account: bytes, first: int, last: int) -> tuple[int, int]:
    """(sum of Transfer values into `account`, their count) from the node's eth_getLogs."""
    values = [v for _, t, v in logs(client, token, TRANSFER, first, last) if t[2][12:] == account]
    return sum(values), len(values)


def contract(w3: Web3, name: str, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def request_claim(w3: Web3, addresses: dict, claimant: str | LocalAccount, plan: bytes) -> bytes:
    """`claimant` (an unlocked node account, or a key signed with here: anvil's impersonation
    would leave transactions the indexer rightly rejects) asks the airdrop for its claim;
    returns the queryId."""
    airdrop = contract(w3, "ProvenAirdrop", addresses["proven_airdrop"])
    fee = airdrop.functions.claimFee(MAX_FEE_PER_GAS).call()
    call = airdrop.functions.requestClaim(plan, MAX_FEE_PER_GAS)
    if isinstance(claimant, str):
        tx_hash = call.transact({"from": claimant, "value": fee})
    else:
        tx = call.build_transaction(
            {
                "from": claimant.address,
                "value": fee,
                "nonce": w3.eth.get_transaction_count(claimant.address, "pending"),
            }
        )
        tx_hash = w3.eth.send_raw_transaction(claimant.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    query = contract(w3, "CoprocessorQuery", addresses["coprocessor_query"])
    (event,) = query.events.QueryRequested().process_receipt(receipt, errors=DISCARD)
    return bytes(event["args"]["queryId"])


def claim_result(w3: Web3, addresses: dict, claimant: str) -> tuple:
    """(volume, transfers, anchorNumber, proven, paid) the airdrop stored for `claimant`."""
    airdrop = contract(w3, "ProvenAirdrop", addresses["proven_airdrop"])
    return tuple(airdrop.functions.results(Web3.to_checksum_address(claimant)).call())


def reward_balance(w3: Web3, addresses: dict, account: str) -> int:
    token = contract(w3, "DevToken", addresses["reward_token"])
    return int(token.functions.balanceOf(Web3.to_checksum_address(account)).call())


def mine(w3: Web3, blocks: int = 1) -> None:
    w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]
