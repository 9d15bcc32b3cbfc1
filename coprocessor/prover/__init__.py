"""Proving (layer 2): a guest's session split into segments and keccak requests, proven as a
plan of steps (plan.py) on an executor (this process, local worker processes, or a Ray
cluster), and the query guest's path on top (query.py). The SDK, the relayer and the
server's workers all prove through here."""

from coprocessor.prover.executors import Executor, InlineExecutor, LocalExecutor
from coprocessor.prover.plan import ProofPlan, Step, plan_session
from coprocessor.prover.proving import OnProgress, Progress, executor_for, prove, prove_split
from coprocessor.prover.query import check_journal, prove_query
from coprocessor.prover.ray_cluster import RayExecutor

__all__ = [
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "OnProgress",
    "ProofPlan",
    "Progress",
    "RayExecutor",
    "Step",
    "check_journal",
    "executor_for",
    "plan_session",
    "prove",
    "prove_query",
    "prove_split",
]
