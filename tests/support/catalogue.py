"""Catalogue queries on the indexed devchain: the node's own answers and parameters for each
query, shared by the compiler, query-guest and SDK tests (the `env` fixture is in conftest.py)."""

from __future__ import annotations

from collections import Counter

from eth_hash.auto import keccak

from coprocessor.compiler import catalogue, compile
from coprocessor.devchain import ALLOWANCE_SLOT, BALANCE_SLOT

TX_QUERIES = {"distinct_senders_to_contract", "failed_transactions_to_contract"}
TRANSFER = keccak(b"Transfer(address,address,uint256)")
APPROVAL = keccak(b"Approval(address,address,uint256)")
CAT = catalogue()


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def logs(c, token, topic0, a, b, **topics):
    flt = {"address": hx(token), "fromBlock": hex(a), "toBlock": hex(b), "topics": [hx(topic0)]}
    rs = c.call("eth_getLogs", [flt])
    return [
        (
            int(r["blockNumber"], 16),
            [bytes.fromhex(t[2:]) for t in r["topics"]],
            int(r["data"], 16) if r["data"] != "0x" else 0,
        )
        for r in rs
    ]


def run(env, name, params):
    node, store, ix = env
    q = CAT[name]
    return compile(q.sql, params=params, store=store, views=q.views, fetch_state=ix.fetch_state)


def call(c, to, data, block):
    return c.call("eth_call", [{"to": hx(to), "data": hx(data)}, hex(block)])


def busiest_receiver(c, token, a, b):
    cnt = Counter(t[2][12:] for _, t, _ in logs(c, token, TRANSFER, a, b))
    return cnt.most_common(1)[0][0]


def params_for(env, name):
    node = env[0]
    c, h = node.client, node.history
    a, b = h.first_block, h.last_block
    token = h.tokens["DUSD"]
    if name == "erc20_balance_at_block":
        return {
            "token": token,
            "balance_slot": BALANCE_SLOT,
            "account": busiest_receiver(c, token, a, b),
            "block": b - 3,
        }
    if name == "erc20_allowance":
        tok, owner, spender = h.approvals[0]
        return {
            "token": tok,
            "allowance_slot": ALLOWANCE_SLOT,
            "owner": owner,
            "spender": spender,
            "block": b,
        }
    if name == "eth_balance_every_kth_block":
        return {"account": h.accounts[3], "from_block": a, "to_block": b, "k": 4}
    if name == "code_hash_at_block":
        return {"contract": h.tokens["DETH"], "block": b}
    if name == "transfer_volume_into_account":
        return {
            "token": token,
            "account": busiest_receiver(c, token, a, b),
            "from_block": a,
            "to_block": b,
        }
    if name in ("top_receivers", "transfer_logs_per_block"):
        return {"token": h.tokens["DETH"], "from_block": a, "to_block": b}
    if name == "approvals_by_spender":
        tok, owner, _ = h.approvals[0]
        return {"token": tok, "owner": owner, "from_block": a, "to_block": b}
    if name in TX_QUERIES:
        return {"contract": token, "from_block": a, "to_block": b}
    if name == "base_fee_and_gas":
        return {"from_block": a, "to_block": b}
    raise AssertionError(f"no parameters for {name}")
