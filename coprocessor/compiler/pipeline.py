"""The compile pipeline: SQL → plan template + parameter values (prepared.py) and the concrete
plan (checked by the guest's rules) → with an index, the witness, the journal the guest's code
commits over it (binding the template to the values as the guest does), and DuckDB's
cross-check of its rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from coprocessor.compiler import anchors, crosscheck, native, schema, source_rows
from coprocessor.compiler.explain import explain_text
from coprocessor.compiler.journal import decode_journal
from coprocessor.compiler.lower import lower
from coprocessor.compiler.plan import QueryPlan
from coprocessor.compiler.prepared import Prepared, prepare
from coprocessor.compiler.witness import Witness
from coprocessor.compiler.witness import build as build_witness
from coprocessor.errors import IndexIncompleteError

FetchState = Callable[[int, bytes, tuple], None]


@dataclass
class CompiledQuery:
    sql: str
    plan: QueryPlan  # the concrete plan: the template with the parameter values written in
    plan_bytes: bytes  # the plan template (what a request carries); query_hash = its keccak256
    query_hash: bytes
    columns: list[str]  # output names (not part of the plan)
    column_types: list[str]
    anchor: int
    witness: Witness | None
    witness_bytes: bytes | None
    expected: list[tuple] | None
    source: schema.Source
    chain_id: int | None = None  # the index's chain (with a store)
    journal: bytes | None = None  # what the query guest commits over this witness (native run)
    prepared: Prepared | None = None  # the template, its parameters and their values

    @property
    def params_bytes(self) -> bytes:
        """abi.encode of the parameter values, as the journal commits them (b"" for none)."""
        return self.prepared.params_bytes if self.prepared is not None else b""

    @property
    def param_types(self) -> list[str]:
        """The ABI types of the parameters, in declaration order."""
        return self.prepared.abi_types if self.prepared is not None else []

    def explain(self) -> str:
        """The plan, witness, cost estimates and expected rows, for people (`--explain`)."""
        return explain_text(self)


def compile(
    sql: str,
    *,
    params: dict | None = None,
    store=None,
    at_block: int | None = None,
    views: dict[str, str] | None = None,
    fetch_state: FetchState | None = None,
    history=None,
    anchor_kind: str | None = None,
) -> CompiledQuery:
    """Compiles `sql`. Without `store` only the plan is built (and checked by the guest's rules:
    no witness, no expected result). `params` are the values of its `:name` parameters: they
    stay parameters of the plan template (`plan_bytes`, whose keccak256 is `query_hash`) and
    their values, ABI-encoded, are `params_bytes` (prepared.py says when they are inlined);
    `plan` is the concrete plan, the template with the values written in.

    With a store, the expected rows are the journal the query guest's own code (run natively)
    commits over the very witness the guest will get, cross-checked with the user's SQL run
    by DuckDB. `views` declares event views {name: "Event(type indexed name, ...)"};
    `fetch_state` (e.g. `Indexer.fetch_state`) fetches state proofs the index lacks.

    The witness's anchor (PLAN.md "Anchors", anchors.py) is the cheapest available: with
    `history` (a proven BlockHistory state, `coprocessor.history.HistoryJournal`) covering the
    range's last block, an MMR proof in it; else EIP-2935 storage of the anchor block when the
    range ends within its 8191 blocks; else a walk of headers up to the anchor block.
    `anchor_kind` ("walk", "history", "eip2935") forces one. `compiled.anchor` is then the
    journal's anchorNumber.
    """
    checkpoint = store.checkpoint() if store is not None else None
    anchor = _anchor(checkpoint, at_block) if store is not None else at_block
    low = lower(sql, params=params, views=views, anchor=anchor)
    plan, source = low.plan, low.source
    native.check_plan(plan.encode())
    prep = prepare(low, sql, params=params or {}, views=views, anchor=anchor)
    if prep.prepared:  # the guest binds the template to the values and accepts the result
        native.check_plan(prep.template_bytes, prep.params_bytes)
    compiled = CompiledQuery(
        sql=sql,
        plan=plan,
        plan_bytes=prep.template_bytes,
        query_hash=keccak(prep.template_bytes),
        columns=low.column_names,
        column_types=[schema.TYPE_NAMES[t] for t in plan.output_types],
        anchor=anchor if anchor is not None else -1,
        witness=None,
        witness_bytes=None,
        expected=None,
        source=source,
        prepared=prep,
    )
    if store is not None:
        chosen = anchors.choose(
            store,
            anchor=compiled.anchor,
            last_block=plan.last_block,
            history=history,
            fetch_state=fetch_state,
            kind=anchor_kind,
        )
        _add_witness(compiled, store, checkpoint, params, fetch_state, chosen)
    return compiled


def _anchor(checkpoint, at_block: int | None) -> int:
    """The anchor block: `at_block` (which must be indexed), else the index's last block."""
    if checkpoint is None:
        raise IndexIncompleteError("the index is empty: index blocks before compiling queries")
    if at_block is None:
        return checkpoint.last_block
    if not checkpoint.first_block <= at_block <= checkpoint.last_block:
        raise IndexIncompleteError(
            f"anchor block {at_block} is outside the indexed range "
            f"{checkpoint.first_block}..{checkpoint.last_block}",
            first=at_block,
            last=at_block,
        )
    return at_block


def _add_witness(
    compiled: CompiledQuery, store, checkpoint, params, fetch_state, anchor: anchors.Anchor
) -> None:
    """Fills in the witness, the journal the guest's code commits over it and its rows,
    after DuckDB's answer to the SQL agreed with them."""
    plan, source = compiled.plan, compiled.source
    if plan.first_block < checkpoint.first_block:
        raise IndexIncompleteError(
            f"block {plan.first_block} is below the first indexed block "
            f"{checkpoint.first_block}: index from {plan.first_block}",
            first=plan.first_block,
            last=checkpoint.first_block - 1,
        )
    points: list[tuple] = []
    if source.kind in schema.STATE_SOURCES:
        storage = source.kind == schema.SRC_STORAGE
        points = native.state_points(plan.encode(), storage=storage)
        src_rows = _state_rows(store, plan, source, points, fetch_state)
    else:
        src_rows = source_rows.scan_rows(store, plan, source)
    witness = build_witness(store, plan, source, anchor, points)
    witness_bytes = witness.encode()
    journal = native.run(
        rlp.encode([checkpoint.chain_id, compiled.plan_bytes, witness_bytes, compiled.params_bytes])
    )
    rows = decode_journal(journal, plan.output_types).rows
    assert rows is not None  # decoded with the plan's output types
    duck = crosscheck.duckdb_rows(compiled.sql, params, plan, source, src_rows)
    crosscheck.check(rows, duck, compiled.sql)
    compiled.witness, compiled.witness_bytes, compiled.expected = witness, witness_bytes, rows
    compiled.chain_id, compiled.journal = checkpoint.chain_id, journal
    compiled.anchor = anchor.number


def _state_rows(store, plan, source, points: list[tuple], fetch_state) -> list[tuple]:
    """The state rows at `points`, fetching the proofs the index lacks with `fetch_state`."""
    try:
        return source_rows.state_rows(store, plan, source, points)
    except source_rows.MissingState as missing:
        if fetch_state is None:
            first = missing.points[0]
            raise IndexIncompleteError(
                f"{len(missing.points)} state proofs are not indexed (first: block "
                f"{first[0]}, 0x{first[1].hex()}): pass fetch_state=indexer.fetch_state"
            ) from None
        _fetch(fetch_state, missing.points)
    return source_rows.state_rows(store, plan, source, points)


def _fetch(fetch_state: FetchState, points: list[tuple]) -> None:
    """One fetch_state call per (block, address), with every slot needed there."""
    by: dict[tuple, list] = {}
    for pt in points:
        slots = by.setdefault((pt[0], pt[1]), [])
        if len(pt) > 2:
            slots.append(pt[2])
    for (block, addr), slots in by.items():
        fetch_state(block, addr, tuple(slots))
