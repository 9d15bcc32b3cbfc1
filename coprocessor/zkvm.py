"""RISC Zero from Python: load guests, execute, prove, verify.

The only module that loads the native library (`native/risc0-py`, a Rust
cdylib with a C ABI). Calls go through cffi in ABI mode, which releases the
GIL for their duration, so proving in a thread does not block the interpreter.

Ownership across the boundary: inputs are borrowed by Rust for the call only;
every buffer Rust returns is copied into Python `bytes` and released at once
with `r0_free_bytes` (error strings with `r0_free_string`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cffi import FFI

from coprocessor.errors import (
    ConfigError,
    EthDataError,
    ExecutionError,
    InternalError,
    InvalidArgument,
    PlanRejectedError,
    ProgramError,
    ProvingError,
    QueryEvaluationError,
    ReceiptFormatError,
    VerificationError,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_IDS_FILE = REPO_ROOT / "guest_programs" / "image_ids.json"
LIB_ENV, GUESTS_ENV = "COPROCESSOR_NATIVE_LIB", "COPROCESSOR_GUEST_DIR"

# Segments of 2^19 cycles keep a proof within a few GiB on 2 cores; RISC Zero's
# default (2^20) needs about 16 GiB per segment.
DEFAULT_PROVE_SEGMENT_PO2 = 19

ReceiptKind = Literal["composite", "succinct", "groth16", "fake"]
_KIND_CODES = {"composite": 0, "succinct": 1}
_KIND_NAMES: dict[int, ReceiptKind] = {0: "composite", 1: "succinct", 2: "groth16", 3: "fake"}

_CDEF = """
int32_t r0_program_from_elf(const uint8_t *elf, size_t elf_len,
                            uint8_t **out_blob, size_t *out_len, char **err);
int32_t r0_image_id(const uint8_t *blob, size_t blob_len, uint8_t *out_id, char **err);
int32_t r0_execute(const uint8_t *blob, size_t blob_len, const uint8_t *input, size_t input_len,
                   uint32_t segment_po2, uint64_t max_cycles, uint8_t **out_journal, size_t *out_journal_len,
                   uint64_t *out_total_cycles, uint64_t *out_user_cycles, uint64_t *out_segments,
                   char **err);
int32_t r0_prove(const uint8_t *blob, size_t blob_len, const uint8_t *input, size_t input_len,
                 uint32_t segment_po2, uint64_t max_cycles, uint32_t keccak_po2, uint32_t kind, uint32_t dev,
                 uint8_t **out_receipt, size_t *out_receipt_len,
                 uint64_t *out_total_cycles, uint64_t *out_user_cycles, uint64_t *out_segments,
                 char **err);
int32_t r0_receipt_decode(const uint8_t *receipt, size_t receipt_len,
                          uint8_t **out_journal, size_t *out_journal_len, uint32_t *out_kind,
                          char **err);
int32_t r0_verify(const uint8_t *receipt, size_t receipt_len, const uint8_t *image_id,
                  uint32_t allow_dev, uint8_t **out_journal, size_t *out_journal_len, char **err);
int32_t r0_ethcore(const uint8_t *command, size_t command_len,
                   uint8_t **out, size_t *out_len, char **err);
int32_t r0_query(const uint8_t *command, size_t command_len,
                 uint8_t **out, size_t *out_len, char **err);
int32_t r0_ingest_blocks(const uint8_t *body, size_t body_len, const uint8_t *spec, size_t spec_len,
                         uint8_t **out, size_t *out_len, char **err);
void r0_free_bytes(uint8_t *ptr, size_t len);
void r0_free_string(char *ptr);
"""

_ERRORS: dict[int, type[Exception]] = {
    1: ProgramError,
    2: ExecutionError,
    3: ProvingError,
    4: VerificationError,
    5: ReceiptFormatError,
    6: InvalidArgument,
    7: EthDataError,
    8: QueryEvaluationError,
    9: PlanRejectedError,
    99: InternalError,
}

_ffi = FFI()
_ffi.cdef(_CDEF)


def native_library_path() -> Path:
    """Where the cdylib is read from: $COPROCESSOR_NATIVE_LIB or build/lib/."""
    return Path(os.environ.get(LIB_ENV) or REPO_ROOT / "build" / "lib" / "librisc0_py.so")


def guest_dir() -> Path:
    """Where built program binaries live: $COPROCESSOR_GUEST_DIR or build/guests/."""
    return Path(os.environ.get(GUESTS_ENV) or REPO_ROOT / "build" / "guests")


@lru_cache(maxsize=1)
def _lib():
    path = native_library_path()
    if not path.is_file():
        raise ConfigError(f"native library not found at {path}: run `make setup`")
    try:
        return _ffi.dlopen(str(path))
    except OSError as exc:
        raise ConfigError(f"cannot load native library {path}: {exc}") from exc


class _Call:
    """One native call: owns its out-parameters and frees what Rust allocated."""

    def __init__(self) -> None:
        self.err = _ffi.new("char **")

    def check(self, status: int) -> None:
        if status == 0:
            return
        message = "unknown error"
        if self.err[0] != _ffi.NULL:
            message = _ffi.string(self.err[0]).decode("utf-8", "replace")
            _lib().r0_free_string(self.err[0])
        raise _ERRORS.get(status, InternalError)(message)

    @staticmethod
    def take(ptr, length) -> bytes:
        """Copies an owned buffer out of Rust and releases it."""
        try:
            return bytes(_ffi.buffer(ptr[0], length[0])) if length[0] else b""
        finally:
            if ptr[0] != _ffi.NULL:
                _lib().r0_free_bytes(ptr[0], length[0])


def _as_bytes(value: bytes | bytearray | memoryview, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidArgument(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


def _po2(segment_po2: int | None) -> int:
    if segment_po2 is None:
        return 0
    if not isinstance(segment_po2, int) or not 13 <= segment_po2 <= 24:
        raise InvalidArgument(f"segment_po2 must be an int in [13, 24], got {segment_po2!r}")
    return segment_po2


def _cycle_limit(max_cycles: int | None) -> int:
    if max_cycles is None:
        return 0
    if not isinstance(max_cycles, int) or not 0 < max_cycles < 2**63:
        raise InvalidArgument(f"max_cycles must be a positive int, got {max_cycles!r}")
    return max_cycles


def image_id_of(blob: bytes) -> bytes:
    """The 32-byte image ID of a program binary."""
    blob = _as_bytes(blob, "program binary")
    out = _ffi.new("uint8_t[32]")
    call = _Call()
    call.check(_lib().r0_image_id(blob, len(blob), out, call.err))
    return bytes(_ffi.buffer(out, 32))


def recorded_image_ids() -> dict[str, str]:
    """Image IDs (hex) recorded by the guest build: the one source for all languages."""
    try:
        return json.loads(IMAGE_IDS_FILE.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{IMAGE_IDS_FILE} is missing: run `make guests`") from exc


@dataclass(frozen=True)
class Program:
    """A guest program binary (user ELF wrapped with the v1compat kernel)."""

    name: str
    blob: bytes = field(repr=False)
    image_id: bytes

    @classmethod
    def load(cls, name: str) -> Program:
        """A built guest by name, checked against its recorded image ID."""
        path = guest_dir() / f"{name}.bin"
        if not path.is_file():
            raise ProgramError(f"guest {name!r} is not built ({path} missing): run `make guests`")
        program = cls.from_bytes(path.read_bytes(), name=name)
        recorded = recorded_image_ids().get(name)
        if recorded is None:
            raise ProgramError(f"guest {name!r} has no recorded image ID in {IMAGE_IDS_FILE}")
        if recorded != program.image_id.hex():
            raise ProgramError(
                f"guest {name!r} at {path} has image ID {program.image_id.hex()} but "
                f"{IMAGE_IDS_FILE.name} records {recorded}: run `make guests`"
            )
        return program

    @classmethod
    def from_bytes(cls, blob: bytes, *, name: str = "program") -> Program:
        """A program binary from its encoded bytes; malformed ones raise ProgramError."""
        blob = _as_bytes(blob, "program binary")
        return cls(name=name, blob=blob, image_id=image_id_of(blob))

    @classmethod
    def from_elf(cls, elf: bytes, *, name: str = "program") -> Program:
        """Wraps a guest ELF with the v1compat kernel."""
        elf = _as_bytes(elf, "elf")
        out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
        call.check(_lib().r0_program_from_elf(elf, len(elf), out, length, call.err))
        return cls.from_bytes(_Call.take(out, length), name=name)


@dataclass(frozen=True)
class Execution:
    """The outcome of running a guest without proving."""

    journal: bytes
    cycles: int
    """Total cycles: the padded size of every segment (what proving pays for)."""
    user_cycles: int
    """Cycles spent in guest instructions."""
    segments: int


@dataclass(frozen=True)
class ProofStats:
    cycles: int
    user_cycles: int
    segments: int
    seconds: float


@dataclass(frozen=True, eq=False)
class Receipt:
    """A RISC Zero receipt (journal + seal), as bytes that survive a round trip."""

    data: bytes = field(repr=False)
    journal: bytes
    kind: ReceiptKind
    stats: ProofStats | None = None
    """Set on receipts this process proved; None on decoded ones."""

    @classmethod
    def from_bytes(cls, data: bytes) -> Receipt:
        """Decodes (does not verify) a receipt; undecodable bytes raise ReceiptFormatError."""
        data = _as_bytes(data, "receipt")
        out, length, kind = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _ffi.new("uint32_t *")
        call = _Call()
        call.check(_lib().r0_receipt_decode(data, len(data), out, length, kind, call.err))
        return cls(data=data, journal=_Call.take(out, length), kind=_KIND_NAMES[kind[0]])

    def to_bytes(self) -> bytes:
        return self.data

    @property
    def is_fake(self) -> bool:
        return self.kind == "fake"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Receipt) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


def execute(
    program: Program,
    input: bytes,
    *,
    segment_po2: int | None = None,
    max_cycles: int | None = None,
) -> Execution:
    """Runs a guest in the executor (no proof). Guest failure raises ExecutionError.

    `max_cycles` bounds the run (ExecutionError past it); None means no bound.
    """
    data = _as_bytes(input, "input")
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    total, user, segments = _ffi.new("uint64_t *"), _ffi.new("uint64_t *"), _ffi.new("uint64_t *")
    status = _lib().r0_execute(
        program.blob, len(program.blob), data, len(data), _po2(segment_po2),
        _cycle_limit(max_cycles), out, length, total, user, segments, call.err,
    )  # fmt: skip
    call.check(status)
    return Execution(_Call.take(out, length), total[0], user[0], segments[0])


def prove(
    program: Program,
    input: bytes,
    *,
    kind: Literal["composite", "succinct"] = "composite",
    dev: bool = False,
    segment_po2: int | None = DEFAULT_PROVE_SEGMENT_PO2,
    max_cycles: int | None = None,
    keccak_po2: int | None = None,
) -> Receipt:
    """Proves a guest's execution. `dev=True` makes a fake receipt (no proof) for fast tests.

    `keccak_po2` (14..18, None: RISC Zero's 17) sizes the keccak-accelerator batches: each
    costs a keccak-circuit proof of 2^po2 rows and holds 2^po2 / 200 permutations. A guest
    that hashes little proves several times faster with 14 (see `keccak_po2_for`).
    """
    if keccak_po2 is not None and (not isinstance(keccak_po2, int) or not 14 <= keccak_po2 <= 18):
        raise InvalidArgument(f"keccak_po2 must be an int in [14, 18], got {keccak_po2!r}")
    if kind not in _KIND_CODES:
        raise InvalidArgument(f"kind must be one of {sorted(_KIND_CODES)}, got {kind!r}")
    data = _as_bytes(input, "input")
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    total, user, segments = _ffi.new("uint64_t *"), _ffi.new("uint64_t *"), _ffi.new("uint64_t *")
    started = time.perf_counter()
    status = _lib().r0_prove(
        program.blob, len(program.blob), data, len(data), _po2(segment_po2),
        _cycle_limit(max_cycles), keccak_po2 or 0, _KIND_CODES[kind], int(bool(dev)), out, length, total, user,
        segments, call.err,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    call.check(status)
    receipt = Receipt.from_bytes(_Call.take(out, length))
    stats = ProofStats(total[0], user[0], segments[0], seconds)
    return Receipt(data=receipt.data, journal=receipt.journal, kind=receipt.kind, stats=stats)


KECCAK_PERMUTE_ROWS = 200  # rows of the keccak circuit per permutation (risc0-circuit-keccak)


def keccak_po2_for(permutations: int) -> int:
    """The smallest keccak batch (po2 14..17) holding `permutations` with room to spare: one
    batch proof instead of a 2^17-row one for guests that hash little; 17 (RISC Zero's default)
    once several batches would be needed anyway."""
    for po2 in range(14, 17):
        if permutations * 5 // 4 <= (1 << po2) // KECCAK_PERMUTE_ROWS:
            return po2
    return 17


def verify(receipt: Receipt | bytes, image_id: bytes, *, allow_dev: bool = False) -> bytes:
    """Verifies a receipt against an image ID and returns its journal.

    Raises VerificationError when it does not verify. Fake (dev) receipts fail
    unless `allow_dev=True`, whatever RISC0_DEV_MODE says.
    """
    data = receipt.to_bytes() if isinstance(receipt, Receipt) else _as_bytes(receipt, "receipt")
    image_id = _as_bytes(image_id, "image_id")
    if len(image_id) != 32:
        raise InvalidArgument(f"image_id must be 32 bytes, got {len(image_id)}")
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    status = _lib().r0_verify(data, len(data), image_id, int(bool(allow_dev)), out, length, call.err)
    call.check(status)
    return _Call.take(out, length)


def run_ethcore(command: bytes) -> bytes:
    """Runs one `ethcore::ops` command natively (the code the guests run).

    Typed wrappers live in `coprocessor.ethcore`; a failed check raises EthDataError.
    """
    command = _as_bytes(command, "command")
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    call.check(_lib().r0_ethcore(command, len(command), out, length, call.err))
    return _Call.take(out, length)


def run_query(command: bytes) -> bytes:
    """Runs one `r0_query` command: the query guest's core, natively (typed wrappers:
    `coprocessor.compiler.native`). Raises QueryEvaluationError, PlanRejectedError or
    EthDataError exactly where the guest fails."""
    command = _as_bytes(command, "command")
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    call.check(_lib().r0_query(command, len(command), out, length, call.err))
    return _Call.take(out, length)


def run_ingest_blocks(body: bytes, spec: bytes) -> bytes:
    """The indexer's native fast path (`r0_ingest_blocks`): a JSON-RPC batch response in,
    validated table columns out. EthDataError means "not taken" (the caller's reference
    path decides); typed wrapper: `coprocessor.ethcore.ingest_blocks`."""
    out, length, call = _ffi.new("uint8_t **"), _ffi.new("size_t *"), _Call()
    call.check(_lib().r0_ingest_blocks(body, len(body), spec, len(spec), out, length, call.err))
    return _Call.take(out, length)
