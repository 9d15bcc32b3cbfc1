"""coprocessor.indexer's per-block validation on a real anvil block: tampered data is refused,
naming the block and the check, and nothing of a bad block is kept."""

import copy

import pytest

from coprocessor.errors import InvalidBlockError
from coprocessor.indexer.ingest import ingest_block
from coprocessor.indexer.rows import Rows
from coprocessor.types import Tracked


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


@pytest.mark.parametrize(
    "path,value,check",
    [
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
        (
            ("receipts", 1, "logs"),
            lambda v: v[:-1] if v else [{"address": "0x" + "11" * 20, "topics": [], "data": "0x"}],
            "receipts_root",
        ),
        (("proof", "balance"), lambda v: hex(int(v, 16) + 1), "account_proof"),
        (("proof", "accountProof"), lambda v: v[:-1], "account_proof"),
        (("proof", "storageProof", 0, "value"), lambda v: hex(int(v, 16) + 1), "storage_proof"),
        (("proof", "storageProof", 1, "proof"), lambda v: v[:-1], "storage_proof"),
    ],
    ids=lambda x: "-".join(map(str, x)) if isinstance(x, tuple) else None,
)
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
