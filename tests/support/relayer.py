"""Helpers of the relayer tests: a chain with the contracts deployed, requests, and a
test-only prover.

`FixedAnswerProver` is a FAKE AT THE PROVING SEAM, for tests only: it proves nothing. For
a request it builds the version-3 journal the query guest would commit for a fixed answer
(anchor = a recent real block of the anvil chain, checked by its block hash: historyRoot
zero; or with `history` = (anchor number, root) that block, anchored on that BlockHistory
root; params = the request's, rows = abi-encoded Row[] of `rows`) and the mock seal
RiscZeroMockVerifier accepts for it. The relayer checks and simulates what it returns
exactly as it would a real proof, which is what the tests exercise; real proving of requests
(coprocessor/relayer/prover.py) is tested end to end in tests/integration/test_onchain_delivery.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from coprocessor import ethcore
from coprocessor.contracts import load_artifact, mock_seal
from coprocessor.devchain import Anvil
from coprocessor.history.journal import HistoryJournal, decode_history_journal
from coprocessor.relayer import ExampleAirdrop, QueryContractTerms, RelayerConfig, deploy_contracts
from coprocessor.relayer.request import QueryRequest

JOURNAL_TYPES = "uint8 uint64 bytes32 uint64 bytes32 bytes32 uint64 uint64 bytes bytes".split()
NO_HISTORY_ROOT = bytes(32)
PLAN = b"test plan template: transfer volume of :token into :account in :from_block..:to_block"
QUERY_HASH = keccak(PLAN)
GWEI = 10**9
MAX_FEE_PER_GAS = 50 * GWEI
CALLBACK_GAS_LIMIT = 100_000
TERMS = QueryContractTerms(
    protocol_fee=10**15,
    fulfill_overhead_gas=300_000,
    deadline_blocks=1_000,
    max_callback_gas_limit=1_000_000,
)

EXAMPLE_TOKEN = "0x" + "11" * 20
EXAMPLE = ExampleAirdrop(
    query_hash=QUERY_HASH,
    token=EXAMPLE_TOKEN,
    from_block=1,
    to_block=40,
    threshold=100 * 10**18,
    reward_amount=10 * 10**18,
)


class FixedAnswerProver:
    """Test-only fake prover (module docstring): a correct journal for a fixed answer and a
    mock seal; `calls` counts the requests it answered."""

    def __init__(
        self,
        w3: Web3,
        image_id: bytes,
        *,
        rows: tuple[tuple[int, ...], ...] = ((0, 150 * 10**18, 3),),
        anchor_age: int = 3,
        history: tuple[int, bytes] | None = None,
    ):
        self.w3, self.image_id, self.rows, self.anchor_age = w3, image_id, rows, anchor_age
        self.history = history
        self.calls = 0
        self._lock = threading.Lock()

    def prove(self, request: QueryRequest) -> tuple[bytes, bytes]:
        with self._lock:
            self.calls += 1
        anchor, history_root = self.history or (
            max(0, self.w3.eth.block_number - self.anchor_age),
            NO_HISTORY_ROOT,
        )
        anchor_hash = bytes(self.w3.eth.get_block(anchor)["hash"])
        result = encode(["(uint256,uint256,uint256)[]"], [list(self.rows)])
        values = [3, request.chain_id, request.query_hash, anchor, anchor_hash, history_root]
        values += [0, anchor, request.params, result]
        journal = encode(JOURNAL_TYPES, values)
        return journal, mock_seal(self.image_id, journal)


def append_history(w3: Web3, block_history: str, journal: bytes, image_id: bytes) -> bytes:
    """The BlockHistory at `block_history` accepts (appendRecent, mock seal for the history
    image `image_id`) the history journal `journal`; returns its historyRoot."""
    history = w3.eth.contract(
        address=Web3.to_checksum_address(block_history), abi=load_artifact("BlockHistory").abi
    )
    tx_hash = history.functions.appendRecent(journal, mock_seal(image_id, journal)).transact(
        {"from": w3.eth.accounts[0]}
    )
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    root = decode_history_journal(journal).history_root
    assert history.functions.isKnownRoot(root).call()
    return root


def funded_account(w3: Web3, ether: int = 100) -> LocalAccount:
    account = Account.create()
    tx_hash = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": account.address, "value": ether * 10**18}
    )
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return account


def deploy_dev_token(w3: Web3) -> str:
    artifact = load_artifact("DevToken")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    owner = w3.eth.accounts[0]
    tx_hash = factory.constructor("Stand-in", "SI", [owner], 1).transact({"from": owner})
    return w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]


@dataclass
class RelayerChain:
    """An anvil with CoprocessorQuery deployed by `deploy_contracts`, and a relayer account."""

    anvil: Anvil
    w3: Web3
    addresses: dict
    relayer: LocalAccount
    image_id: bytes
    requesters: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        *,
        real_verifier_stand_in: bool = False,
        example: bool = False,
        block_history: bool = False,
        terms: QueryContractTerms = TERMS,
    ):
        """With `real_verifier_stand_in`, CoprocessorQuery's verifier is a contract that is not
        the mock (a DevToken: it has code and does not answer isMock()); with `block_history`,
        deploy_contracts deploys a BlockHistory for it too."""
        anvil = Anvil()
        try:
            w3 = Web3(Web3.HTTPProvider(anvil.url))
            deployer = funded_account(w3)
            verifier = deploy_dev_token(w3) if real_verifier_stand_in else None
            image_id = keccak(b"relayer tests: query guest image")
            addresses = deploy_contracts(
                anvil.url,
                deployer,
                verifier=verifier,
                mock_verifier=verifier is None,
                image_id=image_id,
                terms=terms,
                example=EXAMPLE if example else None,
                deploy_block_history=block_history,
            )
            chain = cls(anvil, w3, addresses, funded_account(w3), image_id)
            chain.requesters = list(w3.eth.accounts[2:10])
            return chain
        except BaseException:
            anvil.stop()
            raise

    def stop(self) -> None:
        self.anvil.stop()

    @property
    def query(self):
        return self.w3.eth.contract(
            address=self.addresses["coprocessor_query"],
            abi=load_artifact("CoprocessorQuery").abi,
        )

    def config(self, db_path: Path, **overrides) -> RelayerConfig:
        settings = dict(
            rpc_url=self.anvil.url,
            contract=self.addresses["coprocessor_query"],
            db_path=db_path,
            key_env="RELAYER_TEST_KEY_UNUSED",
            confirmations=2,
            image_id=self.image_id,
            poll_interval=0.1,
            replace_after_blocks=2,
            max_fee_per_gas_cap=1_000 * GWEI,
        )
        settings.update(overrides)
        return RelayerConfig(**settings)

    def accept_history(self, first: int, last: int) -> bytes:
        """The deployed BlockHistory accepts (appendRecent, mock seal) the state of blocks
        first..last, all in its forward MMR; returns the state's historyRoot."""
        blocks = [self.w3.eth.get_block(number) for number in range(first, last + 1)]
        hashes = [bytes(block["hash"]) for block in blocks]
        state = HistoryJournal(
            self_image_id=bytes.fromhex(self.addresses["history_image_id"][2:]),
            chain_id=self.w3.eth.chain_id,
            earliest=first,
            earliest_parent_hash=bytes(blocks[0]["parentHash"]),
            origin=first,
            latest=last,
            latest_hash=hashes[-1],
            forward=ethcore.mmr_append(ethcore.MmrPeaks(0, ()), hashes),
            backward=ethcore.MmrPeaks(0, ()),
        )
        return append_history(
            self.w3, self.addresses["block_history"], state.encode(), state.self_image_id
        )

    def prover(self, **kwargs) -> FixedAnswerProver:
        return FixedAnswerProver(self.w3, self.image_id, **kwargs)

    def send_query_transaction(self, requester: str, salt: int, max_fee_per_gas: int) -> dict:
        params = encode(["address", "uint256"], [requester, salt])
        value = self.query.functions.requiredPayment(CALLBACK_GAS_LIMIT, max_fee_per_gas).call()
        call = self.query.functions.sendQuery(
            QUERY_HASH,
            params,
            PLAN,
            "0x" + "00" * 19 + "ca",  # a callback without code: the call succeeds
            CALLBACK_GAS_LIMIT,
            max_fee_per_gas,
            requester,
            salt.to_bytes(8, "big"),
        )
        return call.build_transaction({"from": requester, "value": value, "gas": 400_000})

    def request(self, salt: int = 0, *, max_fee_per_gas: int = MAX_FEE_PER_GAS) -> bytes:
        """Sends one query (automine on); returns its queryId."""
        requester = self.requesters[salt % len(self.requesters)]
        tx = self.send_query_transaction(requester, salt, max_fee_per_gas)
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction(tx))
        assert receipt["status"] == 1
        (event,) = self.query.events.QueryRequested().process_receipt(receipt, errors=DISCARD)
        return bytes(event["args"]["queryId"])

    def airdrop(self):
        return self.w3.eth.contract(
            address=self.addresses["proven_airdrop"], abi=load_artifact("ProvenAirdrop").abi
        )

    def request_claim(self, claimant: str) -> bytes:
        """The example airdrop asks the coprocessor about `claimant`; returns the queryId."""
        airdrop = self.airdrop()
        fee = airdrop.functions.claimFee(MAX_FEE_PER_GAS).call()
        tx_hash = airdrop.functions.requestClaim(PLAN, MAX_FEE_PER_GAS).transact(
            {"from": claimant, "value": fee}
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        (event,) = self.query.events.QueryRequested().process_receipt(receipt, errors=DISCARD)
        return bytes(event["args"]["queryId"])

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])

    def fulfilled_events(self, query_id: bytes | None = None) -> list:
        """The Fulfilled events on the canonical chain (for one queryId if given)."""
        filters = {} if query_id is None else {"queryId": query_id}
        return list(
            self.query.events.Fulfilled().get_logs(
                from_block=0, to_block="latest", argument_filters=filters
            )
        )

    def status(self, query_id: bytes) -> int:
        return int(self.query.functions.requests(query_id).call()[2])

    def relayer_nonce(self, block: str = "latest") -> int:
        return self.w3.eth.get_transaction_count(self.relayer.address, block)
