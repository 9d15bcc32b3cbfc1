"""The relayer hosted by `coprocessor serve --relay` (coprocessor.relayer): it proves requests
from the server's own `Store` (the index's one writer: no second DuckDB open of the file,
which its lock would refuse), so the indexer in follow mode keeps the index at the head and
the relayer never syncs it itself. Its ticks (`Relayer.run`) run in a thread of the serve
process until the server stops; its outbox is its own SQLite file, never the index.
"""

from __future__ import annotations

import threading

from coprocessor.relayer import QueryGuestProver, Relayer, RelayerConfig
from coprocessor.store import Store


class HostedRelayer:
    """A `Relayer` over an open Store, run by `run(stop)` in the caller's thread."""

    def __init__(self, config: RelayerConfig, store: Store):
        self.prover = QueryGuestProver(store, rpc_url=config.rpc_url, dev=config.dev)
        try:
            self.relayer = Relayer(config, prover=self.prover)
        except BaseException:
            self.prover.close()
            raise

    @property
    def contract(self) -> str:
        return self.relayer.contract.address

    def run(self, stop: threading.Event) -> None:
        """Ticks until `stop` is set (a failed tick is logged and retried: `Relayer.run`)."""
        self.relayer.run(stop)

    def close(self) -> None:
        self.relayer.close()
        self.prover.close()
