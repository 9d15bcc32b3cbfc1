"""The proving plan (coprocessor/prover/plan.py): pure data, checked by evaluating it
symbolically: a segment is its index range, a join must glue adjacent ranges, a keccak union
is an unordered pair, a resolve discharges the session's assumptions in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coprocessor.errors import InvalidArgument
from coprocessor.prover.plan import KECCAK_ASSUMPTION, plan_session


def evaluate(plan):
    """Symbolic outputs: ("run", first, last, resolved...) for segment receipts, nested
    frozensets for keccak receipts; raises AssertionError on a malformed step."""
    out = {}
    for step in plan.steps:
        assert all(i < step.id for i in step.inputs), "a step comes after its inputs"
        if step.op == "segment":
            out[step.id] = ("run", step.index, step.index, ())
        elif step.op == "keccak":
            out[step.id] = ("k", step.index)
        elif step.op == "join":
            (_, a0, a1, ra), (_, b0, b1, rb) = (out[i] for i in step.inputs)
            assert a1 + 1 == b0 and ra == rb == (), "joins glue adjacent, unresolved runs"
            out[step.id] = ("run", a0, b1, ())
        elif step.op == "union":
            left, right = (out[i] for i in step.inputs)
            out[step.id] = frozenset([left, right])
        elif step.op == "resolve":
            run = out[step.inputs[0]]
            assert run[0] == "run"
            with_what = out[step.inputs[1]] if len(step.inputs) > 1 else ("receipt", step.index)
            out[step.id] = (*run[:3], (*run[3], with_what))
    return out


def risc0_union_shape(n: int):
    """RISC Zero's MerkleMountainAccumulator (risc0-zkvm src/mmr.rs), restated: insert in
    order merging with the last peak while heights match; the root folds peaks from the
    front."""
    peaks: list[tuple[object, int]] = []
    for j in range(n):
        item, height = ("k", j), 0
        while peaks and peaks[-1][1] == height:
            previous, _ = peaks.pop()
            item, height = frozenset([item, previous]), height + 1
        peaks.append((item, height))
    root = peaks[0][0]
    for item, _ in peaks[1:]:
        root = frozenset([root, item])
    return root


@given(
    segments=st.integers(1, 40),
    keccaks=st.integers(0, 20),
    receipts=st.integers(0, 3),
    keccak_first=st.booleans(),
)
def test_plan_covers_the_run_and_resolves_in_order(segments, keccaks, receipts, keccak_first):
    assumptions: list[str | int] = list(range(receipts))
    if keccaks:
        assumptions.insert(0 if keccak_first else len(assumptions), KECCAK_ASSUMPTION)
    plan = plan_session(segments, keccaks, assumptions)
    out = evaluate(plan)
    kind, first, last, resolved = out[plan.root]
    assert (kind, first, last) == ("run", 0, segments - 1)
    want = [
        risc0_union_shape(keccaks) if a == KECCAK_ASSUMPTION else ("receipt", a)
        for a in assumptions
    ]
    assert list(resolved) == want
    # every output but the root's is consumed exactly once; the join tree is balanced
    users = plan.dependents()
    assert all(len(users[s.id]) == 1 for s in plan.steps if s.id != plan.root)
    assert sum(s.op == "join" for s in plan.steps) == segments - 1
    assert sum(s.op == "union" for s in plan.steps) == max(keccaks - 1, 0)


def test_join_depth_is_logarithmic():
    plan = plan_session(64, 0)
    depth = {}
    for step in plan.steps:
        depth[step.id] = 1 + max((depth[i] for i in step.inputs), default=0)
    assert depth[plan.root] == 7  # 64 leaves: 6 levels of joins above them


def test_bad_sessions_are_refused():
    with pytest.raises(InvalidArgument):
        plan_session(0, 0)
    with pytest.raises(InvalidArgument, match="keccak"):
        plan_session(2, 3)  # keccak requests but no keccak assumption
    with pytest.raises(InvalidArgument, match="keccak"):
        plan_session(2, 0, [KECCAK_ASSUMPTION])
    with pytest.raises(InvalidArgument, match="unknown assumption"):
        plan_session(2, 0, ["what"])
