"""`compile_template`: a request as it arrives on chain (template bytes + ABI-encoded values, no
SQL) compiles, over the indexed devchain, to the very witness and journal that compiling the SQL
gives, for every catalogue query; bad bytes are refused before anything is read.

Native runs only (no guest execution). Helpers come from support/catalogue.py.
"""

from __future__ import annotations

import pytest
import rlp
from eth_abi import encode as abi_encode

from coprocessor.compiler import compile_template
from coprocessor.compiler.template import decode_template
from coprocessor.errors import CompileError, IndexIncompleteError

from support.catalogue import CAT, params_for, run


@pytest.mark.parametrize("name", sorted(CAT))
def test_template_and_params_compile_to_the_sql_compilation(env, name):
    _, store, ix = env
    by_sql = run(env, name, params_for(env, name))
    by_template = compile_template(
        by_sql.plan_bytes, by_sql.params_bytes, store=store, fetch_state=ix.fetch_state
    )
    assert decode_template(by_sql.plan_bytes).encode() == by_sql.plan_bytes
    assert by_template.query_hash == by_sql.query_hash
    assert by_template.plan.encode() == by_sql.plan.encode()
    assert by_template.plan.bloom_keys == by_sql.plan.bloom_keys
    assert by_template.witness_bytes == by_sql.witness_bytes
    assert by_template.journal == by_sql.journal
    assert by_template.expected == by_sql.expected


def test_bad_templates_and_params_are_refused(env):
    _, store, _ = env
    name = "transfer_volume_into_account"
    q = run(env, name, params_for(env, name))
    with pytest.raises(CompileError):
        compile_template(b"\x01\x02", q.params_bytes, store=store)
    with pytest.raises(CompileError):  # non-canonical: a trailing byte
        compile_template(q.plan_bytes + b"\x00", q.params_bytes, store=store)
    with pytest.raises(CompileError):  # values of other types than the template declares
        compile_template(q.plan_bytes, abi_encode(["uint256"], [1]), store=store)
    items = rlp.decode(q.plan_bytes)
    items[0] = b"\x01"  # version 1
    with pytest.raises(CompileError):
        compile_template(rlp.encode(items), q.params_bytes, store=store)


def test_a_range_beyond_the_index_is_incomplete(env):
    _, store, _ = env
    name = "transfer_volume_into_account"
    params = params_for(env, name)
    q = run(env, name, params)
    last = store.checkpoint().last_block
    values = (params["token"], params["account"], params["from_block"], last + 5)
    beyond = abi_encode(["address", "address", "uint256", "uint256"], list(values))
    with pytest.raises(IndexIncompleteError):
        compile_template(q.plan_bytes, beyond, store=store)
