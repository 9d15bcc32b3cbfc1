"""Compiling a request as it arrives on chain: plan template bytes + ABI-encoded parameter values,
no SQL (PLAN.md "Parameters"). The relayer uses it: a `QueryRequested` event carries exactly
these two byte strings, and the query guest alone decides what they mean.

    q = compile_template(plan_bytes, params_bytes, store=store, fetch_state=ix.fetch_state)
    q.plan_bytes, q.query_hash, q.params_bytes, q.witness_bytes, q.journal, q.expected

The guest's code first rules on the binding (`native.check_plan(template, params)`); the
template is decoded (and must re-encode to the very same bytes), bound to the values as the
guest binds it (prepared.bind), and the scan keys the guest derives from the bound filter
(bloom keys, state addresses and slots) are read off it as the SQL lowering reads them
(scan_scope.domain). The witness is then selected from the index exactly as for SQL
(pipeline's anchor and state-fetching steps, witness.build), and the expected journal is the
one the guest's code commits over it, run natively. There is no DuckDB cross-check (there is
no SQL to run): the proof is checked against this native journal instead.
"""

from __future__ import annotations

from dataclasses import replace

import rlp
from eth_hash.auto import keccak

from coprocessor.compiler import anchors, native, plan, schema
from coprocessor.compiler.journal import decode_journal, decode_params
from coprocessor.compiler.pipeline import CompiledQuery, FetchState, _anchor, _state_rows
from coprocessor.compiler.prepared import Prepared, bind
from coprocessor.compiler.scan_scope import domain
from coprocessor.compiler.witness import build as build_witness
from coprocessor.errors import CompileError, IndexIncompleteError

_SOURCES = {
    s.kind: s
    for s in (
        schema.BLOCKS,
        schema.TRANSACTIONS,
        schema.RECEIPTS,
        schema.LOGS,
        schema.ACCOUNTS,
        schema.STORAGE,
    )
}
_ONE_ARG = (plan.COL, plan.UINT_C, plan.GROUP_REF, plan.AGG_REF, plan.PARAM)
_BINARY = (
    *(plan.ADD, plan.SUB, plan.MUL, plan.DIV, plan.MOD),
    *(plan.EQ, plan.NE, plan.LT, plan.LE, plan.GT, plan.GE, plan.AND, plan.OR),
)


def _int(item) -> int:
    if not isinstance(item, bytes):
        raise CompileError("the plan template is malformed: a list where a number belongs")
    return int.from_bytes(item, "big")


def _list(item) -> list:
    if not isinstance(item, list):
        raise CompileError("the plan template is malformed: a string where a list belongs")
    return item


def decode_expr(item) -> tuple:
    """A plan expression from its RLP items (plan.encode_expr's inverse)."""
    items = _list(item)
    if not items:
        raise CompileError("the plan template is malformed: an empty expression")
    op, args = _int(items[0]), items[1:]
    if op in _ONE_ARG and len(args) == 1:
        return (op, _int(args[0]))
    if op == plan.BYTES_C and len(args) == 1 and isinstance(args[0], bytes):
        return (op, args[0])
    if op == plan.BOOL_C and len(args) == 1:
        return (op, bool(_int(args[0])))
    if op == plan.NULL_C and not args:
        return (op,)
    if op == plan.MAPPING_SLOT and len(args) == 1:
        return (op, tuple(decode_expr(a) for a in _list(args[0])))
    if op == plan.NOT and len(args) == 1:
        return (op, decode_expr(args[0]))
    if op == plan.IN and len(args) == 2:
        return (op, decode_expr(args[0]), tuple(decode_expr(c) for c in _list(args[1])))
    if op in _BINARY and len(args) == 2:
        return (op, decode_expr(args[0]), decode_expr(args[1]))
    raise CompileError(f"the plan template is malformed: expression opcode {op}")


def _source(item) -> tuple:
    kind, *params = _list(item)
    kind = _int(kind)
    if kind == schema.SRC_EVENT and len(params) == 2:
        event = tuple(
            (_int(k), _int(bits), bool(_int(ix))) for k, bits, ix in map(_list, params[1])
        )
        return (kind, params[0], event)
    return (kind, *params)


def _bound(item) -> tuple[int, int | None]:
    """(block, None) for a number, (0, i) for parameter i."""
    if isinstance(item, bytes):
        return _int(item), None
    expr = decode_expr(item)
    if expr[0] != plan.PARAM:
        raise CompileError("the plan template is malformed: a block bound is not a parameter")
    return 0, expr[1]


def decode_template(plan_bytes: bytes) -> plan.QueryPlan:
    """The template `plan_bytes` encodes (no bloom or state keys: version 2 derives them).
    Raises CompileError unless the bytes are exactly the template's canonical encoding."""
    try:
        items = _list(rlp.decode(plan_bytes))
    except rlp.exceptions.DecodingError as exc:
        raise CompileError(f"the plan template is not RLP: {exc}") from None
    if len(items) != 13 or _int(items[0]) != plan.PLAN_VERSION:
        raise CompileError(f"the plan template is not a version-{plan.PLAN_VERSION} plan")
    (first, p_first), (last, p_last) = _bound(items[3]), _bound(items[4])
    decoded = plan.QueryPlan(
        source=_source(items[2]),
        first_block=first,
        last_block=last,
        bloom_keys=(),
        state_filter=decode_expr(items[5]) if items[5] else None,
        filter=decode_expr(items[6]) if items[6] else None,
        group_by=tuple(decode_expr(e) for e in _list(items[7])),
        aggregates=tuple(
            (_int(a[0]), decode_expr(a[1]) if len(a) > 1 else None) for a in map(_list, items[8])
        ),
        select=tuple(decode_expr(e) for e in _list(items[9])),
        order_by=tuple((_int(i), bool(_int(d))) for i, d in map(_list, items[10])),
        limit=_int(items[11][0]) if _list(items[11]) else None,
        output_types=tuple(_int(t) for t in _list(items[12])),
        param_types=tuple(_int(t) for t in _list(items[1])),
        bound_params=(p_first, p_last),
    )
    if decoded.encode() != plan_bytes:
        raise CompileError("the plan template is not canonically encoded")
    return decoded


def _conjuncts(e: tuple | None) -> list[tuple]:
    if e is None:
        return []
    if e[0] == plan.AND:
        return _conjuncts(e[1]) + _conjuncts(e[2])
    return [e]


def derive_scan_keys(bound: plan.QueryPlan) -> plan.QueryPlan:
    """The bound plan with the keys the guest derives from its filter (PLAN.md "Bloom keys",
    "State keys"): bloom keys of log scans, the addresses (and slots) of state sources."""
    conj, kind = _conjuncts(bound.filter), bound.source[0]
    if kind in schema.STATE_SOURCES:
        addrs = domain(conj, schema.ACCOUNTS.position("address"))
        if kind == schema.SRC_ACCOUNTS:
            return replace(bound, source=(kind, tuple(sorted(addrs or ()))))
        slots = domain(conj, schema.STORAGE.position("slot"))
        return replace(bound, source=(kind, tuple(sorted(addrs or ())), tuple(sorted(slots or ()))))
    bloom: list[tuple[bytes, bytes]] = []
    if kind == schema.SRC_EVENT:
        addrs = domain(conj, schema.EVENT_CONTRACT)
        bloom = [(a, bound.source[1]) for a in sorted(addrs or ())]
    elif kind == schema.SRC_LOGS:
        addrs, topics = domain(conj, schema.LOGS_ADDRESS), domain(conj, schema.LOGS_TOPIC0)
        if addrs is not None and topics is not None:
            bloom = [(a, t) for a in sorted(addrs) for t in sorted(topics)]
    if any(len(a) != 20 or len(t) != 32 for a, t in bloom):
        bloom = []  # a constant that cannot match: no skipping (as the guest derives it)
    return replace(bound, bloom_keys=tuple(bloom))


def bind_template(plan_bytes: bytes, params_bytes: bytes) -> tuple[plan.QueryPlan, Prepared]:
    """(the concrete plan, the template with its values) of a request; CompileError when the
    query guest rejects the template or its binding to these values."""
    native.check_plan(plan_bytes, params_bytes)  # the guest's verdict comes first
    template = decode_template(plan_bytes)
    abi_types = [schema.TYPE_NAMES[t] for t in template.param_types]
    values = decode_params(params_bytes, abi_types)
    concrete = derive_scan_keys(bind(template, values))
    native.check_plan(concrete.encode())
    names = tuple(f"p{i}" for i in range(len(values)))
    prep = Prepared(
        template,
        plan_bytes,
        names,
        template.param_types,
        values,
        params_bytes,
        bool(template.param_types),
    )
    return concrete, prep


def _source_of(concrete: plan.QueryPlan) -> schema.Source:
    kind = concrete.source[0]
    if kind == schema.SRC_EVENT:
        return schema.Source(f"event 0x{concrete.source[1].hex()}", kind, ())
    return _SOURCES[kind]


def compile_template(
    plan_bytes: bytes,
    params_bytes: bytes,
    *,
    store,
    at_block: int | None = None,
    fetch_state: FetchState | None = None,
    history=None,
    anchor_kind: str | None = None,
) -> CompiledQuery:
    """Compiles the template `plan_bytes` bound to `params_bytes` over the index `store`:
    the witness anchored at `at_block` (default: the last indexed block; `history` and
    `anchor_kind` choose the anchor as in `compile`), the journal the query guest's code
    commits over it, and its rows (module docstring). `fetch_state` (e.g.
    `Indexer.fetch_state`) fetches the state proofs the index lacks."""
    concrete, prep = bind_template(plan_bytes, params_bytes)
    checkpoint = store.checkpoint()
    anchor = _anchor(checkpoint, at_block)
    if not checkpoint.first_block <= concrete.first_block <= concrete.last_block <= anchor:
        raise IndexIncompleteError(
            f"the query reads blocks {concrete.first_block}..{concrete.last_block}; the index "
            f"holds {checkpoint.first_block}..{checkpoint.last_block} (anchor {anchor})",
            first=concrete.first_block,
            last=concrete.last_block,
        )
    source = _source_of(concrete)
    points: list[tuple] = []
    if source.kind in schema.STATE_SOURCES:
        points = native.state_points(concrete.encode(), storage=source.kind == schema.SRC_STORAGE)
        _state_rows(store, concrete, source, points, fetch_state)
    chosen = anchors.choose(
        store,
        anchor=anchor,
        last_block=concrete.last_block,
        history=history,
        fetch_state=fetch_state,
        kind=anchor_kind,
    )
    witness = build_witness(store, concrete, source, chosen, points)
    witness_bytes = witness.encode()
    journal = native.run(rlp.encode([checkpoint.chain_id, plan_bytes, witness_bytes, params_bytes]))
    output_types = concrete.output_types
    return CompiledQuery(
        sql="",
        plan=concrete,
        plan_bytes=plan_bytes,
        query_hash=keccak(plan_bytes),
        columns=[f"c{i}" for i in range(len(output_types))],
        column_types=[schema.TYPE_NAMES[t] for t in output_types],
        anchor=chosen.number,
        witness=witness,
        witness_bytes=witness_bytes,
        expected=decode_journal(journal, output_types).rows,
        source=source,
        chain_id=checkpoint.chain_id,
        journal=journal,
        prepared=prep,
    )
