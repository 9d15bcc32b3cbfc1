"""The native library's C ABI (`native/risc0-py`, a Rust cdylib) as plain Python functions.

The only module that loads the library (layer 1). It declares the exports to cffi in ABI
mode, which releases the GIL for the duration of each call (proving in a thread does not
block the interpreter), maps every status code to the exception tree once, and offers one
function per export, bytes in and bytes out. The typed APIs sit above it:
`coprocessor.zkvm` (programs, execute, prove, verify), `coprocessor.ethcore` (Ethereum
checks and the indexer's fast path) and `coprocessor.compiler.native` (the query guest's
core).

Ownership across the boundary: inputs are borrowed by Rust for the call only; every buffer
Rust returns is copied into Python `bytes` and released at once with `r0_free_bytes` (error
strings with `r0_free_string`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from cffi import FFI

from coprocessor.errors import (
    ConfigError,
    CoprocessorError,
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
LIBRARY_ENV = "COPROCESSOR_NATIVE_LIB"

# Status codes (native/risc0-py/src/status.rs). Every code but these two is an error.
STATUS_OK = 0
STATUS_DECLINED = 10
"""Only from `r0_ingest_blocks`: the fast path declined, the caller's reference path decides."""

ERRORS_BY_STATUS: dict[int, type[CoprocessorError]] = {
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

# Receipt kinds (R0_KIND_* in native/risc0-py/src/zkvm.rs).
ReceiptKind = Literal["composite", "succinct", "groth16", "fake"]
RECEIPT_KIND_CODES: dict[ReceiptKind, int] = {
    "composite": 0,
    "succinct": 1,
    "groth16": 2,
    "fake": 3,
}
RECEIPT_KIND_NAMES: dict[int, ReceiptKind] = {
    code: name for name, code in RECEIPT_KIND_CODES.items()
}

_DECLARATIONS = """
int32_t r0_program_from_elf(const uint8_t *elf, size_t elf_len,
                            uint8_t **out_blob, size_t *out_len, char **err);
int32_t r0_image_id(const uint8_t *blob, size_t blob_len, uint8_t *out_id, char **err);
int32_t r0_execute(const uint8_t *blob, size_t blob_len, const uint8_t *input, size_t input_len,
                   const uint8_t *assumptions, size_t assumptions_len,
                   uint32_t segment_po2, uint64_t max_cycles,
                   uint8_t **out_journal, size_t *out_journal_len,
                   uint64_t *out_total_cycles, uint64_t *out_user_cycles, uint64_t *out_segments,
                   char **err);
int32_t r0_prove(const uint8_t *blob, size_t blob_len, const uint8_t *input, size_t input_len,
                 const uint8_t *assumptions, size_t assumptions_len,
                 uint32_t segment_po2, uint64_t max_cycles, uint32_t keccak_po2, uint32_t kind,
                 uint32_t dev, uint8_t **out_receipt, size_t *out_receipt_len,
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
int32_t r0_ingest_blocks(const uint8_t *body, size_t body_len, const uint8_t *spec,
                         size_t spec_len, uint8_t **out, size_t *out_len, char **err);
int32_t r0_execute_split(const uint8_t *blob, size_t blob_len, const uint8_t *input,
                         size_t input_len, const uint8_t *assumptions, size_t assumptions_len,
                         uint32_t segment_po2, uint64_t max_cycles, uint32_t keccak_po2,
                         uint8_t **out_journal, size_t *out_journal_len,
                         uint8_t **out_segments, size_t *out_segments_len,
                         uint8_t **out_keccak_requests, size_t *out_keccak_requests_len,
                         uint8_t **out_assumptions, size_t *out_assumptions_len,
                         uint64_t *out_total_cycles, uint64_t *out_user_cycles,
                         uint64_t *out_segment_count, char **err);
int32_t r0_prove_segment(const uint8_t *segment, size_t segment_len,
                         uint8_t **out_receipt, size_t *out_receipt_len, char **err);
int32_t r0_join(const uint8_t *left, size_t left_len, const uint8_t *right, size_t right_len,
                uint8_t **out_receipt, size_t *out_receipt_len, char **err);
int32_t r0_prove_keccak(const uint8_t *request, size_t request_len,
                        uint8_t **out_receipt, size_t *out_receipt_len, char **err);
int32_t r0_union(const uint8_t *left, size_t left_len, const uint8_t *right, size_t right_len,
                 uint8_t **out_receipt, size_t *out_receipt_len, char **err);
int32_t r0_resolve(const uint8_t *conditional, size_t conditional_len,
                   const uint8_t *assumption, size_t assumption_len,
                   uint8_t **out_receipt, size_t *out_receipt_len, char **err);
int32_t r0_finalize(const uint8_t *root, size_t root_len, const uint8_t *journal,
                    size_t journal_len, uint8_t **out_receipt, size_t *out_receipt_len,
                    char **err);
void r0_free_bytes(uint8_t *ptr, size_t len);
void r0_free_string(char *ptr);
"""

_ffi = FFI()
_ffi.cdef(_DECLARATIONS)


def native_library_path() -> Path:
    """Where the cdylib is read from: $COPROCESSOR_NATIVE_LIB or build/lib/."""
    return Path(os.environ.get(LIBRARY_ENV) or REPO_ROOT / "build" / "lib" / "librisc0_py.so")


@lru_cache(maxsize=1)
def _library():
    path = native_library_path()
    if not path.is_file():
        raise ConfigError(f"native library not found at {path}: run `make setup`")
    try:
        return _ffi.dlopen(str(path))
    except OSError as exc:
        raise ConfigError(f"cannot load native library {path}: {exc}") from exc


def as_bytes(value: bytes | bytearray | memoryview, what: str) -> bytes:
    """A buffer argument as bytes; anything else is an InvalidArgument naming `what`."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidArgument(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


class _Call:
    """One native call: its error out-parameter and one owned output buffer."""

    def __init__(self) -> None:
        self.err = _ffi.new("char **")
        self.out = _ffi.new("uint8_t **")
        self.out_len = _ffi.new("size_t *")

    def message(self) -> str:
        """The error message Rust set, released."""
        if self.err[0] == _ffi.NULL:
            return "unknown error"
        text = _ffi.string(self.err[0]).decode("utf-8", "replace")
        _library().r0_free_string(self.err[0])
        self.err[0] = _ffi.NULL
        return text

    def check(self, status: int) -> None:
        """Raises the exception `status` maps to (InternalError for an unknown code)."""
        if status != STATUS_OK:
            raise ERRORS_BY_STATUS.get(status, InternalError)(self.message())

    def output(self) -> bytes:
        """Copies the owned output buffer out of Rust and releases it."""
        try:
            return bytes(_ffi.buffer(self.out[0], self.out_len[0])) if self.out_len[0] else b""
        finally:
            if self.out[0] != _ffi.NULL:
                _library().r0_free_bytes(self.out[0], self.out_len[0])


class NativeRun(NamedTuple):
    """What `execute` and `prove` return: the journal (execute) or the receipt (prove), and
    the run's statistics."""

    output: bytes
    total_cycles: int
    """The padded size of every segment (what proving pays for)."""
    user_cycles: int
    segments: int


def image_id(blob: bytes) -> bytes:
    """The 32-byte image ID of a program binary (`r0_image_id`)."""
    blob = as_bytes(blob, "program binary")
    out, call = _ffi.new("uint8_t[32]"), _Call()
    call.check(_library().r0_image_id(blob, len(blob), out, call.err))
    return bytes(_ffi.buffer(out, 32))


def program_from_elf(elf: bytes) -> bytes:
    """A guest ELF wrapped with the v1compat kernel into a program binary."""
    elf, call = as_bytes(elf, "elf"), _Call()
    call.check(_library().r0_program_from_elf(elf, len(elf), call.out, call.out_len, call.err))
    return call.output()


def _counters():
    """Three out-parameters: total cycles, user cycles, segments."""
    return _ffi.new("uint64_t *"), _ffi.new("uint64_t *"), _ffi.new("uint64_t *")


def join_frames(items: Sequence[bytes]) -> bytes:
    """A list of byte strings as one buffer, the way the native library frames lists: each
    item as its length (u32, little-endian) then its bytes (`buffers.rs`, "Lists")."""
    return b"".join(len(item).to_bytes(4, "little") + item for item in items)


def split_frames(data: bytes) -> list[bytes]:
    """The items of a framed list (the inverse of `join_frames`)."""
    items, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "little")
        if at + 4 + size > len(data):
            raise InternalError(f"truncated framed list from the native library at byte {at}")
        items.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return items


def _framed_receipts(receipts: Sequence[bytes], what: str) -> bytes:
    return join_frames([as_bytes(receipt, what) for receipt in receipts])


def execute(
    blob: bytes,
    input: bytes,
    *,
    segment_po2: int,
    max_cycles: int,
    assumptions: Sequence[bytes] = (),
) -> NativeRun:
    """Runs a program in the executor (`r0_execute`); the journal is the output. 0 keeps
    RISC Zero's segment size and sets no cycle limit. `assumptions` are encoded receipts the
    guest may verify (`env::verify`)."""
    blob, data, call = as_bytes(blob, "program binary"), as_bytes(input, "input"), _Call()
    framed = _framed_receipts(assumptions, "assumption receipt")
    total, user, segments = _counters()
    status = _library().r0_execute(
        blob,
        len(blob),
        data,
        len(data),
        framed,
        len(framed),
        segment_po2,
        max_cycles,
        call.out,
        call.out_len,
        total,
        user,
        segments,
        call.err,
    )
    call.check(status)
    return NativeRun(call.output(), total[0], user[0], segments[0])


def prove(
    blob: bytes,
    input: bytes,
    *,
    segment_po2: int,
    max_cycles: int,
    keccak_po2: int,
    kind: ReceiptKind,
    dev: bool,
    assumptions: Sequence[bytes] = (),
) -> NativeRun:
    """Proves a program's execution (`r0_prove`); the encoded receipt is the output. 0 keeps
    RISC Zero's segment size and keccak batch size and sets no cycle limit. `assumptions` are
    encoded receipts the guest may verify (`env::verify`)."""
    blob, data, call = as_bytes(blob, "program binary"), as_bytes(input, "input"), _Call()
    if kind not in RECEIPT_KIND_CODES:
        raise InvalidArgument(f"unknown receipt kind {kind!r}")
    framed = _framed_receipts(assumptions, "assumption receipt")
    total, user, segments = _counters()
    status = _library().r0_prove(
        blob,
        len(blob),
        data,
        len(data),
        framed,
        len(framed),
        segment_po2,
        max_cycles,
        keccak_po2,
        RECEIPT_KIND_CODES[kind],
        int(bool(dev)),
        call.out,
        call.out_len,
        total,
        user,
        segments,
        call.err,
    )
    call.check(status)
    return NativeRun(call.output(), total[0], user[0], segments[0])


class NativeSplit(NamedTuple):
    """What `execute_split` returns (`r0_execute_split`): the pieces split proving needs."""

    journal: bytes
    segments: list[bytes]
    """Encoded segments, in order."""
    keccak_requests: list[bytes]
    """Encoded keccak requests, in the order the guest made them."""
    assumptions: list[bytes]
    """In resolve order: b"" for the keccak assumption, else an encoded assumption receipt."""
    total_cycles: int
    user_cycles: int


def execute_split(
    blob: bytes,
    input: bytes,
    *,
    segment_po2: int,
    max_cycles: int,
    keccak_po2: int,
    assumptions: Sequence[bytes] = (),
) -> NativeSplit:
    """Executes a program into its segments, keccak requests and assumptions
    (`r0_execute_split`). 0 keeps RISC Zero's defaults and sets no cycle limit."""
    blob, data = as_bytes(blob, "program binary"), as_bytes(input, "input")
    framed = _framed_receipts(assumptions, "assumption receipt")
    journal, segments, keccaks, entries = _Call(), _Call(), _Call(), _Call()
    total, user, count = _counters()
    status = _library().r0_execute_split(
        blob,
        len(blob),
        data,
        len(data),
        framed,
        len(framed),
        segment_po2,
        max_cycles,
        keccak_po2,
        journal.out,
        journal.out_len,
        segments.out,
        segments.out_len,
        keccaks.out,
        keccaks.out_len,
        entries.out,
        entries.out_len,
        total,
        user,
        count,
        journal.err,
    )
    journal.check(status)
    outputs = [call.output() for call in (journal, segments, keccaks, entries)]
    split = NativeSplit(
        outputs[0],
        split_frames(outputs[1]),
        split_frames(outputs[2]),
        split_frames(outputs[3]),
        total[0],
        user[0],
    )
    if len(split.segments) != count[0]:
        raise InternalError(f"{len(split.segments)} segments returned, {count[0]} counted")
    return split


def _step(export: str, *inputs: tuple[bytes, str]) -> bytes:
    """Runs one split-proving export (buffers in, one encoded receipt out)."""
    arguments: list[object] = []
    for value, what in inputs:
        data = as_bytes(value, what)
        arguments += [data, len(data)]
    call = _Call()
    call.check(getattr(_library(), export)(*arguments, call.out, call.out_len, call.err))
    return call.output()


def prove_segment(segment: bytes) -> bytes:
    """A segment proven and lifted (`r0_prove_segment`): an encoded succinct receipt."""
    return _step("r0_prove_segment", (segment, "segment"))


def join(left: bytes, right: bytes) -> bytes:
    """Two consecutive succinct receipts joined (`r0_join`)."""
    return _step("r0_join", (left, "left receipt"), (right, "right receipt"))


def prove_keccak(request: bytes) -> bytes:
    """A keccak request proven (`r0_prove_keccak`): an encoded succinct receipt."""
    return _step("r0_prove_keccak", (request, "keccak request"))


def union(left: bytes, right: bytes) -> bytes:
    """Two keccak receipts (or unions) united (`r0_union`)."""
    return _step("r0_union", (left, "left receipt"), (right, "right receipt"))


def resolve(conditional: bytes, assumption: bytes) -> bytes:
    """The head assumption of `conditional` resolved by `assumption` (`r0_resolve`)."""
    return _step(
        "r0_resolve", (conditional, "conditional receipt"), (assumption, "assumption receipt")
    )


def finalize(root: bytes, journal: bytes) -> bytes:
    """The encoded `Receipt` of a session's root receipt and its journal (`r0_finalize`)."""
    return _step("r0_finalize", (root, "root receipt"), (journal, "journal"))


def decode_receipt(receipt: bytes) -> tuple[bytes, ReceiptKind]:
    """A receipt's journal and kind name (`r0_receipt_decode`); does not verify."""
    receipt, call, kind = as_bytes(receipt, "receipt"), _Call(), _ffi.new("uint32_t *")
    status = _library().r0_receipt_decode(
        receipt, len(receipt), call.out, call.out_len, kind, call.err
    )
    call.check(status)
    return call.output(), RECEIPT_KIND_NAMES[kind[0]]


def verify(receipt: bytes, image_id: bytes, *, allow_dev: bool) -> bytes:
    """The journal of a receipt that verifies against a 32-byte image ID (`r0_verify`)."""
    receipt, image_id = as_bytes(receipt, "receipt"), as_bytes(image_id, "image_id")
    if len(image_id) != 32:
        raise InvalidArgument(f"image_id must be 32 bytes, got {len(image_id)}")
    call = _Call()
    status = _library().r0_verify(
        receipt, len(receipt), image_id, int(bool(allow_dev)), call.out, call.out_len, call.err
    )
    call.check(status)
    return call.output()


def run_ethcore(command: bytes) -> bytes:
    """Runs one `ethcore::ops` command natively (the code the guests run).

    Typed wrappers live in `coprocessor.ethcore`; a failed check raises EthDataError.
    """
    command, call = as_bytes(command, "command"), _Call()
    call.check(_library().r0_ethcore(command, len(command), call.out, call.out_len, call.err))
    return call.output()


def run_query(command: bytes) -> bytes:
    """Runs one `r0_query` command: the query guest's core, natively (typed wrappers:
    `coprocessor.compiler.native`). Raises QueryEvaluationError, PlanRejectedError or
    EthDataError exactly where the guest fails."""
    command, call = as_bytes(command, "command"), _Call()
    call.check(_library().r0_query(command, len(command), call.out, call.out_len, call.err))
    return call.output()


def run_ingest_blocks(body: bytes | bytearray | memoryview, spec: bytes) -> bytes | None:
    """The indexer's native fast path (`r0_ingest_blocks`): a JSON-RPC batch response in,
    validated table columns out; None when it declines (the caller's reference path then
    decides). Every other status raises (typed wrapper: `coprocessor.ethcore.ingest_blocks`)."""
    body, spec, call = as_bytes(body, "body"), as_bytes(spec, "spec"), _Call()
    status = _library().r0_ingest_blocks(
        body, len(body), spec, len(spec), call.out, call.out_len, call.err
    )
    if status == STATUS_DECLINED:
        call.message()  # the reason is not kept: the reference path names the failed check
        return None
    call.check(status)
    return call.output()
