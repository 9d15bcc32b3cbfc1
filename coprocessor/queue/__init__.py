"""The durable proving queue (layer 2): jobs in SQLite (WAL) with leases and heartbeats, and the
worker processes that prove them.

- `jobs`: job states, `Job`, the `ProvingTask` a worker proves and the `JobResult` it stores
- `database`: `ProvingQueue` (submit with request-id idempotency, lease, heartbeat, complete,
  fail, cancel, expired leases back to the queue, every state change an ordered event)
- `worker`: `WorkerPool` of spawned prover processes and the worker loop
"""

from coprocessor.queue.database import ProvingQueue, request_digest
from coprocessor.queue.jobs import (
    TERMINAL_STATES,
    Job,
    JobResult,
    JobState,
    ProvingTask,
    decode_rows,
    encode_rows,
)
from coprocessor.queue.worker import WorkerPool, WorkerSettings, prove_task

__all__ = [
    "TERMINAL_STATES",
    "Job",
    "JobResult",
    "JobState",
    "ProvingQueue",
    "ProvingTask",
    "WorkerPool",
    "WorkerSettings",
    "decode_rows",
    "encode_rows",
    "prove_task",
    "request_digest",
]
