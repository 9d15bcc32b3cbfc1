"""`RayExecutor`: a proving plan as Ray tasks on a cluster (`ray.init(address=...)`).

Every step is one task (one CPU by default; `gpus_per_step` pins segment proving to GPUs
where the cluster has them); a step's inputs are the object refs of the steps it consumes,
so Ray schedules the tree itself and moves receipts between nodes. A task whose worker
process or node dies is retried by Ray (`max_retries`); an error raised by the step itself
(a proof that does not verify) is not retried and reaches the caller.

The nodes must run the same Python environment as the caller (the same venv, so each
worker process can import `coprocessor` and load the native library).
"""

from __future__ import annotations

import logging
from typing import Any

from coprocessor import zkvm
from coprocessor.errors import ConfigError, CoprocessorError, ProvingError
from coprocessor.prover.executors import OnStep
from coprocessor.prover.plan import ProofPlan
from coprocessor.prover.steps import run_step


class RayExecutor:
    """Runs steps on the Ray cluster at `address` ("host:port" of its head node's GCS)."""

    def __init__(self, address: str, *, max_retries: int = 3, gpus_per_step: float = 0):
        self.address, self.max_retries, self.gpus_per_step = address, max_retries, gpus_per_step
        self._connected_here = False

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is a dependency
            raise ConfigError("proving on a Ray cluster needs the `ray` package") from exc
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot join the Ray cluster at {self.address}: {exc}") from exc
            self._connected_here = True
        return ray

    def close(self) -> None:
        """Disconnects from the cluster if this executor connected (the cluster keeps running)."""
        if self._connected_here:
            import ray

            ray.shutdown()
            self._connected_here = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, plan: ProofPlan, session: zkvm.SplitSession, on_step: OnStep) -> bytes:
        ray = self._connect()
        task = ray.remote(run_step)
        common = {"num_cpus": 1, "max_retries": self.max_retries, "retry_exceptions": False}
        refs: dict[int, Any] = {}
        for step in plan.steps:
            options = {"num_gpus": self.gpus_per_step} if self.gpus_per_step else {}
            if step.op == "segment":
                assert step.index is not None
                args: tuple = (session.segments[step.index],)
            elif step.op == "keccak":
                assert step.index is not None
                args = (session.keccak_requests[step.index],)
                options = {}
            else:
                args = tuple(refs[i] for i in step.inputs)
                options = {}
                if step.op == "resolve" and step.index is not None:
                    args += (session.assumption_receipts[step.index],)
            refs[step.id] = task.options(**common, **options).remote(step.op, *args)
        pending = {ref: step_id for step_id, ref in refs.items()}
        while pending:  # progress as steps finish; outputs stay in the cluster's object store
            done, _ = ray.wait(list(pending), num_returns=1, fetch_local=False)
            for ref in done:
                on_step(plan.step(pending.pop(ref)))
        try:
            return ray.get(refs[plan.root])
        except ray.exceptions.RayTaskError as exc:  # a step's own error, passed up the tree
            cause = getattr(exc, "cause", None)
            if isinstance(cause, CoprocessorError):
                raise cause from exc
            raise ProvingError(f"a proving step failed on Ray: {exc}") from exc
        except ray.exceptions.RayError as exc:
            raise ProvingError(f"a proving step was lost on Ray: {exc}") from exc
