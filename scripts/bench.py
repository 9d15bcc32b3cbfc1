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
    Console(width=160).print(table)


def bench_ethcore_cycles() -> None:
    """Guest cycles of ethcore checks on mainnet data, accelerator vs software keccak."""
    from rich.console import Console
    from rich.table import Table

    sys.path.insert(0, str(REPO / "tests"))
    import ethcheck_inputs
    import mainnet

    from coprocessor.zkvm import Program, execute

    console = Console(width=160)
    if not mainnet.FIXTURES.is_dir():
        console.print(f"[yellow]skipped ethcore cycles: no fixtures at {mainnet.FIXTURES}[/]")
        return
    guests = {"accelerated": Program.load("ethcheck"), "software": Program.load("ethcheck-sw")}
    base = {k: execute(g, ethcheck_inputs.noop()).user_cycles for k, g in guests.items()}
    table = Table(title="ethcore in the guest (executor): user cycles above an empty run")
    for col in ("check", "keccak accelerator", "software keccak", "software / accelerator",
                "input bytes"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, build in ethcheck_inputs.CASES.items():
        command = build()
        cycles = {k: execute(g, command).user_cycles - base[k] for k, g in guests.items()}
        table.add_row(name, f"{cycles['accelerated']:,}", f"{cycles['software']:,}",
                      f"{cycles['software'] / cycles['accelerated']:.1f}x", f"{len(command):,}")  # fmt: skip
    console.print(table)
    console.print(f"empty run (guest start, read, commit): {base['accelerated']:,} user cycles; "
                  "anchor: Steel ~4.3M cycles per ERC20 balanceOf, ~4M per block of receipts")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="coprocessor benchmarks")
    parser.add_argument("--one", nargs=3, metavar=("GUEST", "SIZE", "ACTION"))
    parser.add_argument("--only", choices=["ethcore", "echo"], help="run one section")
    args = parser.parse_args()
    if args.one:
        guest, size, action = args.one
        assert guest == "echo"
        print(json.dumps(measure_echo(int(size), action)))
        return
    if args.only in (None, "ethcore"):
        bench_ethcore_cycles()
    if args.only in (None, "echo"):
        bench_echo()


if __name__ == "__main__":
    main()
