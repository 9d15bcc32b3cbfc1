"""The proving seam of the relayer: a `Prover` turns a request into (journal, seal).

The relayer checks whatever a prover returns (proofcheck.py) and simulates the fulfilment
before sending it, so a prover is trusted for nothing: a wrong proof is refused, never sent.

`QueryGuestProver` proves requests with the query guest:

1. compile the request's plan template bound to its params (`compile_template`: no SQL, the
   guest decides what the template means) over the DuckDB index, anchored at its last block,
   fetching missing state proofs from the node (`Indexer.fetch_state`); with `sync_index` it
   first catches the index up with the node (`Indexer.poll_once`, reorgs included). With
   `known_root` set (the relayer sets it to its contract's `blockHistory.isKnownRoot`), the
   block history proven next to the index (`coprocessor history prove`: the StepLog at
   `<index>.history.sqlite`) is offered to the compiler: the newest recorded state whose root
   the contract knows (among the newest 64 steps, as the contract may lag behind the
   log). The compiler anchors on it when it covers the range's last block and is cheaper
   than walking to the index's last block (journal `historyRoot` = that root); no log, no
   known state, or a log that cannot be read: a block anchor, as without `known_root`. A
   history-anchored compile that fails (e.g. the state is of another fork than the index) is
   logged and done again with a block anchor;
2. prove with the query guest by the path the SDK takes (`coprocessor.prover.prove_query`,
   which also checks the rows against the compiler's), dev=True: the executor and a fake
   receipt;
3. verify the receipt locally (`zkvm.verify` for the guest's image ID, fake receipts accepted
   only with `dev`) and require its journal to be, byte for byte, the one the guest's code
   committed natively at compile time;
4. return (journal, seal). A dev receipt's seal is the mock seal (0xFFFFFFFF ‖ claim digest)
   that only RiscZeroMockVerifier accepts (proofcheck.py refuses it toward any other
   verifier). A real receipt cannot be delivered from here: RISC Zero's verifier router takes
   Groth16 seals, which cannot be made on these machines (Docker or a GPU plus RISC Zero's
   proving key), and the mock verifier takes fake seals only. So without `dev`,
   `prove` refuses the request (`ProverUnavailableError`, deferred) before spending minutes
   on a proof no verifier could accept; `prove_receipt` still makes and checks real proofs.

The index (a path) is opened only while a request is compiled, so an indexer in another
process can take it between requests; a file another process holds is opened read-only, as
the SDK does (then nothing is fetched or synced). Index trouble that time may cure (blocks not
indexed yet, the file locked) raises `IndexNotReadyError`, which the pipeline retries; a range
that starts before the index's first block is deferred (`ProverUnavailableError`).
An open `Store` is used as it is, never closed: `coprocessor serve --relay` passes its own,
whose indexer keeps it at the head (so no `sync_index` there), and the Store's lock
serialises this prover's reads and state-proof writes with the indexer's batches.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from coprocessor import zkvm
from coprocessor.chain import RpcClient
from coprocessor.compiler import CompiledQuery, compile_template
from coprocessor.compiler.journal import QUERY_GUEST
from coprocessor.compiler.pipeline import FetchState
from coprocessor.contracts import mock_seal
from coprocessor.errors import (
    CoprocessorError,
    IndexIncompleteError,
    IndexNotReadyError,
    InvalidArgument,
    ProverUnavailableError,
    ResultMismatchError,
    StoreLockedError,
)
from coprocessor.history import HistoryJournal, StepLog, default_path
from coprocessor.indexer import Indexer
from coprocessor.prover import prove_query
from coprocessor.relayer.log import log_event
from coprocessor.relayer.proofcheck import KnownRootCheck
from coprocessor.relayer.request import QueryRequest
from coprocessor.store import Store

NO_GROTH16 = (
    "on-chain verification of a real receipt needs a Groth16 seal (RISC Zero's verifier "
    "router), which cannot be made on this machine (RISC Zero's shrink_wrap needs its Docker "
    "image, or a GPU plus the ceremony's proving key); the mock verifier accepts only the "
    "fake seals of dev receipts (relay with --dev on a chain whose verifier is the mock)"
)


@runtime_checkable
class Prover(Protocol):
    """Anything that answers a request with (journal, seal); may take minutes."""

    def prove(self, request: QueryRequest) -> tuple[bytes, bytes]: ...


RECENT_STATES = 64
"""How many of the newest recorded states are offered to the contract's isKnownRoot."""


def newest_known_state(steps: StepLog, known_root: KnownRootCheck) -> HistoryJournal | None:
    """The newest of the last RECENT_STATES states recorded in `steps` whose historyRoot
    `known_root` accepts (the contract may lag behind the local log); None when none is."""
    for step in steps.recent(RECENT_STATES):
        if known_root(step.journal.history_root):
            return step.journal
    return None


class QueryGuestProver:
    """Proves requests with the query guest over a DuckDB index (module docstring).

    `index`: the index's path (opened per request) or an open Store (used as is, not closed);
        None: every request is refused (`ProverUnavailableError`): nothing to prove from.
    `rpc_url`: the node, for state proofs the index lacks and for `sync_index`.
    `dev`: executor + fake receipt, answered with a mock seal (local chains only).
    `known_root`: whether the contract the proofs go to accepts a BlockHistory root (its
        `blockHistory.isKnownRoot`; settable, `Relayer` sets it for its contract); None:
        block anchors only.
    """

    def __init__(
        self,
        index: str | Path | Store | None,
        *,
        rpc_url: str | None = None,
        dev: bool = False,
        sync_index: bool = False,
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
        known_root: KnownRootCheck | None = None,
    ):
        if sync_index and rpc_url is None:
            raise InvalidArgument("sync_index needs the node: pass rpc_url")
        self.index, self.rpc_url, self.dev = index, rpc_url, dev
        self.known_root = known_root
        self.sync_index, self.segment_po2 = sync_index, segment_po2
        self._client = RpcClient(rpc_url) if rpc_url is not None else None
        self._index_lock = threading.Lock()  # one DuckDB connection: one compile at a time
        self._program: zkvm.Program | None = None

    @property
    def program(self) -> zkvm.Program:
        if self._program is None:
            self._program = zkvm.Program.load(QUERY_GUEST)
        return self._program

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def prove(self, request: QueryRequest) -> tuple[bytes, bytes]:
        """(journal, mock seal) of a dev receipt; refuses without `dev` (module docstring)."""
        if not self.dev:
            raise ProverUnavailableError(f"query {request.query_id_hex} not proven: {NO_GROTH16}")
        _, receipt = self.prove_receipt(request)
        return receipt.journal, mock_seal(self.program.image_id, receipt.journal)

    def prove_receipt(self, request: QueryRequest) -> tuple[CompiledQuery, zkvm.Receipt]:
        """Compiles, proves (dev or real, as `dev` says) and verifies the receipt locally."""
        compiled = self.compile(request)
        program = self.program
        try:
            receipt, _ = prove_query(
                compiled,
                request.chain_id,
                program=program,
                dev=self.dev,
                segment_po2=self.segment_po2,
            )
        except ResultMismatchError as exc:
            raise ResultMismatchError(
                f"query {request.query_id_hex}: {exc}; nothing is sent"
            ) from exc
        journal = zkvm.verify(receipt, program.image_id, allow_dev=self.dev)
        if journal != compiled.journal:
            raise ResultMismatchError(
                f"bug: the proven journal of query {request.query_id_hex} differs from the "
                "one the guest's code committed at compile time; nothing is sent"
            )
        return compiled, receipt

    def compile(self, request: QueryRequest) -> CompiledQuery:
        """The request's template bound to its params over the index (synced first if asked)."""
        with self._index_lock, self._open_index() as (store, writable):
            indexer = None
            if self._client is not None and writable:
                indexer = Indexer(self._client, store)
                if self.sync_index:
                    indexer.poll_once()
            fetch_state = indexer.fetch_state if indexer is not None else None
            try:
                compiled = self._compile_template(request, store, fetch_state)
            except IndexIncompleteError as exc:
                checkpoint = store.checkpoint()
                if checkpoint and exc.first is not None and exc.first < checkpoint.first_block:
                    raise ProverUnavailableError(  # waiting will not index older blocks
                        f"query {request.query_id_hex} reads blocks before the index: {exc}"
                    ) from exc
                raise IndexNotReadyError(
                    f"query {request.query_id_hex}: the index cannot serve it yet: {exc}"
                ) from exc
        if compiled.chain_id != request.chain_id:
            raise ProverUnavailableError(
                f"the index holds chain {compiled.chain_id}, query {request.query_id_hex} is on "
                f"chain {request.chain_id}"
            )
        return compiled

    def _compile_template(
        self, request: QueryRequest, store: Store, fetch_state: FetchState | None
    ) -> CompiledQuery:
        """Anchored on the known block history if there is one (module docstring); when that
        fails and a block anchor does not, the failure is logged."""
        history = self._known_history(store, request)
        history_error = None
        if history is not None:
            try:
                return compile_template(
                    request.plan,
                    request.params,
                    store=store,
                    fetch_state=fetch_state,
                    history=history,
                )
            except CoprocessorError as exc:  # tried again below with a block anchor
                history_error = exc
        compiled = compile_template(
            request.plan, request.params, store=store, fetch_state=fetch_state
        )
        if history is not None and history_error is not None:
            log_event(
                "relayer.history_anchor_unusable",
                level=logging.WARNING,
                query_id=request.query_id,
                history_root=history.history_root,
                error=f"{type(history_error).__name__}: {history_error}",
            )
        return compiled

    def _known_history(self, store: Store, request: QueryRequest) -> HistoryJournal | None:
        """The newest state of the step log next to the index whose root the contract knows;
        None without `known_root`, without a log, or when the log cannot be read (logged)."""
        known_root = self.known_root
        path = default_path(store.path)
        if known_root is None or not path.exists():
            return None
        try:
            with StepLog(path) as steps:
                return newest_known_state(steps, known_root)
        except (CoprocessorError, OSError, sqlite3.Error) as exc:
            log_event(
                "relayer.history_unavailable",
                level=logging.WARNING,
                query_id=request.query_id,
                path=str(path),
                error=f"{type(exc).__name__}: {exc}",
            )
            return None

    @contextmanager
    def _open_index(self) -> Iterator[tuple[Store, bool]]:
        """(store, writable); a path is opened for the duration only, read-only when another
        process holds it."""
        if self.index is None:
            raise ProverUnavailableError(
                "the relayer has no index to prove from (RelayerConfig.index_path, relay --db)"
            )
        if isinstance(self.index, Store):
            yield self.index, True
            return
        if not Path(self.index).exists():
            raise ProverUnavailableError(f"no index at {self.index}: run `coprocessor index`")
        try:
            store, writable = Store(self.index), True
        except StoreLockedError:
            try:
                store, writable = Store(self.index, read_only=True), False
            except StoreLockedError as exc:
                raise IndexNotReadyError(f"the index {self.index} is locked: {exc}") from exc
        try:
            yield store, writable
        finally:
            store.close()
