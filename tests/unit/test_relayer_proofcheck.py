"""The relayer's own check of a proof before sending (coprocessor/relayer/journal.py and
proofcheck.py): the version-3 journal decoded as the shared vectors say, compared with the
request; a history-anchored journal only toward a BlockHistory that knows its root; mock seals
only toward the mock verifier, recomputed for the pinned image ID."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from eth_abi import encode

from coprocessor.contracts import mock_seal
from coprocessor.errors import MockSealRefusedError, ProofCheckError
from coprocessor.relayer.journal import JOURNAL_TYPES, JOURNAL_VERSION, decode_canonical_journal
from coprocessor.relayer.proofcheck import check_proof
from coprocessor.relayer.request import QueryRequest

VECTORS = Path(__file__).resolve().parents[2] / "contracts" / "test" / "vectors" / "journals.json"


def vectors() -> list[dict]:
    return json.loads(VECTORS.read_text())["vectors"]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_decodes_the_shared_vectors(vector):
    journal = decode_canonical_journal(unhex(vector["journal"]))
    assert journal.version == vector["version"] == JOURNAL_VERSION == 3
    assert journal.chain_id == int(vector["chainId"])
    assert journal.query_hash == unhex(vector["queryHash"])
    assert journal.anchor_number == int(vector["anchorNumber"])
    assert journal.anchor_hash == unhex(vector["anchorHash"])
    assert journal.history_root == unhex(vector["historyRoot"])
    assert journal.anchored_on_history == (int(vector["historyRoot"], 16) != 0)
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


def no_root_known(root: bytes) -> bool:
    raise AssertionError("a block-anchored journal needs no BlockHistory")


def check(
    request=None,
    journal=JOURNAL,
    seal=None,
    *,
    verifier_is_mock=True,
    head=HEAD,
    is_known_root=no_root_known,
):
    seal = mock_seal(IMAGE_ID, journal) if seal is None else seal
    return check_proof(
        request or request_for(VECTOR),
        journal,
        seal,
        image_id=IMAGE_ID,
        verifier_is_mock=verifier_is_mock,
        head_number=head,
        is_known_root=is_known_root,
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


def test_a_block_anchored_journal_is_checked_without_any_blockhistory():
    assert not check(is_known_root=None).anchored_on_history


HISTORY_VECTOR = _vector("history-anchored")
HISTORY_JOURNAL = unhex(HISTORY_VECTOR["journal"])
HISTORY_ROOT = unhex(HISTORY_VECTOR["historyRoot"])


def check_history_anchored(is_known_root):
    return check(
        request_for(HISTORY_VECTOR),
        HISTORY_JOURNAL,
        head=int(HISTORY_VECTOR["anchorNumber"]) + 5,
        is_known_root=is_known_root,
    )


def test_a_history_anchored_journal_passes_when_blockhistory_knows_its_root():
    asked: list[bytes] = []

    def known(root: bytes) -> bool:
        asked.append(root)
        return root == HISTORY_ROOT

    decoded = check_history_anchored(known)
    assert decoded.anchored_on_history and decoded.history_root == HISTORY_ROOT
    assert asked == [HISTORY_ROOT]


def test_a_history_anchored_journal_is_refused_for_an_unknown_root_or_no_blockhistory():
    with pytest.raises(ProofCheckError, match="does not know the journal's root"):
        check_history_anchored(lambda root: False)
    with pytest.raises(ProofCheckError, match="has no BlockHistory"):
        check_history_anchored(None)


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


def test_older_versions_and_non_canonical_journals_are_refused():
    journal = decode_canonical_journal(JOURNAL)
    fields = [*journal.header(), journal.result]
    version_one = encode(list(JOURNAL_TYPES), [1, *fields[1:]])
    with pytest.raises(ProofCheckError, match="version 1"):
        decode_canonical_journal(version_one)
    # version 2: the same fields without historyRoot
    v2_types = [t for i, t in enumerate(JOURNAL_TYPES) if i != 5]
    version_two = encode(v2_types, [2, *fields[1:5], *fields[6:]])
    with pytest.raises(ProofCheckError, match="not a version-3 journal"):
        decode_canonical_journal(version_two)
    with pytest.raises(ProofCheckError, match="canonical"):
        decode_canonical_journal(JOURNAL + b"\x00" * 32)
    with pytest.raises(ProofCheckError, match="not ABI-encoded"):
        decode_canonical_journal(JOURNAL[:100])
