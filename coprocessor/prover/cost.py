"""The proving cost model: how many segments and keccak batches a query will have, how long
proving takes on this machine, and how many workers finish it within a time.

It reads a calibration that `make bench` measures on this machine (scripts/bench.py writes
`calibration.json` in the build cache): the seconds of each proving step (a segment of
2^po2 cycles proven and lifted, a join, a keccak batch, a union, a resolve) and the ratio
cycles each segment spends paging (a segment of 2^po2 cycles holds that many fewer user
cycles). Without a calibration the estimate
says so and gives counts only. A segment size it has not measured is scaled from the
nearest measured one in proportion to its rows (proving is about linear in rows).

Time with W workers: the plan's total work spread over W, but never below its critical
path (one segment, the join tree's depth, the keccak union's depth and the resolves in
sequence): `max(work / W, critical_path)`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from coprocessor import zkvm
from coprocessor.errors import ConfigError

CALIBRATION_VERSION = 1
CALIBRATION_FILE = "calibration.json"
# Cycles each segment spends paging memory in and out (measured with the query guest: about
# 55-60k whatever the segment size), so a segment of 2^po2 cycles holds 2^po2 minus this many
# user cycles; small segments are mostly paging.
DEFAULT_SEGMENT_OVERHEAD = 60_000


def calibration_path() -> Path:
    cache = os.environ.get("COPROCESSOR_CACHE", str(Path.home() / ".cache" / "coprocessor"))
    return Path(cache) / CALIBRATION_FILE


@dataclass(frozen=True)
class Calibration:
    segment_seconds: dict[int, float]  # po2 -> seconds to prove and lift one segment
    keccak_seconds: dict[int, float]  # keccak po2 -> seconds to prove one batch
    join_seconds: float
    union_seconds: float
    resolve_seconds: float
    segment_overhead: int  # cycles a segment spends paging, besides the user's
    machine: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": CALIBRATION_VERSION,
                "machine": self.machine,
                "segment_seconds": {str(k): v for k, v in self.segment_seconds.items()},
                "keccak_seconds": {str(k): v for k, v in self.keccak_seconds.items()},
                "join_seconds": self.join_seconds,
                "union_seconds": self.union_seconds,
                "resolve_seconds": self.resolve_seconds,
                "segment_overhead": self.segment_overhead,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        try:
            doc = json.loads(text)
            if doc.get("version") != CALIBRATION_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, not {CALIBRATION_VERSION}")
            return cls(
                segment_seconds={int(k): float(v) for k, v in doc["segment_seconds"].items()},
                keccak_seconds={int(k): float(v) for k, v in doc["keccak_seconds"].items()},
                join_seconds=float(doc["join_seconds"]),
                union_seconds=float(doc["union_seconds"]),
                resolve_seconds=float(doc["resolve_seconds"]),
                segment_overhead=int(doc["segment_overhead"]),
                machine=str(doc.get("machine", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"unreadable proving calibration: {exc}") from exc

    def save(self, path: Path | None = None) -> Path:
        path = path or calibration_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration | None:
        """This machine's calibration, or None when `make bench` has not written one."""
        path = path or calibration_path()
        if not path.exists():
            return None
        return cls.from_json(path.read_text())


def _scaled(measured: dict[int, float], po2: int) -> tuple[float, bool]:
    """Seconds at `po2` from the nearest measured size (scaled by rows); (seconds, exact)."""
    if not measured:
        raise ConfigError("the calibration measured no size")
    if po2 in measured:
        return measured[po2], True
    nearest = min(measured, key=lambda p: (abs(p - po2), -p))
    return measured[nearest] * 2.0 ** (po2 - nearest), False


@dataclass(frozen=True)
class CostEstimate:
    user_cycles: int
    segment_po2: int
    segments: int
    keccak_po2: int
    keccak_batches: int
    seconds_one_worker: float | None  # None: no calibration
    critical_path_seconds: float | None
    extrapolated: bool

    def seconds(self, workers: int) -> float | None:
        if self.seconds_one_worker is None or self.critical_path_seconds is None:
            return None
        return max(self.seconds_one_worker / workers, self.critical_path_seconds)

    def workers_within(self, seconds: float) -> int | None:
        """The fewest workers that finish within `seconds`; None if no number of workers
        can (the critical path is longer) or there is no calibration."""
        if self.seconds_one_worker is None or self.critical_path_seconds is None:
            return None
        if self.critical_path_seconds > seconds:
            return None
        return max(1, math.ceil(self.seconds_one_worker / seconds))

    def lines(self, within: float | None = None) -> list[str]:
        out = [
            f"proving   ~{self.segments} segment(s) of 2^{self.segment_po2} cycles, "
            f"{self.keccak_batches} keccak batch(es) of 2^{self.keccak_po2} rows"
        ]
        if self.seconds_one_worker is None:
            out.append("  no proving calibration on this machine: run `make bench` for times")
            return out
        note = " (sizes scaled from measured ones)" if self.extrapolated else ""
        times = ", ".join(
            f"{w} worker(s) ~{duration_text(self.seconds(w) or 0)}" for w in (1, 2, 4, 8)
        )
        out.append(f"  estimated on this machine{note}: {times}")
        if within is not None:
            need = self.workers_within(within)
            critical = duration_text(self.critical_path_seconds or 0)
            verdict = (
                f"{need} worker(s)"
                if need is not None
                else f"not possible (critical path ~{critical})"
            )
            out.append(f"  to finish within {duration_text(within)}: {verdict}")
        return out


def duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(
    user_cycles: int,
    keccak_permutations: int,
    *,
    segment_po2: int = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    calibration: Calibration | None = None,
) -> CostEstimate:
    """The cost of proving `user_cycles` cycles hashing `keccak_permutations` permutations."""
    overhead = calibration.segment_overhead if calibration else DEFAULT_SEGMENT_OVERHEAD
    room = 2**segment_po2 - overhead
    if room <= 0:
        raise ConfigError(
            f"segments of 2^{segment_po2} cycles hold no user cycles (~{overhead:,} go to paging)"
        )
    segments = max(1, math.ceil(user_cycles / room))
    keccak_po2 = zkvm.keccak_po2_for(keccak_permutations)
    per_batch = 2**keccak_po2 // zkvm.KECCAK_PERMUTE_ROWS
    batches = math.ceil(keccak_permutations / per_batch) if keccak_permutations else 0
    if calibration is None:
        return CostEstimate(
            user_cycles, segment_po2, segments, keccak_po2, batches, None, None, False
        )
    segment, exact_segment = _scaled(calibration.segment_seconds, segment_po2)
    keccak, exact_keccak = (
        _scaled(calibration.keccak_seconds, keccak_po2) if batches else (0.0, True)
    )
    resolves = 1 if batches else 0
    work = (
        segments * segment
        + (segments - 1) * calibration.join_seconds
        + batches * keccak
        + max(batches - 1, 0) * calibration.union_seconds
        + resolves * calibration.resolve_seconds
    )
    join_depth = math.ceil(math.log2(segments)) if segments > 1 else 0
    union_depth = math.ceil(math.log2(batches)) if batches > 1 else 0
    critical = (
        max(
            segment + join_depth * calibration.join_seconds,
            keccak + union_depth * calibration.union_seconds,
        )
        + resolves * calibration.resolve_seconds
    )
    return CostEstimate(
        user_cycles,
        segment_po2,
        segments,
        keccak_po2,
        batches,
        work,
        critical,
        not (exact_segment and exact_keccak),
    )


def estimate_query(compiled, *, calibration: Calibration | None = None) -> CostEstimate | None:
    """The cost of proving a compiled query (from its witness's cycle and keccak estimates);
    None when it was compiled without an index."""
    from coprocessor.compiler.witness import estimate_cycles, keccak_permutations

    if compiled.witness is None:
        return None
    return estimate(
        estimate_cycles(compiled.witness)["total"],
        keccak_permutations(compiled.witness),
        calibration=calibration if calibration is not None else Calibration.load(),
    )
