"""Prepared queries in the compiler (coprocessor/compiler/prepared.py): parameters stay
parameters of the plan template (one queryHash whatever the values), the values are ABI-encoded
in declaration order, and a parameter the compiler would have to transform is inlined."""

from __future__ import annotations

import pytest
import rlp
from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from coprocessor.compiler import compile
from coprocessor.compiler import plan as P
from coprocessor.compiler.prepared import bind
from coprocessor.errors import CompileError

TOKEN, ACCOUNT = "0x" + "11" * 20, "0x" + "a1" * 20
VOLUME = (
    "SELECT SUM(value) AS volume, COUNT(*) AS transfers FROM erc20_transfers "
    'WHERE token = :token AND "to" = :account AND block_number BETWEEN :from_block AND :to_block'
)


def _volume(**overrides):
    params = {"token": TOKEN, "account": ACCOUNT, "from_block": 1, "to_block": 40, **overrides}
    return compile(VOLUME, params=params)


def test_one_template_for_all_values():
    a, b = _volume(), _volume(account="0x" + "b0" * 20, to_block=50)
    assert a.query_hash == b.query_hash == keccak(a.plan_bytes) and a.plan_bytes == b.plan_bytes
    assert a.params_bytes != b.params_bytes and a.plan.encode() != b.plan.encode()
    assert a.param_types == ["address", "address", "uint256", "uint256"]
    token, account, first, last = abi_decode(a.param_types, a.params_bytes)
    assert (token, account, first, last) == (TOKEN, ACCOUNT, 1, 40)
    items = rlp.decode(a.plan_bytes)
    assert items[0] == b"\x02" and items[1] == [bytes([2]), bytes([2]), bytes([1]), bytes([1])]
    assert items[3] == [bytes([P.PARAM]), bytes([2])] and items[4] == [bytes([P.PARAM]), bytes([3])]
    assert bind(a.prepared.template, a.prepared.param_values).encode() == a.plan.encode()


def test_declaration_order_is_the_order_of_first_appearance():
    q = compile(
        "SELECT value FROM erc20_transfers WHERE block_number BETWEEN :b AND :b "
        'AND "to" = :a AND token = :a',
        params={"a": TOKEN, "b": 3},
    )
    assert q.prepared.param_names == ("b", "a") and q.param_types == ["uint256", "address"]


def test_mapping_slot_of_parameters_is_folded_by_the_guest():
    q = compile(
        "SELECT value FROM storage WHERE address = :t AND slot = mapping_slot(:s, :o) "
        "AND block_number = :n",
        params={"t": TOKEN, "s": 0, "o": ACCOUNT, "n": 5},
    )
    assert q.prepared.prepared and q.param_types == ["address", "uint256", "address", "uint256"]
    assert bytes([P.MAPPING_SLOT]) in q.plan_bytes  # [7, [...]] stays in the template
    assert q.plan.source[2] != () and q.plan.first_block == 5


@pytest.mark.parametrize(
    "sql, params",
    [
        (
            "SELECT value FROM storage WHERE address = :t AND slot = :n AND block_number = 5",
            {"t": TOKEN, "n": 2},
        ),  # an integer slot: coerced to bytes32
        ("SELECT value FROM erc20_transfers WHERE value > :a + 1 AND block_number = 5", {"a": 1}),
        (
            "SELECT value FROM erc20_transfers WHERE token IN (:t) AND block_number = 5",
            {"t": TOKEN},
        ),
        ("SELECT value FROM erc20_transfers WHERE block_number = 5 ORDER BY 1 LIMIT :n", {"n": 2}),
    ],
)
def test_transformed_parameters_are_inlined(sql, params):
    q = compile(sql, params=params)
    assert not q.prepared.prepared and q.prepared.inlined
    assert q.params_bytes == b"" and q.param_types == [] and q.plan_bytes == q.plan.encode()
    assert "values inlined" in q.explain()


def test_no_parameters_no_params():
    q = compile("SELECT COUNT(*) FROM blocks WHERE block_number = 7")
    assert q.params_bytes == b"" and q.plan_bytes == q.plan.encode() and not q.prepared.inlined


def test_bad_values_are_compile_errors():
    with pytest.raises(CompileError, match="has no value"):
        compile(VOLUME, params={"token": TOKEN, "account": ACCOUNT, "from_block": 1})
    with pytest.raises(CompileError, match="64-bit"):
        _volume(to_block=2**64)
    with pytest.raises(CompileError, match="empty block range"):
        _volume(from_block=41)


def test_catalogue_values_are_read_by_their_declared_types():
    from coprocessor.compiler import catalogue

    q = catalogue()["base_fee_and_gas"]
    typed = q.typed_params({"from_block": "0x10", "to_block": "40"})
    assert typed == {"from_block": 16, "to_block": "40"}
    a = compile(q.sql, params=typed)
    b = compile(q.sql, params={"from_block": 16, "to_block": 40})
    assert (a.query_hash, a.params_bytes) == (b.query_hash, b.params_bytes)
