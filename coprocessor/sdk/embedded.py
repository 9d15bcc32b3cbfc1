"""The embedded client: `Coprocessor` compiles SQL over a local DuckDB index, proves it with
the query guest and returns only an answer equal to the compiler's expected rows."""

from __future__ import annotations

from pathlib import Path

from coprocessor import zkvm
from coprocessor.chain import RpcClient
from coprocessor.compiler import CatalogueQuery, CompiledQuery, catalogue
from coprocessor.compiler import compile as compile_sql
from coprocessor.compiler.journal import QUERY_GUEST
from coprocessor.errors import InvalidArgument, StoreLockedError
from coprocessor.history import HistoryJournal, StepLog, default_path
from coprocessor.indexer import Indexer
from coprocessor.prover import OnProgress, check_journal, prove_query
from coprocessor.sdk.anchor import check_anchor
from coprocessor.sdk.result import QueryResult
from coprocessor.store import Store

__all__ = ["Coprocessor", "check_journal"]


class Coprocessor:
    """Client over a DuckDB index (and optionally the JSON-RPC node it was indexed from, to fetch
    state proofs the index lacks).

    `db` is a path or an open `Store`. `chain_id` defaults to the index's (sync_state), else the
    node's eth_chainId; a value that contradicts the index is refused.
    """

    def __init__(self, db: str | Path | Store, rpc: str | None = None, chain_id: int | None = None):
        self._own_store = not isinstance(db, Store)
        if isinstance(db, Store):
            self.store = db
        else:
            if str(db) != ":memory:" and not Path(db).exists():
                raise InvalidArgument(
                    f"no index at {db}: run `coprocessor index --rpc URL --db {db}` first"
                )
            try:
                self.store = Store(db)
            except StoreLockedError:  # another process writes it (e.g. `index --follow`): read only
                self.store = Store(db, read_only=True)
        self.rpc = rpc
        self._client = self._indexer = None
        if rpc is not None:
            self._client = RpcClient(rpc)
            self._indexer = Indexer(self._client, self.store)
        cp = self.store.checkpoint()
        if cp is not None:
            if chain_id is not None and chain_id != cp.chain_id:
                raise InvalidArgument(
                    f"chain_id {chain_id} contradicts the index's chain id {cp.chain_id}"
                )
            chain_id = cp.chain_id
        elif chain_id is None and self._client is not None:
            chain_id = self._client.chain_id()
        self.chain_id = chain_id
        self._program: zkvm.Program | None = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._own_store:
            self.store.close()

    def __enter__(self) -> Coprocessor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def catalogue() -> dict[str, CatalogueQuery]:
        return catalogue()

    @property
    def program(self) -> zkvm.Program:
        if self._program is None:
            self._program = zkvm.Program.load(QUERY_GUEST)
        return self._program

    def compile(
        self,
        sql: str | CatalogueQuery,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        anchor: str | None = None,
        history: HistoryJournal | None = None,
    ) -> CompiledQuery:
        """Plan + witness + expected result (DuckDB's answer). `sql` may be a catalogue query.

        `anchor` ("walk", "history", "eip2935"; default: the cheapest allowed) says how the
        range is tied to a block a contract can check (coprocessor/compiler/PLAN.md
        "Anchors"). "history" anchors on `history`, a proven BlockHistory state (default: the
        last one `coprocessor history prove` recorded next to the index); the contract must
        know its root. Without `anchor`, a given `history` is used when it is cheapest."""
        if isinstance(sql, CatalogueQuery):
            views, params = {**sql.views, **(views or {})}, sql.typed_params(params)
            sql = sql.sql
        if anchor == "history" and history is None:
            history = self.proven_history()
        fetch = self._indexer.fetch_state if self._indexer is not None else None
        return compile_sql(
            sql,
            params=params,
            store=self.store,
            at_block=at_block,
            views=views,
            fetch_state=fetch,
            history=history,
            anchor_kind=anchor,
        )

    def proven_history(self) -> HistoryJournal:
        """The accumulator state last proven for this index (`coprocessor history prove`)."""
        path = default_path(self.store.path)
        if not path.exists():
            raise InvalidArgument(
                f"no proven block history for {self.store.path}: run `coprocessor history "
                f"prove --db {self.store.path}` first"
            )
        with StepLog(path) as log:
            step = log.last()
        if step is None:
            raise InvalidArgument(f"the history step log {path} has no proven step yet")
        return step.journal

    def explain(
        self,
        sql: str | CatalogueQuery,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        anchor: str | None = None,
        history: HistoryJournal | None = None,
    ) -> str:
        return self.compile(
            sql, params=params, at_block=at_block, views=views, anchor=anchor, history=history
        ).explain()

    def prove(
        self,
        sql: str | CatalogueQuery,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        anchor: str | None = None,
        history: HistoryJournal | None = None,
        dev: bool = False,
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
        workers: int = 1,
        ray_address: str | None = None,
        on_progress: OnProgress | None = None,
    ) -> QueryResult:
        """Compiles, proves with the `query` guest and returns the answer, which equals
        DuckDB's or raises ResultMismatchError.

        dev=True: executor + fake receipt (seconds). `workers` > 1 proves the segments in that
        many local processes, `ray_address` on a Ray cluster (both give a succinct receipt);
        `on_progress` hears of every segment proven (coprocessor.prover.Progress); `anchor` and
        `history` as in `compile`."""
        compiled = self.compile(
            sql, params=params, at_block=at_block, views=views, anchor=anchor, history=history
        )
        return self.prove_compiled(
            compiled,
            dev=dev,
            segment_po2=segment_po2,
            workers=workers,
            ray_address=ray_address,
            on_progress=on_progress,
        )

    def prove_compiled(
        self,
        compiled: CompiledQuery,
        *,
        dev: bool = False,
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
        workers: int = 1,
        ray_address: str | None = None,
        on_progress: OnProgress | None = None,
    ) -> QueryResult:
        if self.rpc is not None and self.chain_id is not None and compiled.witness is not None:
            # the index's anchor must be the node's block before anything is proven
            check_anchor(self.rpc, self.chain_id, compiled.anchor, compiled.witness.anchor_hash)
        program = self.program
        receipt, journal = prove_query(
            compiled,
            self.chain_id,
            program=program,
            dev=dev,
            workers=workers,
            ray_address=ray_address,
            segment_po2=segment_po2,
            on_progress=on_progress,
        )
        stats = receipt.stats
        assert stats is not None  # the prover records the stats of every receipt it makes
        return QueryResult.from_journal(
            journal,
            receipt,
            columns=list(compiled.columns),
            column_types=list(compiled.column_types),
            image_id=program.image_id,
            dev=bool(dev),
            cycles=stats.cycles,
            user_cycles=stats.user_cycles,
            segments=stats.segments,
            proving_seconds=stats.seconds,
            sql=compiled.sql,
            param_types=list(compiled.param_types),
        )
