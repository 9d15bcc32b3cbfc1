"""`coprocessor serve`: the gRPC service over one index, in one process (see
coprocessor.server): stops gracefully on SIGTERM or Ctrl-C and exits 0.

With `--relay` the process also hosts the relayer of `coprocessor relay` for one
CoprocessorQuery contract (`--contract`, the key from `--key-file` or `--key-env`), proving
requests from the served index (it has one writer: this process); its outbox defaults to
<db>.relayer.sqlite, as `relay`'s does."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coprocessor.cli.app import fail
from coprocessor.cli.relay import KeyEnv, KeyFile, key_source
from coprocessor.errors import CoprocessorError, InvalidArgument
from coprocessor.store import DEFAULT_DB

if TYPE_CHECKING:
    from coprocessor.relayer import RelayerConfig

# `--relay` and its options (the relayer's own are those of `coprocessor relay`)
Relay = Annotated[
    bool, typer.Option("--relay", help="also relay for --contract (as `coprocessor relay`)")
]
Contract = Annotated[str | None, typer.Option(help="--relay: CoprocessorQuery address")]
RelayDev = Annotated[
    bool, typer.Option("--relay-dev", help="--relay: fake receipts and mock seals")
]
Confirmations = Annotated[int, typer.Option(help="--relay: depth at which requests are acted on")]
Outbox = Annotated[
    Path | None, typer.Option(help="--relay: SQLite outbox (default <db>.relayer.sqlite)")
]


def _relay_config(
    relay: bool, rpc: str, db: Path, contract: str | None, outbox: Path | None, **opts
) -> RelayerConfig | None:
    """The hosted relayer's configuration (None without --relay; its flags then refused)."""
    key_file, key_env = opts.pop("key_file"), opts.pop("key_env")
    if not relay:
        given = [f"--{k}" for k, v in {"contract": contract, "outbox": outbox}.items() if v]
        given += ["--key-file/--key-env"] if key_file or key_env else []
        given += ["--relay-dev"] if opts["dev"] else []
        if given:
            raise InvalidArgument(f"{', '.join(given)} only apply with --relay")
        return None
    if contract is None:
        raise InvalidArgument("--relay needs --contract (the CoprocessorQuery address)")
    from coprocessor.relayer import RelayerConfig

    key_file, key_env = key_source(key_file, key_env)
    return RelayerConfig(
        rpc_url=rpc,
        contract=contract,
        db_path=outbox or Path(f"{db}.relayer.sqlite"),
        key_file=key_file,
        key_env=key_env,
        **opts,
    )


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
    metrics_listen: Annotated[
        str | None,
        typer.Option(help="host:port of a Prometheus /metrics endpoint (port 0: a free port)"),
    ] = None,
    relay: Relay = False,
    contract: Contract = None,
    key_file: KeyFile = None,
    key_env: KeyEnv = None,
    relay_dev: RelayDev = False,
    confirmations: Confirmations = 3,
    outbox: Outbox = None,
):
    """Serve the coprocessor.v1 gRPC API: index (follow), compile, queue, prove (and relay)."""
    from coprocessor.server import CoprocessorServer, ServeConfig
    from coprocessor.server.auth import load_token

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        relay_config = _relay_config(
            relay,
            rpc,
            db,
            contract,
            outbox,
            key_file=key_file,
            key_env=key_env,
            dev=relay_dev,
            confirmations=confirmations,
        )
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
            relay=relay_config,
            metrics_listen=metrics_listen,
        )
        server = CoprocessorServer(config)
        server.start()
    except CoprocessorError as exc:
        fail(exc)
    while not stop.wait(1.0):
        pass
    server.shutdown()
