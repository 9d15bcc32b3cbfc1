"""`coprocessor relay` and `coprocessor deploy`: on-chain delivery (coprocessor.relayer).

- `relay` serves one CoprocessorQuery contract: watches QueryRequested, proves each request
  with the query guest over the DuckDB index (`--dev`: executor + fake receipt, mock seal),
  fulfils it; its outbox is SQLite beside the index (never the index itself). Stops on
  SIGTERM or Ctrl-C; `--once` runs one tick.
- `deploy` deploys CoprocessorQuery against a verifier (RISC Zero's router on real networks,
  `--mock-verifier` on local chains), pinning a BlockHistory for history-anchored journals
  (`--block-history ADDR`, or `--with-block-history` to deploy one against the same verifier;
  neither: none), and with `--example` the ProvenAirdrop consumer pinned to
  queries/transfer_volume_into_account.sql; prints the addresses.

Signing keys come from a file or an environment variable, never from an argument (`ps` would
show it). web3 and the relayer are imported inside the commands (slow imports).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from coprocessor.cli.app import err, fail, out
from coprocessor.errors import CoprocessorError, InvalidArgument

AIRDROP_QUERY = "transfer_volume_into_account"

KeyFile = Annotated[
    Path | None, typer.Option(help="file holding the signing key (hex); readable by you only")
]
KeyEnv = Annotated[
    str | None,
    typer.Option(
        help="environment variable holding the signing key (default without --key-file:"
        " COPROCESSOR_RELAYER_KEY)"
    ),
]


def key_source(key_file: Path | None, key_env: str | None) -> tuple[Path | None, str | None]:
    if key_file is not None and key_env is not None:
        raise InvalidArgument("give the key as --key-file or --key-env, not both")
    if key_file is None and key_env is None:
        from coprocessor.relayer.config import DEFAULT_KEY_ENV

        key_env = DEFAULT_KEY_ENV
    return key_file, key_env


def relay(
    rpc: Annotated[str, typer.Option(help="JSON-RPC node of the chain the contract is on")],
    contract: Annotated[str, typer.Option(help="CoprocessorQuery address")],
    db: Annotated[Path, typer.Option(help="DuckDB index the requests are proven from")],
    outbox: Annotated[
        Path | None, typer.Option(help="SQLite outbox (default: <db>.relayer.sqlite)")
    ] = None,
    key_file: KeyFile = None,
    key_env: KeyEnv = None,
    confirmations: Annotated[
        int, typer.Option(help="depth at which requests are acted on and fulfilments count")
    ] = 3,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev", help="fake receipts and mock seals (a chain whose verifier is the mock)"
        ),
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="run one tick, then exit")] = False,
    sync_index: Annotated[
        bool,
        typer.Option(
            "--sync-index",
            help="index up to the head before each proof (this process then writes the index)",
        ),
    ] = False,
    start_block: Annotated[int, typer.Option(help="first block scanned for requests")] = 0,
    poll_interval: Annotated[float, typer.Option(help="seconds between ticks")] = 2.0,
    workers: Annotated[int, typer.Option(help="requests proven and sent at once")] = 1,
    json_out: Annotated[
        bool, typer.Option("--json", help="--once: print the tick as JSON")
    ] = False,
):
    """Serve a CoprocessorQuery contract: prove its requests and fulfil them."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        from coprocessor.relayer import Relayer, RelayerConfig

        key_file, key_env = key_source(key_file, key_env)
        if not db.exists():
            raise InvalidArgument(f"no index at {db}: run `coprocessor index --db {db}` first")
        config = RelayerConfig(
            rpc_url=rpc,
            contract=contract,
            db_path=outbox or Path(f"{db}.relayer.sqlite"),
            index_path=db,
            sync_index=sync_index,
            key_file=key_file,
            key_env=key_env,
            confirmations=confirmations,
            start_block=start_block,
            dev=dev,
            poll_interval=poll_interval,
            workers=workers,
        )
        with Relayer(config) as relayer:
            if once:
                report = relayer.run_once()
                doc = {
                    "new_requests": report.new_requests,
                    "handled": report.handled,
                    "open_nonces": report.open_nonces,
                }
                if json_out:
                    out.print_json(json.dumps(doc))
                else:
                    out.print(" ".join(f"{k}={v}" for k, v in doc.items()))
                return
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            err.print(f"relaying for {relayer.contract.address} (Ctrl-C stops)")
            relayer.run(stop)
    except CoprocessorError as exc:
        fail(exc)


def _example(token: str | None, from_block: int | None, to_block: int | None, threshold: int):
    """ProvenAirdrop's terms, its queryHash from the catalogue query's template."""
    from eth_utils import to_canonical_address

    from coprocessor.compiler import catalogue
    from coprocessor.compiler import compile as compile_sql
    from coprocessor.relayer import ExampleAirdrop

    if token is None or from_block is None or to_block is None:
        raise InvalidArgument("--example needs --token, --from-block and --to-block")
    query = catalogue()[AIRDROP_QUERY]
    params: dict[str, Any] = {"token": to_canonical_address(token), "account": bytes(20)}
    params |= {"from_block": from_block, "to_block": to_block}
    compiled = compile_sql(query.sql, params=params, views=query.views)
    example = ExampleAirdrop(
        query_hash=compiled.query_hash,
        token=token,
        from_block=from_block,
        to_block=to_block,
        threshold=threshold,
    )
    return example, compiled.plan_bytes


def deploy(
    rpc: Annotated[str, typer.Option(help="JSON-RPC node to deploy on")],
    key_file: KeyFile = None,
    key_env: KeyEnv = None,
    verifier: Annotated[
        str | None, typer.Option(help="IRiscZeroVerifier address (RISC Zero's router)")
    ] = None,
    mock_verifier: Annotated[
        bool,
        typer.Option(
            "--mock-verifier", help="deploy RiscZeroMockVerifier (fake seals: local chains only)"
        ),
    ] = False,
    block_history: Annotated[
        str | None,
        typer.Option(help="BlockHistory address whose known roots may anchor journals"),
    ] = None,
    with_block_history: Annotated[
        bool,
        typer.Option(
            "--with-block-history",
            help="also deploy a BlockHistory (the history guest's image ID, the same verifier)",
        ),
    ] = False,
    example: Annotated[
        bool, typer.Option("--example", help="also deploy the ProvenAirdrop example consumer")
    ] = False,
    token: Annotated[str | None, typer.Option(help="--example: the ERC-20 it asks about")] = None,
    from_block: Annotated[int | None, typer.Option(help="--example: first block")] = None,
    to_block: Annotated[int | None, typer.Option(help="--example: last block")] = None,
    threshold: Annotated[
        int, typer.Option(help="--example: volume (token units) that earns the reward")
    ] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
):
    """Deploy CoprocessorQuery (and a BlockHistory, the example consumer); print the addresses."""
    try:
        from coprocessor.relayer import deploy_contracts, load_account

        key_file, key_env = key_source(key_file, key_env)
        account = load_account(key_file=key_file, key_env=key_env)
        terms, plan = _example(token, from_block, to_block, threshold) if example else (None, b"")
        addresses: dict[str, Any] = deploy_contracts(
            rpc,
            account,
            verifier=verifier,
            mock_verifier=mock_verifier,
            block_history=block_history,
            deploy_block_history=with_block_history,
            example=terms,
        )
        if terms is not None:
            addresses |= {"query_hash": "0x" + terms.query_hash.hex(), "plan": "0x" + plan.hex()}
    except CoprocessorError as exc:
        fail(exc)
    if json_out:
        out.print_json(json.dumps(addresses))
        return
    for name, value in addresses.items():
        out.print(f"{name}: {value}")
    if mock_verifier:
        err.print("the verifier is RISC Zero's MOCK: it accepts fake seals (local chains only)")
