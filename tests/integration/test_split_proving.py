"""Split proving through `coprocessor.zkvm` with real proofs: a session executed into
segments and a keccak request, each proven on its own, composed by a reference planner
written here (the library's planner is `coprocessor.prover`), finalised into a receipt that
verifies like the monolithic one; tampered pieces fail.

The guest is ethcheck (ethcore with the keccak accelerator) on a trie root of a few items:
with 2^16-cycle segments and 2^14-row keccak batches, the fewest items that make two
segments (ethcore's cycle count moves as it is optimised) give the smallest session that
needs every step: two segments and one keccak request.
"""

from __future__ import annotations

import pytest

from coprocessor import errors, ethcore, ffi, zkvm
from coprocessor.zkvm import KECCAK_ASSUMPTION, Receipt, SplitSession

SEGMENT_PO2, KECCAK_PO2 = 16, 14
# Bytes into an encoded succinct receipt: bincode puts its seal (Vec<u32>: a u64 length,
# then the words) first, so these bytes lie inside the seal.
SEAL_OFFSET = 8 + 4 * 100


def join_tree(receipts: list[bytes]) -> bytes:
    """Joins adjacent receipts level by level, keeping their order."""
    level = receipts
    while len(level) > 1:
        joined = [zkvm.join(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = joined + level[len(level) - len(level) % 2 :]
    return level[0]


def union_mountain(receipts: list[bytes]) -> bytes:
    """RISC Zero's keccak union shape: merge equal heights as they come, fold the peaks."""
    peaks: list[tuple[bytes, int]] = []
    for receipt in receipts:
        node, height = receipt, 0
        while peaks and peaks[-1][1] == height:
            node, height = zkvm.union(node, peaks.pop()[0]), height + 1
        peaks.append((node, height))
    root = peaks[0][0]
    for node, _ in peaks[1:]:
        root = zkvm.union(root, node)
    return root


def resolve_all(session: SplitSession, root: bytes) -> bytes:
    """The session's joined receipt with every assumption resolved, in the session's order:
    the keccak requests proven and united for the keccak one, the caller's receipts else."""
    keccak_root = None
    if session.keccak_requests:
        keccak_root = union_mountain([zkvm.prove_keccak(r) for r in session.keccak_requests])
    for assumption in session.assumptions:
        if assumption == KECCAK_ASSUMPTION:
            assert keccak_root is not None
            root = zkvm.resolve(root, keccak_root)
        else:
            assert isinstance(assumption, int)
            root = zkvm.resolve(root, session.assumption_receipts[assumption])
    return root


@pytest.fixture(scope="module")
def ethcheck() -> zkvm.Program:
    return zkvm.Program.load("ethcheck")


@pytest.fixture(scope="module")
def command(ethcheck) -> bytes:
    """The smallest trie-root command that runs in at least two segments."""
    for count in (2, 4, 8, 16, 32):
        items = [b"split proving %d" % i for i in range(count)]
        command = ethcore.command(ethcore.ORDERED_TRIE_ROOT, items)
        run = zkvm.execute(ethcheck, command, segment_po2=SEGMENT_PO2)
        if run.segments >= 2:
            return command
    raise AssertionError("no trie root of up to 32 items needs two segments")


@pytest.fixture(scope="module")
def session(ethcheck, command) -> SplitSession:
    return zkvm.execute_split(ethcheck, command, segment_po2=SEGMENT_PO2, keccak_po2=KECCAK_PO2)


@pytest.fixture(scope="module")
def lifted(session) -> list[bytes]:
    return [zkvm.prove_segment(segment) for segment in session.segments]


@pytest.fixture(scope="module")
def joined(lifted) -> bytes:
    return join_tree(lifted)


@pytest.fixture(scope="module")
def root(session, joined) -> bytes:
    return resolve_all(session, joined)


@pytest.fixture(scope="module")
def split_receipt(session, root) -> Receipt:
    return zkvm.finalize(root, session.journal)


def test_session_has_every_kind_of_piece(session, command):
    assert len(session.segments) >= 2
    assert len(session.keccak_requests) >= 1
    assert session.assumptions == [KECCAK_ASSUMPTION] and session.assumption_receipts == []
    assert session.cycles >= session.user_cycles > 0
    assert session.journal == ffi.run_ethcore(command)


@pytest.mark.slow
def test_split_receipt_verifies_like_the_monolithic_one(ethcheck, command, session, split_receipt):
    assert split_receipt.kind == "succinct" and split_receipt.journal == session.journal
    assert zkvm.verify(split_receipt, ethcheck.image_id) == session.journal
    again = Receipt.from_bytes(split_receipt.to_bytes())
    assert zkvm.verify(again, ethcheck.image_id) == session.journal
    # The monolithic path's journal comes from the same executor run; its fake receipt
    # carries it without paying for the proof again (test_proving.py proves it for real).
    monolithic = zkvm.prove(
        ethcheck, command, dev=True, segment_po2=SEGMENT_PO2, keccak_po2=KECCAK_PO2
    )
    assert monolithic.journal == split_receipt.journal


@pytest.mark.slow
def test_tampered_segment_receipt_fails_the_join(lifted):
    tampered = bytearray(lifted[0])
    tampered[SEAL_OFFSET] ^= 0x01
    with pytest.raises(errors.VerificationError, match="left receipt does not verify"):
        zkvm.join(bytes(tampered), lifted[1])


@pytest.mark.slow
def test_root_with_an_unresolved_assumption_is_refused(session, joined):
    with pytest.raises(errors.VerificationError, match="1 assumption"):
        zkvm.finalize(joined, session.journal)


@pytest.mark.slow
def test_finalize_refuses_another_journal(session, root):
    for journal in (session.journal + b"\x00", b"", bytes(len(session.journal))):
        with pytest.raises(errors.VerificationError, match="not the given journal"):
            zkvm.finalize(root, journal)
    with pytest.raises(errors.ReceiptFormatError):  # a receipt is not a root receipt
        zkvm.finalize(zkvm.finalize(root, session.journal).to_bytes(), session.journal)


def test_execute_with_an_unneeded_assumption_is_unchanged(ethcheck, command, session):
    other = zkvm.prove(ethcheck, command, dev=True)  # a fake: the executor checks no seal
    run = zkvm.execute(ethcheck, command, segment_po2=SEGMENT_PO2, assumptions=[other])
    assert run.journal == session.journal
    split = zkvm.execute_split(
        ethcheck, command, segment_po2=SEGMENT_PO2, keccak_po2=KECCAK_PO2, assumptions=[other]
    )
    assert split.assumptions == [KECCAK_ASSUMPTION] and split.assumption_receipts == []
    assert len(split.segments) == len(session.segments)
