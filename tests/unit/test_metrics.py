"""coprocessor.server.metrics: the server's Prometheus registry over a real proving queue and
index-lag measurement, the gRPC call counter on a real in-process server (with the bearer-token
interceptor behind it), and the HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from coprocessor.errors import ConfigError
from coprocessor.queue import JobResult, ProvingQueue, ProvingTask
from coprocessor.server.auth import BearerTokenInterceptor
from coprocessor.server.metrics import MetricsEndpoint, ServerMetrics
from coprocessor.server.service import IndexHealth

TASK = ProvingTask(guest_input=b"input", expected_journal=b"journal", dev=True)


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, from Prometheus's text format."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def queue(tmp_path):
    with ProvingQueue(tmp_path / "queue.sqlite") as q:
        yield q


def _prove(queue: ProvingQueue, seconds: float) -> None:
    job, _ = queue.submit({"sql": f"SELECT {seconds}"}, TASK)
    leased = queue.lease("w", 60)
    assert leased is not None and leased[0].id == job.id
    result = JobResult(b"journal", b"receipt", b"\x02" * 32, 10, 8, 1, seconds)
    assert queue.complete(job.id, "w", result)


def test_jobs_proving_seconds_and_index_lag(queue):
    for seconds in (0.05, 2.0, 100.0):
        _prove(queue, seconds)
    failed, _ = queue.submit({"sql": "SELECT 'failed'"}, TASK)
    assert queue.lease("w", 60) is not None and queue.fail(failed.id, "w", "ProvingError", "x")
    queue.cancel(queue.submit({"sql": "SELECT 'cancelled'"}, TASK)[0].id)
    queue.submit({"sql": "SELECT 'queued'"}, TASK)
    index = IndexHealth(node_head=110, last_block=100, serving=True)

    got = _samples(generate_latest(ServerMetrics(queue, index).registry).decode())

    jobs = {"queued": 1, "proving": 0, "done": 3, "failed": 1, "cancelled": 1}
    for state, n in jobs.items():
        assert got["coprocessor_jobs", (("state", state),)] == n
    le = {le: got["coprocessor_proving_seconds_bucket", (("le", le),)] for le in ("0.1", "1.0")}
    assert le == {"0.1": 1, "1.0": 1}
    assert got["coprocessor_proving_seconds_bucket", (("le", "5.0"),)] == 2
    assert got["coprocessor_proving_seconds_bucket", (("le", "300.0"),)] == 3
    assert got["coprocessor_proving_seconds_bucket", (("le", "+Inf"),)] == 3
    assert got["coprocessor_proving_seconds_count", ()] == 3
    assert got["coprocessor_proving_seconds_sum", ()] == pytest.approx(102.05)
    assert got["coprocessor_proving_seconds_sum", ()] == pytest.approx(queue.proving_seconds())
    assert got["coprocessor_index_last_block", ()] == 100
    assert got["coprocessor_node_head_block", ()] == 110
    assert got["coprocessor_index_lag_blocks", ()] == 10
    assert got["coprocessor_serving", ()] == 1


def test_grpc_calls_counted_by_method_and_code_before_auth(queue):
    """Health is open (OK; an unknown service is NOT_FOUND, set without abort); reflection needs
    the token, so a call without it is refused by the interceptor behind the counter."""
    metrics = ServerMetrics(queue, IndexHealth())
    server = grpc.server(
        ThreadPoolExecutor(max_workers=4),
        interceptors=[metrics.interceptor, BearerTokenInterceptor("secret")],
    )
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection((reflection.SERVICE_NAME,), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            check(health_pb2.HealthCheckRequest(), timeout=10)
            check(health_pb2.HealthCheckRequest(), timeout=10)
            with pytest.raises(grpc.RpcError) as missing:
                check(health_pb2.HealthCheckRequest(service="nope"), timeout=10)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            info = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            with pytest.raises(grpc.RpcError) as refused:
                list(info(iter([request]), timeout=10))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            token = [("authorization", "Bearer secret")]
            answers = list(info(iter([request]), timeout=10, metadata=token))
            assert answers and answers[0].list_services_response.service
    finally:
        server.stop(None).wait()
    got = _samples(generate_latest(metrics.registry).decode())

    def calls(service, method, code):
        labels = (("code", code), ("method", method), ("service", service))
        return got.get(("coprocessor_grpc_requests_total", labels), 0)

    assert calls("grpc.health.v1.Health", "Check", "OK") == 2
    assert calls("grpc.health.v1.Health", "Check", "NOT_FOUND") == 1
    refl = ("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo")
    assert calls(*refl, "UNAUTHENTICATED") == 1
    assert calls(*refl, "OK") == 1


def test_endpoint_serves_the_registry_on_a_free_port_until_stopped(queue):
    metrics = ServerMetrics(queue, IndexHealth(node_head=7, last_block=7))
    endpoint = MetricsEndpoint(metrics.registry, "127.0.0.1:0")
    url = f"http://127.0.0.1:{endpoint.port}/metrics"
    try:
        assert endpoint.port > 0 and endpoint.address == f"127.0.0.1:{endpoint.port}"
        with urllib.request.urlopen(url, timeout=10) as response:
            got = _samples(response.read().decode())
        assert got["coprocessor_index_last_block", ()] == 7
    finally:
        endpoint.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        MetricsEndpoint(metrics.registry, "127.0.0.1")
