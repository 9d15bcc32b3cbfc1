"""The relayer account's nonces: handed out one at a time, never with a gap.

A nonce is taken only together with the transaction that uses it: under one lock, the
next nonce is read from the outbox, the transaction signed with it, and both stored in one
SQLite transaction that advances the next nonce (`Outbox.record_attempt`). Broadcasting
happens under the same lock, so transactions reach the node in nonce order. A stored
transaction is then carried to the chain by the tracker (rebroadcast, replaced at the same
nonce, or replaced by a 0-value cancellation), never abandoned, so no later nonce is left
waiting on a hole.

`sync()` reconciles with the node before any send: the next nonce is raised to the node's
count of mined transactions (another holder of the key used some); on a fresh outbox it
starts from the node's pending count, so transactions already in the node's pool are not
overwritten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from coprocessor.errors import InternalError
from coprocessor.relayer.node import Node
from coprocessor.relayer.outbox import Outbox
from coprocessor.relayer.records import Attempt


class NonceManager:
    def __init__(self, outbox: Outbox, node: Node, address: str):
        self.outbox, self.node, self.address = outbox, node, address
        self.lock = threading.RLock()  # held from taking a nonce to its broadcast

    def sync(self) -> int:
        """Reconciles the next nonce with the node; returns it."""
        with self.lock:
            mined = self.node.nonce(self.address, "latest")
            if self.outbox.next_nonce() is None:
                pending = self.node.nonce(self.address, "pending")
                return self.outbox.raise_next_nonce(max(mined, pending))
            return self.outbox.raise_next_nonce(mined)

    def take(self, sign_at: Callable[[int], Attempt], *, request_update: dict[str, Any]) -> Attempt:
        """Signs a transaction at the next nonce and stores it (with `request_update` applied
        to its request) in one outbox transaction. Call it holding `lock` when the broadcast
        must follow in order."""
        with self.lock:
            nonce = self.outbox.next_nonce()
            if nonce is None:
                raise InternalError("NonceManager.take before sync()")
            attempt = sign_at(nonce)
            if attempt.nonce != nonce:
                raise InternalError(f"signed at nonce {attempt.nonce}, asked for {nonce}")
            self.outbox.record_attempt(attempt, new_nonce=True, request_update=request_update)
            return attempt
