"""A query request as `CoprocessorQuery.sendQuery` emitted it (`QueryRequested`), and where.

The outbox stores requests as JSON (`to_json` / `from_json`); bytes are 0x-hex, integers
exact (uint256 escrows do not fit SQLite integers).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from eth_utils import to_checksum_address

_BYTES_FIELDS = ("query_id", "query_hash", "params", "plan", "extra_data", "block_hash", "tx_hash")


@dataclass(frozen=True, kw_only=True)
class QueryRequest:
    """One `QueryRequested` event: the request's terms and the log that carried it."""

    chain_id: int
    contract: str  # checksummed CoprocessorQuery address
    query_id: bytes
    sender: str
    query_hash: bytes
    nonce: int
    params: bytes
    plan: bytes
    callback: str
    callback_gas_limit: int
    max_fee_per_gas: int
    refundee: str
    deadline: int
    escrow: int
    extra_data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int

    @classmethod
    def from_event(cls, event: Any, *, chain_id: int) -> QueryRequest:
        """From web3's decoded event (`contract.events.QueryRequested().process_log(log)`)."""
        args = event["args"]
        return cls(
            chain_id=chain_id,
            contract=to_checksum_address(event["address"]),
            query_id=bytes(args["queryId"]),
            sender=to_checksum_address(args["sender"]),
            query_hash=bytes(args["queryHash"]),
            nonce=int(args["nonce"]),
            params=bytes(args["params"]),
            plan=bytes(args["plan"]),
            callback=to_checksum_address(args["callback"]),
            callback_gas_limit=int(args["callbackGasLimit"]),
            max_fee_per_gas=int(args["maxFeePerGas"]),
            refundee=to_checksum_address(args["refundee"]),
            deadline=int(args["deadline"]),
            escrow=int(args["escrow"]),
            extra_data=bytes(args["extraData"]),
            block_number=int(event["blockNumber"]),
            block_hash=bytes(event["blockHash"]),
            tx_hash=bytes(event["transactionHash"]),
            log_index=int(event["logIndex"]),
        )

    @property
    def query_id_hex(self) -> str:
        return "0x" + self.query_id.hex()

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        for name in _BYTES_FIELDS:
            data[name] = "0x" + data[name].hex()
        data["escrow"] = str(self.escrow)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QueryRequest:
        data = json.loads(text)
        for name in _BYTES_FIELDS:
            data[name] = bytes.fromhex(data[name].removeprefix("0x"))
        data["escrow"] = int(data["escrow"])
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
