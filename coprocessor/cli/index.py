"""`coprocessor index` (with `--follow`), `index status` and `export`: a JSON-RPC node into the
DuckDB index, what the index holds, and its tables as Parquet."""

from __future__ import annotations

import json
import sys
import threading
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from coprocessor.cli.app import err, fail, out
from coprocessor.errors import CoprocessorError, InvalidArgument
from coprocessor.store import DEFAULT_DB, TABLES, Store


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} blocks/s" if speed else "… blocks/s", style="cyan")


def _tracked(track: list[str] | None, config: Path | None):
    from coprocessor.types import Tracked

    specs = list(track or ())
    if config is not None:
        try:
            data = tomllib.loads(config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidArgument(f"cannot read config {config}: {exc}") from exc
        for item in data.get("track", []):
            if isinstance(item, str):
                specs.append(item)
            else:
                specs.append(
                    item["address"] + ":" + ",".join(str(s) for s in item.get("slots", []))
                )
    return tuple(Tracked.parse(s) for s in specs)


def index(
    ctx: typer.Context,
    rpc: Annotated[str | None, typer.Option(help="JSON-RPC URL of the node")] = None,
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    from_: Annotated[
        int | None, typer.Option("--from", help="first block (fresh index only)")
    ] = None,
    to: Annotated[
        int | None, typer.Option(help="last block (default: head - confirmations)")
    ] = None,
    follow: Annotated[bool, typer.Option(help="keep tailing the head")] = False,
    confirmations: Annotated[int, typer.Option(help="stay this many blocks behind the head")] = 0,
    max_reorg_depth: Annotated[int, typer.Option(help="deeper reorgs stop with an error")] = 64,
    track: Annotated[
        list[str] | None, typer.Option(help="0xADDR[:slot,slot] to index each block (repeat)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file with track = [...]")] = None,
    workers: Annotated[int, typer.Option(help="concurrent JSON-RPC batches")] = 3,
    chunk: Annotated[int, typer.Option(help="initial blocks per batch (adapts)")] = 32,
    poll: Annotated[float, typer.Option(help="--follow poll interval, seconds")] = 1.0,
    retries: Annotated[
        int, typer.Option(help="retries per request (429, 5xx, timeouts, drops)")
    ] = 8,
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 15.0,
    commit_blocks: Annotated[
        int, typer.Option(help="at most this many blocks per transaction")
    ] = 2000,
    commit_seconds: Annotated[float, typer.Option(help="commit at least this often")] = 2.0,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable summary")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
):
    """Pull blocks, transactions, receipts, logs, withdrawals (and tracked state) into DuckDB."""
    if ctx.invoked_subcommand is not None:
        return
    if rpc is None:
        err.print("[bold red]error:[/] --rpc URL is required")
        raise typer.Exit(2)
    from coprocessor.chain import RetryPolicy, RpcClient
    from coprocessor.indexer import Indexer, IndexerConfig

    try:
        cfg = IndexerConfig(
            confirmations=confirmations,
            max_reorg_depth=max_reorg_depth,
            tracked=_tracked(track, config),
            workers=workers,
            chunk_blocks=chunk,
            poll_interval=poll,
            commit_blocks=commit_blocks,
            commit_seconds=commit_seconds,
        )
        retry = RetryPolicy(max_retries=retries)
        with RpcClient(rpc, timeout=timeout, retry=retry) as client, Store(db) as store:
            ix = Indexer(client, store, cfg)
            ix.log = lambda m: err.print(f"[yellow]{m}[/]")
            cp = store.checkpoint()
            start = cp.last_block + 1 if cp else (from_ or 0)
            target = to if to is not None else client.block_number() - confirmations
            show = not quiet and not json_out and sys.stderr.isatty()
            _index_with_progress(ix, start, target, first=from_, follow=follow, show=show)
            summary = _index_summary(db, store, ix, client)
            if json_out:
                out.print_json(json.dumps(summary))
            elif not quiet:
                s = ix.stats
                err.print(
                    f"indexed {s.blocks:,} blocks ({s.rows:,} rows) in {s.seconds:.1f}s; "
                    f"index holds {summary['first_block']}..{summary['last_block']}"
                )
    except CoprocessorError as exc:
        fail(exc)


def _index_with_progress(ix, start: int, target: int, *, first, follow: bool, show: bool) -> None:
    """Runs the indexer up to `target` (or follows the head until Ctrl-C) under a progress bar."""
    columns = (
        TextColumn("[bold]indexing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[last]}"),
        _Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, disable=not show) as bar:
        task = bar.add_task("index", total=max(0, target - start + 1), last="")

        def progress(last_block, blocks, rows):
            bar.update(task, completed=blocks, last=f"block {last_block:,} · {rows:,} rows")

        if follow:
            stop = threading.Event()
            try:
                ix.follow(first=first, stop=stop, progress=progress)
            except KeyboardInterrupt:
                stop.set()
        else:
            ix.run(first=first, last=target, progress=progress)


def _index_summary(db: Path, store: Store, ix, client) -> dict:
    """What `index` did and what the index holds now (`--json`)."""
    cp = store.checkpoint()
    s = ix.stats
    return {
        "db": str(db),
        "chain_id": cp.chain_id if cp else None,
        "first_block": cp.first_block if cp else None,
        "last_block": cp.last_block if cp else None,
        "blocks": s.blocks,
        "rows": s.rows,
        "seconds": round(s.seconds, 3),
        "blocks_per_s": round(s.blocks / s.seconds, 1) if s.seconds else None,
        "reorgs": s.reorgs,
        "retries": client.retries,
    }


def status(
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """The checkpoint and row counts of an index."""
    if not db.exists():
        fail(InvalidArgument(f"no index at {db}"))
    try:
        with Store(db, read_only=True) as store:
            cp = store.checkpoint()
            counts = store.counts()
    except CoprocessorError as exc:
        fail(exc)
    data = {
        "db": str(db),
        "chain_id": cp and cp.chain_id,
        "first_block": cp and cp.first_block,
        "last_block": cp and cp.last_block,
        "last_hash": cp and "0x" + cp.last_hash.hex(),
        "rows": counts,
    }
    if json_out:
        out.print_json(json.dumps(data))
        return
    t = Table(title=f"index {db}")
    t.add_column("item")
    t.add_column("value", justify="right")
    for k in ("chain_id", "first_block", "last_block", "last_hash"):
        t.add_row(k, str(data[k]))
    for k, v in counts.items():
        t.add_row(f"rows: {k}", f"{v:,}")
    out.print(t)


def export(
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    out_dir: Annotated[Path, typer.Option("--out", help="folder for <table>.parquet")] = Path(
        "export"
    ),
    table: Annotated[list[str] | None, typer.Option(help="tables to export (default: all)")] = None,
):
    """Export tables to Parquet with polars (uint256 columns as decimal text)."""
    import polars as pl

    tables = table or [*TABLES, "sync_state"]
    try:
        with Store(db, read_only=True) as store:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in tables:
                df = pl.DataFrame(store.arrow(store.export_select(name)))
                path = out_dir / f"{name}.parquet"
                df.write_parquet(path)
                err.print(f"{name}: {df.height:,} rows → {path}")
    except CoprocessorError as exc:
        fail(exc)
