"""`coprocessor serve` under stress: bearer-token auth, cancelling, a prover worker killed with
SIGKILL mid-proof, SIGTERM (health NOT_SERVING while it drains, exit 0) and a restart that
loses no job.

The server runs with a token and with workers that hold each job a few seconds before proving
(COPROCESSOR_WORKER_HOLD_SECONDS), so a test can act while a job is proving. The tests share
one server and run in file order; the last one restarts it."""

from __future__ import annotations

import os
import signal
import time

import pytest
from grpc_health.v1 import health_pb2

from coprocessor.errors import AuthenticationError, JobNotDoneError, ServiceUnavailableError
from coprocessor.queue.worker import HOLD_ENV
from coprocessor.sdk.client import Client, RetryPolicy

from support.catalogue import CAT, params_for
from support.serve import ServeProcess

TOKEN = "s3cret-test-token"
QUERY = "code_hash_at_block"
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _start(db, url) -> ServeProcess:
    srv = ServeProcess(
        db,
        url,
        workers=1,
        lease=1.0,
        drain=1.5,
        env={"COPROCESSOR_TOKEN": TOKEN, HOLD_ENV: "2"},
    )
    srv.wait_serving()
    return srv


@pytest.fixture(scope="module")
def served(devnode, tmp_path_factory):
    box = {"db": tmp_path_factory.mktemp("lifecycle") / "index.duckdb", "url": devnode.url}
    box["server"] = _start(box["db"], devnode.url)
    yield box
    box["server"].kill()


@pytest.fixture
def client(served):
    with Client(served["server"].target, token=TOKEN, timeout=60) as c:
        yield c


def _submit(client, env):
    return client.submit(CAT[QUERY], params=params_for(env, QUERY), dev=True)


def _wait_state(client, job_id: str, state: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(job_id)
        if job.state == state:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {state}: {client.get(job_id)}")


def test_unauthenticated_calls_are_refused(served):
    target = served["server"].target
    for token in (None, "wrong"):
        with Client(target, token=token) as c, pytest.raises(AuthenticationError):
            c.tables()
    with Client(target, token=TOKEN) as c:
        assert "blocks" in c.tables()
    assert served["server"].health() == health_pb2.HealthCheckResponse.SERVING  # no token


def test_cancel_while_proving(client, env):
    job = _submit(client, env)
    _wait_state(client, job.job_id, "proving")
    assert client.cancel(job.job_id).state == "cancelled"
    assert [j.state for j in client.watch(job.job_id)] == ["queued", "proving", "cancelled"]
    with pytest.raises(JobNotDoneError):
        client.receipt(job.job_id)
    time.sleep(2.5)  # the worker finishes its hold and proof; the result is dropped
    assert client.get(job.job_id).state == "cancelled"


def test_worker_killed_mid_proof_completes_exactly_once(client, env):
    job = _submit(client, env)
    proving = _wait_state(client, job.job_id, "proving")
    os.kill(int(proving.worker.rsplit("-", 1)[1]), signal.SIGKILL)
    result = client.result(
        job.job_id, sql=CAT[QUERY], params=params_for(env, QUERY), allow_dev=True
    )
    assert result.rows
    states = [j.state for j in client.watch(job.job_id)]
    assert states == ["queued", "proving", "queued", "proving", "done"]
    assert client.get(job.job_id).attempts == 2


def test_shutdown_drains_and_restart_loses_no_job(served, env):
    srv = served["server"]
    with Client(srv.target, token=TOKEN, timeout=60) as c:
        done = _submit(c, env)
        c.result(done.job_id, allow_dev=True)
        receipt = c.receipt(done.job_id)
        pending = _submit(c, env)
        _wait_state(c, pending.job_id, "proving")
        queued = _submit(c, env)  # the one worker is busy: this one waits in the queue
        assert c.get(queued.job_id).state == "queued"
    srv.proc.send_signal(signal.SIGTERM)
    seen_not_serving = False
    while srv.proc.poll() is None and not seen_not_serving:
        try:
            seen_not_serving = srv.health() == NOT_SERVING
        except Exception:  # the port closed between the poll and the call
            break
        time.sleep(0.05)
    assert seen_not_serving, srv.output()
    with Client(srv.target, token=TOKEN, retry=RetryPolicy(attempts=1)) as c:
        with pytest.raises(ServiceUnavailableError):  # draining, or already closed
            _submit(c, env)
    assert srv.terminate() == 0, srv.output()
    assert '"requeued_jobs": 1' in srv.output()

    served["server"] = srv = _start(served["db"], served["url"])
    with Client(srv.target, token=TOKEN, timeout=60) as c:
        assert c.get(done.job_id).state == "done" and c.receipt(done.job_id) == receipt
        result = c.result(pending.job_id, allow_dev=True)
        assert result.rows
        states = [j.state for j in c.watch(pending.job_id)]
        assert states == ["queued", "proving", "queued", "proving", "done"]
        assert c.result(queued.job_id, allow_dev=True).rows == result.rows
        assert [j.state for j in c.watch(queued.job_id)] == ["queued", "proving", "done"]
