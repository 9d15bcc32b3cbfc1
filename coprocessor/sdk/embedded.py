"""The embedded client: `Coprocessor` compiles SQL over a local DuckDB index, proves it with
the query guest and returns only an answer equal to the compiler's expected rows."""

from __future__ import annotations

from pathlib import Path

from coprocessor import zkvm
from coprocessor.chain import RpcClient
from coprocessor.compiler import CatalogueQuery, CompiledQuery, catalogue
from coprocessor.compiler import compile as compile_sql
from coprocessor.compiler.journal import (
    JOURNAL_VERSION,
    Journal,
    decode_journal,
    guest_input,
    keccak_po2,
)
from coprocessor.errors import (
    CompileError,
    InvalidArgument,
    ReceiptFormatError,
    ResultMismatchError,
    StoreLockedError,
)
from coprocessor.indexer import Indexer
from coprocessor.sdk.anchor import check_anchor
from coprocessor.sdk.result import QUERY_GUEST, QueryResult, journal_fields
from coprocessor.store import Store


def check_journal(compiled: CompiledQuery, chain_id: int, journal: bytes) -> Journal:
    """Checks a proven journal against the compiled query: it must be, byte for byte, the
    journal the guest's code committed natively at compile time (whose rows DuckDB's answer
    matched), for this chain and anchor. Raises ResultMismatchError."""
    try:
        j = decode_journal(journal, compiled.plan.output_types)
    except ReceiptFormatError as exc:
        raise ResultMismatchError(f"bug: the proven journal does not decode: {exc}") from exc
    rows = j.result_rows()
    if rows != compiled.expected:
        raise ResultMismatchError(
            "bug: proven result differs from the expected one "
            f"(query 0x{compiled.query_hash.hex()}): guest {len(rows)} row(s) {rows[:3]!r}..., "
            f"expected {len(compiled.expected or [])} row(s) {(compiled.expected or [])[:3]!r}...; "
            "neither is returned"
        )
    got = journal_fields(j)
    assert compiled.witness is not None  # compiled with an index (it has expected rows)
    want = (
        JOURNAL_VERSION,
        chain_id,
        compiled.query_hash,
        compiled.anchor,
        compiled.witness.anchor_hash,
        compiled.plan.first_block,
        compiled.plan.last_block,
        compiled.params_bytes,
    )
    if got != want or journal != compiled.journal:
        raise ResultMismatchError(
            f"bug: the proven journal's header {got!r} differs from the compiled query's {want!r}"
        )
    return j


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
    ) -> CompiledQuery:
        """Plan + witness + expected result (DuckDB's answer). `sql` may be a catalogue query."""
        if isinstance(sql, CatalogueQuery):
            views, params = {**sql.views, **(views or {})}, sql.typed_params(params)
            sql = sql.sql
        fetch = self._indexer.fetch_state if self._indexer is not None else None
        return compile_sql(
            sql, params=params, store=self.store, at_block=at_block, views=views, fetch_state=fetch
        )

    def explain(
        self,
        sql: str | CatalogueQuery,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
    ) -> str:
        return self.compile(sql, params=params, at_block=at_block, views=views).explain()

    def prove(
        self,
        sql: str | CatalogueQuery,
        *,
        params: dict | None = None,
        at_block: int | None = None,
        views: dict[str, str] | None = None,
        dev: bool = False,
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    ) -> QueryResult:
        """Compiles, proves with the `query` guest (dev=True: executor + fake receipt, seconds) and
        returns the answer, which equals DuckDB's or raises ResultMismatchError."""
        compiled = self.compile(sql, params=params, at_block=at_block, views=views)
        return self.prove_compiled(compiled, dev=dev, segment_po2=segment_po2)

    def prove_compiled(
        self,
        compiled: CompiledQuery,
        *,
        dev: bool = False,
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    ) -> QueryResult:
        witness = compiled.witness
        if witness is None or compiled.witness_bytes is None or compiled.expected is None:
            raise CompileError("the query was compiled without an index: nothing to prove")
        if self.chain_id is None:
            raise InvalidArgument(
                "no chain id: the index is empty and no rpc was given (pass chain_id=)"
            )
        program = self.program
        if (
            self.rpc is not None
        ):  # the index's anchor must be the node's block before anything is proven
            check_anchor(self.rpc, self.chain_id, compiled.anchor, witness.anchor_hash)
        receipt = zkvm.prove(
            program,
            guest_input(compiled, self.chain_id),
            dev=dev,
            segment_po2=segment_po2,
            keccak_po2=keccak_po2(compiled),
        )
        j = check_journal(compiled, self.chain_id, receipt.journal)
        st = receipt.stats
        assert st is not None  # zkvm.prove records the stats of every receipt it makes
        return QueryResult.from_journal(
            j,
            receipt,
            columns=list(compiled.columns),
            column_types=list(compiled.column_types),
            image_id=program.image_id,
            dev=bool(dev),
            cycles=st.cycles,
            user_cycles=st.user_cycles,
            segments=st.segments,
            proving_seconds=st.seconds,
            sql=compiled.sql,
            param_types=list(compiled.param_types),
        )
