"""An RPC-shaped reader over tests/fixtures/mainnet: answers the JSON-RPC calls the
indexer makes (eth_chainId, eth_blockNumber, eth_getBlockByNumber, eth_getBlockReceipts,
eth_getProof) from the fixture files, so mainnet data goes through the indexer's own
ingestion path. Receipts come from receipts/ (verbatim eth_getBlockReceipts) or are
rebuilt in RPC shape from block_rlp/ (eth/69 receipts), with the bloom recomputed.
"""

from __future__ import annotations

import json

import rlp
from eth_hash.auto import keccak

from coprocessor.errors import RpcError

from support import mainnet


def _h(b: bytes) -> str:
    return "0x" + b.hex()


class FixtureChain:
    url = "fixtures://mainnet"

    def __init__(self):
        self.retries = 0
        self.blocks = {int(p.stem): p for p in mainnet.files("blocks")}
        self.receipts = {int(p.stem): p for p in mainnet.files("receipts")}
        self.block_rlp = {int(p.stem): p for p in mainnet.files("block_rlp")}
        self.proofs: dict[tuple[int, str], list] = {}
        for p in mainnet.files("proofs"):
            d = mainnet.load(p)
            key = (
                int(d["blockNumber"], 16)
                if isinstance(d["blockNumber"], str)
                else d["blockNumber"],
                d["request"]["address"].lower(),
            )
            self.proofs.setdefault(key, []).append(d)

    def close(self):
        pass

    def chain_id(self) -> int:
        return 1

    def block_number(self) -> int:
        return max(self.blocks)

    def has_receipts(self, n: int) -> bool:
        return n in self.receipts or n in self.block_rlp

    def _receipts(self, n: int):
        if n in self.receipts:
            return mainnet.load(self.receipts[n])["receipts"]
        if n not in self.block_rlp:
            return None
        d = mainnet.load(self.block_rlp[n])
        raws = mainnet.body_transactions(mainnet.hexbytes(d["body"]))
        out, prev = [], 0
        for raw, (tx_type, status, gas, logs) in zip(
            raws, rlp.decode(mainnet.hexbytes(d["receipts"]))
        ):
            cum = int.from_bytes(gas, "big")
            logs = [(a, list(t), data) for a, t, data in logs]
            out.append(
                {
                    "transactionHash": _h(keccak(raw)),
                    "type": hex(int.from_bytes(tx_type, "big")),
                    "status": hex(int.from_bytes(status, "big")),
                    "cumulativeGasUsed": hex(cum),
                    "gasUsed": hex(cum - prev),
                    "contractAddress": None,
                    "logsBloom": _h(mainnet.bloom_of([(a, t) for a, t, _ in logs])),
                    "logs": [
                        {"address": _h(a), "topics": [_h(x) for x in t], "data": _h(data)}
                        for a, t, data in logs
                    ],
                }
            )
            prev = cum
        return out

    def _answer(self, method: str, params: list):
        if method == "eth_chainId":
            return "0x1"
        if method == "eth_blockNumber":
            return hex(self.block_number())
        if method == "eth_getBlockByNumber":
            n = int(params[0], 16)
            return (
                json.loads(json.dumps(mainnet.load(self.blocks[n]))) if n in self.blocks else None
            )
        if method == "eth_getBlockReceipts":
            return self._receipts(int(params[0], 16))
        if method == "eth_getProof":
            n, addr = int(params[2], 16), params[0].lower()
            want = sorted(k.lower() for k in params[1])
            for d in self.proofs.get((n, addr), []):
                if sorted(k.lower() for k in d["request"]["storageKeys"]) == want:
                    return d["result"]
            raise RpcError(f"eth_getProof: no fixture for {addr} {want} at {n}", method=method)
        raise RpcError(f"{method}: not served by the fixture reader", code=-32601, method=method)

    def call(self, method, params=()):
        return self._answer(method, list(params))

    def batch(self, calls):
        return [self._answer(m, list(p)) for m, p in calls]
