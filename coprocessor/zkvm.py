"""RISC Zero from Python: guest programs, execution, proofs and their verification.

`Program` is a guest binary with its image ID (checked against the IDs the guest build
recorded), `execute` runs it without proving, `prove` makes a `Receipt` (a fake one with
`dev=True`, for fast tests), `verify` checks a receipt against an image ID and returns its
journal. Both take `assumptions`: receipts the guest verifies (composition).

Split proving does what `prove(kind="succinct")` does in separate steps, each a function of
bytes that any process can run: `execute_split` gives a `SplitSession` (segments, keccak
requests, assumptions); `prove_segment` proves and lifts one segment; `join` joins two
consecutive receipts; `prove_keccak` and `union` prove the keccak requests and unite them;
`resolve` removes the session's head assumption; `finalize` makes the `Receipt`. The
planner that composes them is `coprocessor.prover`. The native calls underneath are
`coprocessor.ffi`'s.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from coprocessor import ffi
from coprocessor.errors import ConfigError, InvalidArgument, ProgramError
from coprocessor.ffi import ReceiptKind

__all__ = [
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

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_IDS_FILE = REPO_ROOT / "guest_programs" / "image_ids.json"
GUEST_DIR_ENV = "COPROCESSOR_GUEST_DIR"

# Segment sizes (po2 of the cycles per segment) RISC Zero documents for
# ExecutorEnv::segment_limit_po2: MIN_CYCLES_PO2 and MAX_CYCLES_PO2 of risc0-zkp (3.0.6-rc.1,
# pinned through risc0-zkvm 3.1.0-rc.1). At 13 the executor's 4113 reserved cycles per segment
# leave too few for a guest's first page-ins: the echo guest panics there (InternalError).
MIN_SEGMENT_PO2, MAX_SEGMENT_PO2 = 13, 24
# Segments of 2^19 cycles keep a proof within a few GiB on 2 cores; RISC Zero's
# default (2^20) needs about 16 GiB per segment.
DEFAULT_PROVE_SEGMENT_PO2 = 19

# Keccak-accelerator batch sizes (po2 of the keccak circuit's rows): KECCAK_PO2_RANGE and
# KECCAK_DEFAULT_PO2 of risc0-circuit-keccak (4.0.7-rc.1).
MIN_KECCAK_PO2, MAX_KECCAK_PO2, DEFAULT_KECCAK_PO2 = 14, 18, 17
# Rows of the keccak circuit per permutation: its KECCAK_PERMUTE_CYCLES.
KECCAK_PERMUTE_ROWS = 200
# Room `keccak_po2_for` leaves above the permutations it is told: they are an estimate
# (compiler.witness.keccak_permutations), and a batch too small costs one more batch proof.
KECCAK_HEADROOM_PERCENT = 25

PROVABLE_KINDS = ("composite", "succinct")


def guest_dir() -> Path:
    """Where built program binaries live: $COPROCESSOR_GUEST_DIR or build/guests/."""
    return Path(os.environ.get(GUEST_DIR_ENV) or REPO_ROOT / "build" / "guests")


def image_id_of(blob: bytes) -> bytes:
    """The 32-byte image ID of a program binary."""
    return ffi.image_id(blob)


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
        blob = ffi.as_bytes(blob, "program binary")
        return cls(name=name, blob=blob, image_id=ffi.image_id(blob))

    @classmethod
    def from_elf(cls, elf: bytes, *, name: str = "program") -> Program:
        """Wraps a guest ELF with the v1compat kernel."""
        return cls.from_bytes(ffi.program_from_elf(elf), name=name)


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
        data = ffi.as_bytes(data, "receipt")
        journal, kind = ffi.decode_receipt(data)
        return cls(data=data, journal=journal, kind=kind)

    def to_bytes(self) -> bytes:
        return self.data

    @property
    def is_fake(self) -> bool:
        return self.kind == "fake"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Receipt) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


def _segment_po2_argument(segment_po2: int | None) -> int:
    """The native argument for `segment_po2` (0: RISC Zero's default)."""
    if segment_po2 is None:
        return 0
    if not isinstance(segment_po2, int) or not MIN_SEGMENT_PO2 <= segment_po2 <= MAX_SEGMENT_PO2:
        raise InvalidArgument(
            f"segment_po2 must be an int in [{MIN_SEGMENT_PO2}, {MAX_SEGMENT_PO2}], "
            f"got {segment_po2!r}"
        )
    return segment_po2


def _max_cycles_argument(max_cycles: int | None) -> int:
    """The native argument for `max_cycles` (0: no limit)."""
    if max_cycles is None:
        return 0
    if not isinstance(max_cycles, int) or not 0 < max_cycles < 2**63:
        raise InvalidArgument(f"max_cycles must be a positive int, got {max_cycles!r}")
    return max_cycles


def _keccak_po2_argument(keccak_po2: int | None) -> int:
    """The native argument for `keccak_po2` (0: RISC Zero's default)."""
    if keccak_po2 is None:
        return 0
    if not isinstance(keccak_po2, int) or not MIN_KECCAK_PO2 <= keccak_po2 <= MAX_KECCAK_PO2:
        raise InvalidArgument(
            f"keccak_po2 must be an int in [{MIN_KECCAK_PO2}, {MAX_KECCAK_PO2}], got {keccak_po2!r}"
        )
    return keccak_po2


def _assumptions_argument(assumptions: Sequence[Receipt]) -> list[bytes]:
    """The encoded receipts offered to the guest's `env::verify`."""
    if isinstance(assumptions, (bytes, bytearray, memoryview, Receipt)):
        raise InvalidArgument("assumptions must be a sequence of Receipt, not a single value")
    encoded = []
    for index, receipt in enumerate(assumptions):
        if not isinstance(receipt, Receipt):
            raise InvalidArgument(
                f"assumptions[{index}] must be a Receipt, not {type(receipt).__name__}"
            )
        encoded.append(receipt.data)
    return encoded


def execute(
    program: Program,
    input: bytes,
    *,
    segment_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: Sequence[Receipt] = (),
) -> Execution:
    """Runs a guest in the executor (no proof). Guest failure raises ExecutionError.

    `max_cycles` bounds the run (ExecutionError past it); None means no bound. `assumptions`
    are receipts the guest may verify with `env::verify(image_id, journal)` (composition);
    those it does not verify are ignored. The executor matches them by claim only: proving
    checks their seals.
    """
    data = ffi.as_bytes(input, "input")
    run = ffi.execute(
        program.blob,
        data,
        segment_po2=_segment_po2_argument(segment_po2),
        max_cycles=_max_cycles_argument(max_cycles),
        assumptions=_assumptions_argument(assumptions),
    )
    return Execution(run.output, run.total_cycles, run.user_cycles, run.segments)


def prove(
    program: Program,
    input: bytes,
    *,
    kind: Literal["composite", "succinct"] = "composite",
    dev: bool = False,
    segment_po2: int | None = DEFAULT_PROVE_SEGMENT_PO2,
    max_cycles: int | None = None,
    keccak_po2: int | None = None,
    assumptions: Sequence[Receipt] = (),
) -> Receipt:
    """Proves a guest's execution. `dev=True` makes a fake receipt (no proof) for fast tests.

    `keccak_po2` (14..18, None: RISC Zero's 17) sizes the keccak-accelerator batches: each
    costs a keccak-circuit proof of 2^po2 rows and holds 2^po2 / 200 permutations. A guest
    that hashes little proves several times faster with 14 (see `keccak_po2_for`).

    `assumptions` are receipts the guest may verify with `env::verify` (composition): a
    composite receipt carries the ones it verified, a succinct one has them resolved. Fake
    receipts are refused (InvalidArgument) unless `dev=True`.
    """
    keccak_po2_arg = _keccak_po2_argument(keccak_po2)
    encoded_assumptions = _assumptions_argument(assumptions)
    if kind not in PROVABLE_KINDS:
        raise InvalidArgument(f"kind must be one of {sorted(PROVABLE_KINDS)}, got {kind!r}")
    data = ffi.as_bytes(input, "input")
    started = time.perf_counter()
    run = ffi.prove(
        program.blob,
        data,
        segment_po2=_segment_po2_argument(segment_po2),
        max_cycles=_max_cycles_argument(max_cycles),
        keccak_po2=keccak_po2_arg,
        kind=kind,
        dev=dev,
        assumptions=encoded_assumptions,
    )
    seconds = time.perf_counter() - started
    receipt = Receipt.from_bytes(run.output)
    stats = ProofStats(run.total_cycles, run.user_cycles, run.segments, seconds)
    return Receipt(data=receipt.data, journal=receipt.journal, kind=receipt.kind, stats=stats)


def keccak_po2_for(permutations: int) -> int:
    """The smallest keccak batch (po2 14..17) holding `permutations` with room to spare: one
    batch proof instead of a 2^17-row one for guests that hash little; 17 (RISC Zero's
    default) once several batches would be needed anyway."""
    needed = permutations * (100 + KECCAK_HEADROOM_PERCENT) // 100
    for po2 in range(MIN_KECCAK_PO2, DEFAULT_KECCAK_PO2):
        if needed <= (1 << po2) // KECCAK_PERMUTE_ROWS:
            return po2
    return DEFAULT_KECCAK_PO2


def verify(receipt: Receipt | bytes, image_id: bytes, *, allow_dev: bool = False) -> bytes:
    """Verifies a receipt against an image ID and returns its journal.

    Raises VerificationError when it does not verify. Fake (dev) receipts fail
    unless `allow_dev=True`, whatever RISC0_DEV_MODE says.
    """
    data = receipt.to_bytes() if isinstance(receipt, Receipt) else receipt
    return ffi.verify(data, image_id, allow_dev=allow_dev)


KECCAK_ASSUMPTION = "keccak"
"""An entry of `SplitSession.assumptions` resolved by the root of the keccak unions."""


@dataclass(frozen=True)
class SplitSession:
    """A guest run cut into the pieces split proving proves one by one (`execute_split`).

    The session's receipt is: every segment proven and lifted (`prove_segment`), joined in
    segment order (`join`: any tree that keeps the order, e.g. a balanced one); every keccak
    request proven (`prove_keccak`) and united (`union`) in the shape of RISC Zero's Merkle
    mountain range (requests in order, equal heights merged as they come, then the peaks
    folded from the oldest); then each of `assumptions`, in order, resolved (`resolve`) with
    the keccak root for `KECCAK_ASSUMPTION` or with `assumption_receipts[i]` for an index i;
    finally `finalize(root, journal)`.
    """

    journal: bytes
    segments: list[bytes] = field(repr=False)
    """Encoded segments, in order (at least one)."""
    keccak_requests: list[bytes] = field(repr=False)
    """Encoded keccak-accelerator requests, in the order the guest made them."""
    assumptions: list[str | int]
    """The session's assumptions in resolve order: `KECCAK_ASSUMPTION` or an index into
    `assumption_receipts`."""
    assumption_receipts: list[bytes] = field(repr=False)
    """Encoded succinct receipts of the caller's assumptions that the guest verified."""
    cycles: int
    """Total cycles: the padded size of every segment (what proving pays for)."""
    user_cycles: int


def execute_split(
    program: Program,
    input: bytes,
    *,
    segment_po2: int | None = DEFAULT_PROVE_SEGMENT_PO2,
    keccak_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: Sequence[Receipt] = (),
) -> SplitSession:
    """Runs a guest in the executor and keeps what proving it needs (no proof yet).

    Arguments as for `prove`. Split proving resolves succinct assumption receipts only: a
    guest verifying a receipt of another kind raises InvalidArgument. Guest failure raises
    ExecutionError.
    """
    keccak_po2_arg = _keccak_po2_argument(keccak_po2)
    run = ffi.execute_split(
        program.blob,
        ffi.as_bytes(input, "input"),
        segment_po2=_segment_po2_argument(segment_po2),
        max_cycles=_max_cycles_argument(max_cycles),
        keccak_po2=keccak_po2_arg,
        assumptions=_assumptions_argument(assumptions),
    )
    order: list[str | int] = []
    receipts: list[bytes] = []
    for entry in run.assumptions:
        if entry:
            order.append(len(receipts))
            receipts.append(entry)
        else:
            order.append(KECCAK_ASSUMPTION)
    return SplitSession(
        journal=run.journal,
        segments=run.segments,
        keccak_requests=run.keccak_requests,
        assumptions=order,
        assumption_receipts=receipts,
        cycles=run.total_cycles,
        user_cycles=run.user_cycles,
    )


def prove_segment(segment: bytes) -> bytes:
    """Proves one of `SplitSession.segments` and lifts it: an encoded succinct receipt."""
    return ffi.prove_segment(segment)


def join(left: bytes, right: bytes) -> bytes:
    """Joins the succinct receipts of two consecutive runs of segments (`left` first)."""
    return ffi.join(left, right)


def prove_keccak(request: bytes) -> bytes:
    """Proves one of `SplitSession.keccak_requests`: an encoded succinct receipt."""
    return ffi.prove_keccak(request)


def union(left: bytes, right: bytes) -> bytes:
    """Unites two keccak receipts (or unions of them); the order of the two does not matter,
    the shape of the tree does (see `SplitSession`)."""
    return ffi.union(left, right)


def resolve(conditional: bytes, assumption: bytes) -> bytes:
    """Resolves the head assumption of a session's receipt with the receipt that proves it
    (the keccak root or one of `SplitSession.assumption_receipts`)."""
    return ffi.resolve(conditional, assumption)


def finalize(root: bytes, journal: bytes) -> Receipt:
    """The session's `Receipt` (succinct) from its root receipt (every segment joined, every
    assumption resolved) and its journal; it verifies like `prove(kind="succinct")`'s.
    A root that does not prove exactly `journal` raises VerificationError."""
    return Receipt.from_bytes(ffi.finalize(root, ffi.as_bytes(journal, "journal")))
