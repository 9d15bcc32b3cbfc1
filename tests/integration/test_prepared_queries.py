"""Prepared queries in the `query` guest (executor, devchain): one template, one queryHash, the
parameter values committed in the journal; values that are missing, extra, ill-typed or not the
journal's are refused; a value that changes the bloom keys still gives a complete scan.

Executor only (no proofs). Helpers come from support/catalogue.py, fixtures from conftest.py.
"""

from __future__ import annotations

import pytest
import rlp
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from coprocessor import zkvm
from coprocessor.compiler import native
from coprocessor.compiler import witness as W
from coprocessor.compiler.journal import decode_journal, decode_params, guest_input
from coprocessor.errors import CompileError, ExecutionError, ResultMismatchError
from coprocessor.sdk.embedded import check_journal

from support.catalogue import CAT, TRANSFER, logs, params_for, run

NAME = "transfer_volume_into_account"  # ProvenAirdrop's query


@pytest.fixture(scope="module")
def guest():
    return zkvm.Program.load("query")


@pytest.fixture(scope="module")
def chain_id(env):
    return env[0].client.chain_id()


@pytest.fixture(scope="module")
def volume(env):
    return run(env, NAME, params_for(env, NAME))


def _run(guest, q, chain_id, params: bytes, witness: bytes | None = None):
    data = [chain_id, q.plan_bytes, witness or q.witness_bytes, params]
    return zkvm.execute(guest, rlp.encode(data))


def test_the_airdrop_query_is_prepared(volume, guest, chain_id):
    assert volume.prepared.prepared and volume.param_types == [
        "address",
        "address",
        "uint256",
        "uint256",
    ]
    assert volume.query_hash == keccak(volume.plan_bytes) != keccak(volume.plan.encode())
    ex = zkvm.execute(guest, guest_input(volume, chain_id))
    assert ex.journal == volume.journal
    j = decode_journal(ex.journal, volume.plan.output_types)
    assert j.params == volume.params_bytes and j.query_hash == volume.query_hash
    assert decode_params(j.params, volume.param_types) == volume.prepared.param_values


def test_every_catalogue_query_is_prepared():
    """The catalogue declares the types the compiler infers, in the order of the SQL."""
    from coprocessor.compiler.lower import lower
    from coprocessor.compiler.prepared import prepare

    samples = {"address": "0x" + "11" * 20, "uint256": 7}
    for name, q in CAT.items():
        params = {k: samples[v["type"]] for k, v in q.params.items()}
        low = lower(q.sql, params=params, views=q.views)
        prep = prepare(low, q.sql, params=params, views=q.views, anchor=None)
        assert prep.prepared, name
        assert dict(zip(prep.param_names, prep.abi_types)) == {
            k: v["type"] for k, v in q.params.items()
        }


def test_same_template_other_values(env, volume, guest, chain_id):
    """Another account: the same queryHash, other params, other rows (each the guest's)."""
    node = env[0]
    h = node.history
    token = h.tokens["DUSD"]
    receivers = {
        t[2][12:] for _, t, _ in logs(node.client, token, TRANSFER, h.first_block, h.last_block)
    }
    other = next(a for a in sorted(receivers) if a != volume.prepared.param_values[1])
    q2 = run(env, NAME, {**params_for(env, NAME), "account": other})
    assert q2.query_hash == volume.query_hash and q2.plan_bytes == volume.plan_bytes
    assert q2.params_bytes != volume.params_bytes and q2.expected != volume.expected
    assert zkvm.execute(guest, guest_input(q2, chain_id)).journal == q2.journal
    # the other account's params over the first witness: a journal for the other question
    ex = _run(guest, volume, chain_id, q2.params_bytes)
    assert decode_journal(ex.journal, volume.plan.output_types).rows == q2.expected
    with pytest.raises(ResultMismatchError):  # not the journal of the compiled question
        check_journal(volume, chain_id, ex.journal)


def test_missing_extra_and_ill_typed_params_fail(volume, guest, chain_id):
    good = volume.params_bytes
    a, acct, first, last = volume.prepared.param_values
    cases = {
        "missing": good[:-32],
        "extra": good + bytes(32),
        "none": b"",
        "dirty address": b"\x01" + good[1:],
        "block bound above 64 bits": abi_encode(
            ["address", "address", "uint256", "uint256"], [a, acct, 2**64, last]
        ),
        "first after last": abi_encode(
            ["address", "address", "uint256", "uint256"], [a, acct, last, first]
        ),
    }
    for params in cases.values():
        with pytest.raises(ExecutionError, match="invalid input"):
            _run(guest, volume, chain_id, params)
        with pytest.raises(CompileError, match="rejects"):  # the native build agrees
            native.check_plan(volume.plan_bytes, params)
    native.check_plan(volume.plan_bytes, good)


def test_other_token_changes_the_bloom_keys_and_scans_completely(env, volume, guest, chain_id):
    """Values decide the bloom keys (the guest derives them from the bound filter): a witness
    that skips blocks by the first token's bloom does not prove the second token's absence,
    and the second token's own witness gives DuckDB's answer (compile cross-checks it)."""
    h = env[0].history
    params = {**params_for(env, NAME), "token": h.tokens["DETH"]}
    q2 = run(env, NAME, params)
    assert q2.query_hash == volume.query_hash
    skipped1 = {b.number for b in volume.witness.blocks if b.mode == W.MODE_BLOOM_SKIP}
    skipped2 = {b.number for b in q2.witness.blocks if b.mode == W.MODE_BLOOM_SKIP}
    assert skipped1 != skipped2
    assert zkvm.execute(guest, guest_input(q2, chain_id)).journal == q2.journal
    # a witness that skips a block the other token's bloom does not rule out: refused
    mixed = 0
    for w, p, skipped_w, skipped_p in (
        (volume, q2, skipped1, skipped2),
        (q2, volume, skipped2, skipped1),
    ):
        if skipped_w - skipped_p:
            mixed += 1
            with pytest.raises(ExecutionError, match="bloom does not prove absence"):
                _run(guest, volume, chain_id, p.params_bytes, w.witness_bytes)
    assert mixed
