"""`coprocessor devchain`: anvil on a free loopback port with an ERC20-rich history."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from coprocessor.cli.app import fail, out
from coprocessor.errors import CoprocessorError


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
            out.print_json(
                json.dumps(
                    {
                        "rpc": node.url,
                        "first_block": hist.first_block,
                        "last_block": hist.last_block,
                        "transactions": hist.transactions,
                        "tokens": {k: "0x" + v.hex() for k, v in hist.tokens.items()},
                    }
                )
            )
            sys.stdout.flush()
            if not exit_after:
                try:
                    while node.proc.poll() is None:
                        time.sleep(0.5)
                except KeyboardInterrupt:
                    pass
    except CoprocessorError as exc:
        fail(exc)
