"""The `coprocessor` command line (layer 4): `app` (typer) and the table of its commands, each
command in the module of its group:

- `index.py`: `index` (with `--follow`), `index status`, `export`
- `devchain.py`: `devchain`
- `query.py`: `query`, `verify`
- `serve.py`: `serve` (the gRPC service)
- `relay.py`: `relay`, `deploy` (on-chain delivery)
- `history.py`: `history prove`, `history status` (the block-hash accumulator)
- `app.py`: the typer apps, the consoles, how errors end a command
"""

from coprocessor.cli import devchain, history, index, query, relay, serve
from coprocessor.cli.app import app, index_app

index_app.callback(invoke_without_command=True)(index.index)
index_app.command("status")(index.status)
app.command()(index.export)
app.command()(devchain.devchain)
app.command()(query.query)
app.command()(query.verify)
app.command()(serve.serve)
app.command()(relay.relay)
app.command()(relay.deploy)
app.add_typer(history.history_app, name="history")
history.history_app.command("prove")(history.prove)
history.history_app.command("status")(history.status)

__all__ = ["app"]
