"""The relayer's view of its Ethereum node, through web3.py; node errors mapped here, once.

Every call the relayer makes that is not about the CoprocessorQuery contract goes through
`Node`: head, block hashes, base fee, receipts, nonces, logs, and broadcasts, whose answers
are sorted into `Broadcast` outcomes ("already known" and "nonce too low" are possible
successes for the caller to reconcile, not failures).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import BlockIdentifier, LogReceipt, TxReceipt

from coprocessor.errors import RelayerError

T = TypeVar("T")

# Substrings of node error messages (geth, Nethermind, Erigon, Reth, anvil), lower case.
_ALREADY_KNOWN = ("already known", "already imported", "alreadyknown", "known transaction")
_NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce has already been used")
_UNDERPRICED = ("underpriced", "less than block base fee", "fee cap less than", "feetoolow")


class Broadcast(enum.Enum):
    """What the node said to eth_sendRawTransaction."""

    ACCEPTED = "accepted"
    ALREADY_KNOWN = "already_known"  # it has this transaction: success, maybe mined already
    NONCE_TOO_LOW = "nonce_too_low"  # the nonce is used: by this transaction or another
    UNDERPRICED = "underpriced"  # fees too low for the pool or the base fee: replace
    REJECTED = "rejected"  # anything else (insufficient funds, ...): retried later


@dataclass(frozen=True)
class BroadcastResult:
    outcome: Broadcast
    message: str = ""


def classify_send_error(message: str) -> Broadcast:
    text = message.lower()
    for needles, outcome in (
        (_ALREADY_KNOWN, Broadcast.ALREADY_KNOWN),
        (_NONCE_TOO_LOW, Broadcast.NONCE_TOO_LOW),
        (_UNDERPRICED, Broadcast.UNDERPRICED),
    ):
        if any(needle in text for needle in needles):
            return outcome
    return Broadcast.REJECTED


def rpc_message(exc: Web3RPCError) -> str:
    response = exc.rpc_response or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc.message)


def connect(rpc_url: str, *, timeout: float = 30.0) -> Web3:
    """web3 over HTTP to `rpc_url`."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


class Node:
    """The node behind `w3`; every method raises RelayerError when the node fails."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        self.chain_id = self.call(lambda: int(w3.eth.chain_id))

    def call(self, request: Callable[[], T]) -> T:
        """Runs one web3 request, mapping transport and RPC failures to RelayerError."""
        try:
            return request()
        except (requests.RequestException, OSError) as exc:
            raise RelayerError(f"the node is unreachable: {exc}") from exc
        except Web3RPCError as exc:
            raise RelayerError(f"the node answered with an error: {rpc_message(exc)}") from exc
        except ContractLogicError:
            raise  # a revert: the caller decodes it (query_contract.py)
        except Web3Exception as exc:
            raise RelayerError(f"the node's answer is unusable: {exc}") from exc

    def head(self) -> int:
        return self.call(lambda: int(self.w3.eth.block_number))

    def block_hash(self, number: int) -> bytes | None:
        """The canonical hash of block `number`, None when the node has no such block."""

        def fetch() -> bytes | None:
            try:
                return bytes(self.w3.eth.get_block(number)["hash"])
            except BlockNotFound:
                return None

        return self.call(fetch)

    def base_fee(self) -> int:
        """The newest block's base fee per gas (0 before London)."""
        return self.call(lambda: int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0)))

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        def fetch() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

        return self.call(fetch)

    def knows_transaction(self, tx_hash: bytes) -> bool:
        """Whether the node has the transaction, pending or mined."""

        def fetch() -> bool:
            try:
                self.w3.eth.get_transaction(HexBytes(tx_hash))
                return True
            except TransactionNotFound:
                return False

        return self.call(fetch)

    def nonce(self, address: str, block: BlockIdentifier = "latest") -> int:
        """The account's transaction count at `block` ("pending" counts the pool too)."""
        checksummed = to_checksum_address(address)
        return self.call(lambda: int(self.w3.eth.get_transaction_count(checksummed, block)))

    def logs(self, params: dict[str, Any]) -> list[LogReceipt]:
        return self.call(lambda: list(self.w3.eth.get_logs(params)))  # type: ignore[arg-type]

    def send_raw(self, raw_transaction: bytes) -> BroadcastResult:
        """Broadcasts a signed transaction; the node's refusals come back as outcomes."""
        try:
            self.call(lambda: self.w3.eth.send_raw_transaction(raw_transaction))
        except RelayerError as exc:
            cause = exc.__cause__
            if isinstance(cause, Web3RPCError):
                message = rpc_message(cause)
                return BroadcastResult(classify_send_error(message), message)
            raise
        return BroadcastResult(Broadcast.ACCEPTED)
