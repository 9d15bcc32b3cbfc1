"""Constants of the dialect: integer and 0x literals, :parameters and booleans, read as
(value, value type) under the uint256 and byte-string rules, and constant arithmetic."""

from __future__ import annotations

from sqlglot import exp

from coprocessor.compiler import plan, schema
from coprocessor.compiler.sql_text import SqlText
from coprocessor.errors import QueryEvaluationError

U256 = plan.U256


def constant_value(node, text: SqlText, params: dict) -> tuple | None:
    """(value, type) of a literal, hex literal, parameter or boolean; None if not a constant."""
    if isinstance(node, exp.Paren):
        return constant_value(node.this, text, params)
    if isinstance(node, exp.Placeholder):
        name = node.name
        if name not in params:
            raise text.error(node, f"parameter :{name} has no value", keyword=":")
        return parameter_value(params[name], name, text, node)
    if isinstance(node, exp.HexString):
        digits = node.this
        if len(digits) % 2:
            raise text.error(node, "a hex literal needs an even number of digits")
        return bytes_constant(bytes.fromhex(digits))
    if isinstance(node, exp.Boolean):
        return bool(node.this), schema.BOOL
    if isinstance(node, exp.Literal):
        return _literal_value(node, text)
    return None


def _literal_value(node: exp.Literal, text: SqlText) -> tuple:
    digits = node.this
    if node.is_string:
        if digits.lower().startswith("0x"):
            try:
                return bytes_constant(bytes.fromhex(digits[2:]))
            except ValueError:
                raise text.error(node, "not a hex byte string") from None
        raise text.error(node, "string literals are not supported (bytes are written 0x...)")
    if not digits.isdigit():
        raise text.error(node, "only non-negative integer literals are supported (no floats)")
    v = int(digits)
    if v >= U256:
        raise text.error(node, "integer constant does not fit in uint256")
    return v, schema.UINT


def bytes_constant(b: bytes) -> tuple[bytes, int]:
    """A byte string typed by its length: 20 bytes an address, 32 a bytes32, else bytes."""
    return b, {20: schema.ADDRESS, 32: schema.BYTES32}.get(len(b), schema.BYTES)


def parameter_value(v, name: str, text: SqlText, node) -> tuple:
    """(value, type) of the value passed for parameter :name."""
    if isinstance(v, bool):
        return v, schema.BOOL
    if isinstance(v, int):
        if not 0 <= v < U256:
            raise text.error(node, f"parameter :{name} = {v} does not fit in uint256", keyword=":")
        return v, schema.UINT
    if isinstance(v, (bytes, bytearray)):
        return bytes_constant(bytes(v))
    if isinstance(v, str) and v.lower().startswith("0x"):
        try:
            return bytes_constant(bytes.fromhex(v[2:]))
        except ValueError:
            pass
    # not '²': str.isdigit() takes it, int() does not
    if isinstance(v, str) and v.isascii() and v.isdigit():
        return parameter_value(int(v), name, text, node)
    raise text.error(
        node,
        f"parameter :{name} must be an integer, bytes or 0x-hex, got {v!r:.40}",
        keyword=":",
    )


def constant_expr(v, t: int) -> tuple:
    """The plan expression of a constant of type `t`."""
    if t == schema.UINT:
        return (plan.UINT_C, v)
    if t == schema.BOOL:
        return (plan.BOOL_C, v)
    return (plan.BYTES_C, v)


def fold(op: int, a: int, b: int) -> int | None:
    """Constant arithmetic with the guest's rules; returns None when the result is invalid."""
    try:
        return plan.arith(op, a, b)
    except QueryEvaluationError:
        return None
