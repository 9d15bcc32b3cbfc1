"""`coprocessor history prove` (the pending batches of the block-hash accumulator, resumable)
and `coprocessor history status` (what the accumulator covers and what is still pending)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from coprocessor.cli.app import err, fail, out
from coprocessor.errors import CoprocessorError, InvalidArgument
from coprocessor.store import DEFAULT_DB

history_app = typer.Typer(
    no_args_is_help=True,
    help="The block-hash accumulator: prove batches of headers into keccak MMRs.",
)


class _HeaderRate(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} headers/s" if speed else "… headers/s", style="cyan")


def _state(step) -> dict | None:
    if step is None:
        return None
    j = step.journal
    return {
        "steps": step.seq + 1,
        "chain_id": j.chain_id,
        "image_id": "0x" + j.self_image_id.hex(),
        "dev": step.dev,
        "origin": j.origin,
        "earliest": j.earliest,
        "latest": j.latest,
        "latest_hash": "0x" + j.latest_hash.hex(),
        "forward_size": j.forward.size,
        "backward_size": j.backward.size,
        "forward_root": "0x" + j.forward_root.hex(),
        "backward_root": "0x" + j.backward_root.hex(),
        "history_root": "0x" + j.history_root.hex(),
        "receipt_kind": step.receipt.kind,
    }


def _open(db: Path, steps: Path | None):
    from coprocessor.history import StepLog, default_path
    from coprocessor.store import Store

    if not db.exists():
        raise InvalidArgument(f"no index at {db}")
    return Store(db, read_only=True), StepLog(steps or default_path(db))


def prove(
    db: Annotated[Path, typer.Option(help="DuckDB index")] = Path(DEFAULT_DB),
    batch: Annotated[int, typer.Option(help="headers per batch")] = 1024,
    dev: Annotated[bool, typer.Option(help="fake receipts (no proof), for tests")] = False,
    backward: Annotated[
        bool, typer.Option(help="backfill toward the index's first block instead of forward")
    ] = False,
    origin: Annotated[
        int | None, typer.Option(help="first block of the first batch (new accumulator only)")
    ] = None,
    max_batches: Annotated[
        int | None, typer.Option(help="stop after this many batches (resume later)")
    ] = None,
    steps: Annotated[
        Path | None, typer.Option(help="SQLite step log (default: <db>.history.sqlite)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
):
    """Proves the pending batches (resumable: each proven step is recorded at once)."""
    from coprocessor.history import HistoryProver

    try:
        store, log = _open(db, steps)
        with store, log:
            prover = HistoryProver(store, log, dev=dev)
            pending = prover.pending(batch=batch, backward=backward, origin=origin)
            if max_batches is not None:
                pending = pending[: max(0, max_batches)]
            total = sum(b.size for b in pending)
            columns = (
                TextColumn("[bold]proving history"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[step]}"),
                _HeaderRate(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            show = not quiet and not json_out
            with Progress(*columns, console=err, disable=not show) as bar:
                task = bar.add_task("history", total=total, step="")
                for item in pending:
                    bar.update(task, step=f"blocks {item.first:,}..{item.last:,}")
                    step = prover.prove_batch(item)
                    cycles = f" · {step.user_cycles:,} user cycles" if step.user_cycles else ""
                    bar.update(
                        task,
                        advance=item.size,
                        step=f"step {step.seq} · {step.journal.earliest:,}.."
                        f"{step.journal.latest:,}{cycles}",
                    )
            state = _state(log.last())
    except CoprocessorError as exc:
        fail(exc)
    summary = {"proven_batches": len(pending), "proven_headers": total, "state": state}
    if json_out:
        out.print_json(json.dumps(summary))
    elif state:
        err.print(
            f"proved {len(pending)} batch(es), {total:,} headers; accumulator covers "
            f"{state['earliest']:,}..{state['latest']:,} (historyRoot {state['history_root']})"
        )


def status(
    db: Annotated[Path, typer.Option(help="DuckDB index")] = Path(DEFAULT_DB),
    batch: Annotated[int, typer.Option(help="headers per batch (for the pending count)")] = 1024,
    steps: Annotated[
        Path | None, typer.Option(help="SQLite step log (default: <db>.history.sqlite)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """What the accumulator covers, and the batches still pending against the index."""
    from coprocessor.history import plan_batches

    try:
        store, log = _open(db, steps)
        with store, log:
            checkpoint = store.indexed_checkpoint()
            last = log.last()
            state = _state(last)
            journal = last.journal if last else None
            forward = plan_batches(
                checkpoint.first_block, checkpoint.last_block, journal, batch=batch
            )
            backward = (
                plan_batches(
                    checkpoint.first_block,
                    checkpoint.last_block,
                    journal,
                    batch=batch,
                    backward=True,
                )
                if journal
                else []
            )
    except CoprocessorError as exc:
        fail(exc)
    pending = {
        "forward_batches": len(forward),
        "forward_headers": sum(b.size for b in forward),
        "backward_batches": len(backward),
        "backward_headers": sum(b.size for b in backward),
    }
    data = {
        "db": str(db),
        "index": {"first_block": checkpoint.first_block, "last_block": checkpoint.last_block},
        "state": state,
        "pending": pending,
    }
    if json_out:
        out.print_json(json.dumps(data))
        return
    t = Table(title=f"history of {db}")
    t.add_column("item")
    t.add_column("value", justify="right")
    t.add_row("index", f"{checkpoint.first_block:,}..{checkpoint.last_block:,}")
    if state is None:
        t.add_row("accumulator", "none yet: run `coprocessor history prove`")
    else:
        for key, value in state.items():
            t.add_row(key, f"{value:,}" if type(value) is int and key != "chain_id" else str(value))
    for key, count in pending.items():
        t.add_row(f"pending {key.replace('_', ' ')}", f"{count:,}")
    out.print(t)
