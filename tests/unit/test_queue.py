"""The durable proving queue (`coprocessor.queue`): request-id idempotency, leases and
heartbeats, exactly one terminal state per job, cancelling, restarts, exact rows."""

from __future__ import annotations

import time

import pytest

from coprocessor.errors import JobNotFoundError, QueueFullError, RequestConflictError
from coprocessor.queue import JobResult, JobState, ProvingQueue, ProvingTask, encode_rows

REQUEST = {"sql": "SELECT 1", "params": {"a": "1"}, "proof_kind": "dev"}
BIG = 2**256 - 1
ROWS = [(BIG, b"\x01" * 20, True, None), (0, b"", False, 7)]


def _task() -> ProvingTask:
    return ProvingTask(
        guest_input=b"input",
        expected_journal=b"journal",
        dev=True,
        meta={"rows": encode_rows(ROWS)},
    )


def _result() -> JobResult:
    return JobResult(b"journal", b"receipt" * 100, b"\x02" * 32, 10, 8, 1, 0.5)


@pytest.fixture
def queue(tmp_path):
    with ProvingQueue(tmp_path / "queue.sqlite", max_attempts=2) as q:
        yield q


def test_same_request_id_same_job_and_conflict(queue):
    job, created = queue.submit(REQUEST, _task(), request_id="r1")
    again, created_again = queue.submit(REQUEST, _task(), request_id="r1")
    assert created and not created_again and again.id == job.id
    assert queue.find_request("r1", REQUEST).id == job.id
    with pytest.raises(RequestConflictError, match="r1"):
        queue.submit({**REQUEST, "params": {"a": "2"}}, _task(), request_id="r1")
    other, created_other = queue.submit(REQUEST, _task())  # no id: a new job each time
    assert created_other and other.id != job.id


def test_full_queue_refuses(tmp_path):
    with ProvingQueue(tmp_path / "q.sqlite", max_pending=2) as q:
        q.submit(REQUEST, _task())
        q.submit(REQUEST, _task())
        with pytest.raises(QueueFullError):
            q.submit(REQUEST, _task())


def test_lease_complete_and_events_in_order(queue):
    job, _ = queue.submit(REQUEST, _task())
    leased = queue.lease("w1", 30)
    assert leased is not None
    proving, task = leased
    assert proving.state == JobState.PROVING and proving.worker == "w1" and proving.attempts == 1
    assert task == _task() and queue.lease("w2", 30) is None
    assert queue.heartbeat(job.id, "w1", 30) and not queue.heartbeat(job.id, "w2", 30)
    assert not queue.complete(job.id, "w2", _result())  # not its lease
    assert queue.complete(job.id, "w1", _result())
    assert not queue.complete(job.id, "w1", _result())  # once only
    done = queue.get(job.id)
    assert done.state == JobState.DONE and done.journal == b"journal"
    assert done.rows == ROWS and done.rows[0][0] == BIG  # exact
    assert queue.receipt(job.id) == _result().receipt
    assert queue.receipt_size(job.id) == len(_result().receipt)
    assert [e.state for e in queue.events(job.id)] == ["queued", "proving", "done"]


def test_expired_lease_returns_the_job_and_the_late_worker_loses(queue):
    job, _ = queue.submit(REQUEST, _task())
    assert queue.lease("dead", 0.01) is not None
    time.sleep(0.05)
    second = queue.lease("alive", 30)  # expires the dead worker's lease first
    assert second is not None and second[0].id == job.id and second[0].attempts == 2
    assert not queue.complete(job.id, "dead", _result())
    assert queue.complete(job.id, "alive", _result())
    states = [e.state for e in queue.events(job.id)]
    assert states == ["queued", "proving", "queued", "proving", "done"]
    assert states.count("done") == 1


def test_attempts_run_out_and_fail_once(queue):
    job, _ = queue.submit(REQUEST, _task())
    for worker in ("a", "b"):
        assert queue.lease(worker, 0.01) is not None
        time.sleep(0.05)
    queue.requeue_expired()
    failed = queue.get(job.id)
    assert failed.state == JobState.FAILED and "lease expired" in failed.error_message
    assert queue.lease("c", 30) is None and not queue.complete(job.id, "b", _result())


def test_failure_cancel_and_release(queue):
    failing, _ = queue.submit(REQUEST, _task())
    queue.lease("w", 30)
    assert queue.fail(failing.id, "w", "ExecutionError", "guest panicked")
    assert queue.get(failing.id).error_kind == "ExecutionError"
    assert queue.cancel(failing.id).state == JobState.FAILED  # terminal: unchanged
    cancelled, _ = queue.submit(REQUEST, _task())
    queue.lease("w", 30)
    assert queue.cancel(cancelled.id).state == JobState.CANCELLED
    assert not queue.heartbeat(cancelled.id, "w", 30)  # the worker learns it lost the job
    assert not queue.complete(cancelled.id, "w", _result())
    released, _ = queue.submit(REQUEST, _task())
    queue.lease("w", 30)
    assert queue.release(["w"]) == 1
    back = queue.get(released.id)
    assert back.state == JobState.QUEUED and back.attempts == 0
    with pytest.raises(JobNotFoundError):
        queue.get("nope")


def test_queue_survives_a_restart(tmp_path):
    path = tmp_path / "queue.sqlite"
    with ProvingQueue(path) as q:
        done, _ = q.submit(REQUEST, _task(), request_id="done")
        q.lease("w", 30)
        q.complete(done.id, "w", _result())
        queued, _ = q.submit(REQUEST, _task(), request_id="queued")
    with ProvingQueue(path) as q:
        assert q.get(done.id).state == JobState.DONE and q.get(done.id).rows == ROWS
        assert q.receipt(done.id) == _result().receipt
        assert q.find_request("queued", REQUEST).id == queued.id
        assert q.lease("w2", 30)[0].id == queued.id
        assert q.counts()["proving"] == 1 and q.counts()["done"] == 1


def test_progress_is_recorded_as_events_by_the_lease_holder_only(queue):
    job, _ = queue.submit(REQUEST, _task())
    queue.lease("w1", 30)
    assert queue.progress(job.id, "w1", 1, 4) and queue.progress(job.id, "w1", 3, 4)
    assert not queue.progress(job.id, "w2", 4, 4)  # not its lease: nothing recorded
    assert (queue.get(job.id).segments_done, queue.get(job.id).segments_total) == (3, 4)
    queue.complete(job.id, "w1", _result())
    assert not queue.progress(job.id, "w1", 4, 4)  # done: too late
    events = [(e.state, e.segments_done, e.segments_total) for e in queue.events(job.id)]
    assert events == [
        ("queued", 0, 0),
        ("proving", 0, 0),
        ("proving", 1, 4),
        ("proving", 3, 4),
        ("done", 1, 1),
    ]
    later = queue.events(job.id, after=queue.events(job.id)[2].seq)
    assert [e.segments_done for e in later] == [3, 1]


def test_a_queue_file_from_before_progress_events_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, "
        "state TEXT NOT NULL, at REAL NOT NULL);"
        "INSERT INTO events (job_id, state, at) VALUES ('j', 'queued', 1.0);"
    )
    old.commit()
    old.close()
    with ProvingQueue(path) as q:
        assert [(e.state, e.segments_done) for e in q.events("j")] == [("queued", 0)]
