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


@pytest.mark.parametrize(
    ("step", "arguments"),
    [
        (zkvm.prove_segment, (b"not a segment",)),
        (zkvm.join, (b"\xff" * 64, b"\xff" * 64)),
        (zkvm.prove_keccak, (b"",)),
        (zkvm.union, (b"\x00", b"\x00")),
        (zkvm.resolve, (b"garbage", b"garbage")),
        (zkvm.finalize, (b"\x01" * 100, b"journal")),
    ],
    ids=["prove_segment", "join", "prove_keccak", "union", "resolve", "finalize"],
)
def test_split_steps_refuse_undecodable_inputs(step, arguments):
    with pytest.raises(errors.ReceiptFormatError, match="cannot decode"):
        step(*arguments)


def test_split_steps_take_only_buffers():
    with pytest.raises(errors.InvalidArgument, match="segment must be bytes"):
        zkvm.prove_segment("text")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument, match="right receipt must be bytes"):
        zkvm.join(b"", None)  # type: ignore[arg-type]


def test_assumptions_must_be_receipts():
    program = Program(name="unused", blob=b"", image_id=bytes(32))
    with pytest.raises(errors.InvalidArgument, match="sequence of Receipt"):
        zkvm.execute(program, b"", assumptions=b"receipt")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument, match=r"assumptions\[0\] must be a Receipt"):
        zkvm.prove(program, b"", dev=True, assumptions=[b"receipt"])  # type: ignore[list-item]


def test_public_surface_is_pinned():
    """What `coprocessor.zkvm` offers is decided here, not by whatever it happens to import."""
    assert zkvm.__all__ == [
        "DEFAULT_KECCAK_PO2",
        "DEFAULT_PROVE_SEGMENT_PO2",
        "IMAGE_IDS_FILE",
        "KECCAK_ASSUMPTION",
        "MAX_KECCAK_PO2",
        "MAX_SEGMENT_PO2",
        "MIN_KECCAK_PO2",
        "MIN_SEGMENT_PO2",
        "Execution",
        "ProofStats",
        "Program",
        "Receipt",
        "ReceiptKind",
        "SplitSession",
        "execute",
        "execute_split",
        "finalize",
        "guest_dir",
        "image_id_of",
        "join",
        "keccak_po2_for",
        "prove",
        "prove_keccak",
        "prove_segment",
        "recorded_image_ids",
        "resolve",
        "union",
        "verify",
    ]
    assert all(hasattr(zkvm, name) for name in zkvm.__all__)
    defined_here = {
        name
        for name, value in vars(zkvm).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == zkvm.__name__
    }
    assert defined_here <= set(zkvm.__all__)
