"""coprocessor.indexer: encodings and per-block validation on real mainnet data (no node)."""

import json
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from coprocessor.errors import InvalidBlockError
from coprocessor.indexer import encode
from coprocessor.indexer.proofs import verify_proof
from coprocessor.types import hex_bytes

from support import mainnet

REPO = Path(__file__).resolve().parents[2]
BLOCKS = mainnet.files("blocks")
HEADERS = [p for p in mainnet.files("headers") if "hash" in mainnet.load(p)]


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_mainnet_transactions_reencode_to_their_hash(path):
    block = mainnet.load(path)
    for tx in block["transactions"]:
        assert keccak(encode.raw_transaction(tx)) == hex_bytes(tx["hash"]), tx["type"]


@pytest.mark.parametrize("path", mainnet.params(HEADERS + BLOCKS))
def test_mainnet_headers_reencode_to_their_hash(path):
    block = mainnet.load(path)
    assert keccak(encode.header_rlp(block)) == hex_bytes(block["hash"])


def test_header_with_a_gap_in_fork_fields_is_refused():
    mainnet.require()
    block = dict(mainnet.load(BLOCKS[0]))
    block["baseFeePerGas"], block["withdrawalsRoot"] = None, "0x" + "00" * 32
    with pytest.raises(Exception, match="withdrawalsRoot"):
        encode.header_rlp(block)


PROOFS = mainnet.files("proofs")


@pytest.mark.parametrize("path", mainnet.params(PROOFS))
def test_mainnet_proofs_verify_through_the_ingest_check(path):
    d = mainnet.load(path)
    n = int(d["blockNumber"], 16) if isinstance(d["blockNumber"], str) else d["blockNumber"]
    from coprocessor.types import parse_slot

    slots = tuple(parse_slot(k) for k in d["request"]["storageKeys"])
    acct, storage = verify_proof(n, hex_bytes(d["stateRoot"]), d["result"], slots)
    assert acct[4] == int(d["result"]["balance"], 16)
    claimed = {parse_slot(sp["key"]): int(sp["value"], 16) for sp in d["result"]["storageProof"]}
    assert {slot: v for _, _, slot, v, _ in storage} == claimed
    bad = json.loads(json.dumps(d["result"]))
    bad["balance"] = hex(int(bad["balance"], 16) + 1)
    with pytest.raises(InvalidBlockError, match="account_proof"):
        verify_proof(n, hex_bytes(d["stateRoot"]), bad, slots)


RLP_VECTORS = REPO / "tests" / "fixtures" / "ethereum-tests" / "RLPTests" / "rlptest.json"


def _rlp_input(x):
    """An rlptest.json input as Python: "#n" is the integer n, other text its bytes."""
    if isinstance(x, list):
        return [_rlp_input(v) for v in x]
    if isinstance(x, str):
        return int(x[1:]) if x.startswith("#") else x.encode("latin-1")
    return x


def test_rlp_encoding_matches_the_ethereum_test_vectors():
    cases = json.loads(RLP_VECTORS.read_text())
    assert len(cases) >= 28
    for name, case in cases.items():
        assert encode.rlp_encode(_rlp_input(case["in"])).hex() == case["out"][2:], name


def test_rlp_refuses_what_it_cannot_encode():
    from coprocessor.errors import InvalidArgument

    for item in (-1, None, 1.5, [b"ok", [-7]]):
        with pytest.raises(InvalidArgument):
            encode.rlp_encode(item)
