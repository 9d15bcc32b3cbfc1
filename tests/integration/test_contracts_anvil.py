"""The compiled contracts (build/contracts, from `make contracts`) on a real anvil: the example
consumer requests a query, a relayer account fulfils it with a journal and a mock seal made in
Python, and the callback's stored result and every balance come out exact. Anchors are checked
by blockhash() and, beyond 256 blocks, by anvil's own EIP-2935 history contract; a journal
anchored on a history root goes through once the deployed BlockHistory has accepted that state
(appendRecent of a state of real anvil blocks, mock seal). (Anchors older than EIP-2935 serves
are left to the forge tests: anvil mines 8191 blocks too slowly.)"""

from __future__ import annotations

import hashlib

import pytest
from eth_abi import encode
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from coprocessor import ethcore
from coprocessor.contracts import load_artifact, mock_seal
from coprocessor.devchain import Anvil
from coprocessor.history.journal import HistoryJournal

IMAGE_ID = hashlib.sha256(b"query guest image (anvil test)").digest()
HISTORY_IMAGE_ID = hashlib.sha256(b"history guest image (anvil test)").digest()
PLAN = b"plan template: transfer volume of :token into :account in :from_block..:to_block"
QUERY_HASH = keccak(PLAN)
TOKEN = "0x" + "11" * 20
FROM_BLOCK, TO_BLOCK = 1, 40
PROTOCOL_FEE = 10**15
OVERHEAD_GAS, DEADLINE_BLOCKS, MAX_CALLBACK_GAS = 300_000, 100, 5_000_000
THRESHOLD, REWARD = 100 * 10**18, 10 * 10**18
MAX_FEE_PER_GAS = 50 * 10**9
JOURNAL_TYPES = "uint8 uint64 bytes32 uint64 bytes32 bytes32 uint64 uint64 bytes bytes".split()
NO_HISTORY_ROOT = bytes(32)
NO_BLOCK_HISTORY = "0x" + "00" * 20


class Chain:
    """web3 on the anvil, with the contracts deployed from the compiled artifacts."""

    def __init__(self, anvil: Anvil):
        self.w3 = Web3(Web3.HTTPProvider(anvil.url))
        accounts = self.w3.eth.accounts
        self.deployer, self.relayer = accounts[0], accounts[1]
        self.claimants = accounts[2:7]
        self.verifier = self.deploy("RiscZeroMockVerifier")
        self.history = self.deploy("BlockHistory", self.verifier.address, HISTORY_IMAGE_ID)
        self.query = self.deploy_query(self.history.address)
        self.reward = self.deploy("DevToken", "Reward", "RWD", [self.deployer], 1_000 * 10**18)
        self.airdrop = self.deploy(
            "ProvenAirdrop",
            self.query.address,
            QUERY_HASH,
            TOKEN,
            FROM_BLOCK,
            TO_BLOCK,
            THRESHOLD,
            self.reward.address,
            REWARD,
        )
        self.transact(self.reward.functions.transfer(self.airdrop.address, 100 * 10**18))

    def deploy_query(self, block_history: str):
        return self.deploy(
            "CoprocessorQuery",
            self.verifier.address,
            IMAGE_ID,
            block_history,
            PROTOCOL_FEE,
            OVERHEAD_GAS,
            DEADLINE_BLOCKS,
            MAX_CALLBACK_GAS,
        )

    def deploy(self, name: str, *args):
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.transact(factory.constructor(*args))
        return self.w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)

    def transact(self, call, sender=None, **tx):
        tx_hash = call.transact({"from": sender or self.deployer, **tx})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt.status == 1, f"transaction reverted: {receipt}"
        return receipt

    def mine(self, blocks: int) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])


@pytest.fixture(scope="module")
def chain():
    with Anvil() as anvil:
        yield Chain(anvil)


def journal_for(
    chain: Chain,
    claimant: str,
    anchor_number: int,
    volume: int,
    transfers: int,
    history_root: bytes = NO_HISTORY_ROOT,
):
    params = encode(
        ["address", "address", "uint256", "uint256"], [TOKEN, claimant, FROM_BLOCK, TO_BLOCK]
    )
    result = encode(["(uint256,uint256,uint256)[]"], [[(0, volume, transfers)]])
    anchor_hash = bytes(chain.w3.eth.get_block(anchor_number).hash)
    values = [
        3,
        chain.w3.eth.chain_id,
        QUERY_HASH,
        anchor_number,
        anchor_hash,
        history_root,
        FROM_BLOCK,
        TO_BLOCK,
        params,
        result,
    ]
    return encode(JOURNAL_TYPES, values), params


def request_claim(chain: Chain, claimant: str) -> tuple[bytes, int, dict]:
    fee = chain.airdrop.functions.claimFee(MAX_FEE_PER_GAS).call()
    assert fee == MAX_FEE_PER_GAS * (OVERHEAD_GAS + 200_000) + PROTOCOL_FEE
    receipt = chain.transact(
        chain.airdrop.functions.requestClaim(PLAN, MAX_FEE_PER_GAS), sender=claimant, value=fee
    )
    (event,) = chain.query.events.QueryRequested().process_receipt(receipt, errors=DISCARD)
    return bytes(event.args.queryId), fee, dict(event.args)


def accept_history(chain: Chain, last: int) -> tuple[int, bytes]:
    """The BlockHistory accepts (appendRecent, mock seal) the state of anvil's blocks from its
    origin (on the first call: last - 15) to `last`, all in the forward MMR; returns (origin,
    historyRoot)."""
    stored = chain.history.functions
    has_state = bytes(stored.historyRoot().call()) != bytes(32)
    first = stored.origin().call() if has_state else last - 15
    blocks = [chain.w3.eth.get_block(number) for number in range(first, last + 1)]
    hashes = [bytes(block.hash) for block in blocks]
    state = HistoryJournal(
        self_image_id=HISTORY_IMAGE_ID,
        chain_id=chain.w3.eth.chain_id,
        earliest=first,
        earliest_parent_hash=bytes(blocks[0].parentHash),
        origin=first,
        latest=last,
        latest_hash=hashes[-1],
        forward=ethcore.mmr_append(ethcore.MmrPeaks(0, ()), hashes),
        backward=ethcore.MmrPeaks(0, ()),
    )
    journal = state.encode()
    chain.transact(
        chain.history.functions.appendRecent(journal, mock_seal(HISTORY_IMAGE_ID, journal))
    )
    assert bytes(stored.historyRoot().call()) == state.history_root
    return first, state.history_root


def fulfil_and_check(
    chain: Chain, claimant: str, anchor_age: int, history: tuple[int, bytes] | None = None
) -> None:
    """Request, mine `anchor_age` blocks, fulfil anchored `anchor_age` blocks back (by block
    hash), or with `history` = (anchor number, historyRoot) on that root."""
    w3 = chain.w3
    query_id, escrow, requested = request_claim(chain, claimant)
    assert requested["sender"] == chain.airdrop.address
    assert bytes(requested["plan"]) == PLAN and bytes(requested["queryHash"]) == QUERY_HASH
    assert requested["refundee"] == claimant and requested["escrow"] == escrow

    chain.mine(anchor_age)
    if history is None:  # fulfil mines the next block
        anchor_number, history_root = w3.eth.block_number - anchor_age + 1, NO_HISTORY_ROOT
    else:
        anchor_number, history_root = history
    journal, params = journal_for(chain, claimant, anchor_number, 150 * 10**18, 3, history_root)
    assert bytes(requested["params"]) == params
    seal = mock_seal(IMAGE_ID, journal)

    relayer_before, claimant_before = (
        w3.eth.get_balance(chain.relayer),
        w3.eth.get_balance(claimant),
    )
    receipt = chain.transact(
        chain.query.functions.fulfill(query_id, journal, seal),
        sender=chain.relayer,
        maxFeePerGas=MAX_FEE_PER_GAS,
        maxPriorityFeePerGas=2 * 10**9,
    )
    (fulfilled,) = chain.query.events.Fulfilled().process_receipt(receipt, errors=DISCARD)
    assert chain.query.events.CallbackFailed().process_receipt(receipt, errors=DISCARD) == ()
    settled = fulfilled.args
    assert settled.callbackSucceeded and settled.fulfiller == chain.relayer

    # every wei: the relayer gets gas x price + fee, the claimant the rest, nothing stays behind
    price = min(receipt.effectiveGasPrice, MAX_FEE_PER_GAS)
    assert settled.payment == settled.gasCharged * price + PROTOCOL_FEE
    assert settled.payment + settled.refund == escrow
    gas_cost = receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(chain.relayer) - relayer_before == settled.payment - gas_cost
    assert w3.eth.get_balance(claimant) - claimant_before == settled.refund
    assert w3.eth.get_balance(chain.query.address) == 0
    # the fulfiller is charged about the gas its transaction used (the part fulfill() cannot
    # meter, before and after it, is a calibrated constant)
    assert abs(settled.gasCharged - receipt.gasUsed) <= 0.05 * receipt.gasUsed

    # the callback's stored result
    volume, transfers, stored_anchor, proven, paid = chain.airdrop.functions.results(
        claimant
    ).call()
    assert (volume, transfers, stored_anchor, proven, paid) == (
        150 * 10**18,
        3,
        anchor_number,
        True,
        True,
    )
    assert chain.reward.functions.balanceOf(claimant).call() == REWARD
    assert chain.query.functions.requests(query_id).call()[2] == 2  # Status.Fulfilled


def test_mock_verifier_says_it_is_one(chain):
    assert chain.verifier.functions.isMock().call() is True
    assert chain.query.functions.verifier().call() == chain.verifier.address
    assert bytes(chain.query.functions.queryImageId().call()) == IMAGE_ID
    assert chain.query.functions.blockHistory().call() == chain.history.address
    assert bytes(chain.history.functions.historyImageId().call()) == HISTORY_IMAGE_ID


def test_request_fulfil_callback_with_anchor_in_blockhash_window(chain):
    fulfil_and_check(chain, chain.claimants[0], anchor_age=10)


def test_request_fulfil_callback_with_anchor_from_eip2935(chain):
    fulfil_and_check(chain, chain.claimants[1], anchor_age=1_000)


def test_forged_anchor_is_rejected_on_chain(chain):
    w3, claimant = chain.w3, chain.claimants[2]
    query_id, _, _ = request_claim(chain, claimant)
    chain.mine(5)
    journal, _ = journal_for(chain, claimant, w3.eth.block_number - 3, 150 * 10**18, 3)
    forged = bytearray(journal)
    forged[4 * 32 : 5 * 32] = keccak(b"not the anchor")
    call = chain.query.functions.fulfill(
        query_id, bytes(forged), mock_seal(IMAGE_ID, bytes(forged))
    )
    with pytest.raises(Exception, match="0x") as raised:
        call.call({"from": chain.relayer})
    selector = "0x" + keccak(b"AnchorMismatch(uint256,bytes32,bytes32)")[:4].hex()
    assert selector in str(raised.value.args)
    # the untouched journal goes through
    chain.transact(
        chain.query.functions.fulfill(query_id, journal, mock_seal(IMAGE_ID, journal)),
        sender=chain.relayer,
    )


def test_request_fulfil_callback_with_anchor_on_a_history_root(chain):
    origin, root = accept_history(chain, chain.w3.eth.block_number - 5)
    anchor_number = origin + 3
    # the accumulator moves on: the root stays known, and the journal anchored on it valid
    assert accept_history(chain, chain.w3.eth.block_number - 1)[1] != root
    fulfil_and_check(chain, chain.claimants[3], anchor_age=300, history=(anchor_number, root))

    # a CoprocessorQuery without a BlockHistory refuses the same, known, root
    without = chain.deploy_query(NO_BLOCK_HISTORY)
    assert int(without.functions.blockHistory().call(), 16) == 0
    journal, _ = journal_for(chain, chain.claimants[3], anchor_number, 150 * 10**18, 3, root)
    call = without.functions.fulfillOffchain(
        journal, mock_seal(IMAGE_ID, journal), chain.relayer, b""
    )
    selector = "0x" + keccak(b"HistoryAnchorsDisabled()")[:4].hex()
    assert selector in revert_data(call, chain.relayer)


def revert_data(call, sender: str) -> str:
    """What eth_call of `call` reverted with (its data hex among the error's arguments)."""
    with pytest.raises(Exception, match="0x") as raised:
        call.call({"from": sender})
    return str(raised.value.args)


def test_history_anchor_needs_a_root_the_blockhistory_knows(chain):
    claimant = chain.claimants[4]
    query_id, _, _ = request_claim(chain, claimant)
    head = chain.w3.eth.block_number
    unknown = keccak(b"a root BlockHistory never accepted")
    journal, _ = journal_for(chain, claimant, head - 3, 150 * 10**18, 3, unknown)
    call = chain.query.functions.fulfill(query_id, journal, mock_seal(IMAGE_ID, journal))
    selector = "0x" + keccak(b"UnknownHistoryRoot(bytes32)")[:4].hex()
    assert selector in revert_data(call, chain.relayer)
