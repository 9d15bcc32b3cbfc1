"""The `coprocessor` command line (layer 4): index, index status, export, devchain."""

from __future__ import annotations

import json
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from coprocessor.errors import CoprocessorError, InvalidArgument, InvalidBlockError
from coprocessor.store import DEFAULT_DB, TABLES, Store

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="ZK coprocessor for Ethereum: index, query, prove.")  # fmt: skip
index_app = typer.Typer(help="Index a JSON-RPC node into DuckDB (see `index status`).")
app.add_typer(index_app, name="index")
err = Console(stderr=True)
out = Console()


def _fail(exc: Exception, code: int = 1):
    if isinstance(exc, InvalidBlockError):
        err.print(f"[bold red]error:[/] the node's data for block {exc.block} failed check "
                  f"[bold]{exc.check}[/]: {exc.detail}\nnothing of block {exc.block} was stored; "
                  "the index is consistent up to the block before it")  # fmt: skip
    else:
        err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} blocks/s" if speed else "… blocks/s", style="cyan")


def _tracked(track: list[str], config: Path | None):
    from coprocessor.types import Tracked

    specs = list(track)
    if config is not None:
        try:
            data = tomllib.loads(config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidArgument(f"cannot read config {config}: {exc}") from exc
        for item in data.get("track", []):
            if isinstance(item, str):
                specs.append(item)
            else:
                specs.append(item["address"] + ":" + ",".join(str(s) for s in item.get("slots", [])))
    return tuple(Tracked.parse(s) for s in specs)


@index_app.callback(invoke_without_command=True)
def index(
    ctx: typer.Context,
    rpc: Annotated[Optional[str], typer.Option(help="JSON-RPC URL of the node")] = None,
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    from_: Annotated[Optional[int], typer.Option("--from", help="first block (fresh index only)")] = None,
    to: Annotated[Optional[int], typer.Option(help="last block (default: head - confirmations)")] = None,
    follow: Annotated[bool, typer.Option(help="keep tailing the head")] = False,
    confirmations: Annotated[int, typer.Option(help="stay this many blocks behind the head")] = 0,
    max_reorg_depth: Annotated[int, typer.Option(help="deeper reorgs stop with an error")] = 64,
    track: Annotated[list[str], typer.Option(help="0xADDR[:slot,slot] to index each block (repeat)")] = [],
    config: Annotated[Optional[Path], typer.Option(help="TOML file with track = [...]")] = None,
    workers: Annotated[int, typer.Option(help="concurrent JSON-RPC batches")] = 3,
    chunk: Annotated[int, typer.Option(help="initial blocks per batch (adapts)")] = 32,
    poll: Annotated[float, typer.Option(help="--follow poll interval, seconds")] = 1.0,
    retries: Annotated[int, typer.Option(help="retries per request (429, 5xx, timeouts, drops)")] = 8,
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 15.0,
    commit_blocks: Annotated[int, typer.Option(help="at most this many blocks per transaction")] = 2000,
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
        cfg = IndexerConfig(confirmations=confirmations, max_reorg_depth=max_reorg_depth,
                            tracked=_tracked(track, config), workers=workers, chunk_blocks=chunk,
                            poll_interval=poll, commit_blocks=commit_blocks,
                            commit_seconds=commit_seconds)  # fmt: skip
        with RpcClient(rpc, timeout=timeout, retry=RetryPolicy(max_retries=retries)) as client, \
                Store(db) as store:
            ix = Indexer(client, store, cfg)
            ix.log = lambda m: err.print(f"[yellow]{m}[/]")
            cp = store.checkpoint()
            start = cp.last_block + 1 if cp else (from_ or 0)
            target = to if to is not None else client.block_number() - confirmations
            show = not quiet and not json_out and sys.stderr.isatty()
            with Progress(TextColumn("[bold]indexing"), BarColumn(), TaskProgressColumn(),
                          TextColumn("{task.fields[last]}"), _Rate(), TimeRemainingColumn(),
                          console=err, disable=not show) as bar:  # fmt: skip
                task = bar.add_task("index", total=max(0, target - start + 1), last="")

                def progress(last_block, blocks, rows):
                    bar.update(task, completed=blocks, last=f"block {last_block:,} · {rows:,} rows")

                if follow:
                    stop = threading.Event()
                    try:
                        ix.follow(first=from_, stop=stop, progress=progress)
                    except KeyboardInterrupt:
                        stop.set()
                else:
                    ix.run(first=from_, last=target, progress=progress)
            cp = store.checkpoint()
            s = ix.stats
            summary = {"db": str(db), "chain_id": cp.chain_id if cp else None,
                       "first_block": cp.first_block if cp else None,
                       "last_block": cp.last_block if cp else None, "blocks": s.blocks,
                       "rows": s.rows, "seconds": round(s.seconds, 3),
                       "blocks_per_s": round(s.blocks / s.seconds, 1) if s.seconds else None,
                       "reorgs": s.reorgs, "retries": client.retries}  # fmt: skip
            if json_out:
                out.print_json(json.dumps(summary))
            elif not quiet:
                err.print(f"indexed {s.blocks:,} blocks ({s.rows:,} rows) in {s.seconds:.1f}s; "
                          f"index holds {summary['first_block']}..{summary['last_block']}")  # fmt: skip
    except CoprocessorError as exc:
        _fail(exc)


@index_app.command("status")
def status(
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    json_out: Annotated[bool, typer.Option("--json")] = False,
):
    """The checkpoint and row counts of an index."""
    if not db.exists():
        _fail(InvalidArgument(f"no index at {db}"))
    try:
        with Store(db, read_only=True) as store:
            cp = store.checkpoint()
            counts = store.counts()
    except CoprocessorError as exc:
        _fail(exc)
    data = {"db": str(db), "chain_id": cp and cp.chain_id, "first_block": cp and cp.first_block,
            "last_block": cp and cp.last_block, "last_hash": cp and "0x" + cp.last_hash.hex(),
            "rows": counts}  # fmt: skip
    if json_out:
        out.print_json(json.dumps(data))
        return
    t = Table(title=f"index {db}")
    t.add_column("item"), t.add_column("value", justify="right")
    for k in ("chain_id", "first_block", "last_block", "last_hash"):
        t.add_row(k, str(data[k]))
    for k, v in counts.items():
        t.add_row(f"rows: {k}", f"{v:,}")
    out.print(t)


@app.command()
def export(
    db: Annotated[Path, typer.Option(help="DuckDB file")] = Path(DEFAULT_DB),
    out_dir: Annotated[Path, typer.Option("--out", help="folder for <table>.parquet")] = Path("export"),
    table: Annotated[list[str], typer.Option(help="tables to export (default: all)")] = [],
):
    """Export tables to Parquet with polars (uint256 columns as decimal text)."""
    import polars as pl

    tables = table or [*TABLES, "sync_state"]
    try:
        with Store(db, read_only=True) as store:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in tables:
                df = pl.from_arrow(store.arrow(store.export_select(name)))
                path = out_dir / f"{name}.parquet"
                df.write_parquet(path)
                err.print(f"{name}: {df.height:,} rows → {path}")
    except CoprocessorError as exc:
        _fail(exc)


@app.command()
def devchain(
    blocks: Annotated[int, typer.Option(help="blocks of history to build")] = 50,
    txs_per_block: Annotated[int, typer.Option(help="transactions per block (about)")] = 10,
    seed: Annotated[int, typer.Option()] = 0,
    exit_after: Annotated[bool, typer.Option("--exit", help="stop anvil after building")] = False,
):
    """Start anvil on a free loopback port and build an ERC20-rich history; Ctrl-C stops it."""
    import signal

    from coprocessor.devchain import Anvil, build_history

    def _term(signum, frame):
        raise KeyboardInterrupt  # run the context managers: anvil stops with us

    signal.signal(signal.SIGTERM, _term)
    try:
        with Anvil() as node, node.client() as client:
            hist = build_history(client, blocks=blocks, txs_per_block=txs_per_block, seed=seed)
            out.print_json(json.dumps({"rpc": node.url, "first_block": hist.first_block,
                                       "last_block": hist.last_block, "transactions": hist.transactions,
                                       "tokens": {k: "0x" + v.hex() for k, v in hist.tokens.items()}}))  # fmt: skip
            sys.stdout.flush()
            if not exit_after:
                try:
                    while node.proc.poll() is None:
                        time.sleep(0.5)
                except KeyboardInterrupt:
                    pass
    except CoprocessorError as exc:
        _fail(exc)


if __name__ == "__main__":
    app()
