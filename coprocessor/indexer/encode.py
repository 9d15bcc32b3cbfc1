"""Consensus encodings rebuilt from JSON-RPC objects (header RLP, raw transactions, receipts).

Written by hand on purpose: JSON-RPC does not return these bytes, and no
maintained library re-encodes a *signed* transaction or a header from a node's
JSON across every fork (eth-account builds unsigned typed transactions;
web3.py has no header encoder). Each function is a few lines of RLP
following the EIPs, and every output is checked against a hash the node
committed to (block hash, tx hash, transactionsRoot, receiptsRoot), so a
mistake here cannot store wrong bytes: it fails validation.
"""

from __future__ import annotations

import rlp

from coprocessor.errors import InvalidArgument
from coprocessor.types import hex_bytes, hex_int


def rlp_encode(item) -> bytes:
    """RLP of bytes, non-negative ints and (nested) lists, by pyrlp; what it cannot encode
    (a negative int, text) is an InvalidArgument."""
    try:
        return rlp.encode(item)
    except (rlp.exceptions.RLPException, TypeError) as exc:  # TypeError: no sedes for the type
        raise InvalidArgument(f"RLP cannot encode {item!r:.80}: {exc}") from exc


# Header fields after the 15 Frontier ones, in consensus order, with the fork that adds them.
_HEADER_TAIL = (
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
)
_INT_TAIL = {"baseFeePerGas", "blobGasUsed", "excessBlobGas"}


def header_rlp(block: dict) -> bytes:
    """RLP of a header from eth_getBlockByNumber JSON, fork era taken from the fields present."""
    fields = [
        hex_bytes(block["parentHash"]),
        hex_bytes(block["sha3Uncles"]),
        hex_bytes(block["miner"]),
        hex_bytes(block["stateRoot"]),
        hex_bytes(block["transactionsRoot"]),
        hex_bytes(block["receiptsRoot"]),
        hex_bytes(block["logsBloom"]),
        hex_int(block["difficulty"]),
        hex_int(block["number"]),
        hex_int(block["gasLimit"]),
        hex_int(block["gasUsed"]),
        hex_int(block["timestamp"]),
        hex_bytes(block["extraData"]),
        hex_bytes(block.get("mixHash")),
        hex_bytes(block.get("nonce")),
    ]
    for i, name in enumerate(_HEADER_TAIL):
        if block.get(name) is None:
            later = [n for n in _HEADER_TAIL[i + 1 :] if block.get(n) is not None]
            if later:
                raise InvalidArgument(f"header has {later[0]} but not {name}")
            break
        fields.append(hex_int(block[name]) if name in _INT_TAIL else hex_bytes(block[name]))
    return rlp_encode(fields)


def _access_list(items) -> list:
    return [
        [hex_bytes(i["address"]), [hex_bytes(k) for k in i.get("storageKeys", [])]]
        for i in items or []
    ]


def _y_parity(tx: dict) -> int:
    return hex_int(tx["yParity"]) if tx.get("yParity") is not None else hex_int(tx["v"])


def _auth_list(items) -> list:
    return [
        [
            hex_int(a["chainId"]),
            hex_bytes(a["address"]),
            hex_int(a["nonce"]),
            hex_int(a["yParity"]),
            hex_int(a["r"]),
            hex_int(a["s"]),
        ]
        for a in items or []
    ]


def raw_transaction(tx: dict) -> bytes:
    """The EIP-2718 bytes of a signed transaction from its JSON-RPC object (types 0-4)."""
    t = hex_int(tx.get("type", "0x0"))
    to = hex_bytes(tx.get("to"))
    common = (hex_int(tx["gas"]), to, hex_int(tx["value"]), hex_bytes(tx["input"]))
    sig = [hex_int(tx["r"]), hex_int(tx["s"])]
    if t == 0:
        return rlp_encode(
            [hex_int(tx["nonce"]), hex_int(tx["gasPrice"]), *common, hex_int(tx["v"]), *sig]
        )
    chain, nonce = hex_int(tx["chainId"]), hex_int(tx["nonce"])
    if t == 1:
        body = [
            chain,
            nonce,
            hex_int(tx["gasPrice"]),
            *common,
            _access_list(tx.get("accessList")),
            _y_parity(tx),
            *sig,
        ]
    elif t in (2, 3, 4):
        body = [
            chain,
            nonce,
            hex_int(tx["maxPriorityFeePerGas"]),
            hex_int(tx["maxFeePerGas"]),
            *common,
            _access_list(tx.get("accessList")),
        ]
        if t == 3:
            body += [
                hex_int(tx["maxFeePerBlobGas"]),
                [hex_bytes(h) for h in tx.get("blobVersionedHashes", [])],
            ]
        elif t == 4:
            body.append(_auth_list(tx.get("authorizationList")))
        body += [_y_parity(tx), *sig]
    else:
        raise InvalidArgument(f"transaction type {t} is not an Ethereum L1 type")
    return bytes([t]) + rlp_encode(body)


def receipt_logs(receipt: dict) -> list[tuple[bytes, list[bytes], bytes]]:
    return [
        (hex_bytes(log["address"]), [hex_bytes(x) for x in log["topics"]], hex_bytes(log["data"]))
        for log in receipt["logs"]
    ]


def consensus_receipt(receipt: dict, logs: list[tuple[bytes, list[bytes], bytes]]) -> bytes:
    """type || rlp([status | post-state root, cumulativeGasUsed, logsBloom, logs])."""
    if receipt.get("status") is not None:
        first: int | bytes = hex_int(receipt["status"])
    else:
        first = hex_bytes(receipt.get("root"))  # pre-Byzantium: intermediate state root
    body = rlp_encode(
        [
            first,
            hex_int(receipt["cumulativeGasUsed"]),
            hex_bytes(receipt["logsBloom"]),
            [[a, t, d] for a, t, d in logs],
        ]
    )
    t = hex_int(receipt.get("type", "0x0"))
    return body if t == 0 else bytes([t]) + body
