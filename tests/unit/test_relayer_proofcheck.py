"""The relayer's own check of a proof before sending (coprocessor/relayer/journal.py and
proofcheck.py): the version-2 journal decoded as the shared vectors say, compared with the
request; mock seals only toward the mock verifier, recomputed for the pinned image ID."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from eth_abi import encode

from coprocessor.contracts import mock_seal
from coprocessor.errors import MockSealRefusedError, ProofCheckError
from coprocessor.relayer.journal import JOURNAL_TYPES, decode_journal_v2
from coprocessor.relayer.proofcheck import check_proof
from coprocessor.relayer.request import QueryRequest

VECTORS = Path(__file__).resolve().parents[2] / "contracts" / "test" / "vectors" / "journals.json"


def vectors() -> list[dict]:
    return json.loads(VECTORS.read_text())["vectors"]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_decodes_the_shared_vectors(vector):
    journal = decode_journal_v2(unhex(vector["journal"]))
    assert journal.version == vector["version"] == 2
    assert journal.chain_id == int(vector["chainId"])
    assert journal.query_hash == unhex(vector["queryHash"])
    assert journal.anchor_number == int(vector["anchorNumber"])
    assert journal.anchor_hash == unhex(vector["anchorHash"])
    assert (journal.first_block, journal.last_block) == (
        int(vector["firstBlock"]),
        int(vector["lastBlock"]),
    )
    assert journal.params == unhex(vector["params"])
    assert journal.result == unhex(vector["result"])


def _vector(name: str) -> dict:
    return next(v for v in vectors() if v["name"] == name)


def request_for(vector: dict) -> QueryRequest:
    return QueryRequest(
        chain_id=int(vector["chainId"]),
        contract="0x" + "cc" * 20,
        query_id=b"\x01" * 32,
        sender="0x" + "aa" * 20,
        query_hash=unhex(vector["queryHash"]),
        nonce=0,
        params=unhex(vector["params"]),
        plan=unhex(vector["plan"]),
        callback="0x" + "bb" * 20,
        callback_gas_limit=100_000,
        max_fee_per_gas=10**10,
        refundee="0x" + "aa" * 20,
        deadline=1_000,
        escrow=10**16,
        extra_data=b"",
        block_number=int(vector["anchorNumber"]) - 1,
        block_hash=b"\x02" * 32,
        tx_hash=b"\x03" * 32,
        log_index=0,
    )


VECTOR = _vector("transfer-volume")
JOURNAL = unhex(VECTOR["journal"])
IMAGE_ID = unhex(VECTOR["imageId"])
HEAD = int(VECTOR["anchorNumber"]) + 5


def check(request=None, journal=JOURNAL, seal=None, *, verifier_is_mock=True, head=HEAD):
    seal = mock_seal(IMAGE_ID, journal) if seal is None else seal
    return check_proof(
        request or request_for(VECTOR),
        journal,
        seal,
        image_id=IMAGE_ID,
        verifier_is_mock=verifier_is_mock,
        head_number=head,
    )


def test_a_matching_journal_and_mock_seal_pass():
    assert check().query_hash == unhex(VECTOR["queryHash"])
    # the mock seal is 0xFFFFFFFF and the vector's claim digest, as the verifier recomputes it
    assert mock_seal(IMAGE_ID, JOURNAL) == b"\xff" * 4 + unhex(VECTOR["claimDigest"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chain_id": 1}, "chain id"),
        ({"query_hash": b"\x09" * 32}, "queryHash"),
        ({"params": b"\x00" * 32}, "params"),
    ],
)
def test_a_journal_for_another_request_is_refused(change, message):
    with pytest.raises(ProofCheckError, match=message):
        check(replace(request_for(VECTOR), **change))


def test_an_anchor_past_the_head_is_refused():
    with pytest.raises(ProofCheckError, match="anchor"):
        check(head=int(VECTOR["anchorNumber"]) - 1)


def test_a_mock_seal_toward_a_verifier_that_is_not_the_mock_is_refused():
    with pytest.raises(MockSealRefusedError):
        check(verifier_is_mock=False)


def test_a_mock_seal_for_another_journal_or_image_is_refused():
    other = unhex(_vector("no-params-one-row")["journal"])
    with pytest.raises(ProofCheckError, match="claim digest"):
        check(seal=mock_seal(IMAGE_ID, other))
    with pytest.raises(ProofCheckError, match="claim digest"):
        check(seal=mock_seal(b"\x07" * 32, JOURNAL))


def test_a_real_seal_toward_the_mock_verifier_is_refused_and_an_empty_seal_anywhere():
    with pytest.raises(ProofCheckError, match="only mock seals"):
        check(seal=b"\x50\xbd\x17\x69" + b"\x00" * 256)
    check(seal=b"\x50\xbd\x17\x69" + b"\x00" * 256, verifier_is_mock=False)  # left to eth_call
    with pytest.raises(ProofCheckError, match="empty"):
        check(seal=b"", verifier_is_mock=False)


def test_version_one_and_non_canonical_journals_are_refused():
    fields = list(decode_journal_v2(JOURNAL).__dict__.values())[:9]  # without the rows
    version_one = encode(list(JOURNAL_TYPES), [1, *fields[1:]])
    with pytest.raises(ProofCheckError, match="version 1"):
        decode_journal_v2(version_one)
    with pytest.raises(ProofCheckError, match="canonical"):
        decode_journal_v2(JOURNAL + b"\x00" * 32)
    with pytest.raises(ProofCheckError, match="not ABI-encoded"):
        decode_journal_v2(JOURNAL[:100])
