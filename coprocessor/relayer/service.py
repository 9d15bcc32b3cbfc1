"""The relayer service: `Relayer(config).run()` serves one CoprocessorQuery contract.

Every tick, in this order:

1. reconcile the account's nonce with the node (`NonceManager.sync`);
2. carry every stored transaction forward (`Tracker`: receipts, confirmation depth,
   reorgs, stuck transactions, cancellations): on the first tick after a restart this is
   the reconciliation with the node that comes before anything new is sent;
3. scan for new requests at confirmation depth (`RequestWatcher`);
4. prove, check, simulate, price and send the requests waiting for it (`FulfilmentPipeline`),
   `workers` at a time.

At start it checks the contract: it has code, pins the query guest image ID this relayer
proves for, and whether its verifier is RISC Zero's mock (then only mock seals go to it,
and mock seals go nowhere else). A `QueryGuestProver` is given the contract's
`blockHistory.isKnownRoot` (`known_root`; None when the contract has no BlockHistory), so it
anchors on the block history proven next to its index when the contract knows that root.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from eth_account.signers.local import LocalAccount

from coprocessor import zkvm
from coprocessor.compiler.journal import QUERY_GUEST
from coprocessor.errors import ConfigError, CoprocessorError
from coprocessor.relayer.config import RelayerConfig
from coprocessor.relayer.fees import FeePolicy
from coprocessor.relayer.keys import load_account
from coprocessor.relayer.log import log_event
from coprocessor.relayer.node import Node, connect
from coprocessor.relayer.nonces import NonceManager
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.pipeline import FulfilmentPipeline, PipelineSettings
from coprocessor.relayer.proofcheck import KnownRootCheck
from coprocessor.relayer.prover import Prover, QueryGuestProver
from coprocessor.relayer.query_contract import ContractTerms, QueryContract
from coprocessor.relayer.records import RequestRecord
from coprocessor.relayer.sender import Sender
from coprocessor.relayer.tracker import Tracker
from coprocessor.relayer.watcher import ChainRequestSource, RequestWatcher

ACTIONABLE_STATES = ("new", "proved", "unprofitable")
BUSY_STATES = ("new", "proved", "sending")


@dataclass(frozen=True)
class TickReport:
    new_requests: int
    handled: int
    open_nonces: int


def pinned_image_id(config: RelayerConfig, terms: ContractTerms) -> bytes:
    """The image ID the contract pins, if it is the one this relayer proves for."""
    expected = config.image_id
    if expected is None:
        expected = bytes.fromhex(zkvm.recorded_image_ids()[QUERY_GUEST])
    if terms.query_image_id != expected:
        raise ConfigError(
            f"the contract pins query image ID 0x{terms.query_image_id.hex()}, this relayer "
            f"proves for 0x{expected.hex()}"
        )
    return expected


class Relayer:
    """Serves `config.contract`; `prover` defaults to the query guest over
    `config.index_path` (prover.py)."""

    def __init__(
        self,
        config: RelayerConfig,
        *,
        prover: Prover | None = None,
        account: LocalAccount | None = None,
    ):
        self.config = config
        self.account = account or load_account(
            key_file=config.key_file, key_env=config.key_source_env
        )
        self.node = Node(connect(config.rpc_url, timeout=config.rpc_timeout))
        self.contract = QueryContract(self.node, config.contract)
        if not self.contract.has_code():
            raise ConfigError(f"no contract at {self.contract.address} on chain {self.chain_id}")
        terms = self.contract.terms()
        image_id = pinned_image_id(config, terms)
        verifier_is_mock, verifier_kind = self.contract.verifier_kind(terms.verifier)
        self._own_prover: QueryGuestProver | None = None
        self.outbox = Outbox(
            config.db_path,
            chain_id=self.chain_id,
            contract=self.contract.address,
            sender=self.account.address,
        )
        if prover is None:
            prover = self._own_prover = QueryGuestProver(
                config.index_path,
                rpc_url=config.rpc_url,
                dev=config.dev,
                sync_index=config.sync_index,
            )
        self._wire(prover, terms, image_id, verifier_is_mock)
        self._first_tick = True
        log_event(
            "relayer.started",
            contract=self.contract.address,
            chain_id=self.chain_id,
            account=self.account.address,
            verifier=terms.verifier,
            verifier_kind=verifier_kind,
            verifier_is_mock=verifier_is_mock,
            confirmations=config.confirmations,
        )

    @property
    def chain_id(self) -> int:
        return self.node.chain_id

    def _wire(
        self, prover: Prover, terms: ContractTerms, image_id: bytes, verifier_is_mock: bool
    ) -> None:
        config, address = self.config, self.account.address
        fee_policy = FeePolicy(
            priority_fee_per_gas=config.priority_fee_per_gas,
            max_fee_per_gas_cap=config.max_fee_per_gas_cap,
        )
        self.nonces = NonceManager(self.outbox, self.node, address)
        self.sender = Sender(
            node=self.node,
            contract=self.contract,
            outbox=self.outbox,
            nonces=self.nonces,
            account=self.account,
            fee_policy=fee_policy,
            gas_limit_margin_percent=config.gas_limit_margin_percent,
        )
        self.tracker = Tracker(
            node=self.node,
            contract=self.contract,
            outbox=self.outbox,
            sender=self.sender,
            address=address,
            confirmations=config.confirmations,
            replace_after_blocks=config.replace_after_blocks,
        )
        self.watcher = RequestWatcher(
            ChainRequestSource(self.node, self.contract),
            self.outbox,
            confirmations=config.confirmations,
            start_block=config.start_block,
            max_log_range=config.max_log_range,
        )
        settings = PipelineSettings(
            address=address,
            image_id=image_id,
            verifier_is_mock=verifier_is_mock,
            terms=terms,
            min_profit_wei=config.min_profit_wei,
        )
        self.pipeline = FulfilmentPipeline(
            node=self.node,
            contract=self.contract,
            outbox=self.outbox,
            sender=self.sender,
            prover=prover,
            fee_policy=fee_policy,
            settings=settings,
        )
        if isinstance(prover, QueryGuestProver):
            prover.known_root = self._known_root_check(terms)

    def _known_root_check(self, terms: ContractTerms) -> KnownRootCheck | None:
        """`isKnownRoot` of the contract's BlockHistory (the read the pipeline's proof check
        makes); None when the contract has none and takes block anchors only."""
        if terms.block_history is None:
            return None
        return functools.partial(self.contract.is_known_root, terms.block_history)

    def run_once(self) -> TickReport:
        """One tick (module docstring); node failures raise RelayerError."""
        if self._first_tick:
            self.outbox.reset_deferred()
            self._first_tick = False
        self.nonces.sync()
        open_nonces = self.tracker.track_all()
        new_requests = self.watcher.poll()
        waiting = self.outbox.requests_in(*ACTIONABLE_STATES)
        self._handle_all(waiting)
        return TickReport(new_requests, len(waiting), open_nonces)

    def _handle_all(self, records: list[RequestRecord]) -> None:
        if self.config.workers == 1 or len(records) <= 1:
            for record in records:
                self._handle_one(record)
            return
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="relayer") as pool:
            list(pool.map(self._handle_one, records))

    def _handle_one(self, record: RequestRecord) -> None:
        try:
            self.pipeline.handle(record)
        except CoprocessorError as exc:  # one request's trouble does not stop the others
            log_event(
                "relayer.request_error",
                level=logging.WARNING,
                query_id=record.request.query_id,
                error=f"{type(exc).__name__}: {exc}",
            )

    def busy(self) -> bool:
        """Whether anything is in flight: requests to handle or transactions not settled."""
        return bool(self.outbox.open_nonces() or self.outbox.requests_in(*BUSY_STATES))

    def run(self, stop: threading.Event | None = None) -> None:
        """Ticks every `poll_interval` seconds until `stop` is set; node failures are logged
        and retried on the next tick."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.run_once()
            except CoprocessorError as exc:
                log_event("relayer.tick_failed", level=logging.WARNING, error=str(exc))
            stop.wait(self.config.poll_interval)

    def close(self) -> None:
        self.outbox.close()
        if self._own_prover is not None:
            self._own_prover.close()

    def __enter__(self) -> Relayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
