"""A proven answer: `QueryResult` (rows, journal fields, receipt), its verification against
the recorded query image ID, a question and an anchor, and its files (receipt + sidecar)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_abi import encode as abi_encode

from coprocessor import zkvm
from coprocessor.compiler import CatalogueQuery
from coprocessor.compiler import compile as compile_sql
from coprocessor.compiler.journal import (
    JOURNAL_VERSION,
    QUERY_GUEST,
    Journal,
    abi_decode_checked,
    decode_journal,
    decode_params,
    row_abi_type,
)
from coprocessor.compiler.schema import TYPE_NAMES
from coprocessor.errors import (
    CompileError,
    InvalidArgument,
    ReceiptFormatError,
    VerificationError,
)
from coprocessor.sdk.anchor import check_anchor, check_anchor_hash

SIDECAR_VERSION = 1
TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}


def sidecar_path(receipt_path: str | Path) -> Path:
    """`x.receipt` -> `x.receipt.json` (output types and columns, to decode the rows)."""
    p = Path(receipt_path)
    return p.with_name(p.name + ".json")


def decode_journal_strict(journal: bytes, output_types: Sequence[int]) -> Journal:
    """decode_journal, and the result must be the canonical ABI encoding of its rows under
    `output_types` (so a sidecar with the wrong types cannot decode a valid journal into rows)."""
    j = decode_journal(journal, output_types)
    t = row_abi_type(output_types)
    (raw,) = abi_decode_checked([t], j.result)
    if abi_encode([t], [raw]) != j.result:
        raise ReceiptFormatError(f"the result is not {t} (wrong column types?)")
    return j


def _decode_verified(journal: bytes, output_types: Sequence[int]) -> Journal:
    try:
        return decode_journal_strict(journal, output_types)
    except ReceiptFormatError as exc:
        raise VerificationError(f"the journal does not decode as a query result: {exc}") from exc


@dataclass(frozen=True)
class Verification:
    """What `QueryResult.verify` established: the verified journal (its fields are readable here
    too: `.rows`, `.query_hash`, ...), the question it was bound to (None: only the seal was
    checked, the question and column types are a sidecar's word) and what the anchor was
    checked against (None: not checked, so the rows are not yet known to be about the real
    chain)."""

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
            "question: checked (queryHash of the given SQL)"
            if self.question is not None
            else "question: NOT checked: only the seal was verified; the SQL, column names and "
            "types are the sidecar's word (pass the SQL to bind the receipt to a question)",
            f"anchor: checked against {self.anchor}"
            if self.anchor is not None
            else "anchor: NOT checked: the rows follow from block "
            f"{self.journal.anchor_number} 0x{self.journal.anchor_hash.hex()}, which no trusted "
            "source has confirmed as canonical (pass a trusted RPC node or the hash)",
        ]


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
    the journal's fields (`params`: the ABI-encoded parameter values the receipt answers for,
    `param_values` decoded with `param_types`) and the receipt."""

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
    params: bytes = b""  # abi.encode(parameter values), as committed in the journal
    param_types: list[str] = field(default_factory=list)  # their ABI types (declaration order)
    # the BlockHistory root the anchor is proven in (zero: anchored on a block hash)
    history_root: bytes = bytes(32)

    @property
    def param_values(self) -> tuple:
        """The parameter values the receipt answers for (addresses as 20 bytes)."""
        return decode_params(self.params, self.param_types)

    @property
    def output_types(self) -> list[int]:
        return [TYPE_CODES[t] for t in self.column_types]

    @property
    def receipt_size(self) -> int:
        return len(self.receipt.to_bytes())

    def verify(
        self,
        *,
        sql: str | CatalogueQuery | None = None,
        params: dict | None = None,
        views: dict[str, str] | None = None,
        trusted_rpc: str | None = None,
        anchor_hash: bytes | str | None = None,
        allow_dev: bool = False,
    ) -> Verification:
        """Verifies the seal against the recorded `query` image ID and checks the journal is this
        result's. Then, as far as the caller says what to check against:

        - `sql` (+ `params`, `views`; or a catalogue query): the receipt answers this question.
          The SQL is recompiled (no index needed) and its queryHash (the template's) and its
          parameter values (ABI-encoded) must be the journal's: a receipt proves the answer
          for its own parameter values only; the
          rows are then decoded with that plan's output types and named by that SQL, whatever a
          sidecar file said. Without it, only the seal is checked: the question, the column names
          and their types are a sidecar's word.
        - `trusted_rpc` (a node you trust) or `anchor_hash`: the anchor. A journal proves only
          that its rows follow from (anchorNumber, anchorHash); they mean something once that
          block is canonical on the chain the journal names. With `trusted_rpc` the node's chain
          id must be the journal's and its block `anchorNumber` must have that hash.

        Raises VerificationError. Fake (dev) receipts verify only for a result made with dev=True
        (or loaded from a fake receipt) and `allow_dev=True`."""
        journal = self._verify_seal(allow_dev)
        question = None
        if sql is not None:
            question = self._bind_question(sql, params, views)
        j = _decode_verified(journal, self.output_types)
        if j.header() + (j.rows,) != self._journal_fields() + (self.rows,):
            raise VerificationError("the verified journal differs from this result's fields")
        anchor = None
        if anchor_hash is not None:
            check_anchor_hash(anchor_hash, j.anchor_number, j.anchor_hash)
            anchor = "the given hash"
        if trusted_rpc is not None:
            check_anchor(trusted_rpc, j.chain_id, j.anchor_number, j.anchor_hash)
            anchor = f"node {trusted_rpc}"
        return Verification(j, question, anchor)

    def _journal_fields(self) -> tuple:
        """The journal header this result claims (as `Journal.header` reads one)."""
        return (
            JOURNAL_VERSION,
            self.chain_id,
            self.query_hash,
            self.anchor_number,
            self.anchor_hash,
            self.history_root,
            self.first_block,
            self.last_block,
            self.params,
        )

    def _verify_seal(self, allow_dev: bool) -> bytes:
        """The journal the seal proves for the recorded `query` image ID (fake receipts only with
        `allow_dev` for a dev result); it must be this result's journal."""
        recorded = bytes.fromhex(zkvm.recorded_image_ids()[QUERY_GUEST])
        if self.image_id != recorded:
            raise VerificationError(
                f"the result was proven by query guest 0x{self.image_id.hex()}, "
                f"but the recorded query image ID is 0x{recorded.hex()}"
            )
        journal = zkvm.verify(self.receipt, recorded, allow_dev=bool(allow_dev and self.dev))
        if journal != self.journal:
            raise VerificationError("the receipt's journal is not the result's journal")
        return journal

    def _bind_question(self, sql, params, views) -> str:
        """Recompiles the question (plan only) and binds this result to it (see verify)."""
        if isinstance(sql, CatalogueQuery):
            views, params = {**sql.views, **(views or {})}, sql.typed_params(params)
            sql = sql.sql
        try:
            compiled = compile_sql(sql, params=params, views=views)
        except CompileError as exc:
            raise VerificationError(f"the question does not compile: {exc}") from exc
        if compiled.query_hash != self.query_hash:
            raise VerificationError(
                f"the receipt answers another question: its queryHash is "
                f"0x{self.query_hash.hex()}, this SQL's is 0x{compiled.query_hash.hex()}"
            )
        if compiled.params_bytes != self.params:
            raise VerificationError(
                "the receipt answers this query for other parameter values: its params are "
                f"0x{self.params.hex()}, the given ones 0x{compiled.params_bytes.hex()}"
            )
        j = _decode_verified(self.journal, compiled.plan.output_types)
        self.columns, self.column_types = list(compiled.columns), list(compiled.column_types)
        self.param_types = list(compiled.param_types)
        self.rows, self.sql = j.result_rows(), sql
        return sql

    def to_dict(self) -> dict:
        return {
            "columns": self.columns,
            "types": self.column_types,
            "rows": [[_jsonable(v, t) for v, t in zip(r, self.column_types)] for r in self.rows],
            "query_hash": "0x" + self.query_hash.hex(),
            "params": "0x" + self.params.hex(),
            "param_types": self.param_types,
            "chain_id": self.chain_id,
            "anchor": {
                "number": self.anchor_number,
                "hash": "0x" + self.anchor_hash.hex(),
                "history_root": "0x" + self.history_root.hex(),
            },
            "first_block": self.first_block,
            "last_block": self.last_block,
            "image_id": "0x" + self.image_id.hex(),
            "dev": self.dev,
            "receipt_kind": self.receipt.kind,
            "receipt_bytes": self.receipt_size,
            "cycles": self.cycles,
            "user_cycles": self.user_cycles,
            "segments": self.segments,
            "proving_seconds": None
            if self.proving_seconds is None
            else round(self.proving_seconds, 3),
        }

    # --- files --------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Writes the receipt and its sidecar JSON (`<path>.json`); returns the receipt path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.receipt.to_bytes())
        meta = {
            "version": SIDECAR_VERSION,
            "columns": self.columns,
            "types": self.column_types,
            "param_types": self.param_types,
            "image_id": "0x" + self.image_id.hex(),
            "dev": self.dev,
            "sql": self.sql,
            "cycles": self.cycles,
            "user_cycles": self.user_cycles,
            "segments": self.segments,
            "proving_seconds": self.proving_seconds,
        }
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
            raise InvalidArgument(
                f"cannot read receipt {path} and its sidecar {sidecar_path(path).name}: {exc}"
            ) from exc
        receipt = zkvm.Receipt.from_bytes(data)
        types = meta.get("types")
        if not isinstance(types, list) or any(t not in TYPE_CODES for t in types):
            raise InvalidArgument(f"{sidecar_path(path)}: 'types' must list column types")
        try:
            j = decode_journal_strict(receipt.journal, [TYPE_CODES[t] for t in types])
        except ReceiptFormatError as exc:
            raise ReceiptFormatError(
                f"the journal of {path} does not decode with types {types}: {exc}"
            ) from exc
        image_id = bytes.fromhex(str(meta.get("image_id", ""))[2:]) or bytes(32)
        columns = meta.get("columns") or [f"c{i}" for i in range(len(types))]
        return cls.from_journal(
            j,
            receipt,
            columns=columns,
            column_types=types,
            image_id=image_id,
            dev=receipt.is_fake,
            cycles=meta.get("cycles"),
            user_cycles=meta.get("user_cycles"),
            segments=meta.get("segments"),
            proving_seconds=meta.get("proving_seconds"),
            sql=meta.get("sql"),
            param_types=list(meta.get("param_types") or []),
        )

    @classmethod
    def from_journal(cls, j: Journal, receipt: zkvm.Receipt, **fields) -> QueryResult:
        """A result whose rows and journal fields are those of `j` (decoded from `receipt`);
        `fields` are the rest (columns, column_types, image_id, dev, cycles, ...)."""
        return cls(
            rows=j.result_rows(),
            query_hash=j.query_hash,
            chain_id=j.chain_id,
            anchor_number=j.anchor_number,
            anchor_hash=j.anchor_hash,
            history_root=j.history_root,
            first_block=j.first_block,
            last_block=j.last_block,
            params=j.params,
            journal=receipt.journal,
            receipt=receipt,
            **fields,
        )
