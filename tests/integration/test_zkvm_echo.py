"""coprocessor.zkvm with a real guest (echo): execute, dev receipts, verify, arguments, failures."""

import hashlib
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coprocessor import errors, zkvm
from coprocessor.zkvm import (
    Program,
    Receipt,
    execute,
    image_id_of,
    prove,
    recorded_image_ids,
    verify,
)


def echo_journal(data: bytes) -> bytes:
    return hashlib.sha256(data).digest() + data


def test_program_load_matches_recorded_image_id(echo):
    assert len(echo.image_id) == 32
    assert echo.image_id.hex() == recorded_image_ids()["echo"]
    assert image_id_of(echo.blob) == echo.image_id


@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 5])
def test_execute_echo_commits_digest_and_input(echo, data):
    run = execute(echo, data)
    assert run.journal == echo_journal(data)
    assert run.user_cycles > 0
    assert run.cycles >= run.user_cycles
    assert run.segments >= 1


def test_small_segments_split_a_long_run(echo):
    data = bytes(64 * 1024)
    default = execute(echo, data)
    small = execute(echo, data, segment_po2=14)
    assert small.journal == default.journal
    assert small.segments > default.segments


def test_truncated_program_binary_raises(echo):
    with pytest.raises(errors.ProgramError):
        Program.from_bytes(echo.blob[: len(echo.blob) // 2])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_mutated_program_never_crashes(echo, position, value):
    blob = bytearray(echo.blob)
    position %= len(blob)
    if blob[position] == value:
        value ^= 1
    blob[position] = value
    try:
        program = Program.from_bytes(bytes(blob))
    except errors.ProgramError:
        return
    # The image ID commits to the loaded memory image, not to every byte of
    # the file: a flip in, say, the symbol table leaves the program as it was.
    same_program = program.image_id == echo.image_id
    try:
        run = execute(program, b"abc", segment_po2=16, max_cycles=1 << 22)
    except errors.CoprocessorError:
        assert not same_program, "echo's own image failed to run"
        return
    if same_program:
        assert run.journal == execute(echo, b"abc").journal


def test_dev_receipt_verifies_only_when_allowed(echo, monkeypatch):
    receipt = prove(echo, b"dev please", dev=True)
    assert receipt.kind == "fake" and receipt.is_fake
    assert receipt.journal == echo_journal(b"dev please")
    assert verify(receipt, echo.image_id, allow_dev=True) == receipt.journal
    with pytest.raises(errors.VerificationError, match="fake"):
        verify(receipt, echo.image_id)
    # The environment must not be able to switch dev mode on for verification.
    monkeypatch.setenv("RISC0_DEV_MODE", "1")
    with pytest.raises(errors.VerificationError):
        verify(receipt, echo.image_id)


def test_dev_receipt_round_trips_through_bytes(echo):
    receipt = prove(echo, b"round trip", dev=True)
    again = Receipt.from_bytes(receipt.to_bytes())
    assert again == receipt
    assert again.journal == receipt.journal and again.kind == "fake"
    assert again.stats is None and receipt.stats is not None


def test_dev_receipt_for_another_image_fails(echo):
    receipt = prove(echo, b"abc", dev=True)
    with pytest.raises(errors.VerificationError):
        verify(receipt, bytes(32), allow_dev=True)


def test_truncated_receipt_raises(echo):
    data = prove(echo, b"abc", dev=True).to_bytes()
    for cut in (1, len(data) // 2, len(data) - 1):
        with pytest.raises(errors.ReceiptFormatError):
            Receipt.from_bytes(data[:cut])


@pytest.mark.parametrize(
    "call",
    [
        lambda p: execute(p, "text is not bytes"),
        lambda p: execute(p, b"", segment_po2=40),
        lambda p: prove(p, b"", kind="groth16"),
        lambda p: verify(b"", b"short"),
        lambda p: Program.from_bytes(None),
    ],
    ids=["input-type", "segment-po2", "groth16", "image-id-length", "blob-type"],
)
def test_bad_arguments_raise_invalid_argument(echo, call):
    with pytest.raises(errors.InvalidArgument):
        call(echo)


def test_native_calls_release_the_gil(echo):
    done = threading.Event()
    result = {}

    def work():
        result["run"] = execute(echo, bytes(256 * 1024))
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    thread.join()
    assert result["run"].segments >= 1
    # With the GIL held for the whole call, this loop could not have run.
    assert ticks > 10


def test_cycle_limit_stops_the_guest_with_execution_error(echo):
    with pytest.raises(errors.ExecutionError):
        execute(echo, bytes(64 * 1024), max_cycles=10_000)
    with pytest.raises(errors.ExecutionError):
        prove(echo, bytes(64 * 1024), dev=True, max_cycles=10_000)


@pytest.mark.parametrize("bad", [13, 19, "17", 16.0])
def test_keccak_po2_out_of_range_is_refused(echo, bad):
    with pytest.raises(errors.InvalidArgument, match="keccak_po2"):
        prove(echo, b"x", dev=True, keccak_po2=bad)


def test_argument_ranges_are_risc_zeros(echo):
    """The bounds zkvm checks are RISC Zero's: one past either end is refused before any native
    call; inside them the zkVM takes the value (13, its minimum, is too small for echo)."""
    for po2 in (zkvm.MIN_SEGMENT_PO2 - 1, zkvm.MAX_SEGMENT_PO2 + 1):
        with pytest.raises(errors.InvalidArgument, match="segment_po2"):
            execute(echo, b"", segment_po2=po2)
    for po2 in (zkvm.MIN_SEGMENT_PO2 + 1, zkvm.MAX_SEGMENT_PO2):
        assert execute(echo, b"x", segment_po2=po2).journal == echo_journal(b"x")
    for po2 in (zkvm.MIN_KECCAK_PO2 - 1, zkvm.MAX_KECCAK_PO2 + 1):
        with pytest.raises(errors.InvalidArgument, match="keccak_po2"):
            prove(echo, b"x", dev=True, keccak_po2=po2)
    for po2 in (zkvm.MIN_KECCAK_PO2, zkvm.MAX_KECCAK_PO2):
        assert prove(echo, b"x", dev=True, keccak_po2=po2).journal == echo_journal(b"x")


def test_huge_declared_segment_is_refused_quickly(echo):
    # A corrupt p_memsz (here 2.5 GiB) used to make loading fill the whole range word by word
    # (minutes, gigabytes); it is refused up front.
    import struct

    blob = bytearray(echo.blob)
    elf = blob.find(b"\x7fELF")
    (phoff,) = struct.unpack_from("<I", blob, elf + 28)
    phentsize, phnum = struct.unpack_from("<HH", blob, elf + 42)
    for i in range(phnum):
        ph = elf + phoff + i * phentsize
        if struct.unpack_from("<I", blob, ph)[0] == 1:  # PT_LOAD
            struct.pack_into("<I", blob, ph + 20, 0xA000_0000)  # p_memsz
            break
    else:
        raise AssertionError("no PT_LOAD segment in echo")
    with pytest.raises(errors.ProgramError, match="declare"):
        Program.from_bytes(bytes(blob))
