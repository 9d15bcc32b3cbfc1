"""What a plan scans, read off the conjuncts of WHERE: the block range (`block_number = n` or
`block_number BETWEEN a AND b`), the addresses and slots a state source proves, and the
(address, topic0) bloom keys that let a log scan skip blocks."""

from __future__ import annotations

from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.expressions import ExpressionLowerer
from coprocessor.compiler.sql_text import SqlText

MAX_BLOCK_NUMBER = 2**64 - 1  # block numbers are 64-bit in headers, the plan and the journal


def conjuncts(node) -> list:
    """The top-level AND terms of a condition."""
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def and_all(es: list) -> tuple | None:
    """The plan expression `e1 AND e2 AND ...` (None for no terms: TRUE)."""
    out = None
    for e in es:
        out = e if out is None else (plan.AND, out, e)
    return out


def block_range(c, low: ExpressionLowerer) -> tuple | None:
    """(first, last) if the conjunct is `block_number = n` or `block_number BETWEEN a AND b`;
    in a template a bound may be a parameter, `(PARAM, i)`."""

    def is_block(n) -> bool:
        if not isinstance(n, exp.Column) or not isinstance(n.this, exp.Identifier):
            return False
        return low.source.index(n.name if n.this.quoted else n.name.lower()) == 0

    def is_bound(n) -> bool:
        return low.constant(n) is not None or low.param(n) is not None

    def block_number(n) -> int | tuple:
        p = low.param(n)
        if p is not None:
            inner = n
            while isinstance(inner, exp.Paren):
                inner = inner.this
            value = low.params_value(inner.name)
            if p[1] != schema.UINT or value > MAX_BLOCK_NUMBER:
                raise low.text.error(n, "the block range takes 64-bit integer parameters")
            return p[0]
        v = low.constant(n)
        if v is None or v[1] != schema.UINT:
            raise low.text.error(n, "the block range takes integer constants")
        if v[0] > MAX_BLOCK_NUMBER:
            raise low.text.error(n, "block numbers are 64-bit")
        return v[0]

    if isinstance(c, exp.EQ):
        if is_block(c.this):
            if not is_bound(c.expression):
                return None
            v = block_number(c.expression)
            return v, v
        if is_block(c.expression) and is_bound(c.this):
            v = block_number(c.this)
            return v, v
    if isinstance(c, exp.Between) and is_block(c.this):
        return block_number(c.args["low"]), block_number(c.args["high"])
    return None


def _constants_forced(e: tuple, col: int) -> list | None:
    """Constants that column `col` must equal if the conjunct `e` holds (col = c, col IN (...))."""
    if e[0] == plan.EQ:
        for x, y in ((e[1], e[2]), (e[2], e[1])):
            if x == (plan.COL, col) and y[0] in (plan.UINT_C, plan.BYTES_C):
                return [y[1]]
    if e[0] == plan.IN and e[1] == (plan.COL, col):
        return [c[1] for c in e[2]]
    return None


def domain(conj: list, col: int) -> set | None:
    """Intersection of the constant sets the conjuncts force on column `col` (None: no
    constraint)."""
    dom = None
    for e in conj:
        vals = _constants_forced(e, col)
        if vals is not None:
            s = {v if isinstance(v, bytes) else v.to_bytes(32, "big") for v in vals}
            dom = s if dom is None else dom & s
    return dom


def scan_source(
    source: schema.Source, conj: list, text: SqlText, table: exp.Expr, template: bool = False
) -> tuple[tuple, tuple | None, list[tuple[bytes, bytes]]]:
    """(plan source, state filter, bloom keys) of a scan of `source` under the lowered WHERE
    conjuncts `conj` (`table` is the FROM node errors point at). A `template` has neither
    state key lists nor bloom keys: the guest derives both from the bound filter."""
    kind = source.kind
    if template and kind in schema.STATE_SOURCES:
        keys = {0, source.position("address")} | (
            {source.position("slot")} if kind == schema.SRC_STORAGE else set()
        )
        return (kind,), _state_filter(conj, keys), []
    if kind in schema.STATE_SOURCES:
        return _state_source(source, conj, text, table)
    bloom: list[tuple[bytes, bytes]] = []
    src: tuple
    if kind == schema.SRC_EVENT and source.event is not None:
        topic0, params = source.event
        src = (kind, topic0, tuple((p.kind, p.bits, p.indexed) for p in params))
        addrs = domain(conj, schema.EVENT_CONTRACT)
        if addrs is not None:
            bloom = [(a, topic0) for a in sorted(addrs)]
    else:
        src = (kind,)
        if kind == schema.SRC_LOGS:
            addrs = domain(conj, schema.LOGS_ADDRESS)
            topics = domain(conj, schema.LOGS_TOPIC0)
            if addrs is not None and topics is not None:
                bloom = [(a, t) for a in sorted(addrs) for t in sorted(topics)]
    if template or any(len(a) != 20 or len(t) != 32 for a, t in bloom):
        # a constant that cannot match: no skipping (the filter rejects every row anyway)
        bloom = []
    return src, None, bloom


def _state_source(source: schema.Source, conj: list, text: SqlText, table) -> tuple:
    """accounts: the addresses; storage: the addresses and slots; the state filter holds the
    conjuncts over only block_number, address (and slot): where a proof is needed."""
    kind = source.kind
    addr_i = source.position("address")
    addrs = domain(conj, addr_i)
    if addrs is None:
        raise text.error(
            table, f"{source.name} needs address = <constant> or address IN (...) in WHERE"
        )
    src: tuple = (kind, tuple(sorted(addrs)))
    keys = {0, addr_i}
    if kind == schema.SRC_STORAGE:
        slot_i = source.position("slot")
        slots = domain(conj, slot_i)
        if slots is None:
            raise text.error(
                table,
                "storage needs slot = <constant> (or mapping_slot(...)) or slot IN (...) in WHERE",
            )
        src = (kind, tuple(sorted(addrs)), tuple(sorted(slots)))
        keys.add(slot_i)
    return src, _state_filter(conj, keys), []


def _state_filter(conj: list, keys: set[int]) -> tuple | None:
    """The conjuncts that read only the key columns `keys` (and read some)."""
    return and_all([e for e in conj if plan.column_refs(e) <= keys and plan.column_refs(e)])
