"""The Python SDK (layer 3): SQL in, a proven and checked answer out.

    from coprocessor.sdk import Coprocessor
    cp = Coprocessor(db="index.duckdb", rpc="http://127.0.0.1:8545")
    print(cp.explain(sql, params={"token": "0x..."}))
    r = cp.prove(sql, params={"token": "0x..."})        # real proof (minutes); dev=True: fast fake
    r.rows, r.columns, r.query_hash, r.anchor_number, r.cycles, r.proving_seconds
    r.verify()                                          # seal vs the recorded `query` image ID + journal
    r.save("receipts/x.receipt"); QueryResult.load("receipts/x.receipt").verify()

`prove` returns only an answer whose journal equals the compiler's expected rows (DuckDB's
answer); a difference is a bug and raises ResultMismatchError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from coprocessor import zkvm
from coprocessor.compiler import CatalogueQuery, CompiledQuery, catalogue
from coprocessor.compiler import compile as compile_sql
from coprocessor.compiler import schema as S
from coprocessor.compiler import witness as W
from coprocessor.compiler.journal import JOURNAL_VERSION, Journal, decode_journal, guest_input
from coprocessor.errors import (
    CompileError,
    InvalidArgument,
    ReceiptFormatError,
    ResultMismatchError,
    StoreLockedError,
    VerificationError,
)
from coprocessor.store import Store

QUERY_GUEST = "query"
SIDECAR_VERSION = 1
TYPE_CODES = {name: code for code, name in S.TYPE_NAMES.items()}


def sidecar_path(receipt_path: str | Path) -> Path:
    """`x.receipt` -> `x.receipt.json` (output types and columns, to decode the rows)."""
    p = Path(receipt_path)
    return p.with_name(p.name + ".json")


def decode_journal_strict(journal: bytes, output_types: list[int]) -> Journal:
    """decode_journal, and the result must be the canonical ABI encoding of its rows under
    `output_types` (so a sidecar with the wrong types cannot decode a valid journal into rows)."""
    from eth_abi import encode as abi_encode

    from coprocessor.compiler.journal import abi_decode_checked, row_abi_type

    j = decode_journal(journal, output_types)
    t = row_abi_type(output_types)
    (raw,) = abi_decode_checked([t], j.result)
    if abi_encode([t], [raw]) != j.result:
        raise ReceiptFormatError(f"the result is not {t} (wrong column types?)")
    return j


def _decode_verified(journal: bytes, output_types: list[int]) -> Journal:
    try:
        return decode_journal_strict(journal, output_types)
    except ReceiptFormatError as exc:
        raise VerificationError(f"the journal does not decode as a query result: {exc}") from exc


def _hash32(h: bytes | str) -> bytes:
    b = bytes.fromhex(h[2:] if h[:2].lower() == "0x" else h) if isinstance(h, str) else bytes(h)
    if len(b) != 32:
        raise InvalidArgument(f"a block hash is 32 bytes, got {len(b)}")
    return b


def check_anchor(rpc: str, chain_id: int, number: int, block_hash: bytes) -> None:
    """Raises VerificationError unless the node at `rpc` is on chain `chain_id` and its block
    `number` has hash `block_hash` (the anchor of a journal, or of a witness about to be proven)."""
    from coprocessor.chain import RpcClient
    from coprocessor.errors import ChainError

    client = RpcClient(rpc)
    try:
        node_chain = client.chain_id()
        block = client.get_block(number, full=False)
    except ChainError as exc:
        raise VerificationError(f"cannot check the anchor against {rpc}: {exc}") from exc
    finally:
        client.close()
    if node_chain != chain_id:
        raise VerificationError(f"the journal is for chain {chain_id}, the node at {rpc} serves chain {node_chain}")
    if block is None:
        raise VerificationError(f"the node at {rpc} has no block {number}: the anchor is not on its chain")
    node_hash = bytes.fromhex(block["hash"][2:])
    if node_hash != block_hash:
        raise VerificationError(f"anchor block {number} is 0x{node_hash.hex()} on the node at {rpc}, the "
                                f"journal says 0x{block_hash.hex()}: not the canonical chain")  # fmt: skip


@dataclass(frozen=True)
class Verification:
    """What `QueryResult.verify` established: the verified journal (its fields are readable here
    too: `.rows`, `.query_hash`, ...), the question it was bound to (None: only the seal was
    checked, the question and column types are a sidecar's word) and what the anchor was
    checked against (None: not checked, so the rows are not yet known to be about the real chain)."""

    journal: Journal
    question: str | None
    anchor: str | None

    def __getattr__(self, name):
        return getattr(self.journal, name)

    @property
    def complete(self) -> bool:
        return self.question is not None and self.anchor is not None

    def notes(self) -> list[str]:
        return [
            "question: checked (queryHash of the given SQL)" if self.question is not None
            else "question: NOT checked: only the seal was verified; the SQL, column names and types are "
                 "the sidecar's word (pass the SQL to bind the receipt to a question)",
            f"anchor: checked against {self.anchor}" if self.anchor is not None
            else "anchor: NOT checked: the rows follow from block "
                 f"{self.journal.anchor_number} 0x{self.journal.anchor_hash.hex()}, which no trusted "
                 "source has confirmed as canonical (pass a trusted RPC node or the hash)",
        ]  # fmt: skip


def _jsonable(v, type_name: str):
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if type_name == "uint256":
        return str(v)  # exact: JSON readers may hold numbers as doubles
    return v


@dataclass(eq=False)
class QueryResult:
    """A proven answer: typed rows (uint256 -> int, address / bytes32 / bytes -> bytes, bool),
    the journal's fields and the receipt."""

    rows: list[tuple]
    columns: list[str]
    column_types: list[str]  # "uint256", "address", "bytes32", "bytes", "bool"
    query_hash: bytes
    chain_id: int
    anchor_number: int
    anchor_hash: bytes
    first_block: int
    last_block: int
    journal: bytes = field(repr=False)
    receipt: zkvm.Receipt = field(repr=False)
    image_id: bytes
    dev: bool
    cycles: int | None = None
    user_cycles: int | None = None
    segments: int | None = None
    proving_seconds: float | None = None
    sql: str | None = None

    @property
    def output_types(self) -> list[int]:
        return [TYPE_CODES[t] for t in self.column_types]

    @property
    def receipt_size(self) -> int:
        return len(self.receipt.to_bytes())

    def verify(self, *, sql: str | CatalogueQuery | None = None, params: dict | None = None,
               views: dict[str, str] | None = None, trusted_rpc: str | None = None,
               anchor_hash: bytes | str | None = None, allow_dev: bool = False) -> Verification:  # fmt: skip
        """Verifies the seal against the recorded `query` image ID and checks the journal is this
        result's. Then, as far as the caller says what to check against:

        - `sql` (+ `params`, `views`; or a catalogue query): the receipt answers this question.
          The SQL is recompiled (no index needed) and its queryHash must be the journal's; the
          rows are then decoded with that plan's output types and named by that SQL, whatever a
          sidecar file said. Without it, only the seal is checked: the question, the column names
          and their types are a sidecar's word.
        - `trusted_rpc` (a node you trust) or `anchor_hash`: the anchor. A journal proves only
          that its rows follow from (anchorNumber, anchorHash); they mean something once that
          block is canonical on the chain the journal names. With `trusted_rpc` the node's chain
          id must be the journal's and its block `anchorNumber` must have that hash.

        Raises VerificationError. Fake (dev) receipts verify only for a result made with dev=True
        (or loaded from a fake receipt) and `allow_dev=True`."""
        recorded = bytes.fromhex(zkvm.recorded_image_ids()[QUERY_GUEST])
        if self.image_id != recorded:
            raise VerificationError(f"the result was proven by query guest 0x{self.image_id.hex()}, "
                                    f"but the recorded query image ID is 0x{recorded.hex()}")  # fmt: skip
        dev_ok = bool(allow_dev and self.dev)
        journal = zkvm.verify(self.receipt, recorded, allow_dev=dev_ok)
        if journal != self.journal:
            raise VerificationError("the receipt's journal is not the result's journal")
        question = None
        if sql is not None:
            question = self._bind_question(sql, params, views)
        j = _decode_verified(journal, self.output_types)
        got = (j.version, j.chain_id, j.query_hash, j.anchor_number, j.anchor_hash, j.first_block,
               j.last_block, j.rows)  # fmt: skip
        want = (JOURNAL_VERSION, self.chain_id, self.query_hash, self.anchor_number, self.anchor_hash,
                self.first_block, self.last_block, self.rows)  # fmt: skip
        if got != want:
            raise VerificationError("the verified journal differs from this result's fields")
        anchor = None
        if anchor_hash is not None:
            want_hash = _hash32(anchor_hash)
            if want_hash != j.anchor_hash:
                raise VerificationError(f"anchor block {j.anchor_number} has hash 0x{want_hash.hex()}, "
                                        f"the journal says 0x{j.anchor_hash.hex()}")  # fmt: skip
            anchor = "the given hash"
        if trusted_rpc is not None:
            check_anchor(trusted_rpc, j.chain_id, j.anchor_number, j.anchor_hash)
            anchor = f"node {trusted_rpc}"
        return Verification(j, question, anchor)

    def _bind_question(self, sql, params, views) -> str:
        """Recompiles the question (plan only) and binds this result to it (see verify)."""
        if isinstance(sql, CatalogueQuery):
            views, sql = {**sql.views, **(views or {})}, sql.sql
        try:
            compiled = compile_sql(sql, params=params, views=views)
        except CompileError as exc:
            raise VerificationError(f"the question does not compile: {exc}") from exc
        if compiled.query_hash != self.query_hash:
            raise VerificationError(f"the receipt answers another question: its queryHash is "
                                    f"0x{self.query_hash.hex()}, this SQL's is 0x{compiled.query_hash.hex()}")  # fmt: skip
        j = _decode_verified(self.journal, compiled.plan.output_types)
        self.columns, self.column_types = list(compiled.columns), list(compiled.column_types)
        self.rows, self.sql = j.rows, sql
        return sql

    def to_dict(self) -> dict:
        return {
            "columns": self.columns,
            "types": self.column_types,
            "rows": [[_jsonable(v, t) for v, t in zip(r, self.column_types)] for r in self.rows],
            "query_hash": "0x" + self.query_hash.hex(),
            "chain_id": self.chain_id,
            "anchor": {"number": self.anchor_number, "hash": "0x" + self.anchor_hash.hex()},
            "first_block": self.first_block,
            "last_block": self.last_block,
            "image_id": "0x" + self.image_id.hex(),
            "dev": self.dev,
            "receipt_kind": self.receipt.kind,
            "receipt_bytes": self.receipt_size,
            "cycles": self.cycles,
            "user_cycles": self.user_cycles,
            "segments": self.segments,
            "proving_seconds": None if self.proving_seconds is None else round(self.proving_seconds, 3),
        }

    # --- files --------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Writes the receipt and its sidecar JSON (`<path>.json`); returns the receipt path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.receipt.to_bytes())
        meta = {"version": SIDECAR_VERSION, "columns": self.columns, "types": self.column_types,
                "image_id": "0x" + self.image_id.hex(), "dev": self.dev, "sql": self.sql,
                "cycles": self.cycles, "user_cycles": self.user_cycles, "segments": self.segments,
                "proving_seconds": self.proving_seconds}  # fmt: skip
        sidecar_path(path).write_text(json.dumps(meta, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> QueryResult:
        """A saved receipt with its sidecar. Nothing is trusted until `verify()`: the rows and
        fields come from the receipt's journal, the sidecar only says how to decode them."""
        path = Path(path)
        try:
            data = path.read_bytes()
            meta = json.loads(sidecar_path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"cannot read receipt {path} and its sidecar "
                                  f"{sidecar_path(path).name}: {exc}") from exc  # fmt: skip
        receipt = zkvm.Receipt.from_bytes(data)
        types = meta.get("types")
        if not isinstance(types, list) or any(t not in TYPE_CODES for t in types):
            raise InvalidArgument(f"{sidecar_path(path)}: 'types' must list column types")
        try:
            j = decode_journal_strict(receipt.journal, [TYPE_CODES[t] for t in types])
        except ReceiptFormatError as exc:
            raise ReceiptFormatError(f"the journal of {path} does not decode with types {types}: {exc}") from exc
        image_id = bytes.fromhex(str(meta.get("image_id", ""))[2:]) or bytes(32)
        columns = meta.get("columns") or [f"c{i}" for i in range(len(types))]
        return cls.from_journal(j, receipt, columns=columns, column_types=types, image_id=image_id,
                                dev=receipt.is_fake, cycles=meta.get("cycles"), user_cycles=meta.get("user_cycles"),
                                segments=meta.get("segments"), proving_seconds=meta.get("proving_seconds"),
                                sql=meta.get("sql"))  # fmt: skip

    @classmethod
    def from_journal(cls, j: Journal, receipt: zkvm.Receipt, **fields) -> QueryResult:
        """A result whose rows and journal fields are those of `j` (decoded from `receipt`);
        `fields` are the rest (columns, column_types, image_id, dev, cycles, ...)."""
        return cls(rows=j.rows, query_hash=j.query_hash, chain_id=j.chain_id, anchor_number=j.anchor_number,
                   anchor_hash=j.anchor_hash, first_block=j.first_block, last_block=j.last_block,
                   journal=receipt.journal, receipt=receipt, **fields)  # fmt: skip


def check_journal(compiled: CompiledQuery, chain_id: int, journal: bytes) -> Journal:
    """Checks a proven journal against the compiled query: it must be, byte for byte, the
    journal the guest's code committed natively at compile time (whose rows DuckDB's answer
    matched), for this chain and anchor. Raises ResultMismatchError."""
    try:
        j = decode_journal(journal, compiled.plan.output_types)
    except ReceiptFormatError as exc:
        raise ResultMismatchError(f"bug: the proven journal does not decode: {exc}") from exc
    if j.rows != compiled.expected:
        raise ResultMismatchError(
            f"bug: proven result differs from the expected one (query 0x{compiled.query_hash.hex()}): "
            f"guest {len(j.rows)} row(s) {j.rows[:3]!r}..., expected {len(compiled.expected or [])} "
            f"row(s) {(compiled.expected or [])[:3]!r}...; neither is returned"
        )
    got = (j.version, j.chain_id, j.query_hash, j.anchor_number, j.anchor_hash, j.first_block, j.last_block)
    want = (JOURNAL_VERSION, chain_id, compiled.query_hash, compiled.anchor, compiled.witness.anchor_hash,
            compiled.plan.first_block, compiled.plan.last_block)  # fmt: skip
    if got != want or journal != compiled.journal:
        raise ResultMismatchError(f"bug: the proven journal's header {got!r} differs from the compiled "
                                  f"query's {want!r}")  # fmt: skip
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
                raise InvalidArgument(f"no index at {db}: run `coprocessor index --rpc URL --db {db}` first")
            try:
                self.store = Store(db)
            except StoreLockedError:  # another process writes it (e.g. `index --follow`): read only
                self.store = Store(db, read_only=True)
        self.rpc = rpc
        self._client = self._indexer = None
        if rpc is not None:
            from coprocessor.chain import RpcClient
            from coprocessor.indexer import Indexer

            self._client = RpcClient(rpc)
            self._indexer = Indexer(self._client, self.store)
        cp = self.store.checkpoint()
        if cp is not None:
            if chain_id is not None and chain_id != cp.chain_id:
                raise InvalidArgument(f"chain_id {chain_id} contradicts the index's chain id {cp.chain_id}")
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

    def compile(self, sql: str | CatalogueQuery, *, params: dict | None = None, at_block: int | None = None,
                views: dict[str, str] | None = None) -> CompiledQuery:  # fmt: skip
        """Plan + witness + expected result (DuckDB's answer). `sql` may be a catalogue query."""
        if isinstance(sql, CatalogueQuery):
            views = {**sql.views, **(views or {})}
            sql = sql.sql
        fetch = self._indexer.fetch_state if self._indexer is not None else None
        return compile_sql(sql, params=params, store=self.store, at_block=at_block, views=views,
                           fetch_state=fetch)  # fmt: skip

    def explain(self, sql: str | CatalogueQuery, *, params: dict | None = None, at_block: int | None = None,
                views: dict[str, str] | None = None) -> str:  # fmt: skip
        return self.compile(sql, params=params, at_block=at_block, views=views).explain()

    def prove(self, sql: str | CatalogueQuery, *, params: dict | None = None, at_block: int | None = None,
              views: dict[str, str] | None = None, dev: bool = False,
              segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2) -> QueryResult:  # fmt: skip
        """Compiles, proves with the `query` guest (dev=True: executor + fake receipt, seconds) and
        returns the answer, which equals DuckDB's or raises ResultMismatchError."""
        compiled = self.compile(sql, params=params, at_block=at_block, views=views)
        return self.prove_compiled(compiled, dev=dev, segment_po2=segment_po2)

    def prove_compiled(self, compiled: CompiledQuery, *, dev: bool = False,
                       segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2) -> QueryResult:  # fmt: skip
        if compiled.witness_bytes is None or compiled.expected is None:
            raise CompileError("the query was compiled without an index: nothing to prove")
        if self.chain_id is None:
            raise InvalidArgument("no chain id: the index is empty and no rpc was given (pass chain_id=)")
        program = self.program
        if self.rpc is not None:  # the index's anchor must be the node's block before anything is proven
            check_anchor(self.rpc, self.chain_id, compiled.anchor, compiled.witness.anchor_hash)
        receipt = zkvm.prove(program, guest_input(compiled, self.chain_id), dev=dev, segment_po2=segment_po2,
                             keccak_po2=zkvm.keccak_po2_for(W.keccak_permutations(compiled.witness)))
        j = check_journal(compiled, self.chain_id, receipt.journal)
        st = receipt.stats
        return QueryResult.from_journal(j, receipt, columns=list(compiled.columns),
                                        column_types=list(compiled.column_types), image_id=program.image_id,
                                        dev=bool(dev), cycles=st.cycles, user_cycles=st.user_cycles,
                                        segments=st.segments, proving_seconds=st.seconds, sql=compiled.sql)  # fmt: skip


__all__ = ["Coprocessor", "QueryResult", "ResultMismatchError", "Verification", "check_anchor", "check_journal",
           "sidecar_path"]
