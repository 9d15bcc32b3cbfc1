"""Helpers for indexer tests: compare an index with the node, dump tables for equality."""

from __future__ import annotations

from coprocessor.chain import RpcClient
from coprocessor.indexer import Indexer, IndexerConfig
from coprocessor.store import DATA_TABLES, Store


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every data table, fully ordered (for equality between two indexes)."""
    return {t: store.sql(store.export_select(t)) for t in DATA_TABLES}


def assert_matches_node(store: Store, client: RpcClient, first: int, last: int) -> None:
    """Every block hash and every tx, receipt and log count equals the node's."""
    numbers = list(range(first, last + 1))
    blocks = client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    receipts = client.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
    ours = dict(store.sql("SELECT number, hash FROM blocks"))
    assert sorted(ours) == numbers
    txc = dict(store.sql("SELECT block_number, count(*) FROM transactions GROUP BY 1"))
    rc = dict(store.sql("SELECT block_number, count(*) FROM receipts GROUP BY 1"))
    lc = dict(store.sql("SELECT block_number, count(*) FROM logs GROUP BY 1"))
    for n, b, rs in zip(numbers, blocks, receipts):
        assert ours[n].hex() == b["hash"][2:], n
        assert txc.get(n, 0) == len(b["transactions"]), n
        assert rc.get(n, 0) == len(rs), n
        assert lc.get(n, 0) == sum(len(r["logs"]) for r in rs), n
    dup = store.sql("SELECT count(*) - count(DISTINCT (block_number, tx_index)) FROM transactions")
    assert dup[0][0] == 0
    orphans = store.sql(
        "SELECT count(*) FROM transactions t WHERE NOT EXISTS "
        "(SELECT 1 FROM blocks b WHERE b.number = t.block_number AND b.hash IS NOT NULL)"
    )
    assert orphans[0][0] == 0


def index_into_memory(source, cfg: IndexerConfig, first: int, last: int):
    """Indexes first..last from `source` into an in-memory store: (tables, checkpoint)."""
    with Store(":memory:") as s:
        Indexer(source, s, cfg).run(first=first, last=last)
        return dump(s), s.checkpoint()
