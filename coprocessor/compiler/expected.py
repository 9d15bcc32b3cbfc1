"""The expected result: DuckDB scans the source rows of the plan's scope, Python evaluates the
plan with the guest's exact rules (uint256 as Python ints, overflow is an error, AVG floors).

`evaluate(plan, rows)` is the reference semantics the query guest implements (PLAN.md).
"""

from __future__ import annotations

import functools
import itertools

from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.errors import CompileError, QueryEvaluationError

U256 = P.U256


# --- reading source rows ----------------------------------------------------------------------


def _select_list(source: S.Source, prefix_cast: bool = True) -> str:
    out = []
    for c in source.columns:
        out.append(f"CAST({c.db} AS VARCHAR)" if c.type == S.UINT else c.db)
    return ", ".join(out)


def _convert(source: S.Source, row: tuple) -> tuple:
    return tuple(int(v) if (c.type == S.UINT and v is not None) else v
                 for c, v in zip(source.columns, row))  # fmt: skip


def scan_rows(store, plan: P.QueryPlan, source: S.Source) -> list[tuple]:
    """Rows of the source in the plan's block range, in scan order (state sources: see state_points)."""
    a, b = plan.first_block, plan.last_block
    kind = source.kind
    if kind == S.SRC_BLOCKS:
        q = f"SELECT {_select_list(source)} FROM blocks WHERE number BETWEEN ? AND ? ORDER BY number"
    elif kind == S.SRC_TRANSACTIONS:
        q = (f"SELECT {_select_list(source)} FROM transactions t LEFT JOIN receipts r ON "
             "r.block_number = t.block_number AND r.tx_index = t.tx_index "
             "WHERE t.block_number BETWEEN ? AND ? ORDER BY t.block_number, t.tx_index")  # fmt: skip
    elif kind == S.SRC_RECEIPTS:
        q = f"SELECT {_select_list(source)} FROM receipts WHERE block_number BETWEEN ? AND ? ORDER BY 1, 2"
    elif kind == S.SRC_LOGS:
        q = f"SELECT {_select_list(source)} FROM logs WHERE block_number BETWEEN ? AND ? ORDER BY 1, 3"
    elif kind == S.SRC_EVENT:
        rows = store.sql("SELECT block_number, tx_index, log_index, address, topic0, topic1, topic2, "
                         "topic3, data FROM logs WHERE block_number BETWEEN ? AND ? AND topic0 = ? "
                         "ORDER BY block_number, log_index", [a, b, plan.source[1]])  # fmt: skip
        out = []
        for r in rows:
            d = decode_event(source.event[1], r[4:8], r[8])
            if d is not None:
                out.append((r[0], r[1], r[2], r[3], *d))
        return out
    else:
        raise CompileError(f"{source.name} is read point by point (state_points)")
    return [_convert(source, r) for r in store.sql(q, [a, b])]


def decode_event(params, topics, data: bytes) -> tuple | None:
    """Decoded parameter values, or None when the log does not have this event's shape
    (topic count, data length, words out of their type's range): such logs are not rows."""
    topics = [t for t in topics[1:] if t is not None]
    n_idx = sum(p.indexed for p in params)
    n_data = len(params) - n_idx
    if len(topics) != n_idx or len(data) != 32 * n_data:
        return None
    ti, di, out = 0, 0, []
    for p in params:
        if p.indexed:
            word, ti = topics[ti], ti + 1
        else:
            word, di = data[32 * di:32 * di + 32], di + 1
        if len(word) != 32:
            return None
        if p.kind == S.EV_ADDRESS:
            if any(word[:12]):
                return None
            out.append(word[12:])
        elif p.kind == S.EV_UINT:
            v = int.from_bytes(word, "big")
            if v >> p.bits:
                return None
            out.append(v)
        elif p.kind == S.EV_BOOL:
            v = int.from_bytes(word, "big")
            if v > 1:
                return None
            out.append(bool(v))
        else:  # bytesN: left-aligned, the rest zero
            n = p.bits // 8
            if any(word[n:]):
                return None
            out.append(word[:n] if n != 32 else word)
    return tuple(out)


def state_points(plan: P.QueryPlan, source: S.Source) -> list[tuple]:
    """(block, address[, slot]) points of a state source whose proof the guest requires:
    every point of range × addresses (× slots) where the plan's state_filter holds."""
    blocks = range(plan.first_block, plan.last_block + 1)
    doms = [blocks, plan.source[1]] + ([plan.source[2]] if source.kind == S.SRC_STORAGE else [])
    width = len(source.columns)
    keys = [0, source.index("address")] + ([source.index("slot")] if source.kind == S.SRC_STORAGE else [])
    out = []
    for pt in itertools.product(*doms):
        row = [None] * width
        for k, v in zip(keys, pt):
            row[k] = v
        if plan.state_filter is None or eval_expr(plan.state_filter, tuple(row)) is True:
            out.append(pt)
    return out


def state_rows(store, plan: P.QueryPlan, source: S.Source, points: list[tuple]) -> list[tuple]:
    if not points:
        return []
    a, b = plan.first_block, plan.last_block
    addrs = list(plan.source[1])
    marks = ", ".join("?" * len(addrs))
    if source.kind == S.SRC_ACCOUNTS:
        q = (f"SELECT {_select_list(source)} FROM accounts WHERE block_number BETWEEN ? AND ? "
             f"AND address IN ({marks})")  # fmt: skip
        got = {(r[0], r[1]): r for r in (_convert(source, x) for x in store.sql(q, [a, b, *addrs]))}
        keyf = lambda p: (p[0], p[1])  # noqa: E731
    else:
        slots = list(plan.source[2])
        q = (f"SELECT {_select_list(source)} FROM storage WHERE block_number BETWEEN ? AND ? "
             f"AND address IN ({marks}) AND slot IN ({', '.join('?' * len(slots))})")  # fmt: skip
        got = {(r[0], r[1], r[2]): r for r in (_convert(source, x) for x in store.sql(q, [a, b, *addrs, *slots]))}
        keyf = lambda p: p  # noqa: E731
    missing = [p for p in points if keyf(p) not in got]
    if missing:
        raise MissingState(missing)
    return [got[keyf(p)] for p in points]


class MissingState(Exception):
    def __init__(self, points):
        super().__init__(f"{len(points)} state points are not indexed")
        self.points = points


# --- evaluation ---------------------------------------------------------------------------------


def eval_expr(e, row, groups=None, aggs=None):
    op = e[0]
    if op == P.COL:
        return row[e[1]]
    if op in (P.UINT_C, P.BYTES_C, P.BOOL_C):
        return e[1]
    if op == P.NULL_C:
        return None
    if op == P.GROUP_REF:
        return groups[e[1]]
    if op == P.AGG_REF:
        return aggs[e[1]]
    if op == P.AND or op == P.OR:
        a, b = eval_expr(e[1], row, groups, aggs), eval_expr(e[2], row, groups, aggs)
        if op == P.AND:
            return False if (a is False or b is False) else (None if (a is None or b is None) else True)
        return True if (a is True or b is True) else (None if (a is None or b is None) else False)
    if op == P.NOT:
        a = eval_expr(e[1], row, groups, aggs)
        return None if a is None else not a
    if op == P.IN:
        a = eval_expr(e[1], row, groups, aggs)
        return None if a is None else any(a == c[1] for c in e[2])
    a, b = eval_expr(e[1], row, groups, aggs), eval_expr(e[2], row, groups, aggs)
    if a is None or b is None:
        return None
    if op in (P.ADD, P.SUB, P.MUL, P.DIV, P.MOD):
        return P.arith(op, a, b)
    return {P.EQ: a == b, P.NE: a != b, P.LT: a < b, P.LE: a <= b, P.GT: a > b, P.GE: a >= b}[op]


def _aggregate(spec, rows):
    op, e = spec
    if op == P.COUNT_STAR:
        return len(rows)
    vals = [v for v in (eval_expr(e, r) for r in rows) if v is not None]
    if op == P.COUNT:
        return len(vals)
    if op == P.COUNT_DISTINCT:
        return len(set(vals))
    if op in (P.SUM, P.AVG):
        s = sum(vals)
        if s >= U256:
            raise QueryEvaluationError("uint256 overflow in SUM")
        if not vals:
            return None  # standard SQL (and DuckDB): SUM and AVG over no values are NULL
        return s if op == P.SUM else s // len(vals)  # AVG floors, like Solidity
    if not vals:
        return None
    return min(vals) if op == P.MIN else max(vals)


def _cmp(a, b) -> int:
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)  # NULL sorts first
    return (a > b) - (a < b)


def evaluate(plan: P.QueryPlan, rows: list[tuple]) -> list[tuple]:
    """Result rows of the plan over the source rows (in scan order)."""
    kept = [r for r in rows if plan.filter is None or eval_expr(plan.filter, r) is True]
    if plan.aggregated:
        groups: dict[tuple, list] = {}
        for r in kept:
            groups.setdefault(tuple(eval_expr(g, r) for g in plan.group_by), []).append(r)
        if not plan.group_by and not groups:
            groups[()] = []
        out = []
        for key, members in groups.items():
            aggs = [_aggregate(a, members) for a in plan.aggregates]
            out.append(tuple(eval_expr(s, None, key, aggs) for s in plan.select))
        default_sorted = True
    else:
        out = [tuple(eval_expr(s, r) for s in plan.select) for r in kept]
        default_sorted = False
    if plan.order_by or default_sorted:
        def cmp(x, y):
            for i, desc in plan.order_by:
                c = _cmp(x[i], y[i])
                if c:
                    return -c if desc else c
            for a, b in zip(x, y):  # ties: the whole row, ascending
                c = _cmp(a, b)
                if c:
                    return c
            return 0

        out.sort(key=functools.cmp_to_key(cmp))
    if plan.limit is not None:
        out = out[:plan.limit]
    return out
