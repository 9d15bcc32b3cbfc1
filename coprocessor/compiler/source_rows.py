"""The source rows of a plan's scope, read from the index for the DuckDB cross-check (the
user's SQL is run over them: crosscheck.py). What the plan computes over them is not decided
here: the expected rows come from the query guest's own code (native.py).
"""

from __future__ import annotations

from coprocessor.compiler import schema
from coprocessor.compiler.plan import QueryPlan
from coprocessor.errors import CompileError


def _select_list(source: schema.Source) -> str:
    out = []
    for c in source.columns:
        out.append(f"CAST({c.db} AS VARCHAR)" if c.type == schema.UINT else c.db)
    return ", ".join(out)


def _convert(source: schema.Source, row: tuple) -> tuple:
    return tuple(
        int(v) if (c.type == schema.UINT and v is not None) else v
        for c, v in zip(source.columns, row)
    )


def scan_rows(store, plan: QueryPlan, source: schema.Source) -> list[tuple]:
    """Rows of the source in the plan's block range, in scan order (state sources: see
    state_rows)."""
    a, b = plan.first_block, plan.last_block
    kind = source.kind
    columns = _select_list(source)
    in_range = "block_number BETWEEN ? AND ?"
    if kind == schema.SRC_BLOCKS:
        q = f"SELECT {columns} FROM blocks WHERE number BETWEEN ? AND ? ORDER BY number"
    elif kind == schema.SRC_TRANSACTIONS:
        q = (
            f"SELECT {columns} FROM transactions t LEFT JOIN receipts r ON "
            "r.block_number = t.block_number AND r.tx_index = t.tx_index "
            "WHERE t.block_number BETWEEN ? AND ? ORDER BY t.block_number, t.tx_index"
        )
    elif kind == schema.SRC_RECEIPTS:
        q = f"SELECT {columns} FROM receipts WHERE {in_range} ORDER BY 1, 2"
    elif kind == schema.SRC_LOGS:
        q = f"SELECT {columns} FROM logs WHERE {in_range} ORDER BY 1, 3"
    elif kind == schema.SRC_EVENT:
        rows = store.sql(
            "SELECT block_number, tx_index, log_index, address, topic0, topic1, topic2, "
            "topic3, data FROM logs WHERE block_number BETWEEN ? AND ? AND topic0 = ? "
            "ORDER BY block_number, log_index",
            [a, b, plan.source[1]],
        )
        out = []
        assert source.event is not None  # an event source
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
            word, di = data[32 * di : 32 * di + 32], di + 1
        if len(word) != 32:
            return None
        if p.kind == schema.EV_ADDRESS:
            if any(word[:12]):
                return None
            out.append(word[12:])
        elif p.kind == schema.EV_UINT:
            v = int.from_bytes(word, "big")
            if v >> p.bits:
                return None
            out.append(v)
        elif p.kind == schema.EV_BOOL:
            v = int.from_bytes(word, "big")
            if v > 1:
                return None
            out.append(bool(v))
        else:  # bytesN: left-aligned, the rest zero; the value is the whole word (as the guest's)
            if any(word[p.bits // 8 :]):
                return None
            out.append(word)
    return tuple(out)


def state_rows(store, plan: QueryPlan, source: schema.Source, points: list[tuple]) -> list[tuple]:
    if not points:
        return []
    a, b = plan.first_block, plan.last_block
    addrs = list(plan.source[1])
    marks = ", ".join("?" * len(addrs))
    if source.kind == schema.SRC_ACCOUNTS:
        q = (
            f"SELECT {_select_list(source)} FROM accounts WHERE block_number BETWEEN ? AND ? "
            f"AND address IN ({marks})"
        )
        got: dict[tuple, tuple] = {
            (r[0], r[1]): r for r in (_convert(source, x) for x in store.sql(q, [a, b, *addrs]))
        }
        keyf = lambda p: (p[0], p[1])  # noqa: E731
    else:
        slots = list(plan.source[2])
        q = (
            f"SELECT {_select_list(source)} FROM storage WHERE block_number BETWEEN ? AND ? "
            f"AND address IN ({marks}) AND slot IN ({', '.join('?' * len(slots))})"
        )
        got = {
            (r[0], r[1], r[2]): r
            for r in (_convert(source, x) for x in store.sql(q, [a, b, *addrs, *slots]))
        }
        keyf = lambda p: p  # noqa: E731
    missing = [p for p in points if keyf(p) not in got]
    if missing:
        raise MissingState(missing)
    return [got[keyf(p)] for p in points]


class MissingState(Exception):
    def __init__(self, points):
        super().__init__(f"{len(points)} state points are not indexed")
        self.points = points
