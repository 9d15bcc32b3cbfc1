"""`coprocessor serve` end to end: a real server subprocess on 127.0.0.1 (free port) over the
devchain, the sync and async SDK clients in dev mode, results verified locally and equal to
the embedded Coprocessor's, status codes of bad requests, reflection and the schema.

The server indexes the devchain into its own DuckDB file (it is that file's one writer); the
embedded Coprocessor reads the `env` fixture's index of the same chain."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from coprocessor.errors import (
    CompileError,
    DeadlineExceededError,
    IndexIncompleteError,
    InvalidArgument,
    JobNotFoundError,
    RequestConflictError,
    VerificationError,
)
from coprocessor.sdk import Coprocessor
from coprocessor.sdk.client import AsyncClient, Client
from coprocessor.sdk.wire import pb, pb_grpc

from support.catalogue import CAT, params_for
from support.serve import ServeProcess

DEV_QUERIES = ("code_hash_at_block", "transfer_volume_into_account", "top_receivers")
BAD_SQL = "SELECT number\nFROM blocks WHERE block_number = 3 AND number LIKE 5"


@pytest.fixture(scope="module")
def server(devnode, tmp_path_factory):
    srv = ServeProcess(tmp_path_factory.mktemp("serve") / "index.duckdb", devnode.url)
    try:
        srv.wait_serving()
        yield srv
    finally:
        assert srv.terminate() == 0, srv.output()


@pytest.fixture(scope="module")
def client(server):
    with Client(server.target, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def embedded(env):
    node, store, _ = env
    with Coprocessor(store, rpc=node.url) as cp:
        yield cp


def _same_answer(remote, local) -> None:
    assert remote.rows == local.rows
    assert remote.journal == local.journal
    assert (remote.query_hash, remote.anchor_number, remote.anchor_hash) == (
        local.query_hash,
        local.anchor_number,
        local.anchor_hash,
    )
    assert remote.columns == local.columns and remote.column_types == local.column_types
    assert remote.image_id == local.image_id and remote.dev and remote.receipt.is_fake


@pytest.mark.parametrize("name", DEV_QUERIES)
def test_sync_client_equals_embedded(client, embedded, env, name):
    params = params_for(env, name)
    remote = client.prove(CAT[name], params=params, dev=True)
    local = embedded.prove(CAT[name], params=params, dev=True)
    _same_answer(remote, local)
    assert remote.rows, "the catalogue query answers something on the devchain"
    remote.verify(sql=CAT[name], params=params, allow_dev=True)
    with pytest.raises(VerificationError):  # a fake receipt never verifies without allow_dev
        remote.verify()


def test_async_client_equals_embedded(server, embedded, env):
    name = "erc20_balance_at_block"
    params = params_for(env, name)

    async def run():
        async with AsyncClient(server.target, timeout=60) as c:
            tables = await c.tables()
            text = await c.explain(CAT[name], params=params)
            res = await c.prove(CAT[name], params=params, dev=True)
            states = [
                j.state
                async for j in c.watch((await c.submit(CAT[name], params=params, dev=True)).job_id)
            ]
            return tables, text, res, states

    tables, text, remote, states = asyncio.run(run())
    _same_answer(remote, embedded.prove(CAT[name], params=params, dev=True))
    assert "queryHash" in text and "0x" + remote.query_hash.hex() in text
    assert ("value", "uint256") in tables["erc20_transfers"]
    assert states == ["queued", "proving", "done"]


def test_watch_streams_every_state_in_order(client, env):
    params = params_for(env, "base_fee_and_gas")
    job = client.submit(CAT["base_fee_and_gas"], params=params, dev=True)
    assert job.created and job.state in ("queued", "proving", "done")
    watched = list(client.watch(job.job_id))
    assert [j.state for j in watched] == ["queued", "proving", "done"]
    assert watched[-1].segments_done == watched[-1].segments_total >= 1
    assert client.get(job.job_id).state == "done"


def test_duplicate_submit_returns_the_same_job(client, env):
    params = params_for(env, "code_hash_at_block")
    first = client.submit(CAT["code_hash_at_block"], params=params, dev=True, request_id="dup-1")
    again = client.submit(CAT["code_hash_at_block"], params=params, dev=True, request_id="dup-1")
    assert first.created and not again.created and again.job_id == first.job_id
    other = {**params, "block": params["block"] - 1}
    with pytest.raises(RequestConflictError, match="dup-1"):
        client.submit(CAT["code_hash_at_block"], params=other, dev=True, request_id="dup-1")
    client.result(first.job_id, allow_dev=True)


def test_malformed_sql_is_invalid_argument_with_its_position(client, server):
    with pytest.raises(CompileError) as info:
        client.submit(BAD_SQL, dev=True)
    assert (info.value.line, info.value.column) != (0, 0) and info.value.token
    assert info.value.line == 2
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.QueryServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raw:
            stub.ExplainQuery(pb.ExplainQueryRequest(query=pb.Query(sql=BAD_SQL)), timeout=30)
    assert raw.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_oversize_request_is_refused(server):
    huge = "SELECT number FROM blocks WHERE block_number = 1 -- " + "x" * (5 * 1024 * 1024)
    with grpc.insecure_channel(
        server.target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        stub = pb_grpc.QueryServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raw:
            stub.ExplainQuery(pb.ExplainQueryRequest(query=pb.Query(sql=huge)), timeout=30)
    assert raw.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with Client(server.target) as c, pytest.raises(InvalidArgument):
        c.explain(huge)


def test_unknown_job_and_uncovered_blocks(client, env):
    with pytest.raises(JobNotFoundError):
        client.get("no-such-job")
    with pytest.raises(JobNotFoundError):
        client.receipt("no-such-job")
    params = params_for(env, "base_fee_and_gas")
    with pytest.raises(IndexIncompleteError, match="outside the indexed range"):
        client.submit(CAT["base_fee_and_gas"], params=params, at_block=10**6)
    job = client.submit(CAT["base_fee_and_gas"], params=params, dev=True)
    with pytest.raises(DeadlineExceededError):
        list(client.watch(job.job_id, timeout=0.001))


def test_index_status_and_reflection(client, server, env):
    status = client.index_status()
    assert status.last_block == env[1].checkpoint().last_block and status.serving
    assert set(status.jobs_by_state) == {"queued", "proving", "done", "failed", "cancelled"}
    with grpc.insecure_channel(server.target) as channel:  # as grpcurl would: no stubs
        reflected = ProtoReflectionDescriptorDatabase(channel)
        assert {"coprocessor.v1.QueryService", "grpc.health.v1.Health"} <= set(
            reflected.get_services()
        )
        pool = DescriptorPool(reflected)
        service = pool.FindServiceByName("coprocessor.v1.QueryService")
        method = service.methods_by_name["ListTables"]
        request = GetMessageClass(method.input_type)()
        answer = GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{service.full_name}/{method.name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=answer.FromString,
        )
        tables = {t.name for t in call(request, timeout=10).tables}
    assert {"blocks", "logs", "erc20_transfers"} <= tables


def test_the_anchor_is_chosen_by_the_request(client, embedded, env):
    """`anchor=` reaches the server's compiler: the default walks the 3 headers after the
    block read, EIP-2935 storage is taken when asked (and proven), an unknown kind is
    INVALID_ARGUMENT."""
    name = "erc20_balance_at_block"  # a block 3 before the last indexed one
    params = params_for(env, name)
    assert "walk: headers up to anchor block" in client.explain(CAT[name], params=params)
    eip = client.prove(CAT[name], params=params, dev=True, anchor="eip2935")
    _same_answer(eip, embedded.prove(CAT[name], params=params, dev=True, anchor="eip2935"))
    assert "EIP-2935" in client.explain(CAT[name], params=params, anchor="eip2935")
    with pytest.raises(InvalidArgument, match="anchor kind"):
        client.explain(CAT[name], params=params, anchor="nearby")
