"""make bench: figures measured on this machine, in one run.

Each measurement runs in its own subprocess so peak memory (max RSS) is that
of one job. Timings are noisy on shared machines; compare the ratios printed
beside them (same run, same machine), not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure_echo(size: int, action: str) -> dict:
    """Runs in a child process: one execute or one real composite proof of echo."""
    from coprocessor.zkvm import Program, execute, prove, verify

    program = Program.load("echo")
    data = os.urandom(size)
    started = time.perf_counter()
    if action == "execute":
        run = execute(program, data)
        return {"seconds": time.perf_counter() - started, "cycles": run.cycles,
                "user_cycles": run.user_cycles, "segments": run.segments}  # fmt: skip
    receipt = prove(program, data, kind=action)
    seconds = time.perf_counter() - started
    verify_started = time.perf_counter()
    verify(receipt, program.image_id)
    return {"seconds": seconds, "verify_seconds": time.perf_counter() - verify_started,
            "cycles": receipt.stats.cycles, "user_cycles": receipt.stats.user_cycles,
            "segments": receipt.stats.segments, "receipt_bytes": len(receipt.to_bytes())}  # fmt: skip


def run_child(*args: str) -> dict:
    """Like in_child, reading peak RSS with wait4 so each job's own peak is reported."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--one", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"benchmark child {args} failed with exit {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def bench_echo() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="echo guest: execute vs real proof (composite and succinct)")
    for col in ("input", "cycles", "user cycles", "segments", "execute s", "prove s",
                "prove/execute", "verify s", "peak MiB (prove)", "receipt bytes", "kind"):  # fmt: skip
        table.add_column(col, justify="right")
    for size in (1024, 64 * 1024):
        run = run_child("echo", str(size), "execute")
        for kind in ("composite", "succinct"):
            proof = run_child("echo", str(size), kind)
            table.add_row(
                f"{size // 1024} KiB", f"{proof['cycles']:,}", f"{proof['user_cycles']:,}",
                str(proof["segments"]), f"{run['seconds']:.3f}", f"{proof['seconds']:.1f}",
                f"{proof['seconds'] / run['seconds']:.0f}x", f"{proof['verify_seconds']:.3f}",
                f"{proof['peak_mib']:.0f}", f"{proof['receipt_bytes']:,}", kind,
            )  # fmt: skip
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description="coprocessor benchmarks")
    parser.add_argument("--one", nargs=3, metavar=("GUEST", "SIZE", "ACTION"))
    args = parser.parse_args()
    if args.one:
        guest, size, action = args.one
        assert guest == "echo"
        print(json.dumps(measure_echo(int(size), action)))
        return
    bench_echo()


if __name__ == "__main__":
    main()
