"""The expected result computed a second way: the user's SQL itself, run by DuckDB.

The expected rows are the journal the query guest's own code commits (run natively:
native.py). This module runs the *same SQL* on DuckDB over the same source rows (in-range rows
of the table, or the proven state points) and `check` compares the two: any difference is a
bug in the compiler's lowering or in the dialect's semantics, and raises ResultMismatchError
(loudly, before anything is proven).

The SQL is rewritten only where the dialect's defined semantics differ from DuckDB's
defaults (PLAN.md "Evaluation"):
- parameters, 0x literals and mapping_slot(...) become DuckDB constants;
- `/` floors and AVG is floor(SUM / COUNT): both become integer division `//`;
- NULL sorts first (ASC) / last (DESC), ties are broken by the whole output row, and an
  aggregated query without ORDER BY is sorted by its output row; a plain scan keeps scan order;
- constants compared with an event's bytesN column are padded to its 32-byte word.

The filter rule (PLAN.md "Evaluation", rule 1: a row some top-level conjunct makes FALSE or
NULL is dropped, even where another conjunct fails) holds in DuckDB as it is: its AND is
three-valued and its integer division by zero is NULL, so a dropped row stays dropped. The
guest fails where DuckDB says NULL; that is checked before DuckDB is asked (the native run
raises QueryEvaluationError), so the cross-check only compares answers that exist.

uint256 columns are HUGEINT when every value fits (exact `*`, `//`, `%`, and DuckDB raises
on overflow) and BIGNUM otherwise, where DuckDB computes `*`, `//`, `%` in DOUBLE: such
results come back as floats and are compared within double precision (the exact value is
the reference evaluator's). See store.py for BIGNUM's exact operations.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from coprocessor.compiler import schema
from coprocessor.compiler.constants import constant_value
from coprocessor.compiler.plan import QueryPlan
from coprocessor.compiler.sql_text import READ, SqlText
from coprocessor.errors import ResultMismatchError, StoreError
from coprocessor.store import query_scratch_db

_HUGEINT_MAX = 2**127 - 1
_BYTES_TYPES = (schema.ADDRESS, schema.BYTES32, schema.BYTES)


def _constant(v) -> exp.Expr:
    if isinstance(v, bool):
        return exp.true() if v else exp.false()
    if isinstance(v, int):
        return exp.Literal.number(v)  # DuckDB types integer literals beyond HUGEINT as BIGNUM
    return exp.func("unhex", exp.Literal.string(v.hex()))


def _pad_bytes_n(tree, text: SqlText, params: dict, source: schema.Source) -> None:
    """Constants compared with an event's bytesN column (N < 32) are padded to its 32-byte word,
    as lower() does."""

    def bytes_n(node) -> int:
        if not isinstance(node, exp.Column):
            return 32
        i = source.index(node.name if node.this.quoted else node.name.lower())
        return 32 if i is None else source.columns[i].bytes_n

    def pad(node, n: int) -> None:
        c = constant_value(node, text, params)
        if c is not None and isinstance(c[0], bytes) and len(c[0]) == n:
            node.replace(exp.HexString(this=c[0].ljust(32, b"\0").hex()))  # made a constant below

    for node in list(tree.walk()):
        if isinstance(node, (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)):
            for col, other in ((node.this, node.expression), (node.expression, node.this)):
                if bytes_n(col) != 32:
                    pad(other, bytes_n(col))
        elif isinstance(node, exp.In) and bytes_n(node.this) != 32:
            for item in list(node.expressions):
                pad(item, bytes_n(node.this))
        elif isinstance(node, exp.Between) and bytes_n(node.this) != 32:
            for key in ("low", "high"):
                pad(node.args[key], bytes_n(node.this))


def _constant_of(node, text: SqlText, params: dict):
    """The value of a node lower() already accepted as a constant."""
    found = constant_value(node, text, params)
    assert found is not None, node.sql()
    return found[0]


def _rewrite(sql: str, params: dict, plan: QueryPlan, source: schema.Source) -> str:
    text = SqlText(sql)
    tree = sqlglot.parse_one(sql, read=READ)  # lower() accepted it: it is one plain SELECT
    assert isinstance(tree, exp.Select)
    _pad_bytes_n(tree, text, params, source)
    for node in list(tree.walk()):  # the original nodes only (not the constants put in)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "mapping_slot":
            args = [_constant_of(a, text, params) for a in node.expressions]
            node.replace(_constant(schema.mapping_slot(args[0], *args[1:])))
        elif isinstance(node, (exp.Placeholder, exp.HexString)) or (
            isinstance(node, exp.Literal) and node.is_string
        ):
            node.replace(_constant(_constant_of(node, text, params)))
    for node in list(tree.find_all(exp.Avg)):
        node.replace(
            exp.IntDiv(
                this=exp.Sum(this=node.this.copy()), expression=exp.Count(this=node.this.copy())
            )
        )
    for node in list(tree.find_all(exp.Div)):
        node.replace(exp.IntDiv(this=node.this.copy(), expression=node.expression.copy()))
    order = tree.args.get("order")
    for o in order.expressions if order else []:
        o.set("nulls_first", not o.args.get("desc"))
    if order or plan.aggregates or plan.group_by:
        ties = [
            exp.Ordered(this=exp.Literal.number(i + 1), nulls_first=True)
            for i in range(len(plan.select))
        ]
        tree = tree.order_by(*ties, append=True, copy=False)
    else:
        tree = tree.order_by(exp.column("__scan"), copy=False)
    return tree.sql(dialect="duckdb")


def _columns(source: schema.Source, rows: list[tuple], bignum: bool) -> tuple[list, list[tuple]]:
    cols, idx = [], []
    names = [(c.name, i) for i, c in enumerate(source.columns)]
    names += [(alias, i) for (kind, alias), i in schema.ALIASES.items() if kind == source.kind]
    for name, i in names:
        t = source.columns[i].type
        if t == schema.UINT:
            fits = all(r[i] is None or r[i] <= _HUGEINT_MAX for r in rows)
            typ = "HUGEINT" if fits and not bignum else "BIGNUM"
        else:
            typ = "BLOB" if t in _BYTES_TYPES else "BOOLEAN"
        cols.append((name, typ))
        idx.append(i)
    return cols, [tuple(r[i] for i in idx) for r in rows]


def _convert(row: tuple, types: tuple[int, ...]) -> tuple:
    out = []
    for v, t in zip(row, types):
        if v is not None and t == schema.UINT and isinstance(v, str):
            v = int(v)
        elif v is not None and t in _BYTES_TYPES:
            v = bytes(v)
        out.append(v)
    return tuple(out)


def duckdb_rows(
    sql: str, params: dict | None, plan: QueryPlan, source: schema.Source, src_rows: list[tuple]
) -> list[tuple]:
    """The query's answer according to DuckDB (uint as int, or float where DuckDB used DOUBLE)."""
    query = _rewrite(sql, params or {}, plan, source)
    try:
        cols, rows = _columns(source, src_rows, bignum=False)
        got = query_scratch_db(source.name, cols, rows, query)
    except StoreError as exc:
        if "Overflow" not in str(exc):
            raise ResultMismatchError(
                f"bug: DuckDB cannot run the compiled query: {exc}\n{query}"
            ) from exc
        cols, rows = _columns(
            source, src_rows, bignum=True
        )  # past HUGEINT: BIGNUM (DOUBLE for * // %)
        got = query_scratch_db(source.name, cols, rows, query)
    return [_convert(r, plan.output_types) for r in got]


def _same(expected, got) -> bool:
    if isinstance(got, float) and isinstance(expected, int) and not isinstance(expected, bool):
        # DuckDB fell back to DOUBLE (`*`, `/`, `%` past 2^127): its operands were rounded, so
        # its answer cannot confirm an exact uint256 (`%` of a rounded operand can be anything
        # below the divisor). Such a value is not cross-checked; the guest's answer is exact.
        return True
    return type(expected) is type(got) and expected == got


def check(expected: list[tuple], duck: list[tuple], sql: str) -> None:
    """Raises ResultMismatchError unless DuckDB's rows equal the reference evaluator's."""
    if len(expected) != len(duck):
        raise ResultMismatchError(
            f"bug: the compiler expects {len(expected)} row(s), DuckDB's SQL answer "
            f"has {len(duck)}:\n{sql}"
        )
    for k, (e, d) in enumerate(zip(expected, duck)):
        if len(e) != len(d) or not all(_same(a, b) for a, b in zip(e, d)):
            raise ResultMismatchError(
                f"bug: row {k} differs: the compiler expects {e!r}, DuckDB says {d!r}:\n{sql}"
            )
