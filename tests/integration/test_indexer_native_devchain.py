"""The indexer's native fast path on a real anvil devchain: the same tables as the Python
reference path, declines what it does not accept, and a lying node is still reported."""

import copy

import orjson
import pytest

from coprocessor.devchain import allowance_slot, balance_slot
from coprocessor.errors import InvalidBlockError
from coprocessor.indexer import Indexer, IndexerConfig
from coprocessor.indexer.native import ingest_native
from coprocessor.store import Store
from coprocessor.types import Tracked

from support.indexer import index_into_memory


def test_devchain_tables_equal_the_reference_path(devnode, native_calls):
    h = devnode.history
    token, owner, spender = h.approvals[0]
    tracked = (
        Tracked(token, (balance_slot(owner), allowance_slot(owner, spender))),
        Tracked(owner, ()),
    )
    for tr, first in (((), 0), (tracked, 1)):  # anvil has no state proofs for genesis
        fast = index_into_memory(
            devnode.client, IndexerConfig(chunk_blocks=7, tracked=tr), first, h.last_block
        )
        assert native_calls["taken"] > 0 and native_calls["declined"] == 0
        ref = index_into_memory(
            devnode.client,
            IndexerConfig(chunk_blocks=7, tracked=tr, native=False),
            first,
            h.last_block,
        )
        assert fast == ref
        assert sum(len(v) for v in fast[0].values()) > 3 * h.last_block


def _sample(devnode, n_blocks=3):
    c, h = devnode.client, devnode.history
    first = h.last_block - n_blocks + 1
    calls = [
        x
        for n in range(first, h.last_block + 1)
        for x in (("eth_getBlockByNumber", [hex(n), True]), ("eth_getBlockReceipts", [hex(n)]))
    ]
    return first, c.batch(calls)


def _body(results):
    return orjson.dumps([{"jsonrpc": "2.0", "id": i, "result": r} for i, r in enumerate(results)])


def _flip(h: str) -> str:
    return h[:-1] + ("0" if h[-1] != "0" else "1")


MUTATIONS = {
    "header_field": lambda b, r: b.__setitem__("stateRoot", _flip(b["stateRoot"])),
    "hash": lambda b, r: b.__setitem__("hash", _flip(b["hash"])),
    "number": lambda b, r: b.__setitem__("number", hex(int(b["number"], 16) + 1)),
    "tx_value": lambda b, r: b["transactions"][0].__setitem__(
        "value", hex(int(b["transactions"][0]["value"], 16) + 1)
    ),
    "tx_as_hash": lambda b, r: b["transactions"].__setitem__(1, b["transactions"][1]["hash"]),
    "tx_type_unknown": lambda b, r: b["transactions"][0].__setitem__("type", "0x7"),
    "tx_to_number": lambda b, r: b["transactions"][0].__setitem__("nonce", 5),
    "tx_uppercase_prefix": lambda b, r: b["transactions"][0].__setitem__(
        "input", "0X" + b["transactions"][0]["input"][2:]
    ),
    "receipt_status": lambda b, r: r[0].__setitem__(
        "status", "0x0" if r[0]["status"] == "0x1" else "0x1"
    ),
    "receipt_cumulative": lambda b, r: r[0].__setitem__(
        "cumulativeGasUsed", hex(int(r[0]["cumulativeGasUsed"], 16) + 1)
    ),
    "receipt_gas_used": lambda b, r: r[0].__setitem__("gasUsed", hex(int(r[0]["gasUsed"], 16) - 1)),
    "receipt_gas_used_missing": lambda b, r: r[0].pop("gasUsed"),
    "receipt_tx_hash": lambda b, r: r[0].__setitem__(
        "transactionHash", _flip(r[0]["transactionHash"])
    ),
    "receipt_count": lambda b, r: r.pop(),
    "receipt_bloom": lambda b, r: r[0].__setitem__("logsBloom", "0x" + "ff" * 256),
    "log_dropped": lambda b, r: next(x for x in r if x["logs"])["logs"].pop(),
    "withdrawals_root_added": lambda b, r: b.__setitem__("withdrawalsRoot", "0x" + "00" * 32),
    "odd_hex": lambda b, r: b.__setitem__("extraData", b["extraData"] + "0"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_native_path_declines_what_it_does_not_accept(devnode, name):
    first, results = _sample(devnode)
    ids = list(range(len(results)))
    assert ingest_native(_body(results), first, ids[0::2], ids[1::2]) is not None
    bad = copy.deepcopy(results)
    MUTATIONS[name](bad[2], bad[3])  # the middle block
    assert ingest_native(_body(bad), first, ids[0::2], ids[1::2]) is None


def test_native_path_declines_when_results_are_missing_or_duplicated(devnode):
    first, results = _sample(devnode)
    items = orjson.loads(_body(results))
    ids = list(range(len(results)))
    assert ingest_native(orjson.dumps(items[:-1]), first, ids[0::2], ids[1::2]) is None
    assert ingest_native(orjson.dumps(items + items[:1]), first, ids[0::2], ids[1::2]) is None
    assert (
        ingest_native(orjson.dumps(items[::-1]), first, ids[0::2], ids[1::2]) is not None
    )  # any order


def test_lying_node_is_still_reported_by_the_reference_path(devnode):
    """Through the Indexer: native declines, the reference path names block and check."""
    first, _ = _sample(devnode)

    class Lying:
        def __init__(self, client):
            self.c = client

        def __getattr__(self, name):
            return getattr(self.c, name)

        def batch_raw(self, calls):
            raw = self.c.batch_raw(calls)
            items = orjson.loads(raw.body)
            for item in items:
                res = item.get("result")
                if (
                    isinstance(res, list)
                    and res
                    and isinstance(res[0], dict)
                    and "cumulativeGasUsed" in res[0]
                    and int(res[0]["blockNumber"], 16) == first + 1
                ):
                    res[0]["status"] = "0x0" if res[0]["status"] == "0x1" else "0x1"
            raw.body = orjson.dumps(items)
            return raw

    with Store(":memory:") as s:
        with pytest.raises(InvalidBlockError) as e:
            Indexer(Lying(devnode.client), s, IndexerConfig(workers=1, chunk_blocks=8)).run(
                first=first - 2, last=first + 2
            )
        assert (e.value.block, e.value.check) == (first + 1, "receipts_root")
        assert s.checkpoint() is None or s.checkpoint().last_block < first + 1
