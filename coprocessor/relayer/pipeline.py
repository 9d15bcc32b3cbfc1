"""One request from the outbox to a sent fulfilment: prove, check, simulate, price, send.

`FulfilmentPipeline.handle(record)` takes a request in state new, proved or unprofitable
and moves it on; safe to run for different requests in parallel threads (the nonce lock
serialises the sends). Each step that decides not to send logs why, with the queryId:

- the contract no longer holds the request as pending: skipped before proving;
- the index cannot serve it yet (`IndexNotReadyError`: blocks not indexed, file locked):
  left new, tried again on the next tick;
- the prover cannot answer it (`ProverUnavailableError`): deferred to the next start;
- the proof fails the relayer's check (proofcheck.py; a mock seal toward a real verifier
  is refused, so is a journal anchored on a root the contract's BlockHistory does not
  know): skipped or failed, nothing sent;
- the eth_call simulation reverts: `NotPending` (fulfilled or refunded meanwhile) skips it,
  a stale anchor sends it back for a new proof, anything else fails it;
- the escrow does not pay for the gas at the current base fee: unprofitable, checked again
  on the next tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coprocessor.errors import (
    CoprocessorError,
    IndexNotReadyError,
    MockSealRefusedError,
    ProofCheckError,
    ProverUnavailableError,
)
from coprocessor.relayer.fees import FeePolicy, Fees, expected_profit
from coprocessor.relayer.log import log_event
from coprocessor.relayer.node import Node
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.proofcheck import KnownRootCheck, check_proof
from coprocessor.relayer.prover import Prover
from coprocessor.relayer.query_contract import ContractTerms, QueryContract, RequestStatus, Revert
from coprocessor.relayer.records import RequestRecord
from coprocessor.relayer.sender import Sender
from coprocessor.relayer.tracker import (
    MAX_PROOFS_PER_REQUEST,
    STALE_PROOF_ERRORS,
    anchor_not_yet_usable,
    outcome_of_status,
)


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    address: str  # the relayer account
    image_id: bytes  # the query guest image ID the contract pins
    verifier_is_mock: bool
    terms: ContractTerms
    min_profit_wei: int


class FulfilmentPipeline:
    def __init__(
        self,
        *,
        node: Node,
        contract: QueryContract,
        outbox: Outbox,
        sender: Sender,
        prover: Prover,
        fee_policy: FeePolicy,
        settings: PipelineSettings,
    ):
        self.node, self.contract, self.outbox, self.sender = node, contract, outbox, sender
        self.prover, self.fee_policy, self.settings = prover, fee_policy, settings

    def handle(self, record: RequestRecord) -> None:
        if record.state == "new":
            proven = self._prove(record)
            if proven is None:
                return
            record = proven
        if record.state in ("proved", "unprofitable"):
            self._send(record)

    def _skip(self, record: RequestRecord, state: str, reason: str, **fields: object) -> None:
        self.outbox.update_request(record.request.query_id, state=state, reason=reason)
        level = logging.WARNING if state == "failed" else logging.INFO
        log_event(
            "relayer.skip",
            level=level,
            query_id=record.request.query_id,
            state=state,
            reason=reason,
            **fields,
        )

    # --- proving ------------------------------------------------------------------------------

    def _prove(self, record: RequestRecord) -> RequestRecord | None:
        request = record.request
        status = self.contract.request_status(request.query_id)
        if status is not RequestStatus.PENDING:
            self._skip(record, *outcome_of_status(status), status=status.name)
            return None
        try:
            journal, seal = self.prover.prove(request)
            check_proof(
                request,
                journal,
                seal,
                image_id=self.settings.image_id,
                verifier_is_mock=self.settings.verifier_is_mock,
                head_number=self.node.head(),
                is_known_root=self._known_root_check(),
            )
        except IndexNotReadyError as exc:  # the index may catch up: tried again next tick
            self.outbox.update_request(request.query_id, state="new", reason="index_not_ready")
            log_event("relayer.index_not_ready", query_id=request.query_id, detail=str(exc))
            return None
        except ProverUnavailableError as exc:
            self._skip(record, "deferred", "prover_unavailable", detail=str(exc))
            return None
        except MockSealRefusedError as exc:
            self._skip(record, "skipped", "mock_seal_refused", detail=str(exc))
            return None
        except ProofCheckError as exc:
            self._skip(record, "failed", "proof_check_failed", detail=str(exc))
            return None
        except CoprocessorError as exc:
            self._skip(record, "failed", "proving_failed", detail=str(exc))
            return None
        except Exception as exc:  # a pluggable prover's own failure, mapped at the seam
            self._skip(record, "failed", "proving_failed", detail=f"{type(exc).__name__}: {exc}")
            return None
        self.outbox.update_request(
            request.query_id, state="proved", journal=journal, seal=seal, proofs=record.proofs + 1
        )
        log_event("relayer.proof_checked", query_id=request.query_id, journal_bytes=len(journal))
        updated = self.outbox.request(request.query_id)
        return updated

    def _known_root_check(self) -> KnownRootCheck | None:
        """isKnownRoot of the contract's BlockHistory; None when it has none."""
        block_history = self.settings.terms.block_history
        if block_history is None:
            return None
        return lambda root: self.contract.is_known_root(block_history, root)

    # --- sending ------------------------------------------------------------------------------

    def _send(self, record: RequestRecord) -> None:
        request = record.request
        if record.journal is None or record.seal is None:
            self.outbox.update_request(request.query_id, state="new")
            return
        address = self.settings.address
        calldata = self.contract.fulfill_calldata(request.query_id, record.journal, record.seal)
        revert = self.contract.simulate(address, calldata)
        if revert is not None:
            self._simulation_reverted(record, revert)
            return
        gas = self.contract.estimate_gas(address, calldata)
        base_fee = self.node.base_fee()
        open_nonce = record.nonce
        if open_nonce is not None and not self.outbox.nonce_is_open(open_nonce):
            open_nonce = None
        fees = self._fees_for(record.request.query_id, open_nonce, base_fee)
        if fees is None:
            return
        terms = self.settings.terms
        profit = expected_profit(
            gas=gas,
            base_fee=base_fee,
            fees=fees,
            request_max_fee_per_gas=request.max_fee_per_gas,
            gas_budget=terms.fulfill_overhead_gas + request.callback_gas_limit,
            protocol_fee=terms.protocol_fee,
            escrow=request.escrow,
        )
        # a request whose nonce already holds a transaction is committed: no profit check
        if open_nonce is None and profit.net < self.settings.min_profit_wei:
            if record.state != "unprofitable":
                self._skip(
                    record,
                    "unprofitable",
                    "fee_below_gas_cost",
                    payment=profit.payment,
                    gas_cost=profit.gas_cost,
                    base_fee=base_fee,
                    gas=gas,
                )
            return
        log_event("relayer.sending", query_id=request.query_id, gas=gas, expected=profit.net)
        self.sender.send_fulfilment(
            record,
            calldata,
            gas_limit=self.sender.gas_limit_for(gas),
            fees=fees,
            open_nonce=open_nonce,
        )

    def _fees_for(self, query_id: bytes, open_nonce: int | None, base_fee: int) -> Fees | None:
        """First-send fees, or replacement fees when the request's nonce still holds a
        transaction (a new proof replacing a stale one); None when the cap forbids it."""
        attempts = [] if open_nonce is None else self.outbox.attempts_at(open_nonce)
        if not attempts:
            return self.fee_policy.initial(base_fee)
        fees = self.fee_policy.replacement(attempts[-1].fees, base_fee)
        if fees is None:
            log_event(
                "relayer.replacement_capped",
                level=logging.WARNING,
                query_id=query_id,
                nonce=open_nonce,
            )
        return fees

    def _simulation_reverted(self, record: RequestRecord, revert: Revert) -> None:
        query_id, name = record.request.query_id, revert.name
        if anchor_not_yet_usable(revert, self.node.head()):
            log_event("relayer.anchor_not_yet_usable", level=logging.DEBUG, query_id=query_id)
        elif name == "NotPending":
            status = self.contract.request_status(query_id)
            self._skip(
                record, *outcome_of_status(status), status=status.name, simulation=str(revert)
            )
        elif name in STALE_PROOF_ERRORS and record.proofs < MAX_PROOFS_PER_REQUEST:
            self.outbox.update_request(query_id, state="new", reason="stale_proof", journal=None)
            log_event("relayer.stale_proof", query_id=query_id, simulation=str(revert))
        else:
            self._skip(record, "failed", "simulation_reverted", simulation=str(revert))
