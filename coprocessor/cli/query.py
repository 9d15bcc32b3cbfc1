"""`coprocessor query` (compile, prove, print, save the receipt) and `coprocessor verify` (a saved
receipt against the query image ID, a question and an anchor)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coprocessor.cli.app import err, fail, out
from coprocessor.errors import CoprocessorError, InvalidArgument
from coprocessor.store import DEFAULT_DB


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
    t.add_column(style="bold")
    t.add_column()
    t.add_row("queryHash", "0x" + res.query_hash.hex())
    t.add_row("anchor", f"block {res.anchor_number} 0x{res.anchor_hash.hex()}")
    if res.history_root != bytes(32):
        t.add_row("history root", f"0x{res.history_root.hex()} (BlockHistory must know it)")
    t.add_row("range", f"{res.first_block}..{res.last_block}, chain {res.chain_id}")
    t.add_row("image ID", "0x" + res.image_id.hex())
    if res.cycles is not None:
        t.add_row(
            "cycles", f"{res.cycles:,} total, {res.user_cycles:,} user, {res.segments} segment(s)"
        )
    if res.proving_seconds is not None:
        dev_note = " (dev mode: fake receipt, no proof)" if res.dev else ""
        t.add_row("proving", f"{res.proving_seconds:.2f} s{dev_note}")
    t.add_row(
        "receipt",
        f"{res.receipt.kind}, {res.receipt_size:,} bytes"
        + (f" → {receipt_path}" if receipt_path else ""),
    )
    return t


def _compile_error(exc) -> None:
    where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
    err.print(
        f"[bold red]compile error:[/] {exc.reason}"
        + (f"\n  token: [bold]{exc.token}[/]" if exc.token else "")
        + (f"\n  where:{where}" if where else "")
    )
    raise typer.Exit(2)


def _params(pairs: list[str] | None) -> dict:
    out = {}
    for p in pairs or ():
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise InvalidArgument(f"--param wants key=value, got {p!r}")
        out[k.strip().lstrip(":")] = v.strip()
    return out


def _print_explain(compiled, json_out: bool, within: float | None = None) -> None:
    from coprocessor.prover.cost import estimate_query

    text = compiled.explain()
    cost = estimate_query(compiled)
    if cost is not None:
        text += "\n" + "\n".join(cost.lines(within))
    if json_out:
        out.print_json(
            json.dumps({"query_hash": "0x" + compiled.query_hash.hex(), "explain": text})
        )
    else:
        out.print(text, markup=False, highlight=False)


def _print_plan(sql: str, params: dict, views, at_block: int | None, json_out: bool) -> None:
    """The template a contract pins: its queryHash, its bytes (a request carries them) and the
    ABI types of its parameters (the journal's `params` is abi.encode of values of those types,
    in this order); with the given values, their encoding."""
    from coprocessor.compiler import compile as compile_sql

    compiled = compile_sql(sql, params=params, views=views, at_block=at_block)
    prep = compiled.prepared
    names = list(prep.param_names) if prep is not None else []
    prepared = bool(prep is not None and prep.prepared)
    params_out = [{"name": n, "type": t} for n, t in zip(names, compiled.param_types)]
    query_hash, plan_hex = "0x" + compiled.query_hash.hex(), "0x" + compiled.plan_bytes.hex()
    params_abi = "0x" + compiled.params_bytes.hex()
    if json_out:
        doc = {"query_hash": query_hash, "plan": plan_hex, "params": params_out}
        doc |= {"param_types": compiled.param_types, "params_abi": params_abi}
        out.print_json(json.dumps({**doc, "prepared": prepared}))
        return
    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("queryHash", query_hash)
    signature = ", ".join(f"{p['type']} {p['name']}" for p in params_out)
    t.add_row("params", f"({signature})" if prepared else "none (values inlined)")
    t.add_row("params (these values)", params_abi)
    t.add_row("plan", plan_hex)
    out.print(t)


def _prove_with_progress(cp, compiled, dev: bool, workers: int, ray: str | None, *, quiet: bool):
    """Proves with a progress bar on stderr (segments proven of the total) unless `quiet`."""
    if quiet:
        return cp.prove_compiled(compiled, dev=dev, workers=workers, ray_address=ray)
    where = f" on Ray at {ray}" if ray else (f" with {workers} workers" if workers > 1 else "")
    label = "proving (dev mode)" if dev else f"proving for real{where} (this takes minutes)"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def on_progress(p) -> None:
            bar.update(task, completed=p.segments_done, total=p.segments_total)

        return cp.prove_compiled(
            compiled, dev=dev, workers=workers, ray_address=ray, on_progress=on_progress
        )


def query(
    sql: Annotated[
        str | None, typer.Argument(help="the SQL (or use --name for a catalogue query)")
    ] = None,
    db: Annotated[Path, typer.Option(help="DuckDB index")] = Path(DEFAULT_DB),
    rpc: Annotated[
        str | None, typer.Option(help="JSON-RPC node, to fetch state proofs the index lacks")
    ] = None,
    at_block: Annotated[
        int | None, typer.Option(help="anchor block (default: last indexed)")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="print the compiled plan; do not prove")
    ] = False,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="print the plan template to pin on chain (queryHash, plan bytes, parameter "
            "types); needs no index",
        ),
    ] = False,
    dev: Annotated[
        bool, typer.Option("--dev", help="executor + fake receipt (fast, proves nothing)")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    name: Annotated[
        str | None, typer.Option(help="catalogue query from queries/ (see --param)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="k=v query parameter (repeat); 0x-hex or decimal")
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="receipt file (default ./receipts/<queryhash>.receipt)"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="prove segments in N local processes (N > 1: a succinct receipt)"),
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(help="prove segments on the Ray cluster at HOST:PORT (a succinct receipt)"),
    ] = None,
    within: Annotated[
        float | None,
        typer.Option(help="with --explain: how many workers finish proving within SECONDS"),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="walk | history | eip2935: how the range is tied to a block a contract checks "
            "(default: the cheapest of walk and EIP-2935; history = the block history proven "
            "with `coprocessor history prove`, whose root BlockHistory must know)"
        ),
    ] = None,
):
    """Compile SQL over the index, prove it with the query guest, print rows, save the receipt."""
    from coprocessor.errors import CompileError
    from coprocessor.sdk import Coprocessor

    try:
        params = _catalogue_params(name, _params(param))
        sql, views = _question(sql, name)
        if sql is None:
            raise InvalidArgument("no SQL: pass it as the argument or use --name")
        if plan:
            _print_plan(sql, params, views, at_block, json_out)
            return
        with Coprocessor(db, rpc=rpc) as cp:
            compiled = cp.compile(sql, params=params, at_block=at_block, views=views, anchor=anchor)
            if explain:
                _print_explain(compiled, json_out, within)
                return
            res = _prove_with_progress(cp, compiled, dev, workers, ray, quiet=json_out)
        path = out_path or Path("receipts") / f"{res.query_hash.hex()}.receipt"
        res.save(path)
        if json_out:
            out.print_json(json.dumps({**res.to_dict(), "receipt": str(path)}))
        else:
            out.print(
                _rows_table(
                    res, f"{len(res.rows)} row(s)" + (" [yellow](dev mode)[/]" if dev else "")
                )
            )
            out.print(_summary(res, path))
    except CompileError as exc:
        _compile_error(exc)
    except CoprocessorError as exc:
        fail(exc)


def verify(
    receipt: Annotated[Path, typer.Argument(help="receipt file (with its .json sidecar)")],
    sql: Annotated[
        str | None, typer.Option(help="the question the receipt must answer (its queryHash)")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="... or a catalogue query from queries/ (see --param)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="k=v query parameter (repeat); 0x-hex or decimal")
    ] = None,
    rpc: Annotated[
        str | None, typer.Option(help="a node you trust: the anchor block must be on its chain")
    ] = None,
    anchor_hash: Annotated[
        str | None, typer.Option(help="... or the anchor block's hash, if you know it")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    allow_dev: Annotated[
        bool, typer.Option("--allow-dev", help="accept fake (dev mode) receipts")
    ] = False,
):
    """Verify a saved receipt: the seal against the recorded query image ID, and, when given, the
    question (--sql/--name) and the anchor (--rpc/--anchor-hash). Prints what was not checked."""
    from coprocessor.sdk import QueryResult

    try:
        question, views = _question(sql, name)
        res = QueryResult.load(receipt)
        v = res.verify(
            sql=question,
            params=_catalogue_params(name, _params(param)),
            views=views,
            trusted_rpc=rpc,
            anchor_hash=anchor_hash,
            allow_dev=allow_dev,
        )
    except CoprocessorError as exc:
        if json_out:
            out.print_json(json.dumps({"verified": False, "error": str(exc)}))
            raise typer.Exit(1) from None
        fail(exc)
    if json_out:
        d = res.to_dict()
        for k in ("cycles", "user_cycles", "segments", "proving_seconds"):
            d.pop(k)  # the sidecar's, not proven
        out.print_json(
            json.dumps(
                {
                    "verified": True,
                    "seal_checked": True,
                    "question_checked": v.question is not None,
                    "anchor_checked": v.anchor,
                    "notes": v.notes(),
                    **d,
                }
            )
        )
        return
    out.print(
        _rows_table(
            res,
            f"{len(res.rows)} row(s), verified" + (" [yellow](fake receipt)[/]" if res.dev else ""),
        )
    )
    out.print(_summary(res, receipt))
    out.print(
        "[green]verified[/]: the seal proves the query guest committed this journal"
        + (" [yellow](dev mode: a fake receipt proves nothing)[/]" if res.dev else "")
    )
    for note in v.notes():
        out.print(("[green]" if "NOT" not in note else "[yellow]") + note + "[/]", highlight=False)


def _catalogue_params(name: str | None, params: dict) -> dict:
    """The --param values of a catalogue query read by its declared types."""
    from coprocessor.compiler import catalogue

    query = catalogue().get(name) if name is not None else None
    return query.typed_params(params) if query is not None else params


def _question(sql: str | None, name: str | None) -> tuple[str | None, dict | None]:
    """(SQL, views) of --sql or --name (a catalogue query; see `_catalogue_params`)."""
    if name is None:
        return sql, None
    from coprocessor.compiler import catalogue

    cat = catalogue()
    if name not in cat:
        raise InvalidArgument(f"no catalogue query {name!r}; known: {', '.join(sorted(cat))}")
    if sql is not None:
        raise InvalidArgument("give either SQL or --name, not both")
    return cat[name].sql, cat[name].views
