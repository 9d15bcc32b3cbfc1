"""The proving queue's values: job states, a queued `Job`, the `ProvingTask` a worker proves
(everything it needs, so it never opens the DuckDB index) and the `JobResult` it stores.

Rows are JSON with exact integers (Python's json reads and writes ints of any size) and bytes
as 0x-hex text (no result column holds text, so a string is always bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    PROVING = "proving"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


def _encode_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, str):
        return bytes.fromhex(value[2:])
    return value


def encode_rows(rows: list[tuple]) -> list[list]:
    """Rows as JSON values: ints exact, bytes as 0x-hex, bool and None as they are."""
    return [[_encode_value(v) for v in row] for row in rows]


def decode_rows(rows: list[list]) -> list[tuple]:
    return [tuple(_decode_value(v) for v in row) for row in rows]


@dataclass(frozen=True)
class ProvingTask:
    """What a worker proves: the guest's input (compiled by the server), the journal the
    compiler expects (a proof of any other journal fails the job) and how to prove."""

    guest_input: bytes
    expected_journal: bytes
    program: str = "query"
    kind: str = "composite"  # "composite" or "succinct"
    dev: bool = False
    segment_po2: int | None = None
    keccak_po2: int | None = None
    # what the result is read with: columns, column_types, param_types, sql, rows (encoded)
    meta: dict = field(default_factory=dict)

    def settings_json(self) -> str:
        return json.dumps(
            {
                "program": self.program,
                "kind": self.kind,
                "dev": self.dev,
                "segment_po2": self.segment_po2,
                "keccak_po2": self.keccak_po2,
                "meta": self.meta,
            },
            sort_keys=True,
        )

    @classmethod
    def from_stored(cls, guest_input: bytes, expected: bytes, settings: str) -> ProvingTask:
        return cls(guest_input=guest_input, expected_journal=expected, **json.loads(settings))


@dataclass(frozen=True)
class JobResult:
    """A finished proof: receipt bytes, its journal and the proving statistics."""

    journal: bytes
    receipt: bytes
    image_id: bytes
    cycles: int
    user_cycles: int
    segments: int
    proving_seconds: float

    def stats_json(self) -> str:
        return json.dumps(
            {
                "image_id": self.image_id.hex(),
                "cycles": self.cycles,
                "user_cycles": self.user_cycles,
                "segments": self.segments,
                "proving_seconds": self.proving_seconds,
            }
        )


@dataclass(frozen=True)
class Job:
    """One job as stored. `result` and `receipt` are set once DONE."""

    id: str
    request_id: str
    request: dict
    state: JobState
    attempts: int
    worker: str
    segments_done: int
    segments_total: int
    error_kind: str
    error_message: str
    created: float
    updated: float
    query_hash: bytes
    meta: dict
    journal: bytes | None = None
    stats: dict | None = None

    @property
    def rows(self) -> list[tuple]:
        return decode_rows(self.meta.get("rows", []))
