"""The query guest's core (`guest_programs/query-core`) run natively: the one definition of
what a plan means. The compiler takes its expected rows, the state proofs a witness needs and
the verdict on a plan from here, so they are the guest's by construction (commands: `r0_query`
in native/risc0-py/src/query.rs).
"""

from __future__ import annotations

import rlp

from coprocessor import ffi
from coprocessor.compiler.journal import decode_rows
from coprocessor.errors import CompileError, EthDataError, PlanRejectedError

OP_RUN, OP_CHECK, OP_STATE_POINTS, OP_EVALUATE, OP_CHECK_BOUND = 1, 2, 3, 4, 5
# how `evaluate` passes a source row's value: NULL is [], the others [tag, value]
VALUE_UINT, VALUE_BYTES, VALUE_BOOL = 1, 2, 3


def run(guest_input: bytes) -> bytes:
    """The journal the query guest commits for `rlp([chain_id, plan, witness])`; raises
    QueryEvaluationError, PlanRejectedError or EthDataError where the guest fails."""
    return ffi.run_query(rlp.encode([OP_RUN, guest_input]))


def check_plan(plan_bytes: bytes, params: bytes | None = None) -> None:
    """Raises CompileError when the query guest would reject the plan (with `params`: the
    template `plan_bytes` bound to those ABI-encoded values)."""
    command = (
        [OP_CHECK, plan_bytes]
        if params is None
        else [OP_CHECK_BOUND, rlp.encode([plan_bytes, params])]
    )
    try:
        ffi.run_query(rlp.encode(command))
    except (PlanRejectedError, EthDataError) as exc:  # EthDataError: the plan's RLP does not decode
        raise CompileError(f"the query guest rejects this plan: {exc}") from None


def state_points(plan_bytes: bytes, storage: bool) -> list[tuple]:
    """The (block, address) (accounts) or (block, address, slot) (storage) points whose proofs
    the witness must hold, in the guest's scan order."""
    items = rlp.decode(ffi.run_query(rlp.encode([OP_STATE_POINTS, plan_bytes])))
    out: list[tuple] = []
    for block, address, slots in items:
        n = int.from_bytes(block, "big")
        if storage:
            out.extend((n, address, s) for s in slots)
        else:
            out.append((n, address))
    return out


def _value(v) -> list:
    if v is None:
        return []
    if isinstance(v, bool):
        return [VALUE_BOOL, int(v)]
    if isinstance(v, int):
        return [VALUE_UINT, v]
    return [VALUE_BYTES, bytes(v)]


def evaluate(plan, rows: list[tuple]) -> list[tuple]:
    """The plan's result rows over the given source rows (in scan order), by the guest's code
    but without a witness: nothing is checked against a chain. For tests of the semantics
    (the cross-check's property tests); raises QueryEvaluationError where the guest fails."""
    arg = rlp.encode([plan.encode(), [[_value(v) for v in r] for r in rows]])
    return decode_rows(ffi.run_query(rlp.encode([OP_EVALUATE, arg])), plan.output_types)
