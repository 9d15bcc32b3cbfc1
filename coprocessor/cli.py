"""The `coprocessor` command line (layer 4): index, index status, export, devchain, query, verify."""

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


# --- query and verify (issue 5) -------------------------------------------------------------


def _fmt_cell(v, t: str) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    return f"{v:,}" if t == "uint256" and v >= 10**6 else str(v)


def _rows_table(res, title: str) -> Table:
    t = Table(title=title)
    for name, typ in zip(res.columns, res.column_types):
        t.add_column(f"{name}\n[dim]{typ}[/]", justify="right" if typ == "uint256" else "left")
    for r in res.rows:
        t.add_row(*(_fmt_cell(v, typ) for v, typ in zip(r, res.column_types)))
    return t


def _summary(res, receipt_path: Path | None) -> Table:
    t = Table(show_header=False, box=None)
    t.add_column(style="bold"), t.add_column()
    t.add_row("queryHash", "0x" + res.query_hash.hex())
    t.add_row("anchor", f"block {res.anchor_number} 0x{res.anchor_hash.hex()}")
    t.add_row("range", f"{res.first_block}..{res.last_block}, chain {res.chain_id}")
    t.add_row("image ID", "0x" + res.image_id.hex())
    if res.cycles is not None:
        t.add_row("cycles", f"{res.cycles:,} total, {res.user_cycles:,} user, {res.segments} segment(s)")
    if res.proving_seconds is not None:
        dev_note = " (dev mode: fake receipt, no proof)" if res.dev else ""
        t.add_row("proving", f"{res.proving_seconds:.2f} s{dev_note}")
    t.add_row("receipt", f"{res.receipt.kind}, {res.receipt_size:,} bytes"
              + (f" → {receipt_path}" if receipt_path else ""))  # fmt: skip
    return t


def _compile_error(exc) -> None:
    where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
    err.print(f"[bold red]compile error:[/] {exc.reason}" + (f"\n  token: [bold]{exc.token}[/]" if exc.token else "")
              + (f"\n  where:{where}" if where else ""))  # fmt: skip
    raise typer.Exit(2)


def _params(pairs: list[str]) -> dict:
    out = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise InvalidArgument(f"--param wants key=value, got {p!r}")
        out[k.strip().lstrip(":")] = v.strip()
    return out


@app.command()
def query(
    sql: Annotated[Optional[str], typer.Argument(help="the SQL (or use --name for a catalogue query)")] = None,
    db: Annotated[Path, typer.Option(help="DuckDB index")] = Path(DEFAULT_DB),
    rpc: Annotated[Optional[str], typer.Option(help="JSON-RPC node, to fetch state proofs the index lacks")] = None,
    at_block: Annotated[Optional[int], typer.Option(help="anchor block (default: last indexed)")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="print the compiled plan; do not prove")] = False,
    dev: Annotated[bool, typer.Option("--dev", help="executor + fake receipt (fast, proves nothing)")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    name: Annotated[Optional[str], typer.Option(help="catalogue query from queries/ (see --param)")] = None,
    param: Annotated[list[str], typer.Option(help="k=v query parameter (repeat); 0x-hex or decimal")] = [],
    out_path: Annotated[Optional[Path], typer.Option(
        "--out", help="receipt file (default ./receipts/<queryhash>.receipt)")] = None,
):
    """Compile SQL over the index, prove it with the query guest, print the rows and save the receipt."""
    from coprocessor.errors import CompileError
    from coprocessor.sdk import Coprocessor

    try:
        params = _params(param)
        sql, views = _question(sql, name)
        if sql is None:
            raise InvalidArgument("no SQL: pass it as the argument or use --name")
        with Coprocessor(db, rpc=rpc) as cp:
            compiled = cp.compile(sql, params=params, at_block=at_block, views=views)
            if explain:
                text = compiled.explain()
                if json_out:
                    out.print_json(json.dumps({"query_hash": "0x" + compiled.query_hash.hex(), "explain": text}))
                else:
                    out.print(text, markup=False, highlight=False)
                return
            if not json_out:
                with err.status("proving (dev mode)..." if dev else "proving for real (this takes minutes)..."):
                    res = cp.prove_compiled(compiled, dev=dev)
            else:
                res = cp.prove_compiled(compiled, dev=dev)
        path = out_path or Path("receipts") / f"{res.query_hash.hex()}.receipt"
        res.save(path)
        if json_out:
            out.print_json(json.dumps({**res.to_dict(), "receipt": str(path)}))
        else:
            out.print(_rows_table(res, f"{len(res.rows)} row(s)" + (" [yellow](dev mode)[/]" if dev else "")))
            out.print(_summary(res, path))
    except CompileError as exc:
        _compile_error(exc)
    except CoprocessorError as exc:
        _fail(exc)


@app.command()
def verify(
    receipt: Annotated[Path, typer.Argument(help="receipt file (with its .json sidecar)")],
    sql: Annotated[Optional[str], typer.Option(help="the question the receipt must answer (its queryHash)")] = None,
    name: Annotated[Optional[str], typer.Option(help="... or a catalogue query from queries/ (see --param)")] = None,
    param: Annotated[list[str], typer.Option(help="k=v query parameter (repeat); 0x-hex or decimal")] = [],
    rpc: Annotated[Optional[str], typer.Option(help="a node you trust: the anchor block must be on its chain")] = None,
    anchor_hash: Annotated[Optional[str], typer.Option(help="... or the anchor block's hash, if you know it")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    allow_dev: Annotated[bool, typer.Option("--allow-dev", help="accept fake (dev mode) receipts")] = False,
):
    """Verify a saved receipt: the seal against the recorded query image ID, and, when given, the
    question (--sql/--name) and the anchor (--rpc/--anchor-hash). Prints what was not checked."""
    from coprocessor.sdk import QueryResult

    try:
        question, views = _question(sql, name)
        res = QueryResult.load(receipt)
        v = res.verify(sql=question, params=_params(param), views=views, trusted_rpc=rpc,
                       anchor_hash=anchor_hash, allow_dev=allow_dev)  # fmt: skip
    except CoprocessorError as exc:
        if json_out:
            out.print_json(json.dumps({"verified": False, "error": str(exc)}))
            raise typer.Exit(1)
        _fail(exc)
    if json_out:
        d = res.to_dict()
        for k in ("cycles", "user_cycles", "segments", "proving_seconds"):
            d.pop(k)  # the sidecar's, not proven
        out.print_json(json.dumps({"verified": True, "seal_checked": True, "question_checked": v.question is not None,
                                   "anchor_checked": v.anchor, "notes": v.notes(), **d}))  # fmt: skip
        return
    out.print(_rows_table(res, f"{len(res.rows)} row(s), verified" + (" [yellow](fake receipt)[/]" if res.dev else "")))
    out.print(_summary(res, receipt))
    out.print("[green]verified[/]: the seal proves the query guest committed this journal"
              + (" [yellow](dev mode: a fake receipt proves nothing)[/]" if res.dev else ""))  # fmt: skip
    for note in v.notes():
        out.print(("[green]" if "NOT" not in note else "[yellow]") + note + "[/]", highlight=False)


def _question(sql: str | None, name: str | None) -> tuple[str | None, dict | None]:
    """(SQL, views) of --sql or --name (a catalogue query)."""
    if name is None:
        return sql, None
    from coprocessor.compiler import catalogue

    cat = catalogue()
    if name not in cat:
        raise InvalidArgument(f"no catalogue query {name!r}; known: {', '.join(sorted(cat))}")
    if sql is not None:
        raise InvalidArgument("give either SQL or --name, not both")
    return cat[name].sql, cat[name].views


if __name__ == "__main__":
    app()
