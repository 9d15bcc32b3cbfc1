"""The `coprocessor` typer app, its consoles, and how a CoprocessorError is printed and ends a
command."""

from __future__ import annotations

import typer
from rich.console import Console

from coprocessor.errors import InvalidBlockError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="ZK coprocessor for Ethereum: index, query, prove.",
)
index_app = typer.Typer(help="Index a JSON-RPC node into DuckDB (see `index status`).")
app.add_typer(index_app, name="index")
err = Console(stderr=True)
out = Console()


def fail(exc: Exception, code: int = 1):
    """Prints the error (an InvalidBlockError says what was kept) and exits with `code`."""
    if isinstance(exc, InvalidBlockError):
        err.print(
            f"[bold red]error:[/] the node's data for block {exc.block} failed check "
            f"[bold]{exc.check}[/]: {exc.detail}\nnothing of block {exc.block} was stored; "
            "the index is consistent up to the block before it"
        )
    else:
        err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)
