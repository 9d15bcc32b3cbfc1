"""The Prometheus endpoint of `coprocessor serve --metrics-listen 127.0.0.1:0`: a real server
subprocess over the devchain, a dev-mode catalogue query through the SDK Client, then a real
HTTP GET of /metrics; the endpoint goes away with the server."""

from __future__ import annotations

import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coprocessor.sdk.client import Client

from support.catalogue import CAT, params_for
from support.serve import ServeProcess

QUERY = "base_fee_and_gas"


def _metrics_address(srv: ServeProcess) -> str:
    """The metrics address the server logged at startup (its port was chosen by the OS)."""
    for line in srv.output().splitlines():
        if line.startswith("{") and '"serving"' in line:
            return json.loads(line)["metrics"]
    raise AssertionError(f"no startup line:\n{srv.output()}")


def _scrape(address: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_a_dev_query(devnode, tmp_path):
    params = params_for((devnode,), QUERY)
    srv = ServeProcess(tmp_path / "index.duckdb", devnode.url, metrics_listen="127.0.0.1:0")
    try:
        srv.wait_serving()
        address = _metrics_address(srv)
        assert address.startswith("127.0.0.1:") and not address.endswith(":0")
        with Client(srv.target, timeout=60) as client:
            result = client.prove(CAT[QUERY], params=params, dev=True)
            status = client.index_status()
        assert result.rows
        got = _scrape(address)
    finally:
        assert srv.terminate() == 0, srv.output()

    assert got["coprocessor_jobs", (("state", "done"),)] == 1
    assert got["coprocessor_jobs", (("state", "queued"),)] == 0
    assert got["coprocessor_proving_seconds_count", ()] == 1
    assert got["coprocessor_proving_seconds_sum", ()] == pytest.approx(status.proving_seconds_total)
    assert got["coprocessor_index_lag_blocks", ()] >= 0
    assert got["coprocessor_node_head_block", ()] == status.node_head > 0
    assert got["coprocessor_index_last_block", ()] > 0
    submit = (("code", "OK"), ("method", "SubmitQuery"), ("service", "coprocessor.v1.QueryService"))
    assert got["coprocessor_grpc_requests_total", submit] == 1
    with pytest.raises(OSError):  # stopped with the server
        urllib.request.urlopen(f"http://{address}/metrics", timeout=5)
