"""Mainnet fixtures through the indexer's own ingestion path (an RPC-shaped fixture reader)."""

import copy

import pytest

from coprocessor.errors import InvalidBlockError
from coprocessor.indexer import Indexer, IndexerConfig
from coprocessor.store import Store

from support import mainnet
from support.fixture_chain import FixtureChain

BLOCKS = mainnet.files("blocks")


@pytest.fixture(scope="module")
def chain():
    mainnet.require()
    return FixtureChain()


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_mainnet_block_indexes_and_validates(chain, path):
    n = int(path.stem)
    with Store(":memory:") as s:
        ix = Indexer(chain, s, IndexerConfig(receipts=chain.has_receipts(n), workers=1))
        ix.run(first=n, last=n)
        block = mainnet.load(path)
        assert s.block_hash(n).hex() == block["hash"][2:]
        assert s.sql("SELECT count(*) FROM transactions")[0][0] == len(block["transactions"])
        if chain.has_receipts(n):
            assert s.sql("SELECT count(*) FROM receipts")[0][0] == len(block["transactions"])
        assert s.sql("SELECT count(*) FROM withdrawals")[0][0] == len(
            block.get("withdrawals") or []
        )


def test_at_least_some_blocks_have_full_receipts(chain):
    assert sum(chain.has_receipts(int(p.stem)) for p in BLOCKS) >= 3


def test_corrupted_mainnet_block_is_rejected(chain):
    n = max(int(p.stem) for p in BLOCKS if chain.has_receipts(int(p.stem)))

    class Lying(FixtureChain):
        def _answer(self, method, params):
            out = super()._answer(method, params)
            if method == "eth_getBlockReceipts" and out:
                out = copy.deepcopy(out)
                out[-1]["status"] = "0x0" if out[-1]["status"] == "0x1" else "0x1"
            return out

    with Store(":memory:") as s:
        with pytest.raises(InvalidBlockError) as e:
            Indexer(Lying(), s, IndexerConfig(workers=1)).run(first=n, last=n)
        assert (e.value.block, e.value.check) == (n, "receipts_root")
        assert s.checkpoint() is None
