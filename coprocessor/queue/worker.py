"""Prover workers: separate processes (multiprocessing, spawn) that lease jobs from the proving
queue, prove them with `coprocessor.zkvm` and store the receipt, so a crash in native code
cannot take the server down. `WorkerPool` starts them, restarts any that die, and on shutdown
stops them and returns their jobs to the queue.

A worker never opens the DuckDB index: the server compiles each query and queues the guest's
input with the journal the compiler expects; a proof of any other journal fails the job.
While it proves, a thread renews the job's lease; a worker killed mid-proof stops renewing,
and the job goes back to the queue when the lease expires.

Test seam: COPROCESSOR_WORKER_HOLD_SECONDS makes a worker wait that long (renewing its lease)
before proving, so tests can kill it mid-job deterministically.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Literal

from coprocessor import zkvm
from coprocessor.errors import CoprocessorError, ResultMismatchError
from coprocessor.prover import OnProgress, Progress, prove
from coprocessor.queue.database import ProvingQueue
from coprocessor.queue.jobs import JobResult, ProvingTask

log = logging.getLogger("coprocessor.queue.worker")
HOLD_ENV = "COPROCESSOR_WORKER_HOLD_SECONDS"


@dataclass(frozen=True)
class WorkerSettings:
    queue_path: str
    lease_seconds: float = 10.0
    poll_seconds: float = 0.05  # an idle worker's look at the queue (a read)
    monitor_seconds: float = 0.25  # the pool's check for dead workers and expired leases


def prove_task(task: ProvingTask, on_progress: OnProgress | None = None) -> JobResult:
    """Proves one task; ResultMismatchError when the journal is not the expected one.

    A succinct proof takes the split path (coprocessor.prover), which reports every segment
    proven to `on_progress`; a composite one is RISC Zero's own `prove`, reported once
    executed (0 of N segments) and once proven."""
    program = zkvm.Program.load(task.program)
    kind: Literal["composite", "succinct"] = "succinct" if task.kind == "succinct" else "composite"
    if on_progress is not None and kind == "composite" and not task.dev:
        run = zkvm.execute(program, task.guest_input, segment_po2=task.segment_po2)
        on_progress(Progress(0, run.segments, 0, 1))
    receipt = prove(
        program,
        task.guest_input,
        kind=kind,
        dev=task.dev,
        segment_po2=task.segment_po2,
        keccak_po2=task.keccak_po2,
        on_progress=on_progress,
    )
    if receipt.journal != task.expected_journal:
        raise ResultMismatchError(
            "bug: the proven journal differs from the compiler's expected journal; "
            "no answer is stored"
        )
    st = receipt.stats
    if st is None:
        raise ResultMismatchError("bug: the prover returned a receipt without statistics")
    return JobResult(
        journal=receipt.journal,
        receipt=receipt.to_bytes(),
        image_id=program.image_id,
        cycles=st.cycles,
        user_cycles=st.user_cycles,
        segments=st.segments,
        proving_seconds=st.seconds,
    )


class _LeaseKeeper(threading.Thread):
    """Renews a job's lease every third of its length until stopped or the lease is lost."""

    def __init__(self, queue: ProvingQueue, job_id: str, worker: str, lease_seconds: float):
        super().__init__(daemon=True, name="lease-keeper")
        self.queue, self.job_id, self.worker, self.lease = queue, job_id, worker, lease_seconds
        self.done = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.done.wait(self.lease / 3):
            if not self.queue.heartbeat(self.job_id, self.worker, self.lease):
                self.lost = True
                return


def _work_one(queue: ProvingQueue, worker: str, settings: WorkerSettings) -> bool:
    """Leases and proves one job; False when the queue had none."""
    leased = queue.lease(worker, settings.lease_seconds)
    if leased is None:
        return False
    job, task = leased
    keeper = _LeaseKeeper(queue, job.id, worker, settings.lease_seconds)
    keeper.start()
    try:
        hold = float(os.environ.get(HOLD_ENV, "0") or 0)
        if hold > 0:
            time.sleep(hold)

        def report(p: Progress) -> None:
            queue.progress(job.id, worker, p.segments_done, p.segments_total)

        result = prove_task(task, report)
    except CoprocessorError as exc:
        queue.fail(job.id, worker, type(exc).__name__, str(exc))
        return True
    finally:
        keeper.done.set()
    if not queue.complete(job.id, worker, result):
        log.info("job %s: lease lost (cancelled or expired); result dropped", job.id)
    return True


def worker_main(name: str, settings: WorkerSettings) -> None:
    """A worker process's body: lease, prove, store, until the parent process is gone."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    worker = f"{name}-{os.getpid()}"
    parent = os.getppid()
    with ProvingQueue(settings.queue_path) as queue:
        while os.getppid() == parent:
            if not _work_one(queue, worker, settings):
                time.sleep(settings.poll_seconds)


class WorkerPool:
    """N worker processes over one queue, restarted when they die."""

    def __init__(self, settings: WorkerSettings, workers: int):
        self.settings, self.size = settings, workers
        self._context = multiprocessing.get_context("spawn")
        self._processes: dict[str, BaseProcess] = {}
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, daemon=True, name="worker-pool")

    def start(self) -> None:
        for _ in range(self.size):
            self._spawn()
        self._monitor.start()

    def _spawn(self) -> None:
        name = f"worker.{uuid.uuid4().hex[:8]}"
        proc = self._context.Process(
            target=worker_main, args=(name, self.settings), name=name, daemon=True
        )
        proc.start()
        self._processes[name] = proc
        log.info("started prover worker %s-%s", name, proc.pid)

    def _watch(self) -> None:
        with ProvingQueue(self.settings.queue_path) as queue:
            while not self._stopping.wait(self.settings.monitor_seconds):
                for name, proc in list(self._processes.items()):
                    if not proc.is_alive() and not self._stopping.is_set():
                        log.warning("prover worker %s-%s died (%s)", name, proc.pid, proc.exitcode)
                        del self._processes[name]
                        self._spawn()
                queue.requeue_expired()

    @property
    def worker_ids(self) -> list[str]:
        return [f"{name}-{proc.pid}" for name, proc in self._processes.items()]

    def stop(self, queue: ProvingQueue) -> int:
        """Stops every worker and returns their jobs to the queue; returns how many."""
        self._stopping.set()
        if self._monitor.is_alive():
            self._monitor.join()
        ids = self.worker_ids
        for proc in self._processes.values():
            proc.terminate()
        for proc in self._processes.values():
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        return queue.release(ids)
