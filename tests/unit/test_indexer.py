"""coprocessor.indexer: encodings and per-block validation on real anvil and mainnet data."""

import copy
import json
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from coprocessor.errors import InvalidBlockError
from coprocessor.indexer import encode
from coprocessor.indexer.ingest import ingest_block
from coprocessor.indexer.proofs import verify_proof
from coprocessor.indexer.rows import Rows
from coprocessor.types import Tracked, hex_bytes

from support import mainnet

REPO = Path(__file__).resolve().parents[2]
BLOCKS = mainnet.files("blocks")
HEADERS = [p for p in mainnet.files("headers") if "hash" in mainnet.load(p)]


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_mainnet_transactions_reencode_to_their_hash(path):
    block = mainnet.load(path)
    for tx in block["transactions"]:
        assert keccak(encode.raw_transaction(tx)) == hex_bytes(tx["hash"]), tx["type"]


@pytest.mark.parametrize("path", mainnet.params(HEADERS + BLOCKS))
def test_mainnet_headers_reencode_to_their_hash(path):
    block = mainnet.load(path)
    assert keccak(encode.header_rlp(block)) == hex_bytes(block["hash"])


def test_header_with_a_gap_in_fork_fields_is_refused():
    mainnet.require()
    block = dict(mainnet.load(BLOCKS[0]))
    block["baseFeePerGas"], block["withdrawalsRoot"] = None, "0x" + "00" * 32
    with pytest.raises(Exception, match="withdrawalsRoot"):
        encode.header_rlp(block)


@pytest.fixture(scope="module")
def sample(devnode):
    """A busy devchain block (with logs and a failed tx), its receipts and a proof."""
    c, h = devnode.client, devnode.history
    for n in range(h.first_block + 1, h.last_block + 1):
        rs = c.call("eth_getBlockReceipts", [hex(n)])
        if any(r["status"] == "0x0" for r in rs) and sum(len(r["logs"]) for r in rs) >= 3:
            break
    token, owner, spender = h.approvals[0]
    from coprocessor.devchain import allowance_slot, balance_slot
    slots = (balance_slot(owner), allowance_slot(owner, spender))
    proof = c.call("eth_getProof", ["0x" + token.hex(), ["0x" + s.hex() for s in slots], hex(n)])
    return n, c.get_block(n), rs, proof, Tracked(token, slots)


def ingest(sample, mutate=None):
    n, block, receipts, proof, tracked = copy.deepcopy(sample)
    if mutate:
        mutate(block, receipts, proof)
    rows = Rows()
    ingest_block(rows, block, receipts, number=n, proofs=[(proof, tracked)])
    return rows


def test_valid_block_gives_rows(sample):
    rows = ingest(sample)
    n, block, receipts, _, _ = sample
    assert rows.blocks == 1 and rows.first == rows.last == n
    assert len(rows.cols["transactions"]["raw"]) == len(block["transactions"]) == len(receipts)
    assert len(rows.cols["logs"]["data"]) == sum(len(r["logs"]) for r in receipts)
    assert rows.cols["storage"]["value"][0] != "0" and len(rows.cols["accounts"]["proof"][0]) > 0


def _set(path, value):
    def mutate(block, receipts, proof):
        obj = {"block": block, "receipts": receipts, "proof": proof}
        *keys, last = path
        for k in keys:
            obj = obj[k]
        obj[last] = value(obj[last]) if callable(value) else value
    return mutate


def _flip(h: str) -> str:
    return h[:-1] + ("0" if h[-1] != "0" else "1")


@pytest.mark.parametrize("path,value,check", [
    (("block", "stateRoot"), _flip, "header_hash"),
    (("block", "hash"), _flip, "header_hash"),
    (("block", "number"), lambda v: hex(int(v, 16) + 1), "block_number"),
    (("block", "transactions", 0, "value"), lambda v: hex(int(v, 16) + 1), "transaction_hash"),
    (("block", "transactions", 1), None, "transactions"),
    (("block", "withdrawals"), None, "withdrawals_missing"),
    (("receipts", 0, "status"), lambda v: "0x0" if v == "0x1" else "0x1", "receipts_root"),
    (("receipts", 0, "cumulativeGasUsed"), lambda v: hex(int(v, 16) + 1), "receipt_gas_used"),
    (("receipts", 0, "transactionHash"), _flip, "receipt_tx_hash"),
    (("receipts", 0, "gasUsed"), lambda v: hex(int(v, 16) - 1), "receipt_gas_used"),
    (("receipts", 1, "logs"), lambda v: v[:-1] if v else [{"address": "0x" + "11" * 20, "topics": [], "data": "0x"}], "receipts_root"),
    (("proof", "balance"), lambda v: hex(int(v, 16) + 1), "account_proof"),
    (("proof", "accountProof"), lambda v: v[:-1], "account_proof"),
    (("proof", "storageProof", 0, "value"), lambda v: hex(int(v, 16) + 1), "storage_proof"),
    (("proof", "storageProof", 1, "proof"), lambda v: v[:-1], "storage_proof"),
], ids=lambda x: "-".join(map(str, x)) if isinstance(x, tuple) else None)  # fmt: skip
def test_tampered_data_is_rejected_naming_block_and_check(sample, path, value, check):
    rows = Rows()
    with pytest.raises(InvalidBlockError) as e:
        n, *_ = sample
        m = copy.deepcopy(sample)
        _set(path, value)(m[1], m[2], m[3])
        ingest_block(rows, m[1], m[2], number=n, proofs=[(m[3], m[4])])
    assert e.value.check == check and e.value.block == sample[0]
    assert rows.blocks == 0 and not rows.cols["blocks"]["number"]  # nothing of the block kept


def test_receipts_without_gas_used_are_indexed_with_the_derived_value(sample):
    """gasUsed is not consensus data: a node may omit it. The stored gas_used is the cumulative
    difference (what the guest proves), and nothing fails half-way through a block's rows."""
    want = [int(r["gasUsed"], 16) for r in sample[2]]

    def drop(b, receipts, p):
        for r in receipts:
            del r["gasUsed"]

    rows = ingest(sample, drop)
    assert rows.cols["receipts"]["gas_used"] == want


def test_receipt_count_mismatch(sample):
    with pytest.raises(InvalidBlockError, match="receipt_count"):
        ingest(sample, lambda b, r, p: r.pop())


def test_wrong_parent(sample):
    n, block, receipts, proof, tracked = sample
    with pytest.raises(InvalidBlockError, match="parent_hash"):
        ingest_block(Rows(), copy.deepcopy(block), receipts, number=n, parent_hash=bytes(32))


PROOFS = mainnet.files("proofs")


@pytest.mark.parametrize("path", mainnet.params(PROOFS))
def test_mainnet_proofs_verify_through_the_ingest_check(path):
    d = mainnet.load(path)
    n = int(d["blockNumber"], 16) if isinstance(d["blockNumber"], str) else d["blockNumber"]
    from coprocessor.types import parse_slot
    slots = tuple(parse_slot(k) for k in d["request"]["storageKeys"])
    acct, storage = verify_proof(n, hex_bytes(d["stateRoot"]), d["result"], slots)
    assert acct[4] == int(d["result"]["balance"], 16)
    claimed = {parse_slot(sp["key"]): int(sp["value"], 16) for sp in d["result"]["storageProof"]}
    assert {slot: v for _, _, slot, v, _ in storage} == claimed
    bad = json.loads(json.dumps(d["result"]))
    bad["balance"] = hex(int(bad["balance"], 16) + 1)
    with pytest.raises(InvalidBlockError, match="account_proof"):
        verify_proof(n, hex_bytes(d["stateRoot"]), bad, slots)


RLP_VECTORS = REPO / "tests" / "fixtures" / "ethereum-tests" / "RLPTests" / "rlptest.json"


def _rlp_input(x):
    """An rlptest.json input as Python: "#n" is the integer n, other text its bytes."""
    if isinstance(x, list):
        return [_rlp_input(v) for v in x]
    if isinstance(x, str):
        return int(x[1:]) if x.startswith("#") else x.encode("latin-1")
    return x


def test_rlp_encoding_matches_the_ethereum_test_vectors():
    cases = json.loads(RLP_VECTORS.read_text())
    assert len(cases) >= 28
    for name, case in cases.items():
        assert encode.rlp_encode(_rlp_input(case["in"])).hex() == case["out"][2:], name


def test_rlp_refuses_what_it_cannot_encode():
    from coprocessor.errors import InvalidArgument

    for item in (-1, None, 1.5, [b"ok", [-7]]):
        with pytest.raises(InvalidArgument):
            encode.rlp_encode(item)
