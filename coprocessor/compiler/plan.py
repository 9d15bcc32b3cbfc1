"""The typed QueryPlan and its canonical RLP encoding (spec: PLAN.md, version 2); queryHash is
the keccak256 of the encoding of the plan *template* (parameters as `(PARAM, i)`).

Expressions are tuples `(op, *args)` with the integer opcodes below; `encode_expr`
turns them into RLP lists `[op, arg...]`, which pyrlp encodes. The same query always
lowers to the same tuples, so the same bytes and the same hash.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from coprocessor.errors import InternalError, QueryEvaluationError

U256 = 2**256

PLAN_VERSION = 2

# expression opcodes
COL, UINT_C, BYTES_C, BOOL_C, NULL_C = 1, 2, 3, 4, 5
PARAM, MAPPING_SLOT = 6, 7  # templates only: bound to values by the guest
ADD, SUB, MUL, DIV, MOD = 10, 11, 12, 13, 14
EQ, NE, LT, LE, GT, GE = 20, 21, 22, 23, 24, 25
AND, OR, NOT, IN = 30, 31, 32, 33
GROUP_REF, AGG_REF = 40, 41
# aggregate opcodes
COUNT_STAR, COUNT, COUNT_DISTINCT, SUM, MIN, MAX, AVG = 1, 2, 3, 4, 5, 6, 7

OP_NAMES = {
    COL: "col",
    UINT_C: "uint",
    BYTES_C: "bytes",
    BOOL_C: "bool",
    NULL_C: "null",
    PARAM: "param",
    MAPPING_SLOT: "mapping_slot",
    ADD: "+",
    SUB: "-",
    MUL: "*",
    DIV: "/",
    MOD: "%",
    EQ: "=",
    NE: "<>",
    LT: "<",
    LE: "<=",
    GT: ">",
    GE: ">=",
    AND: "AND",
    OR: "OR",
    NOT: "NOT",
    IN: "IN",
    GROUP_REF: "group",
    AGG_REF: "agg",
}
AGG_NAMES = {
    COUNT_STAR: "COUNT(*)",
    COUNT: "COUNT",
    COUNT_DISTINCT: "COUNT(DISTINCT)",
    SUM: "SUM",
    MIN: "MIN",
    MAX: "MAX",
    AVG: "AVG",
}
CONSTANT_OPS = (UINT_C, BYTES_C, BOOL_C)

Expr = tuple


@dataclass(frozen=True)
class QueryPlan:
    source: tuple  # (kind, *params) -- see PLAN.md "source"; state key lists are not encoded
    first_block: int  # in a template whose bound is a parameter: that parameter's value
    last_block: int
    bloom_keys: tuple[tuple[bytes, bytes], ...]  # (address, topic0) pairs; not encoded
    state_filter: Expr | None  # state sources: which domain points need a proof
    filter: Expr | None
    group_by: tuple[Expr, ...]
    aggregates: tuple[tuple[int, Expr | None], ...]
    select: tuple[Expr, ...]
    order_by: tuple[tuple[int, bool], ...]  # (output column, descending)
    limit: int | None
    output_types: tuple[int, ...]
    param_types: tuple[int, ...] = ()  # declared parameter types (type codes), templates only
    bound_params: tuple[int | None, int | None] = (None, None)  # templates: i of a (PARAM, i) bound

    def to_rlp_items(self) -> list:
        """Version 2: the guest derives the bloom keys and the state key lists itself."""
        src_kind, *params = self.source
        if src_kind in (STATE_ACCOUNTS, STATE_STORAGE):
            params = []
        return [
            PLAN_VERSION,
            list(self.param_types),
            [src_kind, *_items(params)],
            _bound(self.first_block, self.bound_params[0]),
            _bound(self.last_block, self.bound_params[1]),
            [] if self.state_filter is None else encode_expr(self.state_filter),
            [] if self.filter is None else encode_expr(self.filter),
            [encode_expr(e) for e in self.group_by],
            [[op] if e is None else [op, encode_expr(e)] for op, e in self.aggregates],
            [encode_expr(e) for e in self.select],
            [[i, int(d)] for i, d in self.order_by],
            [] if self.limit is None else [self.limit],
            list(self.output_types),
        ]

    def encode(self) -> bytes:
        return rlp.encode(self.to_rlp_items())


STATE_ACCOUNTS, STATE_STORAGE = 6, 7  # source kinds whose key lists the guest derives


def _bound(block: int, param: int | None):
    return block if param is None else encode_expr((PARAM, param))


def _items(x):
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, (list, tuple)):
        return [_items(v) for v in x]
    return x


def encode_expr(e: Expr) -> list:
    op = e[0]
    if op in (COL, UINT_C, GROUP_REF, AGG_REF):
        return [op, e[1]]
    if op == BYTES_C:
        return [op, e[1]]
    if op == BOOL_C:
        return [op, int(e[1])]
    if op == NULL_C:
        return [op]
    if op == PARAM:
        return [op, e[1]]
    if op == MAPPING_SLOT:
        return [op, [encode_expr(a) for a in e[1]]]
    if op == NOT:
        return [op, encode_expr(e[1])]
    if op == IN:
        return [op, encode_expr(e[1]), [encode_expr(c) for c in e[2]]]
    if op in (ADD, SUB, MUL, DIV, MOD, EQ, NE, LT, LE, GT, GE, AND, OR):
        return [op, encode_expr(e[1]), encode_expr(e[2])]
    raise InternalError(f"unknown expression opcode {op}")


def column_refs(e: Expr) -> set[int]:
    """The row columns an expression reads (`[COL, i]` anywhere inside it)."""
    if e[0] == COL:
        return {e[1]}
    out = set()
    for a in e[1:]:
        if isinstance(a, tuple) and a and isinstance(a[0], int):
            out |= column_refs(a)
        elif isinstance(a, tuple):
            for x in a:
                if isinstance(x, tuple):
                    out |= column_refs(x)
    return out


def format_expr(e: Expr | None, columns: list[str] | None = None) -> str:
    """Human-readable expression (for explain())."""
    if e is None:
        return "TRUE"
    op = e[0]
    if op == COL:
        return columns[e[1]] if columns else f"col{e[1]}"
    if op == UINT_C:
        return str(e[1])
    if op == BYTES_C:
        return "0x" + e[1].hex()
    if op == BOOL_C:
        return "TRUE" if e[1] else "FALSE"
    if op == NULL_C:
        return "NULL"
    if op in (GROUP_REF, AGG_REF):
        return f"{OP_NAMES[op]}{e[1]}"
    if op == PARAM:
        return f":{e[1]}"
    if op == MAPPING_SLOT:
        return f"mapping_slot({', '.join(format_expr(a, columns) for a in e[1])})"
    if op == NOT:
        return f"NOT ({format_expr(e[1], columns)})"
    if op == IN:
        return (
            f"{format_expr(e[1], columns)} IN ({', '.join(format_expr(c, columns) for c in e[2])})"
        )
    return f"({format_expr(e[1], columns)} {OP_NAMES[op]} {format_expr(e[2], columns)})"


def arith(op: int, a: int, b: int) -> int:
    """uint256 arithmetic with the guest's rules: below 0, at or above 2^256, or a
    division by zero raises QueryEvaluationError."""
    if op == ADD:
        r = a + b
    elif op == SUB:
        r = a - b
    elif op == MUL:
        r = a * b
    elif op in (DIV, MOD):
        if b == 0:
            raise QueryEvaluationError("division by zero")
        r = a // b if op == DIV else a % b
    if not 0 <= r < U256:
        raise QueryEvaluationError(
            f"uint256 {'underflow' if r < 0 else 'overflow'} in {OP_NAMES[op]}"
        )
    return r
