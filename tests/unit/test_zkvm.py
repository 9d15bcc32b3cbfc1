"""coprocessor.zkvm through the real native library, with the executor and dev receipts.

Real proofs live in tests/integration/test_proving.py.
"""

import pytest

from coprocessor import errors, zkvm
from coprocessor.zkvm import (
    Program,
    Receipt,
    keccak_po2_for,
    verify,
)


def test_unknown_guest_is_a_program_error():
    with pytest.raises(errors.ProgramError, match="not built"):
        Program.load("no-such-guest")


@pytest.mark.parametrize(
    "blob",
    [b"", b"garbage", b"\x00" * 64, b"\xff" * 1000],
    ids=["empty", "text", "zeros", "ones"],
)
def test_malformed_program_binary_raises(blob):
    with pytest.raises(errors.ProgramError):
        Program.from_bytes(blob)


def test_malformed_elf_raises():
    with pytest.raises(errors.ProgramError):
        Program.from_elf(b"\x7fELF not really")


@pytest.mark.parametrize("data", [b"", b"\x00", b"not a receipt", b"\xff" * 4096])
def test_undecodable_receipt_raises(data):
    with pytest.raises(errors.ReceiptFormatError):
        Receipt.from_bytes(data)
    with pytest.raises(errors.VerificationError):
        verify(data, bytes(32))


def test_every_error_is_a_coprocessor_error():
    for cls in (
        errors.ProgramError,
        errors.ExecutionError,
        errors.ProvingError,
        errors.VerificationError,
        errors.ReceiptFormatError,
        errors.InvalidArgument,
    ):
        assert issubclass(cls, errors.CoprocessorError)


def test_keccak_po2_grows_with_the_permutations():
    assert [keccak_po2_for(n) for n in (0, 60, 70, 120, 600, 5000)] == [14, 14, 15, 15, 17, 17]
    for n in range(0, 3000, 7):  # the chosen batch holds the estimate with 25% to spare, up to 2^17
        po2 = keccak_po2_for(n)
        assert po2 == 17 or n * 5 // 4 <= (1 << po2) // 200


def test_public_surface_is_pinned():
    """What `coprocessor.zkvm` offers is decided here, not by whatever it happens to import."""
    assert zkvm.__all__ == [
        "DEFAULT_KECCAK_PO2",
        "DEFAULT_PROVE_SEGMENT_PO2",
        "IMAGE_IDS_FILE",
        "MAX_KECCAK_PO2",
        "MAX_SEGMENT_PO2",
        "MIN_KECCAK_PO2",
        "MIN_SEGMENT_PO2",
        "Execution",
        "ProofStats",
        "Program",
        "Receipt",
        "ReceiptKind",
        "execute",
        "guest_dir",
        "image_id_of",
        "keccak_po2_for",
        "prove",
        "recorded_image_ids",
        "verify",
    ]
    assert all(hasattr(zkvm, name) for name in zkvm.__all__)
    defined_here = {
        name
        for name, value in vars(zkvm).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == zkvm.__name__
    }
    assert defined_here <= set(zkvm.__all__)
