"""Carries every stored transaction to a settled nonce: the relayer's reconciliation.

Runs first on every tick, so after a restart the node is consulted (receipts, nonces, the
contract's request status) before anything new is sent. For each nonce with a transaction
not yet settled, newest knowledge first:

1. a receipt for one of its transactions: recorded as mined; at confirmation depth the
   nonce settles and the request's outcome is read from the receipt (our `Fulfilled`
   event, or a revert because someone else fulfilled it first);
2. no receipt although one was recorded: the block was reorged out. The request counts
   one resend, and the same signed transaction goes out again below (once: afterwards the
   node has it);
3. the nonce used at confirmation depth by a transaction that is not ours (the key is
   shared): the nonce settles as dropped and a still pending request is sent again at a
   new nonce;
4. a fulfilment no longer wanted (the simulation reverts: fulfilled or refunded meanwhile,
   or its proof went stale with its anchor block) is cancelled, or handed back for a new
   proof at the same nonce;
5. a transaction the node does not know (never broadcast: the relayer stopped between
   signing and sending; dropped from the pool; reorged out) is broadcast again;
6. one stuck for `replace_after_blocks` blocks is replaced with higher fees.
"""

from __future__ import annotations

import logging

from web3.types import TxReceipt

from coprocessor.errors import CoprocessorError, InternalError
from coprocessor.relayer.log import log_event
from coprocessor.relayer.node import Broadcast, Node
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.query_contract import QueryContract, RequestStatus, Revert
from coprocessor.relayer.records import FINAL_REQUEST_STATES, Attempt, RequestRecord
from coprocessor.relayer.sender import Sender

MAX_PROOFS_PER_REQUEST = 3
STALE_PROOF_ERRORS = ("AnchorMismatch", "AnchorUnavailable")


def anchor_not_yet_usable(revert: Revert, head: int) -> bool:
    """The simulation ran in the anchor's own block (or before it): one block more and the
    proof is good, so it is not stale."""
    if revert.name != "AnchorUnavailable" or not revert.args:
        return False
    return int(revert.args[0]) >= head


def outcome_of_status(status: RequestStatus) -> tuple[str, str]:
    """(request state, reason) for a request the contract no longer holds as pending."""
    if status is RequestStatus.FULFILLED:
        return "fulfilled_elsewhere", "already_fulfilled"
    if status is RequestStatus.REFUNDED:
        return "skipped", "refunded"
    return "skipped", "unknown_request"


class Tracker:
    def __init__(
        self,
        *,
        node: Node,
        contract: QueryContract,
        outbox: Outbox,
        sender: Sender,
        address: str,
        confirmations: int,
        replace_after_blocks: int,
    ):
        self.node, self.contract, self.outbox, self.sender = node, contract, outbox, sender
        self.address = address
        self.confirmations, self.replace_after_blocks = confirmations, replace_after_blocks

    def track_all(self) -> int:
        """One pass over the open nonces, in order; returns how many stay open."""
        for nonce in self.outbox.open_nonces():
            try:
                self.track(nonce, self.node.head())
            except CoprocessorError as exc:  # one nonce's trouble does not hold up the others
                log_event(
                    "relayer.track_error",
                    level=logging.WARNING,
                    nonce=nonce,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return len(self.outbox.open_nonces())

    def track(self, nonce: int, head: int) -> None:
        attempts = [a for a in self.outbox.attempts_at(nonce) if a.state != "dropped"]
        if not attempts:
            return
        for attempt in reversed(attempts):
            receipt = self.node.receipt(attempt.tx_hash)
            if receipt is not None:
                self._on_mined(attempt, receipt, head)
                return
        if any(a.mined_block_hash is not None for a in attempts):
            self._on_reorged_out(attempts, head)
            attempts = self.outbox.attempts_at(nonce)
        if self._nonce_used_at_depth(nonce, head):
            self._on_nonce_taken(nonce, attempts[-1].query_id)
            return
        latest = attempts[-1]
        if latest.kind == "fulfil" and not self._fulfilment_still_wanted(latest):
            return
        if not self.node.knows_transaction(latest.tx_hash):
            self._rebroadcast(latest)
        elif latest.broadcast_block is None or head - latest.broadcast_block >= (
            self.replace_after_blocks
        ):
            self._replace(latest)

    # --- mined, reorged out, taken --------------------------------------------------------------

    def _on_mined(self, attempt: Attempt, receipt: TxReceipt, head: int) -> None:
        number, block_hash = int(receipt["blockNumber"]), bytes(receipt["blockHash"])
        if attempt.mined_block_hash != block_hash:
            self.outbox.update_attempt(
                attempt.tx_hash,
                state="mined",
                mined_block_number=number,
                mined_block_hash=block_hash,
                receipt_status=int(receipt["status"]),
            )
            log_event(
                "relayer.mined",
                query_id=attempt.query_id,
                nonce=attempt.nonce,
                tx_hash=attempt.tx_hash,
                block=number,
                status=int(receipt["status"]),
            )
        if head - number + 1 < self.confirmations or self.node.block_hash(number) != block_hash:
            return
        self.outbox.settle_nonce(attempt.nonce, winner=attempt.tx_hash, state="confirmed")
        self._settle_request(attempt, receipt)

    def _settle_request(self, attempt: Attempt, receipt: TxReceipt) -> None:
        query_id = attempt.query_id
        record = self.outbox.request(query_id)
        if record is None:
            return
        ours = attempt.kind == "fulfil" and query_id in self.contract.fulfilled_query_ids(receipt)
        if ours:
            state, reason = "confirmed", None
        else:
            state, reason = self._outcome_without_us(attempt, record)
        self.outbox.update_request(query_id, state=state, reason=reason)
        if state in ("new", "proved"):
            self.outbox.update_request(query_id, nonce=None)
        log_event(
            "relayer.confirmed" if ours else "relayer.settled",
            query_id=query_id,
            nonce=attempt.nonce,
            tx_hash=attempt.tx_hash,
            block=int(receipt["blockNumber"]),
            state=state,
            reason=reason or "",
        )

    def _outcome_without_us(self, attempt: Attempt, record: RequestRecord) -> tuple[str, str]:
        """(state, reason) of a request whose nonce settled without our Fulfilled event."""
        status = self.contract.request_status(attempt.query_id)
        if status is RequestStatus.FULFILLED:
            return "fulfilled_elsewhere", "already_fulfilled"
        if attempt.kind == "cancel":
            if record.state in FINAL_REQUEST_STATES:
                return record.state, record.reason or ""
            if status is RequestStatus.PENDING:
                return "failed", record.reason or "cancelled"
            return outcome_of_status(status)
        if status is RequestStatus.PENDING:  # our fulfilment reverted on chain: prove again
            retry = "new" if record.proofs < MAX_PROOFS_PER_REQUEST else "failed"
            return retry, "reverted_on_chain"
        return outcome_of_status(status)

    def _on_reorged_out(self, attempts: list[Attempt], head: int) -> None:
        """Forgets the blocks that held them; their replacement clock starts again."""
        for attempt in attempts:
            if attempt.mined_block_hash is not None:
                self.outbox.update_attempt(
                    attempt.tx_hash,
                    state="broadcast",
                    broadcast_block=head,
                    mined_block_number=None,
                    mined_block_hash=None,
                    receipt_status=None,
                )
                log_event(
                    "relayer.reorged_out",
                    level=logging.WARNING,
                    query_id=attempt.query_id,
                    nonce=attempt.nonce,
                    tx_hash=attempt.tx_hash,
                    block=attempt.mined_block_number,
                )
        record = self.outbox.request(attempts[-1].query_id)
        if record is not None:
            self.outbox.update_request(record.request.query_id, reorgs=record.reorgs + 1)

    def _nonce_used_at_depth(self, nonce: int, head: int) -> bool:
        depth_block = head - self.confirmations + 1
        return depth_block >= 0 and self.node.nonce(self.address, depth_block) > nonce

    def _on_nonce_taken(self, nonce: int, query_id: bytes) -> None:
        self.outbox.settle_nonce(nonce, winner=None, state="dropped")
        status = self.contract.request_status(query_id)
        record = self.outbox.request(query_id)
        if status is RequestStatus.PENDING and record is not None:
            state, reason = ("proved" if record.journal else "new"), "nonce_taken"
        else:
            state, reason = outcome_of_status(status)
        self.outbox.update_request(query_id, state=state, reason=reason, nonce=None)
        log_event(
            "relayer.nonce_taken",
            level=logging.WARNING,
            query_id=query_id,
            nonce=nonce,
            state=state,
        )

    # --- still wanted, resend, replace ----------------------------------------------------------

    def _fulfilment_still_wanted(self, latest: Attempt) -> bool:
        """Simulates the fulfilment; cancels it or hands it back for a new proof if it would
        revert. False when nothing more is to be done with this nonce now."""
        record = self.outbox.request(latest.query_id)
        if record is None:
            return True
        if record.state in ("new", "proved"):
            return False  # being proven again: the pipeline replaces it at this nonce
        if record.state != "sending" or record.journal is None:
            self._cancel(latest, record.reason or record.state)
            return False
        revert = self.contract.simulate(self.address, self._calldata(record))
        if revert is None:
            return True
        if anchor_not_yet_usable(revert, self.node.head()):
            return False
        if revert.name in STALE_PROOF_ERRORS and record.proofs < MAX_PROOFS_PER_REQUEST:
            self.outbox.update_request(
                latest.query_id, state="new", reason="stale_proof", journal=None
            )
            log_event("relayer.stale_proof", query_id=latest.query_id, simulation=str(revert))
            return False
        self._cancel(latest, self._reason_for(latest, revert))
        return False

    def _reason_for(self, latest: Attempt, revert: Revert) -> str:
        if revert.name == "NotPending":
            return outcome_of_status(self.contract.request_status(latest.query_id))[1]
        return f"simulation reverted: {revert}"

    def _cancel(self, latest: Attempt, reason: str) -> None:
        self.outbox.update_request(latest.query_id, reason=reason)
        log_event("relayer.cancel", query_id=latest.query_id, nonce=latest.nonce, reason=reason)
        self.sender.cancel(latest)

    def _calldata(self, record: RequestRecord) -> bytes:
        if record.journal is None or record.seal is None:
            raise InternalError(f"request {record.request.query_id_hex} has no proof to send")
        return self.contract.fulfill_calldata(record.request.query_id, record.journal, record.seal)

    def _rebroadcast(self, latest: Attempt) -> None:
        result = self.sender.broadcast(latest)
        if result.outcome is Broadcast.UNDERPRICED:
            self._replace(latest)

    def _replace(self, latest: Attempt) -> None:
        if latest.kind == "cancel":
            self.sender.cancel(latest)
            return
        record = self.outbox.request(latest.query_id)
        if record is None or record.journal is None:
            return
        calldata = self._calldata(record)
        gas_limit = self.sender.gas_limit_for(self.contract.estimate_gas(self.address, calldata))
        self.sender.replace(latest, calldata=calldata, gas_limit=gas_limit)
