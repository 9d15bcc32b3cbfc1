"""coprocessor.chain against a real anvil, directly and through a fault-injecting proxy."""

import socket

import pytest

from coprocessor.chain import RetryPolicy, RpcClient
from coprocessor.devchain import Anvil
from coprocessor.errors import (
    ChainError,
    InvalidArgument,
    RangeTooLargeError,
    RpcError,
    RpcUnavailableError,
)

from support.faultproxy import FaultProxy, Faults

FAST = RetryPolicy(max_retries=8, backoff=0.01, max_backoff=0.05)


@pytest.fixture(scope="module")
def anvil():
    with Anvil() as node:
        with node.client() as c:
            c.call("anvil_mine", ["0x5"])
        yield node


def test_call_and_batch(anvil):
    with RpcClient(anvil.url) as c:
        assert c.chain_id() == 31337
        assert c.block_number() >= 5
        blocks = c.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(5)])
        assert [int(b["number"], 16) for b in blocks] == list(range(5))
        assert c.batch([]) == []


def test_item_error_is_rpc_error(anvil):
    with RpcClient(anvil.url) as c:
        with pytest.raises(RpcError) as e:
            c.batch([("eth_blockNumber", []), ("no_such_method", [])])
        assert e.value.method == "no_such_method" and isinstance(e.value, ChainError)


def test_refused_connection_gives_up_with_clear_message():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with RpcClient(f"http://127.0.0.1:{port}", retry=RetryPolicy(max_retries=2, backoff=0.01)) as c:
        with pytest.raises(
            RpcUnavailableError, match=r"eth_chainId failed after 3 attempts.*connection"
        ):
            c.chain_id()


def test_bad_url():
    with pytest.raises(InvalidArgument):
        RpcClient("ws://x")


@pytest.mark.parametrize(
    "faults",
    [
        Faults(p429=0.4, seed=1),
        Faults(p500=0.4, seed=2),
        Faults(pdrop=0.3, seed=3),
        Faults(pstall=0.2, stall_seconds=1.0, seed=4),
    ],
    ids=["429", "5xx", "drop", "timeout"],
)
def test_transient_faults_are_retried(anvil, faults):
    with FaultProxy(anvil.url, faults) as proxy, RpcClient(proxy.url, timeout=0.5, retry=FAST) as c:
        for _ in range(8):
            got = c.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(4)])
            assert [int(b["number"], 16) for b in got] == list(range(4))
        assert c.retries > 0
        assert sum(v for k, v in faults.counts.items() if k != "ok") > 0


def test_permanent_fault_gives_up(anvil):
    with FaultProxy(anvil.url, Faults(p429=1.0)) as proxy:
        with RpcClient(proxy.url, retry=RetryPolicy(max_retries=3, backoff=0.01)) as c:
            with pytest.raises(RpcUnavailableError, match="HTTP 429"):
                c.block_number()


def test_too_large_batch_error_is_typed(anvil):
    def refuse(method, params, result):
        return result

    # a node that refuses big batches as a whole (as some providers do)
    with FaultProxy(anvil.url, Faults(corrupt=refuse)) as proxy:
        import json

        orig = proxy._corrupt

        def whole_batch_error(request, content):
            req = json.loads(request)
            if isinstance(req, list) and len(req) > 3:
                return json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32600, "message": "batch size too large"},
                    }
                ).encode()
            return orig(request, content)

        proxy._corrupt = whole_batch_error
        with RpcClient(proxy.url, retry=FAST) as c:
            assert len(c.batch([("eth_blockNumber", [])] * 3)) == 3
            with pytest.raises(RangeTooLargeError):
                c.batch([("eth_blockNumber", [])] * 4)
