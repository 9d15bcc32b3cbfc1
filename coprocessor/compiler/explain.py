"""`CompiledQuery.explain()`: a compiled query for people: the plan clause by clause, the
witness, the guest's estimated cycles and keccak work, and the expected rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coprocessor import zkvm
from coprocessor.compiler import plan, schema
from coprocessor.compiler.witness import CYCLES, Witness, estimate_cycles, keccak_permutations

if TYPE_CHECKING:
    from coprocessor.compiler.pipeline import CompiledQuery

EXPECTED_ROWS_SHOWN = 20


def explain_text(compiled: CompiledQuery) -> str:
    lines = _plan_lines(compiled)
    if compiled.witness is not None and compiled.witness_bytes is not None:
        lines += _witness_lines(compiled, compiled.witness, len(compiled.witness_bytes))
    if compiled.expected is not None:
        lines.append(f"expected  {len(compiled.expected)} row(s)")
        for r in compiled.expected[:EXPECTED_ROWS_SHOWN]:
            lines.append("  " + ", ".join(_value_text(v) for v in r))
    return "\n".join(lines)


def _params_text(compiled: CompiledQuery) -> str:
    """The template's parameters with their types and values, or why there are none."""
    prep = compiled.prepared
    if prep is None or not prep.param_names:
        return "none (values inlined)" if prep is not None and prep.inlined else "none"
    return ", ".join(
        f":{n} {t} = {_value_text(v)}"
        for n, t, v in zip(prep.param_names, prep.abi_types, prep.param_values)
    )


def _plan_lines(compiled: CompiledQuery) -> list[str]:
    p = compiled.plan
    cols = [c.name for c in compiled.source.columns]

    def fmt(e) -> str:
        return plan.format_expr(e, cols)

    lines = [
        f"queryHash 0x{compiled.query_hash.hex()}  ({len(compiled.plan_bytes)} plan bytes)",
        f"params    {_params_text(compiled)}",
        f"source    {compiled.source.name} (kind {p.source[0]})",
        f"blocks    {p.first_block}..{p.last_block}, anchor {compiled.anchor}",
    ]
    if p.source[0] == schema.SRC_EVENT:
        lines.append(f"event     topic0 0x{p.source[1].hex()}")
    if p.source[0] in schema.STATE_SOURCES:
        lines.append(f"addresses {', '.join('0x' + a.hex() for a in p.source[1])}")
        if p.source[0] == schema.SRC_STORAGE:
            lines.append(f"slots     {', '.join('0x' + s.hex() for s in p.source[2])}")
        lines.append(f"proofs at {fmt(p.state_filter)}")
    if p.bloom_keys:
        keys = ", ".join(f"(0x{a.hex()}, 0x{t.hex()[:8]}…)" for a, t in p.bloom_keys)
        lines.append(f"bloom     skip a block when its logsBloom proves absent: {keys}")
    elif p.source[0] in schema.LOG_SOURCES:
        lines.append("bloom     none (no constant address and topic0): every block's receipts")
    lines.append(f"filter    {fmt(p.filter)}")
    if p.group_by:
        lines.append(f"group by  {', '.join(fmt(g) for g in p.group_by)}")
    for i, (op, e) in enumerate(p.aggregates):
        lines.append(f"agg{i}      {plan.AGG_NAMES[op]}({'' if e is None else fmt(e)})")
    for name, e, t in zip(compiled.columns, p.select, compiled.column_types):
        lines.append(f"output    {name} {t} = {fmt(e)}")
    if p.order_by:
        keys = ", ".join(f"{compiled.columns[i]} {'DESC' if d else 'ASC'}" for i, d in p.order_by)
        lines.append(f"order by  {keys}")
    if p.limit is not None:
        lines.append(f"limit     {p.limit}")
    return lines


def _witness_lines(compiled: CompiledQuery, w: Witness, size: int) -> list[str]:
    lines = [
        f"anchor    {w.anchor.describe(compiled.plan.last_block)}",
        f"witness   {size} bytes",
    ]
    for k, v in w.counts().items():
        lines.append(f"  {k:<24} {v}")
    assumed = ", ".join(f"{k} {v / 1000:g}k" for k, v in CYCLES.items() if k != "sender")
    lines.append(f"estimated guest cycles ({assumed} assumed)")
    for k, v in estimate_cycles(w).items():
        lines.append(f"  {k:<24} {v:,}")
    perms = keccak_permutations(w)
    lines.append(
        f"keccak    ~{perms:,} permutations: accelerator batches of "
        f"2^{zkvm.keccak_po2_for(perms)} rows when proving"
    )
    p = compiled.plan
    if p.source[0] == schema.SRC_TRANSACTIONS and schema.TRANSACTIONS_FROM in _columns_read(p):
        n_tx = w.counts()["transactions"]
        sender = CYCLES["sender"]
        lines.append(
            f"  (+ one sender recovery, ~{sender:,} cycles, per transaction for `from`: at most "
            f"{n_tx * sender:,}; only rows the WHERE keeps when the WHERE does not read `from`)"
        )
    return lines


def _columns_read(p: plan.QueryPlan) -> set[int]:
    """The source columns any of the plan's expressions reads."""
    out = set()
    for e in [p.filter, p.state_filter, *p.group_by, *p.select, *(a[1] for a in p.aggregates)]:
        if e is not None:
            out |= plan.column_refs(e)
    return out


def _value_text(v) -> str:
    return "0x" + v.hex() if isinstance(v, bytes) else str(v)
