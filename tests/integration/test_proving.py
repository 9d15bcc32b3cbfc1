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
    data = bytearray(composite.to_bytes())
    at = data.find(MESSAGE)
    assert at >= 0, "journal not found in the receipt encoding"
    data[at + 3] ^= 0x01
    tampered = Receipt.from_bytes(bytes(data))
    assert tampered.journal != composite.journal
    with pytest.raises(errors.VerificationError):
        verify(tampered, echo.image_id)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75])
def test_flipped_seal_byte_fails(echo, composite, fraction):
    # The seal is nearly all of a composite receipt's bytes; flip one inside it
    # while keeping the journal intact.
    data = bytearray(composite.to_bytes())
    at = int(len(data) * fraction)
    journal_at = data.find(MESSAGE)
    assert not journal_at <= at < journal_at + len(MESSAGE)
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
