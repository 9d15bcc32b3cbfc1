"""CoprocessorQuery and its verifier, as the relayer uses them (web3.py over the artifacts).

Reads (request status, the verifier and whether it is the mock, the contract's terms,
whether its BlockHistory knows a root), the fulfil calldata, its eth_call simulation with
the revert decoded to the contract's custom error name, and the events of a receipt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, Web3Exception
from web3.logs import DISCARD
from web3.types import LogReceipt, TxReceipt

from coprocessor.contracts import load_artifact
from coprocessor.errors import RelayerError
from coprocessor.relayer.node import Node
from coprocessor.relayer.request import QueryRequest

MOCK_VERIFIER_KIND_PREFIX = "RiscZeroMockVerifier"
ZERO_ADDRESS = "0x" + "00" * 20
_MINIMAL_VERIFIER_ABI = [
    {
        "type": "function",
        "name": "isMock",
        "stateMutability": "pure",
        "inputs": [],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "VERIFIER_KIND",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "string"}],
    },
]


class RequestStatus(enum.IntEnum):
    """CoprocessorQuery.Status."""

    NONE = 0
    PENDING = 1
    FULFILLED = 2
    REFUNDED = 3


@dataclass(frozen=True)
class Revert:
    """A decoded revert: the custom error's name and arguments (or 'unknown' and the data)."""

    name: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        shown = ("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in self.args)
        return f"{self.name}({', '.join(shown)})"


@dataclass(frozen=True)
class ContractTerms:
    verifier: str
    query_image_id: bytes
    protocol_fee: int
    fulfill_overhead_gas: int
    block_history: str | None = None  # None: the contract refuses history-anchored journals


def _error_table(abis: list[list[dict]]) -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {
        keccak(b"Error(string)")[:4]: ("Error", ["string"]),
        keccak(b"Panic(uint256)")[:4]: ("Panic", ["uint256"]),
    }
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "error":
                types = [item["type"] for item in entry["inputs"]]
                signature = f"{entry['name']}({','.join(types)})"
                table[keccak(signature.encode())[:4]] = (entry["name"], types)
    return table


def decode_revert(data: bytes, table: dict[bytes, tuple[str, list[str]]]) -> Revert:
    known = table.get(bytes(data[:4]))
    if known is None:
        return Revert("unknown", ("0x" + bytes(data).hex(),))
    name, types = known
    try:
        return Revert(name, tuple(abi_decode(types, bytes(data[4:]))))
    except Exception:  # a malformed revert payload: keep the name, drop the arguments
        return Revert(name)


def _revert_data(exc: ContractLogicError) -> bytes:
    data = exc.data
    if isinstance(data, str) and data.startswith("0x"):
        return bytes(HexBytes(data))
    if isinstance(data, bytes):
        return data
    return b""


class QueryContract:
    """CoprocessorQuery at `address` on `node`."""

    def __init__(self, node: Node, address: str):
        self.node = node
        self.address = to_checksum_address(address)
        artifact = load_artifact("CoprocessorQuery")
        self.contract = node.w3.eth.contract(address=self.address, abi=artifact.abi)
        self.requested_topic = (
            "0x" + keccak(_event_signature(artifact.event_abi("QueryRequested"))).hex()
        )
        mock_abi = load_artifact("RiscZeroMockVerifier").abi
        self._errors = _error_table([artifact.abi, mock_abi])

    def has_code(self) -> bool:
        return len(self.node.call(lambda: self.node.w3.eth.get_code(self.address))) > 0

    def terms(self) -> ContractTerms:
        functions = self.contract.functions
        block_history = to_checksum_address(self.node.call(functions.blockHistory().call))
        return ContractTerms(
            verifier=to_checksum_address(self.node.call(functions.verifier().call)),
            query_image_id=bytes(self.node.call(functions.queryImageId().call)),
            protocol_fee=int(self.node.call(functions.protocolFee().call)),
            fulfill_overhead_gas=int(self.node.call(functions.fulfillOverheadGas().call)),
            block_history=None if int(block_history, 16) == 0 else block_history,
        )

    def is_known_root(self, block_history: str, history_root: bytes) -> bool:
        """`isKnownRoot(history_root)` of the BlockHistory at `block_history` (the contract's
        own: terms().block_history), on the latest block."""
        history = self.node.w3.eth.contract(
            address=to_checksum_address(block_history), abi=load_artifact("IBlockHistory").abi
        )
        return bool(self.node.call(history.functions.isKnownRoot(history_root).call))

    def verifier_kind(self, verifier: str) -> tuple[bool, str]:
        """(is it the mock, what it says it is): the mock iff it answers isMock() with true
        and names itself RiscZeroMockVerifier; any failure to answer means not the mock."""
        contract = self.node.w3.eth.contract(
            address=to_checksum_address(verifier), abi=_MINIMAL_VERIFIER_ABI
        )
        try:
            is_mock = contract.functions.isMock().call() is True
            kind = str(contract.functions.VERIFIER_KIND().call())
        except (Web3Exception, ValueError, OverflowError, RelayerError, OSError):
            return False, "no answer to isMock()/VERIFIER_KIND"
        return is_mock and kind.startswith(MOCK_VERIFIER_KIND_PREFIX), kind

    def request_status(self, query_id: bytes) -> RequestStatus:
        record = self.node.call(self.contract.functions.requests(query_id).call)
        return RequestStatus(int(record[2]))

    def decode_request_log(self, log: LogReceipt) -> QueryRequest:
        event = self.contract.events.QueryRequested().process_log(log)
        return QueryRequest.from_event(event, chain_id=self.node.chain_id)

    def fulfill_calldata(self, query_id: bytes, journal: bytes, seal: bytes) -> bytes:
        encoded = self.contract.encode_abi("fulfill", args=[query_id, journal, seal])
        return bytes(HexBytes(encoded))

    def simulate(self, sender: str, calldata: bytes) -> Revert | None:
        """eth_call of the fulfilment from `sender` on the latest block: None if it succeeds."""
        call = {"from": sender, "to": self.address, "data": calldata}
        try:
            self.node.call(lambda: self.node.w3.eth.call(call))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return decode_revert(_revert_data(exc), self._errors)
        return None

    def estimate_gas(self, sender: str, calldata: bytes) -> int:
        call = {"from": sender, "to": self.address, "data": calldata}
        try:
            return int(self.node.call(lambda: self.node.w3.eth.estimate_gas(call)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            revert = decode_revert(_revert_data(exc), self._errors)
            raise RelayerError(f"gas estimation reverted: {revert}") from exc

    def fulfilled_query_ids(self, receipt: TxReceipt) -> list[bytes]:
        """The queryIds of the `Fulfilled` events this contract emitted in `receipt`."""
        events = self.contract.events.Fulfilled().process_receipt(receipt, errors=DISCARD)
        return [
            bytes(event["args"]["queryId"])
            for event in events
            if to_checksum_address(event["address"]) == self.address
        ]


def _event_signature(entry: dict) -> bytes:
    types = ",".join(item["type"] for item in entry["inputs"])
    return f"{entry['name']}({types})".encode()
