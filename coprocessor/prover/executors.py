"""Executors run a `ProofPlan`'s steps and return the root step's output. One interface:

    executor.run(plan, session, on_step) -> bytes

- `InlineExecutor`: every step in this process, one after another (a prover worker of the
  server is already its own process; also the reference for the others).
- `LocalExecutor(workers)`: a pool of worker processes on this machine (spawned, so a crash
  in native code takes down one worker, not the caller). A step whose worker died is
  retried in a fresh pool, at most `max_retries` times; a step that fails with an error of
  its own (a proof that does not verify, bad bytes) is not retried: it would fail again.
- `RayExecutor(address)` (ray_cluster.py): the same plan as Ray tasks on a cluster.

`on_step(step)` is called in this process as each step's output arrives.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from coprocessor import zkvm
from coprocessor.errors import InvalidArgument, ProvingError
from coprocessor.prover.plan import ProofPlan, Step
from coprocessor.prover.steps import run_step, step_arguments

OnStep = Callable[[Step], None]


class Executor(Protocol):
    def run(self, plan: ProofPlan, session: zkvm.SplitSession, on_step: OnStep) -> bytes: ...


class InlineExecutor:
    """Runs every step in this process, in plan order."""

    def run(self, plan: ProofPlan, session: zkvm.SplitSession, on_step: OnStep) -> bytes:
        outputs: dict[int, bytes] = {}
        for step in plan.steps:
            outputs[step.id] = run_step(step.op, *step_arguments(step, session, outputs))
            on_step(step)
        return outputs[plan.root]


class _Schedule:
    """Which steps are ready, and which outputs can be dropped once every user has run."""

    def __init__(self, plan: ProofPlan):
        self.plan = plan
        self.users = plan.dependents()
        self.waiting = {s.id: len(s.inputs) for s in plan.steps}
        self.unused = {s.id: len(self.users[s.id]) for s in plan.steps}
        self.ready = [s.id for s in plan.steps if not s.inputs]

    def finished(self, step_id: int, outputs: dict[int, bytes]) -> None:
        for user in self.users[step_id]:
            self.waiting[user] -= 1
            if self.waiting[user] == 0:
                self.ready.append(user)
        for source in self.plan.step(step_id).inputs:  # free what nothing else will read
            self.unused[source] -= 1
            if self.unused[source] == 0 and source != self.plan.root:
                outputs.pop(source, None)


class LocalExecutor:
    """Worker processes on this machine (module docstring)."""

    def __init__(self, workers: int, *, max_retries: int = 2):
        if not isinstance(workers, int) or workers < 1:
            raise InvalidArgument(f"workers must be a positive int, got {workers!r}")
        self.workers, self.max_retries = workers, max_retries

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, plan: ProofPlan, session: zkvm.SplitSession, on_step: OnStep) -> bytes:
        schedule = _Schedule(plan)
        outputs: dict[int, bytes] = {}
        attempts = dict.fromkeys(range(len(plan.steps)), 0)
        pool = self._pool()
        running: dict[Future, int] = {}
        try:
            while schedule.ready or running:
                while schedule.ready:
                    step = plan.step(schedule.ready.pop(0))
                    args = step_arguments(step, session, outputs)
                    running[pool.submit(run_step, step.op, *args)] = step.id
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                lost: list[int] = []
                for future in done:
                    step_id = running.pop(future)
                    try:
                        outputs[step_id] = future.result()
                    except BrokenProcessPool:
                        lost.append(step_id)
                        continue
                    schedule.finished(step_id, outputs)
                    on_step(plan.step(step_id))
                if lost:  # a worker died: every step still in the pool is lost with it
                    lost += [running.pop(f) for f in list(running)]
                    for step_id in lost:
                        attempts[step_id] += 1
                        if attempts[step_id] > self.max_retries:
                            raise ProvingError(
                                f"proving step {plan.step(step_id).op} #{step_id} lost its worker "
                                f"{attempts[step_id]} time(s); giving up"
                            )
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool()
                    schedule.ready = sorted(lost) + schedule.ready
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return outputs[plan.root]
