"""Health of `coprocessor serve` follows the index's lag: with the indexer idle between polls
of the node (a long --index-poll), mining past --max-lag turns the server NOT_SERVING, and the
indexer catching up turns it SERVING again."""

from __future__ import annotations

import time

from grpc_health.v1 import health_pb2

from coprocessor.sdk.client import Client

from support.serve import ServeProcess

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _wait_health(srv: ServeProcess, status: int, seconds: float = 30) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if srv.health() == status and srv.health("coprocessor.v1.QueryService") == status:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"health never became {status}:\n{srv.output()}")


def test_health_not_serving_while_the_index_lags(fresh_devnode, tmp_path):
    srv = ServeProcess(
        tmp_path / "index.duckdb", fresh_devnode.url, workers=0, max_lag=2, index_poll=6, poll=0.1
    )
    try:
        srv.wait_serving()
        head = fresh_devnode.client.block_number()
        with Client(srv.target) as client:  # caught up: the indexer now idles for 6 s
            while client.index_status().last_block < head:
                time.sleep(0.05)
        for _ in range(4):
            fresh_devnode.client.call("evm_mine")
        _wait_health(srv, NOT_SERVING, seconds=3)
        _wait_health(srv, SERVING, seconds=15)  # the indexer's next poll catches up
    finally:
        assert srv.terminate() == 0, srv.output()
