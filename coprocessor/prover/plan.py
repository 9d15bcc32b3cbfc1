"""A proving plan: the steps that turn one executed session into one succinct receipt.

RISC Zero proves a session in independent pieces (its Bento cluster does the same):

- every segment is proven and lifted to a succinct receipt (`segment` steps: the leaves);
- the lifted segments are joined pairwise into one receipt of the whole run (`join` steps, a
  balanced tree: depth log2(segments), so a cluster joins in parallel);
- every keccak-accelerator request is proven (`keccak` steps) and the results are unioned
  (`union` steps) in the shape RISC Zero's executor committed to: a Merkle mountain range
  in request order, equal heights merged as they come, then the peaks folded left to right;
- the run's assumptions are resolved in the session's order (`resolve` steps): the keccak
  root for the keccak assumption, the caller's receipts for composition;
- the final receipt is the last step's output with the session's journal (`zkvm.finalize`).

A plan is pure data (no proving here): executors (local processes, Ray) run its steps in any
order that respects `inputs`, and report progress as steps finish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from coprocessor.errors import InvalidArgument
from coprocessor.zkvm import KECCAK_ASSUMPTION

StepOp = Literal["segment", "join", "keccak", "union", "resolve"]


@dataclass(frozen=True)
class Step:
    """One proving step. `inputs` are the ids of the steps whose outputs it consumes (in
    argument order); `index` is the segment or keccak request it proves (`segment`,
    `keccak`) or the caller's assumption receipt it resolves with (`resolve` of a receipt)."""

    id: int
    op: StepOp
    inputs: tuple[int, ...] = ()
    index: int | None = None


@dataclass(frozen=True)
class ProofPlan:
    steps: tuple[Step, ...]
    """In an order where every step comes after its inputs."""
    root: int
    """The step whose output is the session's receipt before finalisation."""
    segments: int
    keccak_requests: int

    def step(self, step_id: int) -> Step:
        return self.steps[step_id]

    def dependents(self) -> dict[int, list[int]]:
        """step id -> ids of the steps that consume its output."""
        users: dict[int, list[int]] = {s.id: [] for s in self.steps}
        for s in self.steps:
            for i in s.inputs:
                users[i].append(s.id)
        return users


class _Builder:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, op: StepOp, inputs: tuple[int, ...] = (), index: int | None = None) -> int:
        step = Step(len(self.steps), op, inputs, index)
        self.steps.append(step)
        return step.id


def _join_tree(builder: _Builder, leaves: list[int]) -> int:
    """Joins adjacent receipts level by level: a balanced tree that keeps segment order."""
    level = leaves
    while len(level) > 1:
        joined = [
            builder.add("join", (level[i], level[i + 1])) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            joined.append(level[-1])
        level = joined
    return level[0]


def _union_mountain(builder: _Builder, leaves: list[int]) -> int:
    """RISC Zero's keccak union shape: insert in order merging equal-height peaks, then fold
    the peaks from the oldest. (Union sorts its two claims, so only the shape matters.)"""
    peaks: list[tuple[int, int]] = []  # (step id, height)
    for leaf in leaves:
        node, height = leaf, 0
        while peaks and peaks[-1][1] == height:
            previous, _ = peaks.pop()
            node, height = builder.add("union", (node, previous)), height + 1
        peaks.append((node, height))
    root = peaks[0][0]
    for node, _ in peaks[1:]:
        root = builder.add("union", (root, node))
    return root


def plan_session(
    segments: int, keccak_requests: int, assumptions: Sequence[str | int] = ()
) -> ProofPlan:
    """The plan for a session of `segments` segments and `keccak_requests` keccak requests
    whose assumptions are, in order, `KECCAK_ASSUMPTION` or the index of a caller's receipt."""
    if segments < 1:
        raise InvalidArgument("a session has at least one segment")
    keccak_resolves = sum(1 for a in assumptions if a == KECCAK_ASSUMPTION)
    if keccak_resolves != (1 if keccak_requests else 0):
        raise InvalidArgument(
            f"{keccak_requests} keccak request(s) but {keccak_resolves} keccak assumption(s): "
            "a session with keccak requests has exactly one keccak assumption"
        )
    builder = _Builder()
    lifted = [builder.add("segment", index=i) for i in range(segments)]
    keccaks = [builder.add("keccak", index=j) for j in range(keccak_requests)]
    root = _join_tree(builder, lifted)
    keccak_root = _union_mountain(builder, keccaks) if keccaks else None
    for assumption in assumptions:
        if assumption == KECCAK_ASSUMPTION:
            assert keccak_root is not None
            root = builder.add("resolve", (root, keccak_root))
        elif isinstance(assumption, int) and assumption >= 0:
            root = builder.add("resolve", (root,), index=assumption)
        else:
            raise InvalidArgument(f"unknown assumption {assumption!r}")
    return ProofPlan(tuple(builder.steps), root, segments, keccak_requests)
