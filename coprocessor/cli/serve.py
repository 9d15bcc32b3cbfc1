"""`coprocessor serve`: the gRPC service over one index, in one process (see
coprocessor.server): stops gracefully on SIGTERM or Ctrl-C and exits 0."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from coprocessor.cli.app import fail
from coprocessor.errors import CoprocessorError
from coprocessor.store import DEFAULT_DB


def serve(
    rpc: Annotated[str, typer.Option(help="JSON-RPC node the index follows")],
    db: Annotated[Path, typer.Option(help="DuckDB index (this process is its one writer)")] = Path(
        DEFAULT_DB
    ),
    listen: Annotated[
        str, typer.Option(help="host:port to listen on (port 0: a free port)")
    ] = "127.0.0.1:50051",
    workers: Annotated[int, typer.Option(help="prover worker processes")] = 1,
    queue: Annotated[
        Path | None, typer.Option(help="proving queue (SQLite); default <db>.queue.sqlite")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="bearer token file (else COPROCESSOR_TOKEN; none: loopback only)"),
    ] = None,
    max_lag: Annotated[
        int, typer.Option(help="health is NOT_SERVING while the index lags more blocks")
    ] = 8,
    poll: Annotated[float, typer.Option(help="seconds between index-lag measurements")] = 0.5,
    index_poll: Annotated[
        float, typer.Option(help="seconds between the idle indexer's polls of the node")
    ] = 1.0,
    lease: Annotated[float, typer.Option(help="seconds a worker's job lease lasts")] = 10.0,
    max_pending: Annotated[int, typer.Option(help="queued + proving jobs accepted")] = 1000,
    drain: Annotated[
        float, typer.Option(help="seconds NOT_SERVING before stopping, on shutdown")
    ] = 1.0,
):
    """Serve the coprocessor.v1 gRPC API: index (follow), compile, queue and prove."""
    from coprocessor.server import CoprocessorServer, ServeConfig
    from coprocessor.server.auth import load_token

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        config = ServeConfig(
            db=db,
            rpc=rpc,
            listen=listen,
            workers=workers,
            queue_path=queue,
            token=load_token(token_file, dict(os.environ)),
            max_lag_blocks=max_lag,
            poll_seconds=poll,
            index_poll_seconds=index_poll,
            lease_seconds=lease,
            max_pending=max_pending,
            drain_seconds=drain,
        )
        server = CoprocessorServer(config)
        server.start()
    except CoprocessorError as exc:
        fail(exc)
    while not stop.wait(1.0):
        pass
    server.shutdown()
