"""SQL text → QueryPlan: parse, accept only the dialect, lower clause by clause.

Everything outside the dialect raises CompileError naming the token (text, line,
column) and the reason: a query is either compiled as written or refused. The clauses
are lowered by their own modules: expressions.py (row expressions), aggregates.py
(GROUP BY and aggregated SELECT items), scan_scope.py (block range, state domains,
bloom keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.aggregates import is_aggregated, lower_group_by, lower_output
from coprocessor.compiler.constants import constant_value
from coprocessor.compiler.expressions import ExpressionLowerer
from coprocessor.compiler.scan_scope import and_all, block_range, conjuncts, scan_source
from coprocessor.compiler.sql_text import READ, SqlText, identifier_name
from coprocessor.errors import CompileError, InternalError

# SELECT clauses outside the dialect: (sqlglot's argument name, the reason)
_UNSUPPORTED_CLAUSES = (
    ("joins", "JOIN is not supported: one table per query"),
    ("with_", "WITH (common table expressions) is not supported"),
    ("having", "HAVING is not supported"),
    ("distinct", "SELECT DISTINCT is not supported (use COUNT(DISTINCT x) or GROUP BY)"),
    ("offset", "OFFSET is not supported"),
    ("windows", "window functions are not supported"),
    ("qualify", "QUALIFY is not supported"),
)


@dataclass
class Lowered:
    plan: plan.QueryPlan
    source: schema.Source
    column_names: list[str]
    sql: str
    param_names: tuple[str, ...] = ()  # a template's parameters, in declaration order


def lower(
    sql: str,
    *,
    params: dict | None = None,
    views: dict[str, str] | None = None,
    anchor: int | None = None,
    template: bool = False,
) -> Lowered:
    """The plan of `sql` (`views`: event views {name: "Event(type indexed name, ...)"}; a
    range ending after `anchor` is refused). With `template`, the plan template: parameters
    stay `(PARAM, i)` in declaration order (first appearance in the text), typed by their
    values; without, their values are written in as constants."""
    try:
        return _lower(sql, params=params or {}, views=views, anchor=anchor, template=template)
    except (
        RecursionError
    ):  # parsing and lowering recurse: ((((...)))), NOT NOT ..., a + a + ... + a
        token = sql.strip()[:20]
        raise CompileError(
            "the query is nested too deeply", token=token, line=1, column=1
        ) from None


def _lower(
    sql: str, *, params: dict, views: dict[str, str] | None, anchor: int | None, template: bool
) -> Lowered:
    text = SqlText(sql)
    _check_nesting(text)
    tree = _plain_select(text.parse(), text)
    source, table = _from(tree, text, views)
    names = {table.name.lower()} | ({table.alias.lower()} if table.alias else set())
    declared = _declared_params(text, tree, params) if template else None
    low = ExpressionLowerer(text, source, names, params, declared)
    bounds, conj = _where(tree, low, anchor, table)
    (first, last), bound_params = _block_values(bounds, low), _bound_params(bounds)
    lower_group_by(low, tree.args.get("group"))
    aggregated = is_aggregated(tree)
    outputs, out_types, out_names = _select(tree, low, aggregated)
    order_by = _order_by(tree, low, aggregated, outputs, out_names)
    limit = _limit(tree, low)
    src, state_filter, bloom = scan_source(source, conj, text, table.this, template)
    query_plan = plan.QueryPlan(
        source=src,
        first_block=first,
        last_block=last,
        bloom_keys=tuple(bloom),
        state_filter=state_filter,
        filter=and_all(conj),
        group_by=tuple(low.groups) if aggregated else (),
        aggregates=tuple(low.aggregates),
        select=tuple(outputs),
        order_by=tuple(order_by),
        limit=limit,
        output_types=tuple(out_types),
        param_types=tuple(t for _, t in (declared or {}).values()),
        bound_params=bound_params,
    )
    return Lowered(query_plan, source, out_names, sql, tuple(declared or ()))


def _declared_params(text: SqlText, tree: exp.Select, params: dict) -> dict[str, tuple[int, int]]:
    """name -> (index, type) of the query's parameters, in order of first appearance, typed
    by the values given (an integer uint256, 20 bytes address, 32 bytes bytes32, other bytes
    bytes, a bool bool)."""
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    order: list[str] = []
    for colon, token in zip(text.tokens, text.tokens[1:]):
        if colon.text == ":" and token.text in used and token.text not in order:
            order.append(token.text)
    out: dict[str, tuple[int, int]] = {}
    for name in order:
        if name not in params:
            raise CompileError(f"parameter :{name} has no value", token=":" + name)
        value = constant_value(exp.Placeholder(this=name), text, params)
        if value is None:
            raise InternalError(f"parameter :{name} has no constant value")
        out[name] = (len(out), value[1])
    return out


MAX_PAREN_DEPTH = 256  # as deep as a plan's expressions may nest (query-core check.rs)


def _check_nesting(text: SqlText) -> None:
    """Parentheses nested deeper than MAX_PAREN_DEPTH are refused before parsing, whatever the
    interpreter's recursion limit (a library may raise it: web3 sets 100000)."""
    depth = 0
    for tok in text.tokens:
        depth += {"(": 1, ")": -1}.get(tok.text, 0)
        if depth > MAX_PAREN_DEPTH:
            line, column = text.position(tok.start)
            raise CompileError(
                "the query is nested too deeply", token="(", line=line, column=column
            )


def _plain_select(tree: exp.Expr, text: SqlText) -> exp.Select:
    """The statement, which must be one plain SELECT: no other statement, no clause outside the
    dialect, no subquery."""
    if not isinstance(tree, exp.Select):
        set_operations: dict[type, str] = {
            exp.Union: "UNION",
            exp.Intersect: "INTERSECT",
            exp.Except: "EXCEPT",
        }
        kw = set_operations.get(type(tree))
        raise text.error(
            tree,
            f"only SELECT queries are supported, not {tree.key.upper()}",
            keyword=kw or (text.tokens[0].text if text.tokens else None),
        )
    for key, what in _UNSUPPORTED_CLAUSES:
        val = tree.args.get(key)
        if val:
            node = val[0] if isinstance(val, list) else val
            raise text.error(node, what)
    for node in tree.walk():
        if isinstance(node, exp.Window):
            raise text.error(node, "window functions are not supported", keyword="OVER")
        if isinstance(node, (exp.Subquery, exp.Select)) and node is not tree:
            raise text.error(node, "subqueries are not supported", keyword="SELECT")
    return tree


def _from(
    tree: exp.Select, text: SqlText, views: dict[str, str] | None
) -> tuple[schema.Source, exp.Table]:
    """The source FROM names (a built-in table or a declared event view) and its node."""
    frm = tree.args.get("from_") or tree.args.get("from")
    if frm is None:
        raise text.error(tree, "FROM is missing", keyword="SELECT")
    table = frm.this
    if not isinstance(table, exp.Table) or table.args.get("db"):
        raise text.error(table, "FROM takes one table or view name")
    name = table.name.lower()
    user_views = {k.lower(): v for k, v in (views or {}).items()}
    if name in schema.BUILTIN:
        return schema.BUILTIN[name], table
    if name in user_views:
        return schema.event_view(name, user_views[name]), table
    raise text.error(
        table.this,
        f"unknown table {name!r} (tables: {', '.join(schema.BUILTIN)}; event views "
        "are declared with views={name: 'Event(type indexed name, ...)'})",
    )


def _bound_params(bounds: tuple) -> tuple[int | None, int | None]:
    """The parameter index of each block bound of a template (None: a number)."""
    first, last = (b[1] if isinstance(b, tuple) else None for b in bounds)
    return first, last


def _block_values(bounds: tuple, low: ExpressionLowerer) -> tuple[int, int]:
    """The block numbers of the bounds (a parameter's value for a `(PARAM, i)` bound)."""
    names = {i: name for name, (i, _) in (low.declared or {}).items()}
    first, last = (b if not isinstance(b, tuple) else low.params_value(names[b[1]]) for b in bounds)
    return first, last


def _where(
    tree: exp.Select, low: ExpressionLowerer, anchor: int | None, table: exp.Table
) -> tuple[tuple, list[tuple]]:
    """((first block, last block), the other conjuncts lowered) of WHERE; a bound may be
    `(PARAM, i)` in a template."""
    text = low.text
    where = tree.args.get("where")
    if where is None:
        raise text.error(
            table.this,
            "a query must state its blocks: WHERE block_number = n or block_number BETWEEN a AND b",
        )
    rng, rest = None, []
    for c in conjuncts(where.this):
        r = block_range(c, low)
        if r is None:
            rest.append(c)
        elif rng is not None:
            raise text.error(c, "the block range is stated twice")
        else:
            rng = r
    if rng is None:
        raise text.error(
            where,
            "a query must state its blocks: block_number = n or block_number "
            "BETWEEN a AND b, joined to the rest of WHERE by AND",
            keyword="WHERE",
        )
    first, last = rng
    bounds_known = isinstance(first, int) and isinstance(last, int)  # a template: when bound
    if bounds_known and first > last:
        raise text.error(where, f"empty block range {first}..{last}", keyword="BETWEEN")
    if anchor is not None and isinstance(last, int) and last > anchor:
        raise text.error(
            where,
            f"the block range ends at {last}, after the anchor block {anchor}",
            keyword="block_number",
        )
    lowered = []
    for c in rest:
        e, t = low.expr(c)
        if t != schema.BOOL:
            raise text.error(c, "a WHERE condition must be boolean")
        lowered.append(e)
    return (first, last), lowered


def _select(
    tree: exp.Select, low: ExpressionLowerer, aggregated: bool
) -> tuple[list[tuple], list[int], list[str]]:
    """(output expressions, their types, their names) of the SELECT list."""
    text = low.text
    if not tree.expressions:
        raise text.error(tree, "SELECT needs at least one output column", keyword="SELECT")
    outputs, out_types, out_names = [], [], []
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (
            isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
        ):
            raise text.error(item, "SELECT * is not supported: name the columns", keyword="*")
        is_alias = isinstance(item, exp.Alias)
        if is_alias and not isinstance(item.args["alias"], exp.Identifier):  # x :p, x AS :p
            raise text.error(
                item.args["alias"],
                "an output name must be an identifier (a parameter, missing comma or other "
                "expression is in its place)",
            )
        inner = item.this if is_alias else item
        e, t = lower_output(low, inner, aggregated)
        outputs.append(e)
        out_types.append(t)
        if is_alias:
            out_names.append(identifier_name(item.args["alias"]))
        else:
            out_names.append(inner.sql(READ).replace('"', ""))
    return outputs, out_types, out_names


def _order_by(
    tree: exp.Select,
    low: ExpressionLowerer,
    aggregated: bool,
    outputs: list[tuple],
    out_names: list[str],
) -> list[tuple[int, bool]]:
    """(output column, descending) of each ORDER BY key: an alias, a position or the same
    expression as an output column."""
    order = tree.args.get("order")
    if order is None:
        return []
    order_by = []
    for o in order.expressions:
        key = o.this
        if isinstance(key, exp.Literal) and not key.is_string:
            n = int(key.this) if key.this.isdigit() else 0
            if not 1 <= n <= len(outputs):
                raise low.text.error(key, f"ORDER BY position {key.this} is not an output column")
            idx = n - 1
        elif (
            isinstance(key, exp.Column) and not key.table and identifier_name(key.this) in out_names
        ):
            idx = out_names.index(identifier_name(key.this))
        else:
            e, _ = lower_output(low, key, aggregated)
            if e not in outputs:
                raise low.text.error(
                    key,
                    "ORDER BY must name an output column (by alias, position or the same "
                    "expression)",
                )
            idx = outputs.index(e)
        order_by.append((idx, bool(o.args.get("desc"))))
    return order_by


def _limit(tree: exp.Select, low: ExpressionLowerer) -> int | None:
    lim = tree.args.get("limit")
    if lim is None:
        return None
    if tree.args.get("order") is None:
        raise low.text.error(
            lim,
            "LIMIT needs ORDER BY (a limit without an order is not a defined answer)",
            keyword="LIMIT",
        )
    c = low.constant(lim.expression)
    if c is None or c[1] != schema.UINT:
        raise low.text.error(lim.expression, "LIMIT takes an integer constant")
    return c[0]
