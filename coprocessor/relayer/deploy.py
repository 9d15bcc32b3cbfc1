"""`coprocessor deploy`: the contracts on a chain, from the compiled artifacts.

`deploy_contracts(rpc_url, account, verifier=ADDR | mock_verifier=True, example=...)`
deploys CoprocessorQuery (pinning the query guest's recorded image ID) against either a
given verifier (RISC Zero's verifier router on real networks) or a fresh
RiscZeroMockVerifier (local chains only: it accepts fake seals), and with `example` the
example consumer ProvenAirdrop with a DevToken as its reward, funded. Returns the
addresses, ready to print as JSON.

CoprocessorQuery pins a BlockHistory for journals anchored on a history root: none by
default (address(0): it accepts block-hash anchors only), an existing one
(`block_history=ADDR`), or with `deploy_block_history=True` a new BlockHistory against the
same verifier, pinning the history guest's recorded image ID (a devchain then takes history
anchors once its accumulator is appended to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.exceptions import TimeExhausted, Web3Exception

from coprocessor import zkvm
from coprocessor.compiler.journal import QUERY_GUEST
from coprocessor.contracts import load_artifact
from coprocessor.errors import DeployError, InvalidArgument, RelayerError
from coprocessor.history import HISTORY_GUEST
from coprocessor.relayer.fees import FeePolicy
from coprocessor.relayer.node import Node, connect

GWEI = 10**9
RECEIPT_TIMEOUT = 120.0
NO_BLOCK_HISTORY = "0x" + "00" * 20


@dataclass(frozen=True, kw_only=True)
class QueryContractTerms:
    """CoprocessorQuery's constructor arguments besides the verifier, the image ID and the
    BlockHistory.

    fulfill_overhead_gas covers fulfil's own gas besides the callback: with RISC Zero's
    router (Groth16, about 316k gas) about 500k; the mock verifier needs far less.
    """

    protocol_fee: int = 10**15
    fulfill_overhead_gas: int = 500_000
    deadline_blocks: int = 7_200
    max_callback_gas_limit: int = 5_000_000


@dataclass(frozen=True, kw_only=True)
class ExampleAirdrop:
    """ProvenAirdrop's terms. `query_hash` is keccak256 of the plan template of
    queries/transfer_volume_into_account.sql (the compiler prints it)."""

    query_hash: bytes
    token: str
    from_block: int
    to_block: int
    threshold: int
    reward_amount: int = 10 * 10**18
    reward_supply: int = 1_000 * 10**18


class _Deployer:
    def __init__(self, node: Node, account: LocalAccount, fee_policy: FeePolicy):
        self.node, self.account, self.fee_policy = node, account, fee_policy

    def send(self, call: Any) -> Any:
        """Builds, signs and sends a contract call or constructor; waits for its receipt."""
        w3 = self.node.w3
        fees = self.fee_policy.initial(self.node.base_fee())
        try:
            tx = call.build_transaction(
                {
                    "from": self.account.address,
                    "nonce": self.node.nonce(self.account.address, "pending"),
                    "chainId": self.node.chain_id,
                    "maxFeePerGas": fees.max_fee_per_gas,
                    "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                }
            )
            signed = self.account.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
        except (Web3Exception, TimeExhausted, ValueError) as exc:
            raise DeployError(f"deployment transaction failed: {exc}") from exc
        if receipt["status"] != 1:
            raise DeployError(f"deployment transaction 0x{bytes(tx_hash).hex()} reverted")
        return receipt

    def deploy(self, name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = self.node.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.send(factory.constructor(*args))
        return to_checksum_address(receipt["contractAddress"])

    def call(self, name: str, address: str, function: str, *args: Any) -> None:
        abi = load_artifact(name).abi
        contract = self.node.w3.eth.contract(address=to_checksum_address(address), abi=abi)
        self.send(contract.functions[function](*args))


def deploy_contracts(
    rpc_url: str,
    account: LocalAccount,
    *,
    verifier: str | None = None,
    mock_verifier: bool = False,
    example: ExampleAirdrop | None = None,
    image_id: bytes | None = None,
    block_history: str | None = None,
    deploy_block_history: bool = False,
    history_image_id: bytes | None = None,
    terms: QueryContractTerms | None = None,
    max_fee_per_gas_cap: int = 500 * GWEI,
) -> dict[str, Any]:
    """Deploys the contracts (module docstring); returns their addresses and what they pin."""
    if (verifier is None) == (not mock_verifier):
        raise InvalidArgument("deploy needs a verifier address or mock_verifier=True, not both")
    if block_history is not None and deploy_block_history:
        raise InvalidArgument("deploy takes a BlockHistory address or deploys one, not both")
    if history_image_id is not None and not deploy_block_history:
        raise InvalidArgument("a history image ID is for deploy_block_history=True only")
    terms = terms or QueryContractTerms()
    image_id = image_id or bytes.fromhex(zkvm.recorded_image_ids()[QUERY_GUEST])
    if deploy_block_history:
        history_image_id = history_image_id or bytes.fromhex(
            zkvm.recorded_image_ids()[HISTORY_GUEST]
        )
    try:
        node = Node(connect(rpc_url))
        fee_policy = FeePolicy(
            priority_fee_per_gas=min(GWEI, max_fee_per_gas_cap),
            max_fee_per_gas_cap=max_fee_per_gas_cap,
        )
        deployer = _Deployer(node, account, fee_policy)
        if verifier is None:
            verifier = deployer.deploy("RiscZeroMockVerifier")
        elif not node.call(lambda: node.w3.eth.get_code(to_checksum_address(verifier))):
            raise DeployError(f"no contract at the verifier address {verifier}")
        if history_image_id is not None:
            block_history = deployer.deploy(
                "BlockHistory", to_checksum_address(verifier), history_image_id
            )
        elif block_history is not None and not node.call(
            lambda: node.w3.eth.get_code(to_checksum_address(block_history))
        ):
            raise DeployError(f"no contract at the BlockHistory address {block_history}")
        query = deployer.deploy(
            "CoprocessorQuery",
            to_checksum_address(verifier),
            image_id,
            to_checksum_address(block_history or NO_BLOCK_HISTORY),
            terms.protocol_fee,
            terms.fulfill_overhead_gas,
            terms.deadline_blocks,
            terms.max_callback_gas_limit,
        )
        addresses: dict[str, Any] = {
            "chain_id": node.chain_id,
            "verifier": to_checksum_address(verifier),
            "mock_verifier": mock_verifier,
            "coprocessor_query": query,
            "query_image_id": "0x" + image_id.hex(),
            "block_history": None if block_history is None else to_checksum_address(block_history),
        }
        if history_image_id is not None:
            addresses["history_image_id"] = "0x" + history_image_id.hex()
        if example is not None:
            addresses |= _deploy_example(deployer, query, example)
    except DeployError:
        raise
    except RelayerError as exc:  # the node failed
        raise DeployError(f"deploying to {rpc_url} failed: {exc}") from exc
    return addresses


def _deploy_example(deployer: _Deployer, query: str, example: ExampleAirdrop) -> dict[str, str]:
    owner = deployer.account.address
    reward = deployer.deploy("DevToken", "Airdrop reward", "RWD", [owner], example.reward_supply)
    airdrop = deployer.deploy(
        "ProvenAirdrop",
        query,
        example.query_hash,
        to_checksum_address(example.token),
        example.from_block,
        example.to_block,
        example.threshold,
        reward,
        example.reward_amount,
    )
    deployer.call("DevToken", reward, "transfer", airdrop, example.reward_supply)
    return {"reward_token": reward, "proven_airdrop": airdrop}
