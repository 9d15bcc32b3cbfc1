"""Prepared queries (PLAN.md "Parameters"): the plan template whose keccak256 is the queryHash,
and the parameter values the journal commits beside the rows.

    prep = prepare(concrete, sql, params=..., views=..., anchor=...)
    prep.template_bytes, prep.param_types, prep.params_bytes, prep.prepared

The template is lowered with the parameters left as `(PARAM, i)`; `bind` writes the values in
as the guest does (values as constants, mapping slots folded). A template is used only when
binding it gives exactly the plan lowered with the values written in; otherwise (a parameter
the compiler must transform: `slot = :n` with an integer, `:a + 1`, an IN list or LIMIT of
parameters, a short constant against a bytesN column) the values are inlined: the plan is the
concrete one, without parameters, and `prepared` is False.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.constants import constant_expr, constant_value
from coprocessor.compiler.lower import Lowered, lower
from coprocessor.compiler.sql_text import SqlText
from coprocessor.errors import CompileError, InternalError


@dataclass(frozen=True)
class Prepared:
    template: plan.QueryPlan
    template_bytes: bytes  # keccak256 of these is the queryHash
    param_names: tuple[str, ...]  # declaration order
    param_types: tuple[int, ...]  # type codes (schema.UINT, ...)
    param_values: tuple  # as the guest reads them (ints, bytes, bools)
    params_bytes: bytes  # abi.encode(values) with their types; b"" without parameters
    prepared: bool  # False: no parameters in the plan (none, or inlined: see the docstring)
    inlined: bool = False  # the query has parameters whose values were written into the plan

    @property
    def query_hash(self) -> bytes:
        return keccak(self.template_bytes)

    @property
    def abi_types(self) -> list[str]:
        return [schema.TYPE_NAMES[t] for t in self.param_types]


def encode_params(types, values) -> bytes:
    """abi.encode(v0, ..., vk-1) with the declared types (b"" for none)."""
    return abi_encode([schema.TYPE_NAMES[t] for t in types], list(values)) if types else b""


def bind(template: plan.QueryPlan, values) -> plan.QueryPlan:
    """The plan `template` means with `values`, written in as constants (the guest's binding,
    without the state keys and bloom keys it derives)."""

    def sub(e):
        if not isinstance(e, tuple) or not e or not isinstance(e[0], int):
            return tuple(sub(x) for x in e) if isinstance(e, tuple) else e
        if e[0] == plan.PARAM:
            v = values[e[1]]
            return constant_expr(v, template.param_types[e[1]])
        if e[0] == plan.MAPPING_SLOT:
            args = [sub(a)[1] for a in e[1]]
            return (plan.BYTES_C, schema.mapping_slot(args[0], *args[1:]))
        return (e[0], *(sub(a) for a in e[1:]))

    first, last = (
        block if i is None else values[i]
        for block, i in zip((template.first_block, template.last_block), template.bound_params)
    )
    return replace(
        template,
        first_block=first,
        last_block=last,
        bound_params=(None, None),
        state_filter=None if template.state_filter is None else sub(template.state_filter),
        filter=None if template.filter is None else sub(template.filter),
        group_by=tuple(sub(e) for e in template.group_by),
        aggregates=tuple((op, None if e is None else sub(e)) for op, e in template.aggregates),
        select=tuple(sub(e) for e in template.select),
        param_types=(),
    )


def _value(name: str, text: SqlText, params: dict):
    """The value of parameter :name as the plan holds it (an int, bytes or a bool)."""
    c = constant_value(exp.Placeholder(this=name), text, params)
    if c is None:
        raise InternalError(f"parameter :{name} has no constant value")
    return c[0]


def inlined(concrete: plan.QueryPlan, had_params: bool) -> Prepared:
    """The concrete plan as its own template: no parameters (`had_params`: values inlined)."""
    data = concrete.encode()
    return Prepared(concrete, data, (), (), (), b"", False, had_params)


def prepare(
    concrete: Lowered,
    sql: str,
    *,
    params: dict,
    views: dict[str, str] | None,
    anchor: int | None,
) -> Prepared:
    """The template of `sql` (whose plan with `params` written in is `concrete.plan`)."""
    try:
        low = lower(sql, params=params, views=views, anchor=anchor, template=True)
    except CompileError:
        return inlined(concrete.plan, True)
    t, low_text = low.plan, SqlText(sql)
    if not t.param_types:
        return inlined(concrete.plan, False)
    values = tuple(_value(n, low_text, params) for n in low.param_names)
    if bind(t, values).encode() != concrete.plan.encode():
        return inlined(concrete.plan, True)
    params_bytes = encode_params(t.param_types, values)
    return Prepared(t, t.encode(), low.param_names, t.param_types, values, params_bytes, True)
