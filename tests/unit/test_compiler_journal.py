"""coprocessor.compiler.journal on the shared journal vectors (contracts/test/vectors/journals.json,
also read by the forge tests and by query-core's Rust tests): the same bytes decode to the same
fields, parameter values and rows in Python, Rust and Solidity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode

from coprocessor.compiler.journal import (
    JOURNAL_VERSION,
    NO_HISTORY_ROOT,
    decode_journal,
    decode_params,
)
from coprocessor.compiler.prepared import encode_params
from coprocessor.compiler.schema import TYPE_NAMES
from coprocessor.errors import ReceiptFormatError

VECTORS = Path(__file__).resolve().parents[2] / "contracts" / "test" / "vectors" / "journals.json"
CODES = {name: code for code, name in TYPE_NAMES.items()}


def _vectors() -> list[dict]:
    return json.loads(VECTORS.read_text())["vectors"]


def _hex(s: str) -> bytes:
    return bytes.fromhex(s[2:])


def _value(v, abi_type: str):
    if abi_type == "uint256":
        return int(v)
    if isinstance(v, str):
        return _hex(v)
    return v


@pytest.mark.parametrize("v", _vectors(), ids=lambda v: v["name"])
def test_shared_vector_decodes(v):
    j = decode_journal(_hex(v["journal"]), v["outputTypes"])
    assert j.version == v["version"] == JOURNAL_VERSION
    assert (j.chain_id, j.anchor_number, j.first_block, j.last_block) == tuple(
        int(v[k]) for k in ("chainId", "anchorNumber", "firstBlock", "lastBlock")
    )
    assert (j.query_hash, j.anchor_hash) == (_hex(v["queryHash"]), _hex(v["anchorHash"]))
    assert j.history_root == _hex(v["historyRoot"])
    assert j.anchored_on_history == (j.history_root != NO_HISTORY_ROOT)
    assert (j.params, j.result) == (_hex(v["params"]), _hex(v["result"]))
    types = v["paramTypes"]
    values = tuple(_value(x, t) for x, t in zip(v["paramValues"], types))
    assert decode_params(j.params, types) == values
    assert encode_params([CODES[t] for t in types], values) == j.params  # b"" without params
    out_types = [TYPE_NAMES[t] for t in v["outputTypes"]]
    want_rows = [
        tuple(
            None if int(r[0]) >> i & 1 else _value(x, t)
            for i, (x, t) in enumerate(zip(r[1:], out_types))
        )
        for r in v["rows"]
    ]
    assert j.rows == want_rows


def test_vectors_hold_both_anchor_kinds():
    kinds = {decode_journal(_hex(v["journal"])).anchored_on_history for v in _vectors()}
    assert kinds == {False, True}


def test_no_params_is_empty_bytes():
    (v,) = [v for v in _vectors() if not v["paramTypes"]]
    assert v["params"] == "0x" and abi_encode([], []) == b""


def test_version_1_and_params_without_types_are_refused():
    v = _vectors()[1]
    data = bytearray(_hex(v["journal"]))
    data[31] = 1
    with pytest.raises(ReceiptFormatError, match="version 1"):
        decode_journal(bytes(data))
    with pytest.raises(ReceiptFormatError):
        decode_params(_hex(v["params"]), [])
