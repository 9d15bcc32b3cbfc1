"""The block-hash accumulator's pure parts: the MMR (ethcore::mmr through coprocessor.ethcore)
against an independent computation from its definition (support/mmr_reference.py), its proofs
(every one verifies, any flipped bit fails), the history journal's codec in Python and Rust,
and the batch planning. The mainnet conformance test is in test_history_mainnet.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rlp
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from coprocessor import ethcore
from coprocessor.errors import EthDataError, InvalidArgument, ReceiptFormatError
from coprocessor.history import (
    MODE_BACKWARD,
    MODE_FORWARD,
    MODE_NEW,
    Batch,
    HistoryJournal,
    decode_history_journal,
    plan_batches,
)
from coprocessor.history.journal import HISTORY_JOURNAL_VERSION, JOURNAL_TYPES
from coprocessor.history.proofs import tree_of

from support import mmr_reference as ref


def leaf(i: int) -> bytes:
    return keccak(b"leaf" + i.to_bytes(8, "big"))


def test_empty_mmr_root_is_the_hash_of_a_zero_word():
    empty = ethcore.MmrPeaks(0, ())
    assert ethcore.mmr_root(empty) == keccak(bytes(32)) == ref.root(0, [])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100])
def test_append_and_root_match_the_definition(n):
    leaves = [leaf(i) for i in range(n)]
    mmr = ethcore.mmr_append(ethcore.MmrPeaks(0, ()), leaves)
    assert mmr == ethcore.MmrPeaks(n, tuple(ref.peaks(leaves)))
    assert ethcore.mmr_root(mmr) == ref.root(n, ref.peaks(leaves))
    # appending in pieces gives the same MMR
    half = ethcore.mmr_append(ethcore.MmrPeaks(0, ()), leaves[: n // 2])
    assert ethcore.mmr_append(half, leaves[n // 2 :]) == mmr


def test_proofs_match_the_definition():
    leaves = [leaf(i) for i in range(21)]
    for index in range(21):
        proof = ethcore.mmr_proof(leaves, index)
        assert list(proof.siblings) == ref.proof(leaves, index)
        assert list(proof.peaks) == ref.peaks(leaves)


def test_malformed_mmr_arguments_are_refused():
    with pytest.raises(EthDataError):  # 3 leaves have 2 peaks
        ethcore.mmr_root(ethcore.MmrPeaks(3, (leaf(0),)))
    with pytest.raises(InvalidArgument):
        ethcore.mmr_append(ethcore.MmrPeaks(0, ()), [b"short"])
    with pytest.raises(EthDataError):
        ethcore.mmr_proof([leaf(0)], 1)


def flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 150), data=st.data())
def test_every_proof_verifies_and_any_tampering_fails(n, data):
    leaves = [leaf(i) for i in range(n)]
    mmr = ethcore.mmr_append(ethcore.MmrPeaks(0, ()), leaves)
    root = ethcore.mmr_root(mmr)
    for index in range(n):
        proof = ethcore.mmr_proof(leaves, index)
        ethcore.mmr_verify(root, n, index, leaves[index], proof)
    index = data.draw(st.integers(0, n - 1))
    proof = ethcore.mmr_proof(leaves, index)
    bit = data.draw(st.integers(0, 255))
    bad = []
    if proof.siblings:
        k = data.draw(st.integers(0, len(proof.siblings) - 1))
        siblings = list(proof.siblings)
        siblings[k] = flip(siblings[k], bit)
        bad.append((root, n, index, leaves[index], ethcore.MmrProof(tuple(siblings), proof.peaks)))
        bad.append(
            (root, n, index, leaves[index], ethcore.MmrProof(proof.siblings[:-1], proof.peaks))
        )
    k = data.draw(st.integers(0, len(proof.peaks) - 1))
    peaks = list(proof.peaks)
    peaks[k] = flip(peaks[k], bit)
    bad.append((root, n, index, leaves[index], ethcore.MmrProof(proof.siblings, tuple(peaks))))
    bad.append((root, n, index, flip(leaves[index], bit), proof))
    bad.append((flip(root, bit), n, index, leaves[index], proof))
    other = data.draw(st.integers(0, n - 1))
    if other != index:
        bad.append((root, n, other, leaves[index], proof))
    bad.append((root, n, n, leaves[index], proof))
    for args in bad:
        with pytest.raises(EthDataError):
            ethcore.mmr_verify(*args)


def test_tree_of_finds_the_tree_of_a_leaf():
    assert [tree_of(11, i) for i in (0, 7, 8, 9, 10)] == [(0, 3), (0, 3), (8, 1), (8, 1), (10, 0)]
    with pytest.raises(InvalidArgument):
        tree_of(11, 11)


# ---------------------------------------------------------------- the journal


def sample_journal(**changes) -> HistoryJournal:
    forward = ethcore.mmr_append(ethcore.MmrPeaks(0, ()), [leaf(i) for i in range(11)])
    backward = ethcore.mmr_append(ethcore.MmrPeaks(0, ()), [leaf(100 + i) for i in range(6)])
    fields = dict(
        self_image_id=bytes(range(32)),
        chain_id=1,
        earliest=94,
        earliest_parent_hash=b"\x11" * 32,
        origin=100,
        latest=110,
        latest_hash=b"\x22" * 32,
        forward=forward,
        backward=backward,
    )
    fields.update(changes)
    return HistoryJournal(**fields)  # type: ignore[arg-type]


def test_journal_round_trip_in_python_and_rust():
    journal = sample_journal()
    data = journal.encode()
    assert decode_history_journal(data) == journal
    rust = ethcore.decode_history(data)
    assert (rust.self_image_id, rust.chain_id, rust.earliest, rust.origin, rust.latest) == (
        journal.self_image_id,
        1,
        94,
        100,
        110,
    )
    assert (rust.earliest_parent_hash, rust.latest_hash) == (b"\x11" * 32, b"\x22" * 32)
    assert (rust.forward, rust.backward) == (journal.forward, journal.backward)
    assert rust.history_root == journal.history_root


def test_history_root_from_the_definition():
    journal = sample_journal()
    forward_root = ref.root(11, ref.peaks([leaf(i) for i in range(11)]))
    backward_root = ref.root(6, ref.peaks([leaf(100 + i) for i in range(6)]))
    words = [1, 94, b"\x11" * 32, 100, 110, b"\x22" * 32, forward_root, backward_root]
    types = ["uint256", "uint256", "bytes32", "uint256", "uint256", "bytes32", "bytes32", "bytes32"]
    assert journal.history_root == keccak(abi_encode(types, words))


def test_journal_vector():
    """A pinned vector: the layout of the journal and of historyRoot (shared with
    BlockHistory.sol) cannot drift unnoticed."""
    journal = sample_journal()
    data = journal.encode()
    assert len(data) == 32 * (12 + 1 + 3 + 1 + 2)
    assert data[9 * 32 : 10 * 32] == (12 * 32).to_bytes(32, "big")
    assert data[11 * 32 : 12 * 32] == ((12 + 1 + 3) * 32).to_bytes(32, "big")
    assert keccak(data).hex() == JOURNAL_VECTOR_KECCAK
    assert journal.history_root.hex() == JOURNAL_VECTOR_ROOT


JOURNAL_VECTOR_KECCAK = "fc0b56ef7225d866540fee4f43e038a52a210648232296e94b174883feb1bf67"
JOURNAL_VECTOR_ROOT = "d91e311c30c0223adfe5909e25e111310674e38c59a730c033212810efd58d61"


def abi_fields(journal: HistoryJournal) -> list:
    return journal._fields()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: d + b"\x00", id="trailing byte"),
        pytest.param(lambda d: d[:-1], id="truncated"),
        pytest.param(lambda d: (2).to_bytes(32, "big") + d[32:], id="version 2"),
        pytest.param(
            lambda d: d[:64] + (2**64).to_bytes(32, "big") + d[96:], id="chain id > 64 bits"
        ),
        pytest.param(
            lambda d: d[: 9 * 32] + (13 * 32).to_bytes(32, "big") + d[10 * 32 :] + bytes(32),
            id="odd offset",
        ),
    ],
)
def test_malformed_journals_are_refused_by_both_decoders(tamper):
    data = tamper(sample_journal().encode())
    with pytest.raises(ReceiptFormatError):
        decode_history_journal(data)
    with pytest.raises(EthDataError):
        ethcore.decode_history(data)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"latest": 111}, id="forward size differs from latest-origin+1"),
        pytest.param({"earliest": 95}, id="backward size differs from origin-earliest"),
        pytest.param({"forward": ethcore.MmrPeaks(11, (leaf(0),))}, id="peaks not one per bit"),
        pytest.param({"latest": 99, "forward": ethcore.MmrPeaks(0, ())}, id="latest before origin"),
    ],
)
def test_inconsistent_states_are_refused_by_both_decoders(changes):
    data = abi_encode(JOURNAL_TYPES, abi_fields(sample_journal(**changes)))
    with pytest.raises(ReceiptFormatError):
        decode_history_journal(data)
    with pytest.raises(EthDataError):
        ethcore.decode_history(data)


def test_history_step_refuses_malformed_input():
    with pytest.raises(EthDataError):  # no headers
        ethcore.history_step(rlp.encode([bytes(32), 1, MODE_NEW, b"", []]))
    with pytest.raises(EthDataError):  # not a header
        ethcore.history_step(rlp.encode([bytes(32), 1, MODE_NEW, b"", [b"\x01\x02"]]))


# ---------------------------------------------------------------- planning


def test_plan_a_new_accumulator_forward():
    assert plan_batches(0, 200, None, batch=64) == [
        Batch(MODE_NEW, 0, 63),
        Batch(MODE_FORWARD, 64, 127),
        Batch(MODE_FORWARD, 128, 191),
        Batch(MODE_FORWARD, 192, 200),
    ]
    assert plan_batches(0, 200, None, batch=64, origin=150) == [
        Batch(MODE_NEW, 150, 200),
    ]


def test_plan_backward_from_an_origin():
    assert plan_batches(10, 200, None, batch=64, origin=100, backward=True) == [
        Batch(MODE_NEW, 100, 163),
        Batch(MODE_BACKWARD, 36, 99),
        Batch(MODE_BACKWARD, 10, 35),
    ]
    assert plan_batches(0, 200, None, batch=64, backward=True)[0] == Batch(MODE_NEW, 137, 200)


def test_plan_resumes_from_the_state():
    state = sample_journal()  # covers 94..110, origin 100
    assert plan_batches(0, 120, state, batch=8) == [
        Batch(MODE_FORWARD, 111, 118),
        Batch(MODE_FORWARD, 119, 120),
    ]
    assert plan_batches(0, 120, state, batch=50, backward=True) == [
        Batch(MODE_BACKWARD, 44, 93),
        Batch(MODE_BACKWARD, 0, 43),
    ]
    assert plan_batches(0, 110, state, batch=8) == []
    with pytest.raises(InvalidArgument):
        plan_batches(0, 120, state, origin=5)
    with pytest.raises(InvalidArgument):
        plan_batches(0, 120, None, origin=121)
    with pytest.raises(InvalidArgument):
        plan_batches(0, 120, None, batch=0)


def test_codes_match_the_rust_side():
    """The modes and the journal version are written once in ethcore::mmr and once here."""
    source = Path(__file__).resolve().parents[2] / "guest_programs/ethcore/src/mmr.rs"
    consts = {
        m[1]: int(m[2]) for m in re.finditer(r"pub const (\w+): u64 = (\d+);", source.read_text())
    }
    assert consts == {
        "HISTORY_JOURNAL_VERSION": HISTORY_JOURNAL_VERSION,
        "MODE_NEW": MODE_NEW,
        "MODE_FORWARD": MODE_FORWARD,
        "MODE_BACKWARD": MODE_BACKWARD,
    }
