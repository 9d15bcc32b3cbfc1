"""Real RISC Zero proofs of `echo` (no dev mode), and tampering with them."""

import hashlib

import pytest

from coprocessor import errors
from coprocessor.zkvm import Receipt, prove, verify

pytestmark = pytest.mark.slow

MESSAGE = b"coprocessor: a real proof of echo " + bytes(range(32))


@pytest.fixture(scope="module")
def composite(echo):
    return prove(echo, MESSAGE, kind="composite")


def test_real_composite_proof_verifies(echo, composite):
    assert composite.kind == "composite" and not composite.is_fake
    journal = verify(composite, echo.image_id)
    assert journal == hashlib.sha256(MESSAGE).digest() + MESSAGE
    assert composite.stats.cycles >= composite.stats.user_cycles > 0


def test_real_proof_survives_bytes_round_trip(echo, composite):
    again = Receipt.from_bytes(composite.to_bytes())
    assert verify(again, echo.image_id) == composite.journal


def test_real_proof_fails_for_another_image_id(echo, composite):
    other = bytearray(echo.image_id)
    other[0] ^= 1
    with pytest.raises(errors.VerificationError):
        verify(composite, bytes(other))


def test_flipped_journal_byte_fails(echo, composite):
    # The journal is encoded twice: in the segment's claim and as the receipt's
    # journal (last). Flipping a byte of either copy must fail verification.
    data = composite.to_bytes()
    first, last = data.find(MESSAGE), data.rfind(MESSAGE)
    assert first >= 0
    for at in {first, last}:
        tampered_bytes = bytearray(data)
        tampered_bytes[at + 3] ^= 0x01
        tampered = Receipt.from_bytes(bytes(tampered_bytes))
        with pytest.raises(errors.VerificationError):
            verify(tampered, echo.image_id)
    tampered_bytes = bytearray(data)
    tampered_bytes[last + 3] ^= 0x01
    assert Receipt.from_bytes(bytes(tampered_bytes)).journal != composite.journal


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75])
def test_flipped_seal_byte_fails(echo, composite, fraction):
    # The seal is nearly all of a composite receipt's bytes; flip one inside it
    # while keeping the journal intact.
    data = bytearray(composite.to_bytes())
    at = int(len(data) * fraction)
    for copy in (data.find(MESSAGE), data.rfind(MESSAGE)):
        assert not copy <= at < copy + len(MESSAGE)
    data[at] ^= 0x10
    try:
        tampered = Receipt.from_bytes(bytes(data))
    except errors.ReceiptFormatError:
        return  # the flip broke the encoding itself: rejected too
    assert tampered.journal == composite.journal
    with pytest.raises(errors.VerificationError):
        verify(tampered, echo.image_id)


def test_real_succinct_proof_verifies(echo):
    receipt = prove(echo, b"succinct", kind="succinct")
    assert receipt.kind == "succinct"
    assert verify(receipt, echo.image_id) == hashlib.sha256(b"succinct").digest() + b"succinct"
    data = bytearray(receipt.to_bytes())
    data[len(data) // 3] ^= 0x04
    with pytest.raises(errors.VerificationError):
        verify(bytes(data), echo.image_id)


def test_real_proof_with_the_keccak_accelerator_verifies():
    # ethcheck hashes on RISC Zero's keccak accelerator: its proof carries a
    # keccak-circuit proof as well (lifted by the recursion programs that
    # risc0-zkvm 3.1.0-rc.1 ships in crates). Slow: one to two minutes on 2 cores.
    from support import ethcheck_inputs, mainnet

    mainnet.require()
    from coprocessor.ffi import run_ethcore
    from coprocessor.zkvm import Program

    guest = Program.load("ethcheck")
    command = ethcheck_inputs.header_hash()
    # the smallest batch: one header needs about 5 permutations
    receipt = prove(guest, command, keccak_po2=14)
    assert verify(receipt, guest.image_id) == run_ethcore(command)
