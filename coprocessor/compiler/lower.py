"""SQL text → QueryPlan: parse with sqlglot (Postgres grammar), accept only the dialect, lower.

Everything outside the dialect raises CompileError naming the token (text, line,
column) and the reason: a query is either compiled as written or refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.errors import CompileError, QueryEvaluationError

U256 = P.U256
READ = "postgres"  # 0x... hex literals, :name parameters, "quoted" identifiers

# node type -> (keyword to point at, where it is relative to the node's first leaf)
_KEYWORDS = {
    exp.Join: ("JOIN", "before"), exp.Subquery: ("SELECT", "before"), exp.Window: ("OVER", "after"),
    exp.Like: ("LIKE", "after"), exp.ILike: ("ILIKE", "after"), exp.Star: ("*", "before"),
    exp.Having: ("HAVING", "before"), exp.Case: ("CASE", "before"), exp.Neg: ("-", "before"),
    exp.Is: ("IS", "after"), exp.Null: ("NULL", "before"), exp.Union: ("UNION", "after"),
    exp.With: ("WITH", "before"), exp.Distinct: ("DISTINCT", "before"), exp.Offset: ("OFFSET", "before"),
    exp.Cast: ("CAST", "before"), exp.DPipe: ("||", "after"), exp.Div: ("/", "after"),
}  # fmt: skip


@dataclass
class Lowered:
    plan: P.QueryPlan
    source: S.Source
    column_names: list[str]
    sql: str


class _Ctx:
    def __init__(self, sql: str):
        self.sql = sql
        try:
            self.tokens = sqlglot.Dialect.get_or_raise(READ).tokenize(sql)
        except TokenError as exc:
            raise CompileError(f"cannot tokenize: {exc}", token=sql[:20], line=1, column=1) from exc

    def pos(self, start: int) -> tuple[int, int]:
        return self.sql.count("\n", 0, start) + 1, start - self.sql.rfind("\n", 0, start)

    def error(self, node: exp.Expression | None, reason: str, keyword: str | None = None) -> CompileError:
        token, start = self._locate(node, keyword)
        if start is None:
            return CompileError(reason, token=token or "")
        line, col = self.pos(start)
        return CompileError(reason, token=token, line=line, column=col)

    def _leaf_start(self, node) -> int | None:
        starts = [n.meta["start"] for n in node.walk() if "start" in n.meta] if node is not None else []
        return min(starts) if starts else None

    def _locate(self, node, keyword):
        kw, direction = _KEYWORDS.get(type(node), (None, None)) if node is not None else (None, None)
        kw = keyword or kw
        first = self._leaf_start(node)
        probe = node
        while first is None and probe is not None:
            probe = probe.parent
            first = self._leaf_start(probe)
        if kw:
            toks = [t for t in self.tokens if t.text.upper() == kw.upper()]
            if first is not None:
                before = [t for t in toks if t.start < first]
                after = [t for t in toks if t.start >= first]
                pick = (before[-1:] or after[:1]) if direction == "before" else (after[:1] or before[-1:])
            else:
                pick = toks[:1]
            if pick:
                return pick[0].text, pick[0].start
        if node is not None and "start" in node.meta:
            return self.sql[node.meta["start"]:node.meta["end"] + 1], node.meta["start"]
        if first is not None:
            tok = next((t for t in self.tokens if t.start == first), None)
            return (tok.text if tok else self.sql[first:first + 10]), first
        return (node.sql(READ)[:40] if node is not None else ""), None


def parse(sql: str, ctx: _Ctx) -> exp.Expression:
    try:
        trees = sqlglot.parse(sql, read=READ)
    except ParseError as exc:
        e = exc.errors[0] if exc.errors else {}
        raise CompileError(f"syntax error: {e.get('description', exc)}", token=e.get("highlight", ""),
                           line=e.get("line", 0), column=_start_col(e))  # fmt: skip
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise CompileError("exactly one SELECT statement is expected", token=";",
                           line=1, column=max(1, sql.find(";") + 1))  # fmt: skip
    return trees[0]


def _start_col(e: dict) -> int:
    # sqlglot reports the column where the highlighted token ends
    return max(1, e.get("col", 1) - len(e.get("highlight", "")) + 1)


def _const_value(node, ctx: _Ctx, params: dict):
    """(value, type) of a literal, hex literal, parameter or boolean; None if not a constant."""
    if isinstance(node, exp.Paren):
        return _const_value(node.this, ctx, params)
    if isinstance(node, exp.Placeholder):
        name = node.name
        if name not in params:
            raise ctx.error(node, f"parameter :{name} has no value", keyword=":")
        return _param(params[name], name, ctx, node)
    if isinstance(node, exp.HexString):
        digits = node.this
        if len(digits) % 2:
            raise ctx.error(node, "a hex literal needs an even number of digits")
        return _bytes_const(bytes.fromhex(digits))
    if isinstance(node, exp.Boolean):
        return bool(node.this), S.BOOL
    if isinstance(node, exp.Literal):
        text = node.this
        if node.is_string:
            if text.lower().startswith("0x"):
                try:
                    return _bytes_const(bytes.fromhex(text[2:]))
                except ValueError:
                    raise ctx.error(node, "not a hex byte string") from None
            raise ctx.error(node, "string literals are not supported (bytes are written 0x...)")
        if not text.isdigit():
            raise ctx.error(node, "only non-negative integer literals are supported (no floats)")
        v = int(text)
        if v >= U256:
            raise ctx.error(node, "integer constant does not fit in uint256")
        return v, S.UINT
    return None


def _bytes_const(b: bytes):
    return b, {20: S.ADDRESS, 32: S.BYTES32}.get(len(b), S.BYTES)


def _param(v, name, ctx, node):
    if isinstance(v, bool):
        return v, S.BOOL
    if isinstance(v, int):
        if not 0 <= v < U256:
            raise ctx.error(node, f"parameter :{name} = {v} does not fit in uint256", keyword=":")
        return v, S.UINT
    if isinstance(v, (bytes, bytearray)):
        return _bytes_const(bytes(v))
    if isinstance(v, str) and v.lower().startswith("0x"):
        try:
            return _bytes_const(bytes.fromhex(v[2:]))
        except ValueError:
            pass
    if isinstance(v, str) and v.isascii() and v.isdigit():  # not '²': str.isdigit() takes it, int() does not
        return _param(int(v), name, ctx, node)
    raise ctx.error(node, f"parameter :{name} must be an integer, bytes or 0x-hex, got {v!r:.40}", keyword=":")


def _const_expr(v, t):
    if t == S.UINT:
        return (P.UINT_C, v)
    if t == S.BOOL:
        return (P.BOOL_C, v)
    return (P.BYTES_C, v)


_CMP = {exp.EQ: P.EQ, exp.NEQ: P.NE, exp.LT: P.LT, exp.LTE: P.LE, exp.GT: P.GT, exp.GTE: P.GE}
_ARITH = {exp.Add: P.ADD, exp.Sub: P.SUB, exp.Mul: P.MUL, exp.Div: P.DIV, exp.Mod: P.MOD}
_AGGS = {exp.Sum: P.SUM, exp.Min: P.MIN, exp.Max: P.MAX, exp.Avg: P.AVG, exp.Count: P.COUNT}
_BYTES = (S.ADDRESS, S.BYTES32, S.BYTES)


def fold(op, a, b):
    """Constant arithmetic with the guest's rules; returns None when the result is invalid."""
    try:
        return P.arith(op, a, b)
    except QueryEvaluationError:
        return None


class _Lowerer:
    def __init__(self, ctx: _Ctx, source: S.Source, table_names: set[str], params: dict):
        self.ctx, self.src, self.tables, self.params = ctx, source, table_names, params
        self.aggs: list[tuple[int, tuple | None]] = []
        self.groups: list[tuple] = []

    def column(self, node: exp.Column):
        if node.table and node.table.lower() not in self.tables:
            raise self.ctx.error(node, f"unknown table qualifier {node.table!r}")
        ident = node.this
        if isinstance(ident, exp.Star):
            raise self.ctx.error(node, "SELECT * is not supported: name the columns", keyword="*")
        name = ident.this if ident.quoted else ident.this.lower()
        i = self.src.index(name)
        if i is None:
            raise self.ctx.error(ident, f"unknown column {name!r} in {self.src.name} (columns: "
                                 f"{', '.join(c.name for c in self.src.columns)})")  # fmt: skip
        return (P.COL, i), self.src.columns[i].type

    def expr(self, node, *, agg_ok: bool = False):
        c = _const_value(node, self.ctx, self.params)
        if c is not None:
            return _const_expr(*c), c[1]
        if isinstance(node, exp.Paren):
            return self.expr(node.this, agg_ok=agg_ok)
        if isinstance(node, exp.Column):
            return self.column(node)
        if type(node) in _ARITH:
            op = _ARITH[type(node)]
            (a, ta), (b, tb) = self.expr(node.this, agg_ok=agg_ok), self.expr(node.expression, agg_ok=agg_ok)
            if ta != S.UINT or tb != S.UINT:
                raise self.ctx.error(node, "arithmetic needs uint256 operands",
                                     keyword={P.ADD: "+", P.SUB: "-", P.MUL: "*", P.DIV: "/", P.MOD: "%"}[op])
            if op in (P.DIV, P.MOD) and b == (P.UINT_C, 0):
                raise self.ctx.error(node.expression, "division by zero")
            if a[0] == P.UINT_C and b[0] == P.UINT_C:
                r = fold(op, a[1], b[1])
                if r is None:
                    raise self.ctx.error(node.expression, "constant arithmetic overflows uint256 (or is negative)")
                return (P.UINT_C, r), S.UINT
            return (op, a, b), S.UINT
        if type(node) in _CMP:
            return self.compare(_CMP[type(node)], node, node.this, node.expression, agg_ok)
        if isinstance(node, exp.Between):
            lo = self.compare(P.GE, node, node.this, node.args["low"], agg_ok)[0]
            hi = self.compare(P.LE, node, node.this, node.args["high"], agg_ok)[0]
            return (P.AND, lo, hi), S.BOOL
        if isinstance(node, (exp.And, exp.Or)):
            (a, ta), (b, tb) = self.expr(node.this, agg_ok=agg_ok), self.expr(node.expression, agg_ok=agg_ok)
            if ta != S.BOOL or tb != S.BOOL:
                raise self.ctx.error(node, "AND/OR need boolean operands",
                                     keyword="AND" if isinstance(node, exp.And) else "OR")  # fmt: skip
            return ((P.AND if isinstance(node, exp.And) else P.OR), a, b), S.BOOL
        if isinstance(node, exp.Not):
            a, ta = self.expr(node.this, agg_ok=agg_ok)
            if ta != S.BOOL:
                raise self.ctx.error(node, "NOT needs a boolean operand", keyword="NOT")
            return (P.NOT, a), S.BOOL
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest"):
                raise self.ctx.error(node.args.get("query") or node, "subqueries are not supported",
                                     keyword="SELECT")  # fmt: skip
            a, ta = self.expr(node.this, agg_ok=agg_ok)
            items = []
            for item in node.expressions:
                c = self.bytes_n_const(a, self.const_like(item, S.BYTES if self.is_bytes_n(a) else ta), item)
                if c not in items:
                    items.append(c)
            return (P.IN, a, tuple(sorted(items, key=_sort_key))), S.BOOL
        if isinstance(node, exp.Anonymous) and node.name.lower() == "mapping_slot":
            return self.mapping_slot(node)
        if type(node) in _AGGS:
            if not agg_ok:
                raise self.ctx.error(node, f"aggregate {node.key.upper()} is not allowed here",
                                     keyword=node.key.upper())  # fmt: skip
            return self.aggregate(node)
        if isinstance(node, (exp.Select, exp.Subquery, exp.Exists)):
            raise self.ctx.error(node, "subqueries are not supported", keyword="SELECT")
        if isinstance(node, exp.Window) or (isinstance(node, exp.Func) and node.find_ancestor(exp.Window)):
            raise self.ctx.error(node, "window functions are not supported", keyword="OVER")
        if isinstance(node, (exp.Func, exp.Anonymous)):
            name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
            raise self.ctx.error(node, f"function {name.upper()} is not supported (aggregates: COUNT, "
                                 "SUM, MIN, MAX, AVG; scalar: mapping_slot)", keyword=name)  # fmt: skip
        if isinstance(node, (exp.Like, exp.ILike)):
            raise self.ctx.error(node, "LIKE is not supported")
        raise self.ctx.error(node, f"{node.key.upper()} is not supported in this dialect")

    def const_like(self, node, want):
        c = _const_value(node, self.ctx, self.params)
        if c is None:
            if isinstance(node, exp.Anonymous) and node.name.lower() == "mapping_slot":
                e, t = self.mapping_slot(node)
                c = (e[1], t)
            else:
                raise self.ctx.error(node, "IN lists hold constants only")
        v, t = c
        return self.coerce(_const_expr(v, t), t, want, node)

    def coerce(self, e, t, want, node):
        if t == want or (t in _BYTES and want == S.BYTES) or (want in _BYTES and t == S.BYTES and e[0] != P.BYTES_C):
            return e
        if want == S.BYTES32 and t == S.UINT and e[0] == P.UINT_C:  # slot = 2
            return (P.BYTES_C, e[1].to_bytes(32, "big"))
        if want == S.BYTES32 and t == S.ADDRESS and e[0] == P.BYTES_C:
            raise self.ctx.error(node, "an address compared with a bytes32 column: pad it to 32 bytes")
        raise self.ctx.error(node, f"type mismatch: {S.TYPE_NAMES[t]} where {S.TYPE_NAMES[want]} is expected")

    def is_bytes_n(self, e) -> bool:
        return e[0] == P.COL and self.src.columns[e[1]].bytes_n != 32

    def bytes_n_const(self, col_expr, c, node):
        """A constant compared with an event's bytesN column (N < 32): written with N bytes, it is
        padded to the column's 32-byte word (as Solidity converts bytesN to bytes32)."""
        if col_expr[0] != P.COL or c[0] != P.BYTES_C:
            return c
        n = self.src.columns[col_expr[1]].bytes_n
        if n == 32 or len(c[1]) == 32:
            return c
        if len(c[1]) != n:
            raise self.ctx.error(node, f"{self.src.columns[col_expr[1]].name} is a bytes{n}: compare it "
                                 f"with a {n}-byte constant, not {len(c[1])} bytes")  # fmt: skip
        return (P.BYTES_C, c[1].ljust(32, b"\0"))

    def compare(self, op, node, left, right, agg_ok):
        (a, ta), (b, tb) = self.expr(left, agg_ok=agg_ok), self.expr(right, agg_ok=agg_ok)
        a2, b2 = self.bytes_n_const(b, a, left), self.bytes_n_const(a, b, right)
        ta, tb = (S.BYTES32 if a2 != a else ta), (S.BYTES32 if b2 != b else tb)
        a, b = a2, b2
        if ta != tb:
            if a[0] in (P.UINT_C, P.BYTES_C):
                a = self.coerce(a, ta, tb, left)
            else:
                b = self.coerce(b, tb, ta, right)
        if ta == S.BOOL and op not in (P.EQ, P.NE):
            raise self.ctx.error(node, "booleans compare with = and <> only")
        return (op, a, b), S.BOOL

    def mapping_slot(self, node):
        args = node.expressions
        if not 2 <= len(args) <= 3:
            raise self.ctx.error(node, "mapping_slot(base_slot, key[, key2]) takes 2 or 3 arguments",
                                 keyword=node.name)  # fmt: skip
        vals = []
        for a in args:
            c = _const_value(a, self.ctx, self.params)
            if c is None or c[1] == S.BOOL:
                raise self.ctx.error(a, "mapping_slot arguments must be integer or bytes constants")
            if c[1] != S.UINT and len(c[0]) > 32:
                raise self.ctx.error(a, "a mapping key longer than 32 bytes is not supported")
            vals.append(c[0])
        return (P.BYTES_C, S.mapping_slot(vals[0], *vals[1:])), S.BYTES32

    def aggregate(self, node):
        op = _AGGS[type(node)]
        arg = node.this
        if op == P.COUNT and isinstance(arg, exp.Star):
            spec, t = (P.COUNT_STAR, None), S.UINT
        else:
            if isinstance(arg, exp.Distinct):
                if op != P.COUNT or len(arg.expressions) != 1:
                    raise self.ctx.error(arg, "DISTINCT is supported in COUNT(DISTINCT x) only")
                op, arg = P.COUNT_DISTINCT, arg.expressions[0]
            if arg is None or node.expressions:
                raise self.ctx.error(node, f"{node.key.upper()} takes one argument", keyword=node.key.upper())
            if any(type(n) in _AGGS for n in arg.walk()):
                raise self.ctx.error(arg, "nested aggregates are not supported")
            e, ta = self.expr(arg)
            if op in (P.SUM, P.AVG) and ta != S.UINT:
                raise self.ctx.error(node, f"{node.key.upper()} needs a uint256 argument", keyword=node.key.upper())
            spec = (op, e)
            t = ta if op in (P.MIN, P.MAX) else S.UINT
        if spec not in self.aggs:
            self.aggs.append(spec)
        return (P.AGG_REF, self.aggs.index(spec)), t

    def output(self, node, aggregated: bool):
        """Lowers a SELECT item; in aggregated queries, non-aggregate parts must be GROUP BY expressions."""
        if not aggregated:
            return self.expr(node)
        if type(node) in _AGGS:
            return self.expr(node, agg_ok=True)
        try:
            e, t = self.expr(node, agg_ok=False)
        except CompileError:
            e = None
        if e is not None:
            if e[0] in (P.UINT_C, P.BYTES_C, P.BOOL_C):
                return e, t
            if e in self.groups:
                return (P.GROUP_REF, self.groups.index(e)), t
            if not any(type(n) in _AGGS for n in node.walk()):
                raise self.ctx.error(node, "this column must appear in GROUP BY or inside an aggregate")
        # arithmetic / comparisons over aggregates and group keys
        if type(node) in _ARITH:
            op = _ARITH[type(node)]
            (a, ta), (b, tb) = self.output(node.this, True), self.output(node.expression, True)
            if ta != S.UINT or tb != S.UINT:
                raise self.ctx.error(node, "arithmetic needs uint256 operands")
            return (op, a, b), S.UINT
        if isinstance(node, exp.Paren):
            return self.output(node.this, True)
        if type(node) in _CMP:  # comparisons over aggregates and group keys
            (a, ta), (b, tb) = self.output(node.this, True), self.output(node.expression, True)
            if ta != tb:
                raise self.ctx.error(node, f"cannot compare {S.TYPE_NAMES[ta]} with {S.TYPE_NAMES[tb]}")
            if ta == S.BOOL and _CMP[type(node)] not in (P.EQ, P.NE):
                raise self.ctx.error(node, "booleans compare with = and <> only")
            return (_CMP[type(node)], a, b), S.BOOL
        e, t = self.expr(node, agg_ok=True)
        if _refs(e):  # a row's column outside every aggregate: there is no row here
            col = next((c for c in node.find_all(exp.Column) if not c.find_ancestor(*_AGGS)), node)
            raise self.ctx.error(col, "a column outside an aggregate cannot be combined with aggregates in "
                                 "SELECT: select it as its own column (a GROUP BY expression)")  # fmt: skip
        return e, t


def _ident(ident) -> str:
    return ident.this if ident.quoted else ident.this.lower()


def _sort_key(e):
    return (e[0], e[1] if not isinstance(e[1], bool) else int(e[1]))


def _conjuncts(node) -> list:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _and_all(es: list):
    out = None
    for e in es:
        out = e if out is None else (P.AND, out, e)
    return out


def _refs(e) -> set[int]:
    if e[0] == P.COL:
        return {e[1]}
    out = set()
    for a in e[1:]:
        if isinstance(a, tuple) and a and isinstance(a[0], int):
            out |= _refs(a)
        elif isinstance(a, tuple):
            for x in a:
                if isinstance(x, tuple):
                    out |= _refs(x)
    return out


def _const_set(e, col: int) -> list | None:
    """Constants that column `col` must equal if the conjunct `e` holds (col = c, col IN (...))."""
    if e[0] == P.EQ:
        for x, y in ((e[1], e[2]), (e[2], e[1])):
            if x == (P.COL, col) and y[0] in (P.UINT_C, P.BYTES_C):
                return [y[1]]
    if e[0] == P.IN and e[1] == (P.COL, col):
        return [c[1] for c in e[2]]
    return None


def lower(sql: str, *, params: dict | None = None, views: dict[str, str] | None = None,
          anchor: int | None = None) -> Lowered:  # fmt: skip
    try:
        return _lower(sql, params=params, views=views, anchor=anchor)
    except RecursionError:  # parsing and lowering recurse: ((((...)))), NOT NOT ..., a + a + ... + a
        raise CompileError("the query is nested too deeply", token=sql.strip()[:20], line=1, column=1) from None


def _lower(sql: str, *, params: dict | None, views: dict[str, str] | None, anchor: int | None) -> Lowered:
    ctx = _Ctx(sql)
    tree = parse(sql, ctx)
    params = params or {}
    if not isinstance(tree, exp.Select):
        kw = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}.get(type(tree))
        raise ctx.error(tree, f"only SELECT queries are supported, not {tree.key.upper()}",
                        keyword=kw or (ctx.tokens[0].text if ctx.tokens else None))  # fmt: skip
    for key, what in (("joins", "JOIN is not supported: one table per query"),
                      ("with_", "WITH (common table expressions) is not supported"),
                      ("having", "HAVING is not supported"), ("distinct", "SELECT DISTINCT is not supported "
                      "(use COUNT(DISTINCT x) or GROUP BY)"), ("offset", "OFFSET is not supported"),
                      ("windows", "window functions are not supported"), ("qualify", "QUALIFY is not supported")):  # fmt: skip
        val = tree.args.get(key)
        if val:
            node = val[0] if isinstance(val, list) else val
            raise ctx.error(node, what)
    for node in tree.walk():
        if isinstance(node, exp.Window):
            raise ctx.error(node, "window functions are not supported", keyword="OVER")
        if isinstance(node, (exp.Subquery, exp.Select)) and node is not tree:
            raise ctx.error(node, "subqueries are not supported", keyword="SELECT")
    frm = tree.args.get("from_") or tree.args.get("from")
    if frm is None:
        raise ctx.error(tree, "FROM is missing", keyword="SELECT")
    table = frm.this
    if not isinstance(table, exp.Table) or table.args.get("db"):
        raise ctx.error(table, "FROM takes one table or view name")
    tname = table.name.lower()
    user_views = {k.lower(): v for k, v in (views or {}).items()}
    if tname in S.BUILTIN:
        source = S.BUILTIN[tname]
    elif tname in user_views:
        source = S.event_view(tname, user_views[tname])
    else:
        raise ctx.error(table.this, f"unknown table {tname!r} (tables: {', '.join(S.BUILTIN)}; event views "
                        "are declared with views={name: 'Event(type indexed name, ...)'})")  # fmt: skip
    names = {tname} | ({table.alias.lower()} if table.alias else set())
    low = _Lowerer(ctx, source, names, params)

    # WHERE: the block range, then the filter
    where = tree.args.get("where")
    if where is None:
        raise ctx.error(table.this, "a query must state its blocks: WHERE block_number = n or "
                        "block_number BETWEEN a AND b")  # fmt: skip
    rng, rest = None, []
    for c in _conjuncts(where.this):
        r = _range_of(c, low)
        if r is not None:
            if rng is not None:
                raise ctx.error(c, "the block range is stated twice")
            rng = r
        else:
            rest.append(c)
    if rng is None:
        raise ctx.error(where, "a query must state its blocks: block_number = n or block_number "
                        "BETWEEN a AND b, joined to the rest of WHERE by AND", keyword="WHERE")  # fmt: skip
    first, last = rng
    if first > last:
        raise ctx.error(where, f"empty block range {first}..{last}", keyword="BETWEEN")
    if anchor is not None and last > anchor:
        raise ctx.error(where, f"the block range ends at {last}, after the anchor block {anchor}",
                        keyword="block_number")  # fmt: skip
    lowered = []
    for c in rest:
        e, t = low.expr(c)
        if t != S.BOOL:
            raise ctx.error(c, "a WHERE condition must be boolean")
        lowered.append(e)
    filt = _and_all(lowered)

    # GROUP BY
    group = tree.args.get("group")
    if group is not None:
        for g in group.expressions:
            if isinstance(g, exp.Literal) and not g.is_string:
                raise ctx.error(g, "GROUP BY position is not supported: repeat the expression")
            e, _ = low.expr(g)
            if e not in low.groups:
                low.groups.append(e)
    aggregated = group is not None or any(type(n) in _AGGS for s in tree.expressions for n in s.walk())

    # SELECT list
    if not tree.expressions:
        raise ctx.error(tree, "SELECT needs at least one output column", keyword="SELECT")
    outputs, out_types, out_names = [], [], []
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            raise ctx.error(item, "SELECT * is not supported: name the columns", keyword="*")
        if isinstance(item, exp.Alias) and not isinstance(item.args["alias"], exp.Identifier):  # x :p, x AS :p
            raise ctx.error(item.args["alias"], "an output name must be an identifier (a parameter, missing "
                            "comma or other expression is in its place)")  # fmt: skip
        inner = item.this if isinstance(item, exp.Alias) else item
        e, t = low.output(inner, aggregated)
        outputs.append(e)
        out_types.append(t)
        out_names.append(_ident(item.args["alias"]) if isinstance(item, exp.Alias)
                         else inner.sql(READ).replace('"', ""))  # fmt: skip

    # ORDER BY / LIMIT
    order_by = []
    order = tree.args.get("order")
    if order is not None:
        for o in order.expressions:
            key = o.this
            idx = None
            if isinstance(key, exp.Literal) and not key.is_string:
                n = int(key.this) if key.this.isdigit() else 0
                if not 1 <= n <= len(outputs):
                    raise ctx.error(key, f"ORDER BY position {key.this} is not an output column")
                idx = n - 1
            elif isinstance(key, exp.Column) and not key.table and _ident(key.this) in out_names:
                idx = out_names.index(_ident(key.this))
            else:
                e, _ = low.output(key, aggregated)
                if e not in outputs:
                    raise ctx.error(key, "ORDER BY must name an output column (by alias, position or the "
                                    "same expression)")  # fmt: skip
                idx = outputs.index(e)
            order_by.append((idx, bool(o.args.get("desc"))))
    limit = None
    lim = tree.args.get("limit")
    if lim is not None:
        if order is None:
            raise ctx.error(lim, "LIMIT needs ORDER BY (a limit without an order is not a defined answer)",
                            keyword="LIMIT")  # fmt: skip
        c = _const_value(lim.expression, ctx, params)
        if c is None or c[1] != S.UINT:
            raise ctx.error(lim.expression, "LIMIT takes an integer constant")
        limit = c[0]

    # scan scope: state domains and bloom keys
    conj = lowered
    kind = source.kind
    src: tuple = (kind,)
    state_filter = None
    bloom: list[tuple[bytes, bytes]] = []
    if kind in S.STATE_SOURCES:
        addr_i = source.index("address")
        addrs = _domain(conj, addr_i)
        if addrs is None:
            raise ctx.error(table.this, f"{tname} needs address = <constant> or address IN (...) in WHERE")
        src = (kind, tuple(sorted(addrs)))
        keys = {0, addr_i}
        if kind == S.SRC_STORAGE:
            slot_i = source.index("slot")
            slots = _domain(conj, slot_i)
            if slots is None:
                raise ctx.error(table.this, "storage needs slot = <constant> (or mapping_slot(...)) or "
                                "slot IN (...) in WHERE")  # fmt: skip
            src = (kind, tuple(sorted(addrs)), tuple(sorted(slots)))
            keys.add(slot_i)
        state_filter = _and_all([e for e in conj if _refs(e) <= keys and _refs(e)])
    elif kind == S.SRC_EVENT:
        topic0, evparams = source.event
        src = (kind, topic0, tuple((p.kind, p.bits, p.indexed) for p in evparams))
        addrs = _domain(conj, 3)
        if addrs is not None:
            bloom = [(a, topic0) for a in sorted(addrs)]
    elif kind == S.SRC_LOGS:
        addrs, topics = _domain(conj, 3), _domain(conj, 4)
        if addrs is not None and topics is not None:
            bloom = [(a, t) for a in sorted(addrs) for t in sorted(topics)]
    if any(len(a) != 20 or len(t) != 32 for a, t in bloom):
        bloom = []  # a constant that cannot match: no skipping (the filter rejects every row anyway)
    plan = P.QueryPlan(
        source=src, first_block=first, last_block=last, bloom_keys=tuple(bloom),
        state_filter=state_filter, filter=filt, group_by=tuple(low.groups) if aggregated else (),
        aggregates=tuple(low.aggs), select=tuple(outputs), order_by=tuple(order_by), limit=limit,
        output_types=tuple(out_types),
    )  # fmt: skip
    return Lowered(plan, source, out_names, sql)


def _domain(conj: list, col: int) -> set | None:
    """Intersection of the constant sets the conjuncts force on column `col` (None: unconstrained)."""
    dom = None
    for e in conj:
        vals = _const_set(e, col)
        if vals is not None:
            s = {v if isinstance(v, bytes) else v.to_bytes(32, "big") for v in vals}
            dom = s if dom is None else dom & s
    return dom


def _range_of(c, low: _Lowerer):
    """(first, last) if the conjunct is `block_number = n` or `block_number BETWEEN a AND b`."""
    def is_block(n):
        return isinstance(n, exp.Column) and isinstance(n.this, exp.Identifier) and low.src.index(
            n.name if n.this.quoted else n.name.lower()) == 0  # fmt: skip

    def const(n):
        v = _const_value(n, low.ctx, low.params)
        if v is None or v[1] != S.UINT:
            raise low.ctx.error(n, "the block range takes integer constants")
        if v[0] >= 2**64:
            raise low.ctx.error(n, "block numbers are 64-bit")
        return v[0]

    if isinstance(c, exp.EQ):
        if is_block(c.this):
            if _const_value(c.expression, low.ctx, low.params) is None:
                return None
            v = const(c.expression)
            return v, v
        if is_block(c.expression) and _const_value(c.this, low.ctx, low.params) is not None:
            v = const(c.this)
            return v, v
    if isinstance(c, exp.Between) and is_block(c.this):
        return const(c.args["low"]), const(c.args["high"])
    return None
