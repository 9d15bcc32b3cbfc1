"""Signing, storing and broadcasting the relayer's transactions.

Every transaction is signed, then stored in the outbox (raw bytes and hash), then
broadcast: a crash between any two steps leaves a record the tracker reconciles. Three
kinds of sends:

- a fulfilment at a new nonce (`send_fulfilment`), or at the request's own nonce when a
  fresh proof replaces a stale one;
- a replacement at the same nonce (`replace`): fees +12.5% at least, capped;
- a cancellation (`cancel`): a 0-value transfer to itself at the nonce of a fulfilment
  that is no longer wanted, so the nonce is used and no later one waits on it.

Broadcast answers: accepted or "already known" mean the node has it; "nonce too low" may
mean it is mined already: all three are recorded as broadcast and the tracker checks.
"Underpriced" leads to a replacement; anything else is logged and retried on the next tick.
"""

from __future__ import annotations

import logging
from typing import Any

from eth_account.signers.local import LocalAccount

from coprocessor.relayer.fees import FeePolicy, Fees
from coprocessor.relayer.log import log_event
from coprocessor.relayer.node import Broadcast, BroadcastResult, Node
from coprocessor.relayer.nonces import NonceManager
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.query_contract import QueryContract
from coprocessor.relayer.records import Attempt, RequestRecord

TRANSFER_GAS = 21_000


class Sender:
    def __init__(
        self,
        *,
        node: Node,
        contract: QueryContract,
        outbox: Outbox,
        nonces: NonceManager,
        account: LocalAccount,
        fee_policy: FeePolicy,
        gas_limit_margin_percent: int,
    ):
        self.node, self.contract, self.outbox, self.nonces = node, contract, outbox, nonces
        self.account, self.fee_policy = account, fee_policy
        self.gas_limit_margin_percent = gas_limit_margin_percent

    def gas_limit_for(self, estimate: int) -> int:
        return estimate + estimate * self.gas_limit_margin_percent // 100

    def _sign(
        self, *, nonce: int, query_id: bytes, kind: str, to: str, data: bytes, gas: int, fees: Fees
    ) -> Attempt:
        transaction: dict[str, Any] = {
            "type": 2,
            "chainId": self.node.chain_id,
            "nonce": nonce,
            "to": to,
            "value": 0,
            "data": data,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = self.account.sign_transaction(transaction)
        return Attempt(
            tx_hash=bytes(signed.hash),
            nonce=nonce,
            query_id=query_id,
            kind=kind,
            raw_tx=bytes(signed.raw_transaction),
            fees=fees,
            state="signed",
        )

    def send_fulfilment(
        self,
        record: RequestRecord,
        calldata: bytes,
        *,
        gas_limit: int,
        fees: Fees,
        open_nonce: int | None = None,
    ) -> Attempt:
        """Signs, stores and broadcasts the fulfilment of `record`: at a new nonce, or at
        `open_nonce` (its own nonce, still open) whose transaction `fees` must replace."""
        query_id = record.request.query_id
        update: dict[str, Any] = {"state": "sending", "reason": None}

        def sign_at(nonce: int) -> Attempt:
            return self._sign(
                nonce=nonce,
                query_id=query_id,
                kind="fulfil",
                to=self.contract.address,
                data=calldata,
                gas=gas_limit,
                fees=fees,
            )

        with self.nonces.lock:
            if open_nonce is None:
                attempt = self.nonces.take(sign_at, request_update=update)
            else:
                attempt = sign_at(open_nonce)
                self.outbox.record_attempt(attempt, new_nonce=False, request_update=update)
            self._log_signed(attempt)
            self.broadcast(attempt)
        return attempt

    def replace(self, previous: Attempt, *, calldata: bytes | None, gas_limit: int) -> bool:
        """A transaction at `previous`'s nonce with fees bumped (a fulfilment with `calldata`,
        or a cancellation when it is None); False when the fee cap forbids it."""
        base_fee = self.node.base_fee()
        fees = self.fee_policy.replacement(previous.fees, base_fee)
        if fees is None:
            log_event(
                "relayer.replacement_capped",
                level=logging.WARNING,
                query_id=previous.query_id,
                nonce=previous.nonce,
                max_fee_per_gas=previous.fees.max_fee_per_gas,
                cap=self.fee_policy.max_fee_per_gas_cap,
            )
            return False
        if calldata is None:
            to, data, gas, kind = self.account.address, b"", TRANSFER_GAS, "cancel"
        else:
            to, data, gas, kind = self.contract.address, calldata, gas_limit, "fulfil"
        attempt = self._sign(
            nonce=previous.nonce,
            query_id=previous.query_id,
            kind=kind,
            to=to,
            data=data,
            gas=gas,
            fees=fees,
        )
        with self.nonces.lock:
            self.outbox.record_attempt(attempt, new_nonce=False, request_update={})
            log_event(
                "relayer.replaced" if kind == "fulfil" else "relayer.cancelling",
                query_id=attempt.query_id,
                nonce=attempt.nonce,
                replaces=previous.tx_hash,
                tx_hash=attempt.tx_hash,
                max_fee_per_gas=fees.max_fee_per_gas,
                max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            )
            self.broadcast(attempt)
        return True

    def cancel(self, previous: Attempt) -> bool:
        """Replaces `previous` with a 0-value transfer to ourselves at its nonce."""
        return self.replace(previous, calldata=None, gas_limit=TRANSFER_GAS)

    def broadcast(self, attempt: Attempt) -> BroadcastResult:
        """Sends the stored raw transaction; records it as broadcast unless the node refused."""
        result = self.node.send_raw(attempt.raw_tx)
        log_event(
            "relayer.broadcast",
            level=logging.INFO if result.outcome is Broadcast.ACCEPTED else logging.WARNING,
            query_id=attempt.query_id,
            nonce=attempt.nonce,
            tx_hash=attempt.tx_hash,
            outcome=result.outcome.value,
            message=result.message,
        )
        restart_clock = result.outcome is Broadcast.ACCEPTED or attempt.broadcast_block is None
        if result.outcome in (Broadcast.ACCEPTED, Broadcast.ALREADY_KNOWN, Broadcast.NONCE_TOO_LOW):
            columns: dict[str, Any] = {"state": "broadcast"}
            if restart_clock:  # replacement counts blocks from here
                columns["broadcast_block"] = self.node.head()
            self.outbox.update_attempt(attempt.tx_hash, **columns)
        return result

    def _log_signed(self, attempt: Attempt) -> None:
        log_event(
            "relayer.signed",
            query_id=attempt.query_id,
            nonce=attempt.nonce,
            tx_hash=attempt.tx_hash,
            max_fee_per_gas=attempt.fees.max_fee_per_gas,
            max_priority_fee_per_gas=attempt.fees.max_priority_fee_per_gas,
        )
