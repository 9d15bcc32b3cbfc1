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

from coprocessor.errors import InvalidArgument
from coprocessor.types import hex_bytes as hb
from coprocessor.types import hex_int as hi


def _length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(b)]) + b


def rlp_encode(item) -> bytes:
    """RLP of bytes, non-negative ints and (nested) lists.

    By hand because pyrlp's sedes inference took ~45% of ingest CPU (profiled on
    the devchain); tests/unit/test_indexer.py checks equality with pyrlp under
    hypothesis.
    """
    t = type(item)
    if t is bytes:
        n = len(item)
        if n == 1 and item[0] < 0x80:
            return item
        if n < 56:
            return bytes((0x80 + n,)) + item
        return _length(n, 0x80) + item
    if t is list:
        body = b"".join([rlp_encode(x) for x in item])
        n = len(body)
        return (bytes((0xC0 + n,)) if n < 56 else _length(n, 0xC0)) + body
    if t is int or isinstance(item, int):
        if item < 0:
            raise InvalidArgument("RLP cannot encode a negative integer")
        if item == 0:
            return b"\x80"
        if item < 0x80:
            return bytes((item,))
        return rlp_encode(item.to_bytes((item.bit_length() + 7) // 8, "big"))
    if isinstance(item, (bytes, bytearray)):
        return rlp_encode(bytes(item))
    if isinstance(item, (list, tuple)):
        return rlp_encode(list(item))
    raise InvalidArgument(f"RLP cannot encode {type(item).__name__}")


# Header fields after the 15 Frontier ones, in consensus order, with the fork that adds them.
_HEADER_TAIL = ("baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas",
                "parentBeaconBlockRoot", "requestsHash")  # fmt: skip
_INT_TAIL = {"baseFeePerGas", "blobGasUsed", "excessBlobGas"}


def header_rlp(block: dict) -> bytes:
    """RLP of a header from eth_getBlockByNumber JSON, fork era taken from the fields present."""
    fields = [
        hb(block["parentHash"]), hb(block["sha3Uncles"]), hb(block["miner"]),
        hb(block["stateRoot"]), hb(block["transactionsRoot"]), hb(block["receiptsRoot"]),
        hb(block["logsBloom"]), hi(block["difficulty"]), hi(block["number"]),
        hi(block["gasLimit"]), hi(block["gasUsed"]), hi(block["timestamp"]),
        hb(block["extraData"]), hb(block.get("mixHash")), hb(block.get("nonce")),
    ]  # fmt: skip
    for i, name in enumerate(_HEADER_TAIL):
        if block.get(name) is None:
            later = [n for n in _HEADER_TAIL[i + 1 :] if block.get(n) is not None]
            if later:
                raise InvalidArgument(f"header has {later[0]} but not {name}")
            break
        fields.append(hi(block[name]) if name in _INT_TAIL else hb(block[name]))
    return rlp_encode(fields)


def _access_list(items) -> list:
    return [[hb(i["address"]), [hb(k) for k in i.get("storageKeys", [])]] for i in items or []]


def _y(tx: dict) -> int:
    return hi(tx["yParity"]) if tx.get("yParity") is not None else hi(tx["v"])


def _auth_list(items) -> list:
    return [[hi(a["chainId"]), hb(a["address"]), hi(a["nonce"]), hi(a["yParity"]),
             hi(a["r"]), hi(a["s"])] for a in items or []]  # fmt: skip


def raw_transaction(tx: dict) -> bytes:
    """The EIP-2718 bytes of a signed transaction from its JSON-RPC object (types 0-4)."""
    t = hi(tx.get("type", "0x0"))
    to = hb(tx.get("to"))
    common = (hi(tx["gas"]), to, hi(tx["value"]), hb(tx["input"]))
    sig = [hi(tx["r"]), hi(tx["s"])]
    if t == 0:
        return rlp_encode([hi(tx["nonce"]), hi(tx["gasPrice"]), *common, hi(tx["v"]), *sig])
    chain, nonce = hi(tx["chainId"]), hi(tx["nonce"])
    if t == 1:
        body = [chain, nonce, hi(tx["gasPrice"]), *common, _access_list(tx.get("accessList")),
                _y(tx), *sig]  # fmt: skip
    elif t in (2, 3, 4):
        body = [chain, nonce, hi(tx["maxPriorityFeePerGas"]), hi(tx["maxFeePerGas"]), *common,
                _access_list(tx.get("accessList"))]  # fmt: skip
        if t == 3:
            body += [hi(tx["maxFeePerBlobGas"]), [hb(h) for h in tx.get("blobVersionedHashes", [])]]
        elif t == 4:
            body.append(_auth_list(tx.get("authorizationList")))
        body += [_y(tx), *sig]
    else:
        raise InvalidArgument(f"transaction type {t} is not an Ethereum L1 type")
    return bytes([t]) + rlp_encode(body)


def receipt_logs(receipt: dict) -> list[tuple[bytes, list[bytes], bytes]]:
    return [(hb(l["address"]), [hb(x) for x in l["topics"]], hb(l["data"])) for l in receipt["logs"]]


def consensus_receipt(receipt: dict, logs: list[tuple[bytes, list[bytes], bytes]]) -> bytes:
    """type || rlp([status | post-state root, cumulativeGasUsed, logsBloom, logs])."""
    if receipt.get("status") is not None:
        first: int | bytes = hi(receipt["status"])
    else:
        first = hb(receipt.get("root"))  # pre-Byzantium: intermediate state root
    body = rlp_encode([first, hi(receipt["cumulativeGasUsed"]), hb(receipt["logsBloom"]),
                       [[a, t, d] for a, t, d in logs]])  # fmt: skip
    t = hi(receipt.get("type", "0x0"))
    return body if t == 0 else bytes([t]) + body
