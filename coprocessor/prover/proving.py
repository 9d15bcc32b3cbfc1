"""`prove`: one entry point for proving a guest, monolithic or split.

- `dev=True`: the executor and a fake receipt (seconds; never verifies without allow_dev).
- `kind="composite"` with one worker and no cluster: RISC Zero's own `prove` in this
  process (one call: no progress is reported).
- otherwise the split path: execute into segments, plan (plan.py), run the steps on an
  executor (this process, local worker processes, or a Ray cluster), finalise one succinct
  receipt, and check it verifies for the program with the session's journal before it is
  returned. Progress is reported per segment and per step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from coprocessor import zkvm
from coprocessor.errors import InvalidArgument, ProvingError
from coprocessor.prover.executors import Executor, InlineExecutor, LocalExecutor
from coprocessor.prover.plan import Step, plan_session


@dataclass(frozen=True)
class Progress:
    segments_done: int
    segments_total: int
    steps_done: int
    steps_total: int


OnProgress = Callable[[Progress], None]


def executor_for(workers: int = 1, ray_address: str | None = None) -> Executor:
    """Ray when an address is given, else local worker processes (this process for one)."""
    if ray_address is not None:
        from coprocessor.prover.ray_cluster import RayExecutor

        return RayExecutor(ray_address)
    if workers == 1:
        return InlineExecutor()
    return LocalExecutor(workers)


def prove_split(
    program: zkvm.Program,
    input: bytes,
    *,
    executor: Executor | None = None,
    segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    keccak_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: Sequence[zkvm.Receipt] = (),
    on_progress: OnProgress | None = None,
) -> zkvm.Receipt:
    """Proves by the split path (module docstring); returns a verified succinct receipt."""
    started = time.perf_counter()
    session = zkvm.execute_split(
        program,
        input,
        segment_po2=segment_po2,
        keccak_po2=keccak_po2,
        max_cycles=max_cycles,
        assumptions=assumptions,
    )
    plan = plan_session(len(session.segments), len(session.keccak_requests), session.assumptions)
    done = {"segment": 0, "steps": 0}

    def on_step(step: Step) -> None:
        done["steps"] += 1
        done["segment"] += step.op == "segment"
        if on_progress is not None:
            on_progress(Progress(done["segment"], plan.segments, done["steps"], len(plan.steps)))

    if on_progress is not None:
        on_progress(Progress(0, plan.segments, 0, len(plan.steps)))
    root = (executor or InlineExecutor()).run(plan, session, on_step)
    receipt = zkvm.finalize(root, session.journal)
    if zkvm.verify(receipt, program.image_id) != session.journal:
        raise ProvingError("the finalised receipt's journal is not the session's")
    stats = zkvm.ProofStats(
        session.cycles, session.user_cycles, len(session.segments), time.perf_counter() - started
    )
    return zkvm.Receipt(data=receipt.data, journal=receipt.journal, kind=receipt.kind, stats=stats)


def prove(
    program: zkvm.Program,
    input: bytes,
    *,
    kind: Literal["composite", "succinct"] = "composite",
    dev: bool = False,
    workers: int = 1,
    ray_address: str | None = None,
    segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    keccak_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: Sequence[zkvm.Receipt] = (),
    on_progress: OnProgress | None = None,
) -> zkvm.Receipt:
    """Proves a guest (module docstring). Several workers or a cluster give a succinct
    receipt whatever `kind` says: the split path always ends in one."""
    if not isinstance(workers, int) or workers < 1:
        raise InvalidArgument(f"workers must be a positive int, got {workers!r}")
    if dev or (kind == "composite" and workers == 1 and ray_address is None):
        receipt = zkvm.prove(
            program,
            input,
            kind=kind,
            dev=dev,
            segment_po2=segment_po2,
            keccak_po2=keccak_po2,
            max_cycles=max_cycles,
            assumptions=assumptions,
        )
        return receipt  # no progress to tell: one call, nothing proven piecewise
    executor = executor_for(workers, ray_address)
    try:
        return prove_split(
            program,
            input,
            executor=executor,
            segment_po2=segment_po2,
            keccak_po2=keccak_po2,
            max_cycles=max_cycles,
            assumptions=assumptions,
            on_progress=on_progress,
        )
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
