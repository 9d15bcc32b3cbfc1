"""What one proving step does, as a plain function of bytes (so a process pool or a Ray task
can run it anywhere): each call makes its own RISC Zero prover, which is not `Send`."""

from __future__ import annotations

from collections.abc import Mapping

from coprocessor import zkvm
from coprocessor.prover.plan import Step, StepOp


def run_step(op: StepOp, *args: bytes) -> bytes:
    """Runs one step on its input bytes and returns its receipt's bytes."""
    if op == "segment":
        return zkvm.prove_segment(*args)
    if op == "keccak":
        return zkvm.prove_keccak(*args)
    if op == "join":
        return zkvm.join(*args)
    if op == "union":
        return zkvm.union(*args)
    if op == "resolve":
        return zkvm.resolve(*args)
    raise AssertionError(f"unknown step {op!r}")


def step_arguments(
    step: Step, session: zkvm.SplitSession, outputs: Mapping[int, bytes]
) -> tuple[bytes, ...]:
    """The bytes a step takes: its session input (segment, keccak request, assumption receipt)
    and its input steps' outputs, in argument order."""
    if step.op == "segment":
        assert step.index is not None
        return (session.segments[step.index],)
    if step.op == "keccak":
        assert step.index is not None
        return (session.keccak_requests[step.index],)
    inputs = tuple(outputs[i] for i in step.inputs)
    if step.op == "resolve" and step.index is not None:
        return (*inputs, session.assumption_receipts[step.index])
    return inputs
