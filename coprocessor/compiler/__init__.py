"""Query compiler (layer 2): SQL → QueryPlan (canonical RLP, queryHash) + witness + expected result.

    from coprocessor.compiler import compile
    q = compile(sql, params={"token": addr}, store=store, fetch_state=indexer.fetch_state)
    q.plan, q.plan_bytes, q.query_hash, q.witness, q.witness_bytes, q.expected, q.explain()

The dialect and the plan encoding are specified in coprocessor/compiler/PLAN.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coprocessor import zkvm
from coprocessor.compiler import crosscheck, native
from coprocessor.compiler import source_rows
from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.compiler import witness as W
from coprocessor.compiler.journal import decode_journal
from coprocessor.compiler.lower import Lowered, lower
from coprocessor.errors import CompileError, IndexIncompleteError

CATALOGUE = Path(__file__).resolve().parents[2] / "queries"
FetchState = Callable[[int, bytes, tuple], None]


@dataclass
class CompiledQuery:
    sql: str
    plan: P.QueryPlan
    plan_bytes: bytes
    query_hash: bytes
    columns: list[str]  # output names (not part of the plan)
    column_types: list[str]
    anchor: int
    witness: W.Witness | None
    witness_bytes: bytes | None
    expected: list[tuple] | None
    source: S.Source
    chain_id: int | None = None  # the index's chain (with a store)
    journal: bytes | None = None  # what the query guest commits over this witness (native run)

    def explain(self) -> str:
        cols = [c.name for c in self.source.columns]
        p = self.plan
        lines = [f"queryHash 0x{self.query_hash.hex()}  ({len(self.plan_bytes)} plan bytes)",
                 f"source    {self.source.name} (kind {p.source[0]})",
                 f"blocks    {p.first_block}..{p.last_block}, anchor {self.anchor}"]  # fmt: skip
        if p.source[0] == S.SRC_EVENT:
            lines.append(f"event     topic0 0x{p.source[1].hex()}")
        if p.source[0] in S.STATE_SOURCES:
            lines.append(f"addresses {', '.join('0x' + a.hex() for a in p.source[1])}")
            if p.source[0] == S.SRC_STORAGE:
                lines.append(f"slots     {', '.join('0x' + s.hex() for s in p.source[2])}")
            lines.append(f"proofs at {P.format_expr(p.state_filter, cols)}")
        if p.bloom_keys:
            lines.append("bloom     skip a block when its logsBloom proves absent: "
                         + ", ".join(f"(0x{a.hex()}, 0x{t.hex()[:8]}…)" for a, t in p.bloom_keys))
        elif p.source[0] in S.LOG_SOURCES:
            lines.append("bloom     none (no constant address and topic0): every block's receipts")
        lines.append(f"filter    {P.format_expr(p.filter, cols)}")
        if p.group_by:
            lines.append(f"group by  {', '.join(P.format_expr(g, cols) for g in p.group_by)}")
        for i, (op, e) in enumerate(p.aggregates):
            lines.append(f"agg{i}      {P.AGG_NAMES[op]}({'' if e is None else P.format_expr(e, cols)})")
        for name, e, t in zip(self.columns, p.select, self.column_types):
            lines.append(f"output    {name} {t} = {P.format_expr(e, cols)}")
        if p.order_by:
            lines.append("order by  " + ", ".join(f"{self.columns[i]} {'DESC' if d else 'ASC'}"
                                                  for i, d in p.order_by))  # fmt: skip
        if p.limit is not None:
            lines.append(f"limit     {p.limit}")
        if self.witness is not None:
            lines.append(f"witness   {len(self.witness_bytes)} bytes")
            for k, v in self.witness.counts().items():
                lines.append(f"  {k:<24} {v}")
            est = W.estimate_cycles(self.witness)
            lines.append("estimated guest cycles (header 25k, account proof 78k, storage proof 67k, "
                         "receipt ~35k, transaction ~30k assumed)")  # fmt: skip
            for k, v in est.items():
                lines.append(f"  {k:<24} {v:,}")
            perms = W.keccak_permutations(self.witness)
            lines.append(f"keccak    ~{perms:,} permutations: accelerator batches of 2^{zkvm.keccak_po2_for(perms)} "
                         "rows when proving")  # fmt: skip
            if p.source[0] == S.SRC_TRANSACTIONS and 4 in _used_cols(p):
                n_tx = self.witness.counts()["transactions"]
                lines.append(f"  (+ one sender recovery, ~{W.CYCLES['sender']:,} cycles, per transaction "
                             f"for `from`: at most {n_tx * W.CYCLES['sender']:,}; only rows the WHERE keeps "
                             "when the WHERE does not read `from`)")  # fmt: skip
        if self.expected is not None:
            lines.append(f"expected  {len(self.expected)} row(s)")
            for r in self.expected[:20]:
                lines.append("  " + ", ".join(_fmt(v) for v in r))
        return "\n".join(lines)


def _fmt(v):
    return "0x" + v.hex() if isinstance(v, bytes) else str(v)


def _used_cols(p: P.QueryPlan) -> set[int]:
    from coprocessor.compiler.lower import _refs

    out = set()
    for e in [p.filter, p.state_filter, *p.group_by, *p.select, *(a[1] for a in p.aggregates)]:
        if e is not None:
            out |= _refs(e)
    return out


def compile(sql: str, *, params: dict | None = None, store=None, at_block: int | None = None,
            views: dict[str, str] | None = None, fetch_state: FetchState | None = None) -> CompiledQuery:  # fmt: skip
    """Compiles `sql`. Without `store` only the plan is built (and checked by the guest's rules:
    no witness, no expected result).

    With a store, the expected rows are the journal the query guest's own code (run natively)
    commits over the very witness the guest will get, cross-checked with the user's SQL run
    by DuckDB. `views` declares event views {name: "Event(type indexed name, ...)"};
    `fetch_state` (e.g. `Indexer.fetch_state`) fetches state proofs the index lacks.
    """
    anchor = at_block
    if store is not None:
        cp = store.checkpoint()
        if cp is None:
            raise IndexIncompleteError("the index is empty: index blocks before compiling queries")
        if anchor is None:
            anchor = cp.last_block
        elif not cp.first_block <= anchor <= cp.last_block:
            raise IndexIncompleteError(f"anchor block {anchor} is outside the indexed range "
                                       f"{cp.first_block}..{cp.last_block}", first=anchor, last=anchor)  # fmt: skip
    low: Lowered = lower(sql, params=params, views=views, anchor=anchor)
    plan, source = low.plan, low.source
    data = plan.encode()
    native.check_plan(data)
    witness = wbytes = rows = journal = chain_id = None
    if store is not None:
        if plan.first_block < cp.first_block:
            raise IndexIncompleteError(f"block {plan.first_block} is below the first indexed block "
                                       f"{cp.first_block}: index from {plan.first_block}",
                                       first=plan.first_block, last=cp.first_block - 1)  # fmt: skip
        chain_id = cp.chain_id
        points: list[tuple] = []
        if source.kind in S.STATE_SOURCES:
            points = native.state_points(data, storage=source.kind == S.SRC_STORAGE)
            try:
                src_rows = source_rows.state_rows(store, plan, source, points)
            except source_rows.MissingState as missing:
                if fetch_state is None:
                    raise IndexIncompleteError(f"{len(missing.points)} state proofs are not indexed (first: block "
                                       f"{missing.points[0][0]}, 0x{missing.points[0][1].hex()}): pass "
                                       "fetch_state=indexer.fetch_state") from None  # fmt: skip
                _fetch(fetch_state, missing.points)
                src_rows = source_rows.state_rows(store, plan, source, points)
        else:
            src_rows = source_rows.scan_rows(store, plan, source)
        witness = W.build(store, plan, source, anchor, points)
        wbytes = witness.encode()
        journal = native.run(P.rlp_encode([chain_id, data, wbytes]))
        rows = decode_journal(journal, plan.output_types).rows
        crosscheck.check(rows, crosscheck.duckdb_rows(sql, params, plan, source, src_rows), sql)
    return CompiledQuery(sql, plan, data, P.keccak(data), low.column_names,
                         [S.TYPE_NAMES[t] for t in plan.output_types], anchor if anchor is not None else -1,
                         witness, wbytes, rows, source, chain_id, journal)  # fmt: skip


def _fetch(fetch_state: FetchState, points: list[tuple]) -> None:
    by: dict[tuple, list] = {}
    for pt in points:
        slots = by.setdefault((pt[0], pt[1]), [])
        if len(pt) > 2:
            slots.append(pt[2])
    for (block, addr), slots in by.items():
        fetch_state(block, addr, tuple(slots))


@dataclass(frozen=True)
class CatalogueQuery:
    name: str
    sql: str
    description: str
    params: dict  # name -> {"type": ..., "description": ...}
    result: list  # expected answer shape: [{"name", "type"}]
    views: dict


def catalogue(directory: Path = CATALOGUE) -> dict[str, CatalogueQuery]:
    out = {}
    for sql_path in sorted(directory.glob("*.sql")):
        meta = json.loads(sql_path.with_suffix(".json").read_text())
        out[sql_path.stem] = CatalogueQuery(sql_path.stem, sql_path.read_text(), meta["description"],
                                            meta.get("params", {}), meta.get("result", []),
                                            meta.get("views", {}))  # fmt: skip
    return out


__all__ = ["CatalogueQuery", "CompileError", "CompiledQuery", "catalogue", "compile"]
