"""The durable proving queue: SQLite in WAL mode, shared by the server and its worker processes
(each opens its own connection).

A job moves queued -> proving (a worker holds a lease it renews by heartbeats) -> done | failed
| cancelled. A lease that expires (its worker died) returns the job to the queue, or fails it
after `max_attempts`. Every write that changes a job's state is one transaction guarded by the
state it expects, so a job reaches exactly one terminal state: a late worker whose lease was
lost cannot complete a job again. Each state change is also an event row (`events`), in order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from coprocessor.errors import (
    JobNotFoundError,
    QueueError,
    QueueFullError,
    RequestConflictError,
)
from coprocessor.queue.jobs import Job, JobResult, JobState, ProvingTask
from coprocessor.sqlite_wal import connect_wal, write_transaction

log = logging.getLogger("coprocessor.queue")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    request_digest TEXT NOT NULL,
    request TEXT NOT NULL,
    query_hash BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_expires REAL NOT NULL DEFAULT 0,
    segments_done INTEGER NOT NULL DEFAULT 0,
    segments_total INTEGER NOT NULL DEFAULT 0,
    error_kind TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    guest_input BLOB NOT NULL,
    expected_journal BLOB NOT NULL,
    settings TEXT NOT NULL,
    journal BLOB,
    receipt BLOB,
    stats TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at REAL NOT NULL,
    segments_done INTEGER NOT NULL DEFAULT 0,
    segments_total INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, seq);
"""

_JOB_COLUMNS = (
    "id, request_id, request, state, attempts, lease_owner, segments_done, segments_total, "
    "error_kind, error_message, created, updated, query_hash, settings, journal, stats"
)
PENDING = (JobState.QUEUED.value, JobState.PROVING.value)
# Columns later versions added to a table, for queue files made before them.
_ADDED_COLUMNS = {
    "events": [
        ("segments_done", "INTEGER NOT NULL DEFAULT 0"),
        ("segments_total", "INTEGER NOT NULL DEFAULT 0"),
    ]
}


class JobEvent(NamedTuple):
    """One entry of a job's history: a state change, or progress while proving (state
    `proving` again, with more segments done)."""

    seq: int
    state: JobState
    segments_done: int
    segments_total: int


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, decl in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


@dataclass(frozen=True)
class ProvingTimes:
    """Proving seconds of the done jobs: `at_most[i]` of them took at most the i-th bound asked
    for (cumulative, as Prometheus's histogram buckets), `count` in all, `total` seconds."""

    at_most: tuple[int, ...]
    count: int
    total: float


def request_digest(request: dict) -> str:
    """The identity of a request for idempotency: sha256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _job(row: sqlite3.Row) -> Job:
    settings = json.loads(row["settings"])
    return Job(
        id=row["id"],
        request_id=row["request_id"] or "",
        request=json.loads(row["request"]),
        state=JobState(row["state"]),
        attempts=row["attempts"],
        worker=row["lease_owner"] if row["state"] == JobState.PROVING else "",
        segments_done=row["segments_done"],
        segments_total=row["segments_total"],
        error_kind=row["error_kind"],
        error_message=row["error_message"],
        created=row["created"],
        updated=row["updated"],
        query_hash=bytes(row["query_hash"]),
        meta=settings.get("meta", {}),
        journal=None if row["journal"] is None else bytes(row["journal"]),
        stats=None if row["stats"] is None else json.loads(row["stats"]),
    )


def _find_request(db: sqlite3.Connection, request_id: str, request: dict) -> Job | None:
    if not request_id:
        return None
    row = db.execute(
        f"SELECT {_JOB_COLUMNS}, request_digest FROM jobs WHERE request_id = ?", (request_id,)
    ).fetchone()
    if row is None:
        return None
    if row["request_digest"] != request_digest(request):
        raise RequestConflictError(
            f"request id {request_id!r} already names job {row['id']}, "
            "submitted with a different request"
        )
    return _job(row)


class ProvingQueue:
    """One queue database. Thread-safe (one connection behind a lock); processes open their own."""

    def __init__(self, path: str | Path, *, max_pending: int = 1000, max_attempts: int = 3):
        self.path, self.max_pending, self.max_attempts = str(path), max_pending, max_attempts
        self._lock = threading.Lock()
        try:
            self._db = connect_wal(self.path, synchronous="NORMAL", error=QueueError)
            self._db.row_factory = sqlite3.Row
            self._db.executescript(_SCHEMA)
            _add_missing_columns(self._db)
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open the proving queue {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ProvingQueue:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock, QueueError, f"proving queue {self.path}")

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise QueueError(f"proving queue {self.path}: {exc}") from exc

    @staticmethod
    def _event(
        db: sqlite3.Connection,
        job_id: str,
        state: JobState,
        segments: tuple[int, int] = (0, 0),
        **fields,
    ) -> None:
        now = time.time()
        db.execute(
            "INSERT INTO events (job_id, state, at, segments_done, segments_total) "
            "VALUES (?, ?, ?, ?, ?)",
            (job_id, state, now, *segments),
        )
        if segments != (0, 0):
            fields |= {"segments_done": segments[0], "segments_total": segments[1]}
        log.info(json.dumps({"event": "job_state", "job_id": job_id, "state": state, **fields}))

    # --- submitting and reading -------------------------------------------------------------

    def find_request(self, request_id: str, request: dict) -> Job | None:
        """The job a request id names (None: unused); RequestConflictError when that job was
        submitted with a different request."""
        with self._lock:
            return _find_request(self._db, request_id, request)

    def submit(
        self, request: dict, task: ProvingTask, *, request_id: str = "", query_hash: bytes = b""
    ) -> tuple[Job, bool]:
        """Queues a job; returns (job, created). The same request id and request return the
        existing job (created False); RequestConflictError for another request under that id,
        QueueFullError when `max_pending` jobs are queued or proving."""
        with self._transaction() as db:
            existing = _find_request(db, request_id, request)
            if existing is not None:
                return existing, False
            pending = db.execute(
                "SELECT count(*) FROM jobs WHERE state IN (?, ?)", PENDING
            ).fetchone()[0]
            if pending >= self.max_pending:
                raise QueueFullError(
                    f"the proving queue is full ({pending} pending jobs); retry later"
                )
            job_id, now = uuid.uuid4().hex, time.time()
            db.execute(
                "INSERT INTO jobs (id, request_id, request_digest, request, query_hash, state, "
                "guest_input, expected_journal, settings, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    request_id or None,
                    request_digest(request),
                    json.dumps(request, sort_keys=True),
                    query_hash,
                    JobState.QUEUED,
                    task.guest_input,
                    task.expected_journal,
                    task.settings_json(),
                    now,
                    now,
                ),
            )
            self._event(db, job_id, JobState.QUEUED, request_id=request_id)
        return self.get(job_id), True

    def get(self, job_id: str) -> Job:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job {job_id!r}")
        return _job(rows[0])

    def receipt(self, job_id: str) -> bytes | None:
        """The receipt bytes of a job (None until it is done)."""
        rows = self._read("SELECT receipt FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job {job_id!r}")
        return None if rows[0]["receipt"] is None else bytes(rows[0]["receipt"])

    def receipt_size(self, job_id: str) -> int:
        rows = self._read(
            "SELECT coalesce(length(receipt), 0) AS n FROM jobs WHERE id = ?", (job_id,)
        )
        return rows[0]["n"] if rows else 0

    def events(self, job_id: str, after: int = 0) -> list[JobEvent]:
        """The job's state changes and proving progress after event `after`, in order."""
        rows = self._read(
            "SELECT seq, state, segments_done, segments_total FROM events "
            "WHERE job_id = ? AND seq > ? ORDER BY seq",
            (job_id, after),
        )
        return [
            JobEvent(r["seq"], JobState(r["state"]), r["segments_done"], r["segments_total"])
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        rows = self._read("SELECT state, count(*) AS n FROM jobs GROUP BY state")
        return {s.value: 0 for s in JobState} | {r["state"]: r["n"] for r in rows}

    def proving_seconds(self) -> float:
        """Seconds spent proving the jobs that are done."""
        return self.proving_times(()).total

    def proving_times(self, bounds: Sequence[float]) -> ProvingTimes:
        """The done jobs' proving seconds (from their results) as a histogram: how many took at
        most each bound, how many there are and their sum."""
        at_most = "".join(f", coalesce(sum(s <= ?), 0) AS le{i}" for i in range(len(bounds)))
        (row,) = self._read(
            f"SELECT count(s) AS n, coalesce(sum(s), 0) AS total{at_most} FROM "
            "(SELECT json_extract(stats, '$.proving_seconds') AS s FROM jobs "
            "WHERE stats IS NOT NULL)",
            tuple(bounds),
        )
        return ProvingTimes(
            at_most=tuple(row[f"le{i}"] for i in range(len(bounds))),
            count=row["n"],
            total=float(row["total"]),
        )

    # --- cancelling ------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job:
        """Cancels a queued or proving job (a worker still proving it will find its lease gone);
        a finished job is returned as it is."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, lease_owner = '', updated = ? "
                "WHERE id = ? AND state IN (?, ?)",
                (JobState.CANCELLED, time.time(), job_id, *PENDING),
            )
            if cur.rowcount:
                self._event(db, job_id, JobState.CANCELLED)
        return self.get(job_id)

    # --- leases (workers) --------------------------------------------------------------------

    def _expire_leases(self, db: sqlite3.Connection, now: float) -> None:
        """Jobs whose worker stopped renewing its lease: back to the queue, or failed after
        max_attempts."""
        expired = db.execute(
            "SELECT id, attempts, lease_owner FROM jobs WHERE state = ? AND lease_expires < ?",
            (JobState.PROVING, now),
        ).fetchall()
        for row in expired:
            if row["attempts"] >= self.max_attempts:
                db.execute(
                    "UPDATE jobs SET state = ?, lease_owner = '', error_kind = ?, "
                    "error_message = ?, updated = ? WHERE id = ?",
                    (
                        JobState.FAILED,
                        "ProvingError",
                        f"the worker's lease expired on each of {row['attempts']} attempts",
                        now,
                        row["id"],
                    ),
                )
                self._event(db, row["id"], JobState.FAILED, reason="lease expired")
            else:
                db.execute(
                    "UPDATE jobs SET state = ?, lease_owner = '', updated = ? WHERE id = ?",
                    (JobState.QUEUED, now, row["id"]),
                )
                self._event(
                    db,
                    row["id"],
                    JobState.QUEUED,
                    reason="lease expired",
                    worker=row["lease_owner"],
                )

    def requeue_expired(self) -> None:
        with self._transaction() as db:
            self._expire_leases(db, time.time())

    def lease(self, worker: str, lease_seconds: float) -> tuple[Job, ProvingTask] | None:
        """The oldest queued job, now proving under `worker`'s lease (None: nothing queued)."""
        now = time.time()
        waiting = self._read(
            "SELECT 1 FROM jobs WHERE state = ? OR (state = ? AND lease_expires < ?) LIMIT 1",
            (JobState.QUEUED, JobState.PROVING, now),
        )
        if not waiting:  # a read, so idle workers do not take the write lock
            return None
        with self._transaction() as db:
            self._expire_leases(db, now)
            row = db.execute(
                "SELECT id, guest_input, expected_journal, settings FROM jobs WHERE state = ? "
                "ORDER BY created, id LIMIT 1",
                (JobState.QUEUED,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = ?, attempts = attempts + 1, lease_owner = ?, "
                "lease_expires = ?, segments_done = 0, updated = ? WHERE id = ?",
                (JobState.PROVING, worker, now + lease_seconds, now, row["id"]),
            )
            self._event(db, row["id"], JobState.PROVING, worker=worker)
            task = ProvingTask.from_stored(
                bytes(row["guest_input"]), bytes(row["expected_journal"]), row["settings"]
            )
        return self.get(row["id"]), task

    def heartbeat(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        """Renews the lease; False when the worker no longer holds it (cancelled, expired)."""
        now = time.time()
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET lease_expires = ?, updated = ? "
                "WHERE id = ? AND state = ? AND lease_owner = ?",
                (now + lease_seconds, now, job_id, JobState.PROVING, worker),
            )
            return cur.rowcount == 1

    def complete(self, job_id: str, worker: str, result: JobResult) -> bool:
        """Stores the proof and marks the job done, if `worker` still holds its lease."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, lease_owner = '', journal = ?, receipt = ?, "
                "stats = ?, segments_done = ?, segments_total = ?, updated = ? "
                "WHERE id = ? AND state = ? AND lease_owner = ?",
                (
                    JobState.DONE,
                    result.journal,
                    result.receipt,
                    result.stats_json(),
                    result.segments,
                    result.segments,
                    time.time(),
                    job_id,
                    JobState.PROVING,
                    worker,
                ),
            )
            if cur.rowcount:
                segments = (result.segments, result.segments)
                self._event(db, job_id, JobState.DONE, segments, worker=worker)
            return cur.rowcount == 1

    def progress(self, job_id: str, worker: str, done: int, total: int) -> bool:
        """Records that `worker` has proven `done` of the job's `total` segments (an event
        WatchQuery streams), if it still holds the lease."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET segments_done = ?, segments_total = ?, updated = ? "
                "WHERE id = ? AND state = ? AND lease_owner = ?",
                (done, total, time.time(), job_id, JobState.PROVING, worker),
            )
            if cur.rowcount:
                self._event(db, job_id, JobState.PROVING, (done, total), worker=worker)
            return cur.rowcount == 1

    def fail(self, job_id: str, worker: str, kind: str, message: str) -> bool:
        """Marks the job failed (the proof itself failed), if `worker` still holds its lease."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, lease_owner = '', error_kind = ?, error_message = ?, "
                "updated = ? WHERE id = ? AND state = ? AND lease_owner = ?",
                (JobState.FAILED, kind, message, time.time(), job_id, JobState.PROVING, worker),
            )
            if cur.rowcount:
                self._event(db, job_id, JobState.FAILED, worker=worker, error_kind=kind)
            return cur.rowcount == 1

    def release(self, workers: list[str]) -> int:
        """Returns the proving jobs of stopped workers to the queue (graceful shutdown: the
        attempt is not counted). Returns how many."""
        if not workers:
            return 0
        marks = ", ".join("?" for _ in workers)
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id FROM jobs WHERE state = ? AND lease_owner IN ({marks})",
                (JobState.PROVING, *workers),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE jobs SET state = ?, lease_owner = '', attempts = attempts - 1, "
                    "updated = ? WHERE id = ?",
                    (JobState.QUEUED, time.time(), row["id"]),
                )
                self._event(db, row["id"], JobState.QUEUED, reason="shutdown")
        return len(rows)
