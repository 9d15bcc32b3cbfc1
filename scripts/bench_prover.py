"""Split proving figures (issue 14), as ratios against baselines measured in the same run:

1. the overhead of split proving: the same query proven monolithically (RISC Zero's
   `prove`, composite) and split in this process (every segment lifted, joined, resolved),
   per segment;
2. wall time of the same multi-segment query with 1 and 2 local worker processes and on a
   Ray cluster of two nodes on 127.0.0.1 (ratios against 1 worker);
3. the calibration `--explain` reads (coprocessor/prover/cost.py): seconds per step kind and
   segment size, written to the build cache.

Usage: bench_prover.py [--no-ray] [--no-calibration-write]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from coprocessor import zkvm  # noqa: E402
from coprocessor.compiler.journal import guest_input, keccak_po2  # noqa: E402
from coprocessor.prover import (  # noqa: E402
    InlineExecutor,
    LocalExecutor,
    RayExecutor,
    Step,
    prove_split,
)
from coprocessor.prover.cost import Calibration  # noqa: E402

QUERY = "code_hash_at_block"  # one header and one account proof
WORKERS_PO2 = 16  # small segments: several of them, so workers have something to share
CALIBRATION_PO2S = (16, 17)


class TimedInline(InlineExecutor):
    """The inline executor, timing each step (steps run one after another here)."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def run(self, plan, session, on_step):
        last = time.perf_counter()

        def timed(step: Step) -> None:
            nonlocal last
            now = time.perf_counter()
            self.seconds[step.op].append(now - last)
            last = now
            on_step(step)

        return super().run(plan, session, timed)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray cluster")
    parser.add_argument(
        "--no-calibration-write", action="store_true", help="print the calibration only"
    )
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from coprocessor.indexer import Indexer
    from coprocessor.sdk import Coprocessor
    from coprocessor.store import Store

    from support.catalogue import CAT, params_for
    from support.devchain import start_devnode
    from support.ray_cluster import ray_cluster

    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        node = start_devnode()
        store = Store(Path(tmp) / "index.duckdb")
        Indexer(node.client, store).run(first=0)
        cp = Coprocessor(store, rpc=node.url)
        compiled = cp.compile(CAT[QUERY], params=params_for((node, store, None), QUERY))
        data, k_po2 = guest_input(compiled, cp.chain_id), keccak_po2(compiled)
        program = cp.program

        # 1 + 3: monolithic vs split in this process, and the calibration
        overhead = Table(title=f"split proving overhead ({QUERY}, real proofs, this process)")
        for col in ("segment po2", "segments", "monolithic composite", "split (succinct)"):
            overhead.add_column(col, justify="right")
        overhead.add_column("split - monolithic per segment", justify="right")
        per_op: dict[str, list[float]] = defaultdict(list)
        segment_seconds: dict[int, float] = {}
        keccak_seconds: dict[int, float] = {}
        overheads: list[int] = []
        split_wall: dict[int, float] = {}
        for po2 in CALIBRATION_PO2S:
            started = time.perf_counter()
            mono = zkvm.prove(program, data, segment_po2=po2, keccak_po2=k_po2)
            mono_s = time.perf_counter() - started
            timed = TimedInline()
            started = time.perf_counter()
            split = prove_split(program, data, executor=timed, segment_po2=po2, keccak_po2=k_po2)
            split_s = split_wall[po2] = time.perf_counter() - started
            assert split.journal == mono.journal == compiled.journal
            n = split.stats.segments
            overheads.append(2**po2 - split.stats.user_cycles // n)
            segment_seconds[po2] = _mean(timed.seconds["segment"])
            if timed.seconds["keccak"]:
                keccak_seconds[k_po2] = _mean(timed.seconds["keccak"])
            for op in ("join", "union", "resolve"):
                per_op[op] += timed.seconds[op]
            overhead.add_row(
                str(po2),
                str(n),
                f"{mono_s:.1f} s",
                f"{split_s:.1f} s ({split_s / mono_s:.2f}x)",
                f"{(split_s - mono_s) / n:.1f} s",
            )
        console.print(overhead)
        steps = Table(title="seconds per step (mean, this process)")
        steps.add_column("step")
        steps.add_column("seconds", justify="right")
        for po2, s in segment_seconds.items():
            steps.add_row(f"prove + lift a 2^{po2} segment", f"{s:.2f}")
        for po2, s in keccak_seconds.items():
            steps.add_row(f"prove a 2^{po2} keccak batch", f"{s:.2f}")
        for op in ("join", "union", "resolve"):
            steps.add_row(op, f"{_mean(per_op[op]):.2f}" if per_op[op] else "n/a")
        console.print(steps)
        calibration = Calibration(
            segment_seconds=segment_seconds,
            keccak_seconds=keccak_seconds,
            join_seconds=_mean(per_op["join"]),
            union_seconds=_mean(per_op["union"]) or _mean(per_op["join"]),
            resolve_seconds=_mean(per_op["resolve"]) or _mean(per_op["join"]),
            segment_overhead=max(0, min(overheads)),
            machine=platform.node(),
        )
        if args.no_calibration_write:
            console.print(calibration.to_json())
        else:
            console.print(f"calibration written to {calibration.save()}")

        # 2: the same multi-segment query, 1 and 2 local workers, Ray with two nodes
        workers = Table(title=f"wall time by executor ({QUERY}, 2^{WORKERS_PO2} segments)")
        for col in ("executor", "wall", "vs 1 worker"):
            workers.add_column(col, justify="right")

        def timed_run(executor) -> float:
            started = time.perf_counter()
            receipt = prove_split(
                program, data, executor=executor, segment_po2=WORKERS_PO2, keccak_po2=k_po2
            )
            assert zkvm.verify(receipt, program.image_id) == compiled.journal
            return time.perf_counter() - started

        # 1 worker: the split run at this po2 above (the same steps, one after another)
        one = split_wall[WORKERS_PO2] if WORKERS_PO2 in split_wall else timed_run(InlineExecutor())
        workers.add_row("1 worker (this process)", f"{one:.1f} s", "1.00x")
        two = timed_run(LocalExecutor(2))
        workers.add_row("2 local worker processes", f"{two:.1f} s", f"{one / two:.2f}x")
        if not args.no_ray:
            with ray_cluster(nodes=2) as cluster, RayExecutor(cluster.address) as ray_exec:
                ray_s = timed_run(ray_exec)
            workers.add_row("Ray, 2 nodes x 1 CPU", f"{ray_s:.1f} s", f"{one / ray_s:.2f}x")
        console.print(workers)
        console.print("(speed-ups above 1x mean faster than one worker; 2 cores on this machine)")
        cp.close()
        store.close()
        node.close()


if __name__ == "__main__":
    main()
