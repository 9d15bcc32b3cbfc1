"""The indexer's native fast path (ethcore.ingest_blocks, native/risc0-py/src/ingest/, read by
coprocessor.indexer.native).

It must store exactly what the Python reference path (ingest.ingest_block) stores, and
decline (so the reference path decides, with its error) on anything it does not accept; a
caller's mistake is an error, never a decline.
"""

import copy

import orjson
import pytest

from coprocessor import ethcore
from coprocessor.devchain import allowance_slot, balance_slot
from coprocessor.errors import InternalError, InvalidArgument, InvalidBlockError
from coprocessor.indexer import Indexer, IndexerConfig, core
from coprocessor.indexer.native import ingest_native, tables_from_columns
from coprocessor.store import ARROW_SCHEMAS, DATA_TABLES, Store
from coprocessor.types import Tracked

from support import mainnet
from support.fixture_chain import FixtureChain
from support.indexer import dump

BLOCKS = mainnet.files("blocks")


def _index(source, cfg: IndexerConfig, first: int, last: int):
    with Store(":memory:") as s:
        Indexer(source, s, cfg).run(first=first, last=last)
        return dump(s), s.checkpoint()


@pytest.fixture
def native_calls(monkeypatch):
    """Counts native runs that were taken / declined."""
    seen = {"taken": 0, "declined": 0}
    real = core.ingest_native

    def spy(*a, **k):
        rows = real(*a, **k)
        seen["taken" if rows is not None else "declined"] += 1
        return rows

    monkeypatch.setattr(core, "ingest_native", spy)
    return seen


def test_devchain_tables_equal_the_reference_path(devnode, native_calls):
    h = devnode.history
    token, owner, spender = h.approvals[0]
    tracked = (
        Tracked(token, (balance_slot(owner), allowance_slot(owner, spender))),
        Tracked(owner, ()),
    )
    for tr, first in (((), 0), (tracked, 1)):  # anvil has no state proofs for genesis
        fast = _index(
            devnode.client, IndexerConfig(chunk_blocks=7, tracked=tr), first, h.last_block
        )
        assert native_calls["taken"] > 0 and native_calls["declined"] == 0
        ref = _index(
            devnode.client,
            IndexerConfig(chunk_blocks=7, tracked=tr, native=False),
            first,
            h.last_block,
        )
        assert fast == ref
        assert sum(len(v) for v in fast[0].values()) > 3 * h.last_block


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_mainnet_blocks_equal_the_reference_path(path, native_calls):
    mainnet.require()
    chain = FixtureChain()
    n = int(path.stem)
    cfg = dict(receipts=chain.has_receipts(n), workers=1)
    fast = _index(chain, IndexerConfig(native_always=True, **cfg), n, n)
    assert native_calls == {"taken": 1, "declined": 0}
    assert fast == _index(chain, IndexerConfig(native=False, **cfg), n, n)


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


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b"[1]",
        b'[{"id": 0, "error": {"code": -32000, "message": "x"}}]',
        b'[{"id": 0, "result": null}]',
        b'[{"id": "0", "result": {}}]',
        b"[" * 10000,
    ],
)
def test_native_path_declines_bad_responses(body):
    assert ethcore.ingest_blocks(body, 0, [0], [1]) is None


def test_ids_that_do_not_pair_up_are_an_error_not_a_decline():
    with pytest.raises(InvalidArgument, match="receipt ids"):
        ethcore.ingest_blocks(b"[]", 0, [0, 2], [1])


def test_an_empty_run_reads_as_the_store_tables():
    """The wire format carries every table's schema, even without rows: the reader takes it
    as the store's, column for column, name and kind."""
    tables = tables_from_columns(ethcore.ingest_blocks(b"[]", 5, [], []))
    assert list(tables) == [t for t in DATA_TABLES if t not in ("accounts", "storage")]
    for name, table in tables.items():
        assert table.num_rows == 0 and table.schema == ARROW_SCHEMAS[name]


def test_a_column_unlike_the_stores_is_refused():
    columns = bytearray(ethcore.ingest_blocks(b"[]", 5, [], []))
    kind_byte = columns.index(b"\x0b\x00parent_hash") + 2 + len("parent_hash")
    assert columns[kind_byte] == 1  # binary
    columns[kind_byte] = 2  # text
    with pytest.raises(InternalError, match="parent_hash"):
        tables_from_columns(bytes(columns))


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
