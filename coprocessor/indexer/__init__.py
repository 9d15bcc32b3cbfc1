"""Indexer (layer 2): any Ethereum JSON-RPC node into the DuckDB index, validated at ingest.

- `encode`: consensus bytes (header RLP, raw transactions, receipts) from JSON-RPC objects
- `ingest`: one block validated with `coprocessor.ethcore` and turned into rows
- `proofs`: tracked accounts' eth_getProof results checked against the state root
- `rows`: the per-table columns collected for a run of blocks until they are committed
- `core`: the concurrent fetch / validate / commit loop, reorgs, --follow
"""

from coprocessor.indexer.core import Indexer, IndexerConfig, Stats

__all__ = ["Indexer", "IndexerConfig", "Stats"]
