"""GROUP BY keys and SELECT items of aggregated queries: aggregates, group keys, constants and
arithmetic or comparisons over them (a row's column outside an aggregate has no row to come
from there)."""

from __future__ import annotations

from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.expressions import (
    AGGREGATES,
    ARITHMETIC,
    COMPARISONS,
    ExpressionLowerer,
    has_aggregate,
)
from coprocessor.errors import CompileError


def lower_group_by(low: ExpressionLowerer, group: exp.Group | None) -> None:
    """Registers the GROUP BY keys in `low.groups` (each once)."""
    if group is None:
        return
    for g in group.expressions:
        if isinstance(g, exp.Literal) and not g.is_string:
            raise low.text.error(g, "GROUP BY position is not supported: repeat the expression")
        e, _ = low.expr(g)
        if e not in low.groups:
            low.groups.append(e)


def is_aggregated(tree: exp.Select) -> bool:
    """A query is aggregated when it groups or any SELECT item holds an aggregate."""
    return tree.args.get("group") is not None or any(has_aggregate(s) for s in tree.expressions)


def lower_output(low: ExpressionLowerer, node, aggregated: bool) -> tuple:
    """(plan expression, type) of a SELECT item; in aggregated queries, non-aggregate parts
    must be GROUP BY expressions."""
    if not aggregated:
        return low.expr(node)
    if type(node) in AGGREGATES:
        return low.expr(node, agg_ok=True)
    try:
        e, t = low.expr(node, agg_ok=False)
    except CompileError:
        e = None
    if e is not None:
        if e[0] in plan.CONSTANT_OPS:
            return e, t
        if e in low.groups:
            return (plan.GROUP_REF, low.groups.index(e)), t
        if not has_aggregate(node):
            raise low.text.error(node, "this column must appear in GROUP BY or inside an aggregate")
    return _over_aggregates(low, node)


def _over_aggregates(low: ExpressionLowerer, node) -> tuple:
    """Arithmetic and comparisons over aggregates and group keys."""
    if type(node) in ARITHMETIC:
        op = ARITHMETIC[type(node)]
        (a, ta), (b, tb) = (
            lower_output(low, node.this, True),
            lower_output(low, node.expression, True),
        )
        if ta != schema.UINT or tb != schema.UINT:
            raise low.text.error(node, "arithmetic needs uint256 operands")
        return (op, a, b), schema.UINT
    if isinstance(node, exp.Paren):
        return lower_output(low, node.this, True)
    if type(node) in COMPARISONS:
        (a, ta), (b, tb) = (
            lower_output(low, node.this, True),
            lower_output(low, node.expression, True),
        )
        if ta != tb:
            raise low.text.error(
                node, f"cannot compare {schema.TYPE_NAMES[ta]} with {schema.TYPE_NAMES[tb]}"
            )
        op = COMPARISONS[type(node)]
        if ta == schema.BOOL and op not in (plan.EQ, plan.NE):
            raise low.text.error(node, "booleans compare with = and <> only")
        return (op, a, b), schema.BOOL
    e, t = low.expr(node, agg_ok=True)
    if plan.column_refs(e):  # a row's column outside every aggregate: there is no row here
        outside = (c for c in node.find_all(exp.Column) if not c.find_ancestor(*AGGREGATES))
        raise low.text.error(
            next(outside, node),
            "a column outside an aggregate cannot be combined with aggregates in SELECT: "
            "select it as its own column (a GROUP BY expression)",
        )
    return e, t
