"""Row expressions of the dialect lowered to plan expressions, with their value types:
columns, constants, arithmetic, comparisons, AND/OR/NOT, IN lists, mapping_slot and the
aggregates they may hold. Anything else is a CompileError at its token."""

from __future__ import annotations

from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.constants import constant_expr, constant_value, fold
from coprocessor.compiler.sql_text import SqlText
from coprocessor.errors import InternalError

COMPARISONS = {
    exp.EQ: plan.EQ,
    exp.NEQ: plan.NE,
    exp.LT: plan.LT,
    exp.LTE: plan.LE,
    exp.GT: plan.GT,
    exp.GTE: plan.GE,
}
ARITHMETIC = {
    exp.Add: plan.ADD,
    exp.Sub: plan.SUB,
    exp.Mul: plan.MUL,
    exp.Div: plan.DIV,
    exp.Mod: plan.MOD,
}
AGGREGATES = {
    exp.Sum: plan.SUM,
    exp.Min: plan.MIN,
    exp.Max: plan.MAX,
    exp.Avg: plan.AVG,
    exp.Count: plan.COUNT,
}
_BYTES_TYPES = (schema.ADDRESS, schema.BYTES32, schema.BYTES)


def is_mapping_slot(node) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "mapping_slot"


def has_aggregate(node) -> bool:
    return any(type(n) in AGGREGATES for n in node.walk())


class ExpressionLowerer:
    """Lowers the expressions of one query over one source. The aggregates met on the way are
    collected in `aggregates` (a plan's `AGG i` is `aggregates[i]`), and `groups` holds the
    GROUP BY keys (`GROUP i`)."""

    def __init__(
        self,
        text: SqlText,
        source: schema.Source,
        table_names: set[str],
        params: dict,
        declared: dict[str, tuple[int, int]] | None = None,
    ):
        """`declared` (templates only): parameter name -> (index, type); such parameters lower
        to `(PARAM, i)` instead of their values."""
        self.text, self.source, self.table_names, self.params = text, source, table_names, params
        self.declared = declared
        self.aggregates: list[tuple[int, tuple | None]] = []
        self.groups: list[tuple] = []

    def constant(self, node) -> tuple | None:
        """(value, type) of a constant node, None for anything else (a declared parameter too:
        see `param`)."""
        if self.param(node) is not None:
            return None
        return constant_value(node, self.text, self.params)

    def params_value(self, name: str):
        """The value given for parameter :name, as the plan holds it (int, bytes or bool)."""
        c = constant_value(exp.Placeholder(this=name), self.text, self.params)
        if c is None:
            raise InternalError(f"parameter :{name} has no constant value")
        return c[0]

    def param(self, node) -> tuple | None:
        """((PARAM, i), type) of a declared parameter of a template, None for anything else."""
        while isinstance(node, exp.Paren):
            node = node.this
        if self.declared is None or not isinstance(node, exp.Placeholder):
            return None
        if node.name not in self.declared:
            return None
        i, t = self.declared[node.name]
        return (plan.PARAM, i), t

    def column(self, node: exp.Column) -> tuple:
        if node.table and node.table.lower() not in self.table_names:
            raise self.text.error(node, f"unknown table qualifier {node.table!r}")
        ident = node.this
        if isinstance(ident, exp.Star):
            raise self.text.error(node, "SELECT * is not supported: name the columns", keyword="*")
        name = ident.this if ident.quoted else ident.this.lower()
        i = self.source.index(name)
        if i is None:
            names = ", ".join(c.name for c in self.source.columns)
            raise self.text.error(
                ident, f"unknown column {name!r} in {self.source.name} (columns: {names})"
            )
        return (plan.COL, i), self.source.columns[i].type

    def expr(self, node, *, agg_ok: bool = False) -> tuple:
        """(plan expression, type) of `node`; aggregates are allowed only with `agg_ok`."""
        p = self.param(node)
        if p is not None:
            return p
        c = self.constant(node)
        if c is not None:
            return constant_expr(*c), c[1]
        if isinstance(node, exp.Paren):
            return self.expr(node.this, agg_ok=agg_ok)
        if isinstance(node, exp.Column):
            return self.column(node)
        if type(node) in ARITHMETIC:
            return self._arithmetic(node, agg_ok)
        if type(node) in COMPARISONS:
            return self.compare(COMPARISONS[type(node)], node, node.this, node.expression, agg_ok)
        if isinstance(node, exp.Between):
            low = self.compare(plan.GE, node, node.this, node.args["low"], agg_ok)[0]
            high = self.compare(plan.LE, node, node.this, node.args["high"], agg_ok)[0]
            return (plan.AND, low, high), schema.BOOL
        if isinstance(node, (exp.And, exp.Or, exp.Not)):
            return self._logic(node, agg_ok)
        if isinstance(node, exp.In):
            return self._in_list(node, agg_ok)
        if is_mapping_slot(node):
            return self.mapping_slot(node)
        if type(node) in AGGREGATES:
            if not agg_ok:
                keyword = node.key.upper()
                raise self.text.error(
                    node, f"aggregate {keyword} is not allowed here", keyword=keyword
                )
            return self.aggregate(node)
        raise self._unsupported(node)

    def _arithmetic(self, node, agg_ok: bool) -> tuple:
        op = ARITHMETIC[type(node)]
        a, ta = self.expr(node.this, agg_ok=agg_ok)
        b, tb = self.expr(node.expression, agg_ok=agg_ok)
        if ta != schema.UINT or tb != schema.UINT:
            raise self.text.error(
                node, "arithmetic needs uint256 operands", keyword=plan.OP_NAMES[op]
            )
        if op in (plan.DIV, plan.MOD) and b == (plan.UINT_C, 0):
            raise self.text.error(node.expression, "division by zero")
        if a[0] == plan.UINT_C and b[0] == plan.UINT_C:
            r = fold(op, a[1], b[1])
            if r is None:
                raise self.text.error(
                    node.expression, "constant arithmetic overflows uint256 (or is negative)"
                )
            return (plan.UINT_C, r), schema.UINT
        return (op, a, b), schema.UINT

    def _logic(self, node, agg_ok: bool) -> tuple:
        if isinstance(node, exp.Not):
            a, ta = self.expr(node.this, agg_ok=agg_ok)
            if ta != schema.BOOL:
                raise self.text.error(node, "NOT needs a boolean operand", keyword="NOT")
            return (plan.NOT, a), schema.BOOL
        a, ta = self.expr(node.this, agg_ok=agg_ok)
        b, tb = self.expr(node.expression, agg_ok=agg_ok)
        is_and = isinstance(node, exp.And)
        if ta != schema.BOOL or tb != schema.BOOL:
            raise self.text.error(
                node, "AND/OR need boolean operands", keyword="AND" if is_and else "OR"
            )
        return ((plan.AND if is_and else plan.OR), a, b), schema.BOOL

    def _in_list(self, node: exp.In, agg_ok: bool) -> tuple:
        if node.args.get("query") or node.args.get("unnest"):
            raise self.text.error(
                node.args.get("query") or node, "subqueries are not supported", keyword="SELECT"
            )
        a, ta = self.expr(node.this, agg_ok=agg_ok)
        items = []
        for item in node.expressions:
            want = schema.BYTES if self.is_bytes_n(a) else ta
            c = self.bytes_n_const(a, self.const_like(item, want), item)
            if c not in items:
                items.append(c)
        return (plan.IN, a, tuple(sorted(items, key=_constant_sort_key))), schema.BOOL

    def _unsupported(self, node):
        """The CompileError for a node outside the dialect."""
        if isinstance(node, (exp.Select, exp.Subquery, exp.Exists)):
            return self.text.error(node, "subqueries are not supported", keyword="SELECT")
        if isinstance(node, exp.Window) or (
            isinstance(node, exp.Func) and node.find_ancestor(exp.Window)
        ):
            return self.text.error(node, "window functions are not supported", keyword="OVER")
        if isinstance(node, (exp.Func, exp.Anonymous)):
            name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
            return self.text.error(
                node,
                f"function {name.upper()} is not supported (aggregates: COUNT, "
                "SUM, MIN, MAX, AVG; scalar: mapping_slot)",
                keyword=name,
            )
        if isinstance(node, (exp.Like, exp.ILike)):
            return self.text.error(node, "LIKE is not supported")
        return self.text.error(node, f"{node.key.upper()} is not supported in this dialect")

    def const_like(self, node, want: int) -> tuple:
        """An IN list item: a constant (or mapping_slot) as a plan constant of type `want`."""
        c = self.constant(node)
        if c is None:
            if is_mapping_slot(node):
                e, t = self.mapping_slot(node)
                c = (e[1], t)
            else:
                raise self.text.error(node, "IN lists hold constants only")
        v, t = c
        return self.coerce(constant_expr(v, t), t, want, node)

    def coerce(self, e: tuple, t: int, want: int, node) -> tuple:
        """`e` (of type `t`) where a `want` is expected: the same bytes under another bytes
        type, an integer constant as a 32-byte word (slot = 2), else a type mismatch."""
        if (
            t == want
            or (t in _BYTES_TYPES and want == schema.BYTES)
            or (want in _BYTES_TYPES and t == schema.BYTES and e[0] != plan.BYTES_C)
        ):
            return e
        if want == schema.BYTES32 and t == schema.UINT and e[0] == plan.UINT_C:  # slot = 2
            return (plan.BYTES_C, e[1].to_bytes(32, "big"))
        if want == schema.BYTES32 and t == schema.ADDRESS and e[0] == plan.BYTES_C:
            raise self.text.error(
                node, "an address compared with a bytes32 column: pad it to 32 bytes"
            )
        raise self.text.error(
            node,
            f"type mismatch: {schema.TYPE_NAMES[t]} where {schema.TYPE_NAMES[want]} is expected",
        )

    def is_bytes_n(self, e: tuple) -> bool:
        return e[0] == plan.COL and self.source.columns[e[1]].bytes_n != 32

    def bytes_n_const(self, col_expr: tuple, c: tuple, node) -> tuple:
        """A constant compared with an event's bytesN column (N < 32): written with N bytes, it is
        padded to the column's 32-byte word (as Solidity converts bytesN to bytes32)."""
        if col_expr[0] != plan.COL or c[0] != plan.BYTES_C:
            return c
        column = self.source.columns[col_expr[1]]
        n = column.bytes_n
        if n == 32 or len(c[1]) == 32:
            return c
        if len(c[1]) != n:
            raise self.text.error(
                node,
                f"{column.name} is a bytes{n}: compare it with a {n}-byte constant, "
                f"not {len(c[1])} bytes",
            )
        return (plan.BYTES_C, c[1].ljust(32, b"\0"))

    def compare(self, op: int, node, left, right, agg_ok: bool) -> tuple:
        (a, ta), (b, tb) = self.expr(left, agg_ok=agg_ok), self.expr(right, agg_ok=agg_ok)
        a2, b2 = self.bytes_n_const(b, a, left), self.bytes_n_const(a, b, right)
        ta, tb = (schema.BYTES32 if a2 != a else ta), (schema.BYTES32 if b2 != b else tb)
        a, b = a2, b2
        if ta != tb:
            if a[0] in (plan.UINT_C, plan.BYTES_C):
                a = self.coerce(a, ta, tb, left)
            else:
                b = self.coerce(b, tb, ta, right)
        if ta == schema.BOOL and op not in (plan.EQ, plan.NE):
            raise self.text.error(node, "booleans compare with = and <> only")
        return (op, a, b), schema.BOOL

    def mapping_slot(self, node) -> tuple:
        args = node.expressions
        if not 2 <= len(args) <= 3:
            raise self.text.error(
                node,
                "mapping_slot(base_slot, key[, key2]) takes 2 or 3 arguments",
                keyword=node.name,
            )
        vals, exprs = [], []
        for a in args:
            p = self.param(a)
            c = constant_value(a, self.text, self.params)
            if c is None or c[1] == schema.BOOL:
                raise self.text.error(
                    a, "mapping_slot arguments must be integer or bytes constants"
                )
            if c[1] != schema.UINT and len(c[0]) > 32:
                raise self.text.error(a, "a mapping key longer than 32 bytes is not supported")
            vals.append(c[0])
            exprs.append(p[0] if p is not None else constant_expr(c[0], c[1]))
        if any(e[0] == plan.PARAM for e in exprs):  # a template: the guest folds it when bound
            return (plan.MAPPING_SLOT, tuple(exprs)), schema.BYTES32
        return (plan.BYTES_C, schema.mapping_slot(vals[0], *vals[1:])), schema.BYTES32

    def aggregate(self, node) -> tuple:
        """`AGG i` for an aggregate call, registering it in `aggregates` (once per spelling)."""
        op = AGGREGATES[type(node)]
        arg = node.this
        keyword = node.key.upper()
        if op == plan.COUNT and isinstance(arg, exp.Star):
            spec, t = (plan.COUNT_STAR, None), schema.UINT
        else:
            if isinstance(arg, exp.Distinct):
                if op != plan.COUNT or len(arg.expressions) != 1:
                    raise self.text.error(arg, "DISTINCT is supported in COUNT(DISTINCT x) only")
                op, arg = plan.COUNT_DISTINCT, arg.expressions[0]
            if arg is None or node.expressions:
                raise self.text.error(node, f"{keyword} takes one argument", keyword=keyword)
            if has_aggregate(arg):
                raise self.text.error(arg, "nested aggregates are not supported")
            e, ta = self.expr(arg)
            if op in (plan.SUM, plan.AVG) and ta != schema.UINT:
                raise self.text.error(node, f"{keyword} needs a uint256 argument", keyword=keyword)
            spec = (op, e)
            t = ta if op in (plan.MIN, plan.MAX) else schema.UINT
        if spec not in self.aggregates:
            self.aggregates.append(spec)
        return (plan.AGG_REF, self.aggregates.index(spec)), t


def _constant_sort_key(e: tuple) -> tuple:
    return (e[0], e[1] if not isinstance(e[1], bool) else int(e[1]))
