"""The indexer's native fast path (ethcore.ingest_blocks, native/risc0-py/src/ingest/, read by
coprocessor.indexer.native).

It must store exactly what the Python reference path (ingest.ingest_block) stores, and
decline (so the reference path decides, with its error) on anything it does not accept; a
caller's mistake is an error, never a decline.
"""

import pytest

from coprocessor import ethcore
from coprocessor.errors import InternalError, InvalidArgument
from coprocessor.indexer import IndexerConfig
from coprocessor.indexer.native import tables_from_columns
from coprocessor.store import ARROW_SCHEMAS, DATA_TABLES

from support import mainnet
from support.fixture_chain import FixtureChain
from support.indexer import index_into_memory

BLOCKS = mainnet.files("blocks")


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_mainnet_blocks_equal_the_reference_path(path, native_calls):
    mainnet.require()
    chain = FixtureChain()
    n = int(path.stem)
    cfg = dict(receipts=chain.has_receipts(n), workers=1)
    fast = index_into_memory(chain, IndexerConfig(native_always=True, **cfg), n, n)
    assert native_calls == {"taken": 1, "declined": 0}
    assert fast == index_into_memory(chain, IndexerConfig(native=False, **cfg), n, n)


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
