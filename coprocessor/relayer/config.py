"""The relayer's configuration: one keyword-only, immutable object.

The signing key is not part of it: only where to read the key from (a file or an
environment variable, never a command-line argument that `ps` would show).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coprocessor.errors import InvalidArgument

GWEI = 10**9
DEFAULT_KEY_ENV = "COPROCESSOR_RELAYER_KEY"


@dataclass(frozen=True, kw_only=True)
class RelayerConfig:
    """What `coprocessor relay` is told.

    rpc_url, contract: the node and the CoprocessorQuery contract to serve.
    db_path: the SQLite outbox (created if missing).
    index_path: the DuckDB index the query guest prover reads (None: requests are deferred
        unless a prover is given to the Relayer).
    sync_index: the prover indexes up to the node's head before each request (it then
        writes the index: no other indexer may hold it).
    key_file / key_env: where the signing key is read from (exactly one; key_env defaults to
        $COPROCESSOR_RELAYER_KEY when no key_file is given).
    confirmations: depth at which a request is acted on and a fulfilment counts (>= 1).
    start_block: first block scanned for requests on a fresh outbox.
    dev: allow the prover to make fake receipts (mock seals; the contract's verifier must
        be the mock, which is checked for every request anyway).
    image_id: the query guest image ID the contract must pin (default: the recorded one).
    priority_fee_per_gas, max_fee_per_gas_cap: EIP-1559 tip, and the most the relayer pays
        per gas, replacements included.
    replace_after_blocks: a transaction not mined after this many blocks is replaced.
    gas_limit_margin_percent: added to eth_estimateGas for the transaction's gas limit.
    min_profit_wei: a request whose expected payment minus gas cost is below it is skipped.
    workers: requests proven and sent at once (threads; proving dominates).
    poll_interval: seconds between ticks of `Relayer.run`.
    max_log_range: blocks per eth_getLogs call.
    """

    rpc_url: str
    contract: str
    db_path: Path
    index_path: Path | None = None
    sync_index: bool = False
    key_file: Path | None = None
    key_env: str | None = None
    confirmations: int = 3
    start_block: int = 0
    dev: bool = False
    image_id: bytes | None = None
    priority_fee_per_gas: int = 1 * GWEI
    max_fee_per_gas_cap: int = 500 * GWEI
    replace_after_blocks: int = 3
    gas_limit_margin_percent: int = 25
    min_profit_wei: int = 0
    workers: int = 2
    poll_interval: float = 2.0
    max_log_range: int = 2_000
    rpc_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.key_file is not None and self.key_env is not None:
            raise InvalidArgument("give the key as key_file or key_env, not both")
        positive = {
            "confirmations": self.confirmations,
            "replace_after_blocks": self.replace_after_blocks,
            "workers": self.workers,
            "max_log_range": self.max_log_range,
        }
        for name, value in positive.items():
            if value < 1:
                raise InvalidArgument(f"{name} must be at least 1, got {value}")
        if self.start_block < 0 or self.gas_limit_margin_percent < 0:
            raise InvalidArgument("start_block and gas_limit_margin_percent must not be negative")
        if self.priority_fee_per_gas > self.max_fee_per_gas_cap:
            raise InvalidArgument("priority_fee_per_gas exceeds max_fee_per_gas_cap")
        if self.image_id is not None and len(self.image_id) != 32:
            raise InvalidArgument(f"image_id must be 32 bytes, got {len(self.image_id)}")

    @property
    def key_source_env(self) -> str | None:
        """The environment variable the key is read from (None when it comes from a file)."""
        if self.key_file is not None:
            return None
        return self.key_env or DEFAULT_KEY_ENV
