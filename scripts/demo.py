"""make demo: the coprocessor end to end, as far as it goes today.

Today: prove the `echo` guest for real (no dev mode), verify the receipt from
Python, and show what it cost. Later issues grow this into index -> query ->
prove -> deliver.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from coprocessor.zkvm import Program, execute, prove, verify  # noqa: E402


def main() -> None:
    console = Console()
    program = Program.load("echo")
    message = b"Hello from the coprocessor demo: this journal is proven."
    console.print(f"[bold]guest[/] echo, image ID [cyan]{program.image_id.hex()}[/]")

    started = time.perf_counter()
    run = execute(program, message)
    execute_s = time.perf_counter() - started

    with console.status("proving echo for real (composite receipt)..."):
        receipt = prove(program, message)
    started = time.perf_counter()
    journal = verify(receipt, program.image_id)
    verify_s = time.perf_counter() - started

    assert journal == hashlib.sha256(message).digest() + message
    table = Table(title="echo, proven and verified from Python")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("journal", f"sha256={journal[:32].hex()[:16]}... + {len(message)} bytes")
    table.add_row("cycles (total / user)", f"{receipt.stats.cycles:,} / {receipt.stats.user_cycles:,}")
    table.add_row("segments", str(receipt.stats.segments))
    table.add_row("execute time", f"{execute_s:.3f} s")
    table.add_row("proving time", f"{receipt.stats.seconds:.1f} s")
    table.add_row("verify time", f"{verify_s:.3f} s")
    table.add_row("receipt", f"{receipt.kind}, {len(receipt.to_bytes()):,} bytes")
    console.print(table)
    assert run.journal == journal
    console.print("[green]verified[/]: the journal is what the echo guest committed.")


if __name__ == "__main__":
    main()
