"""Every catalogue query on an indexed anvil devchain: the compiler's expected result equals the
node's own answer (eth_call, eth_getBalance, eth_getLogs, blocks and receipts aggregated in Python),
and the witness follows the completeness rule."""

from __future__ import annotations

from collections import Counter, defaultdict

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.compiler import compile
from coprocessor.compiler import witness as W
from coprocessor.devchain import ALLOWANCE_SLOT, BALANCE_SLOT, selector

from support.catalogue import (
    APPROVAL,
    CAT,
    TRANSFER,
    busiest_receiver,
    call,
    hx,
    logs,
    run,
)


def test_erc20_balance_at_block(env):
    node, _, _ = env
    c, h = node.client, node.history
    token = h.tokens["DUSD"]
    for block in (h.first_block + 1, h.last_block - 3, h.last_block):
        acct = busiest_receiver(c, token, h.first_block, h.last_block)
        q = run(
            env,
            "erc20_balance_at_block",
            {"token": token, "balance_slot": BALANCE_SLOT, "account": acct, "block": block},
        )
        want = int(
            call(c, token, selector("balanceOf(address)") + abi_encode(["address"], [acct]), block),
            16,
        )
        assert q.expected == [(want,)]
        assert (
            q.witness.counts()["storage proofs"] == 1 and q.witness.counts()["account proofs"] == 1
        )


def test_eth_balance_every_kth_block(env):
    node, _, _ = env
    c, h = node.client, node.history
    acct = h.accounts[3]
    a, b, k = h.first_block, h.last_block, 4
    q = run(
        env,
        "eth_balance_every_kth_block",
        {"account": acct, "from_block": a, "to_block": b, "k": k},
    )
    want = [
        (n, int(c.call("eth_getBalance", [hx(acct), hex(n)]), 16))
        for n in range(a, b + 1)
        if n % k == 0
    ]
    assert q.expected == want and len(want) >= 5
    assert q.witness.counts()["account proofs"] == len(
        want
    )  # proofs only where the key filter holds


def test_transfer_volume_into_account(env):
    node, _, _ = env
    c, h = node.client, node.history
    for sym in ("DUSD", "WHALE"):
        token = h.tokens[sym]
        acct = busiest_receiver(c, token, h.first_block, h.last_block)
        a, b = h.first_block, h.last_block
        q = run(
            env,
            "transfer_volume_into_account",
            {"token": token, "account": acct, "from_block": a, "to_block": b},
        )
        got = [v for _, t, v in logs(c, token, TRANSFER, a, b) if t[2][12:] == acct]
        assert q.expected == [(sum(got), len(got))] and got
        _check_scan_witness(c, q, token, TRANSFER)


def _check_scan_witness(c, q, token, topic0):
    """Skipped blocks have no matching log; every other block carries all its receipts."""
    w = q.witness
    assert [b.number for b in w.blocks] == list(range(q.plan.first_block, q.plan.last_block + 1))
    for item in w.blocks:
        if item.mode == W.MODE_BLOOM_SKIP:
            assert not logs(c, token, topic0, item.number, item.number)
        else:
            n = len(c.call("eth_getBlockReceipts", [hex(item.number)]))
            assert len(item.receipts) == n
            root, _ = ethcore.receipts_root(item.receipts)
            header = w.headers[item.number - q.plan.first_block]
            assert ethcore.decode_header(header).number == item.number
            assert root in header  # the rebuilt root is the header's receiptsRoot field
    assert ethcore.header_hash(w.headers[-1]) == w.anchor_hash


def _blocks(c, a, b):
    return [c.call("eth_getBlockByNumber", [hex(n), True]) for n in range(a, b + 1)]


def test_distinct_senders_and_failed_transactions(env):
    node, _, _ = env
    c, h = node.client, node.history
    a, b = h.first_block, h.last_block
    blocks = _blocks(c, a, b)
    for token in h.tokens.values():
        senders = {
            t["from"].lower()
            for blk in blocks
            for t in blk["transactions"]
            if (t.get("to") or "").lower() == hx(token)
        }
        q = run(
            env, "distinct_senders_to_contract", {"contract": token, "from_block": a, "to_block": b}
        )
        assert q.expected == [(len(senders),)]
        failed = []
        for blk in blocks:
            rs = c.call("eth_getBlockReceipts", [blk["number"]])
            for t, r in zip(blk["transactions"], rs):
                if (t.get("to") or "").lower() == hx(token) and r["status"] == "0x0":
                    failed.append(
                        (
                            int(blk["number"], 16),
                            int(t["transactionIndex"], 16),
                            bytes.fromhex(t["hash"][2:]),
                            bytes.fromhex(t["from"][2:]),
                        )
                    )
        q = run(
            env,
            "failed_transactions_to_contract",
            {"contract": token, "from_block": a, "to_block": b},
        )
        assert q.expected == failed
        assert q.witness.counts()["transactions"] == sum(len(blk["transactions"]) for blk in blocks)


def test_top_receivers(env):
    node, _, _ = env
    c, h = node.client, node.history
    a, b = h.first_block, h.last_block
    for token in h.tokens.values():
        vol = defaultdict(int)
        for _, t, v in logs(c, token, TRANSFER, a, b):
            vol[t[2][12:]] += v
        want = sorted(vol.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        q = run(env, "top_receivers", {"token": token, "from_block": a, "to_block": b})
        assert q.expected == want


def test_erc20_allowance(env):
    node, _, _ = env
    c, h = node.client, node.history
    for token, owner, spender in h.approvals[:4]:
        block = h.last_block
        q = run(
            env,
            "erc20_allowance",
            {
                "token": token,
                "allowance_slot": ALLOWANCE_SLOT,
                "owner": owner,
                "spender": spender,
                "block": block,
            },
        )
        data = selector("allowance(address,address)") + abi_encode(
            ["address", "address"], [owner, spender]
        )
        want = abi_decode(["uint256"], bytes.fromhex(call(c, token, data, block)[2:]))[0]
        assert q.expected == [(want,)]


def test_base_fee_and_gas(env):
    node, _, _ = env
    c, h = node.client, node.history
    a, b = h.first_block, h.last_block
    blocks = _blocks(c, a, b)
    fees = [int(x["baseFeePerGas"], 16) for x in blocks]
    q = run(env, "base_fee_and_gas", {"from_block": a, "to_block": b})
    assert q.expected == [
        (sum(fees) // len(fees), max(int(x["gasUsed"], 16) for x in blocks), len(blocks))
    ]
    assert q.witness.counts()["receipts"] == 0 and q.witness.blocks == []


def test_code_hash_at_block(env):
    node, _, _ = env
    c, h = node.client, node.history
    for addr in (h.tokens["DETH"], h.accounts[0], bytes(19) + b"\x99"):
        q = run(env, "code_hash_at_block", {"contract": addr, "block": h.last_block})
        code = bytes.fromhex(c.call("eth_getCode", [hx(addr), hex(h.last_block)])[2:])
        assert q.expected == [(keccak(code),)]


def test_transfer_logs_per_block(env):
    node, _, _ = env
    c, h = node.client, node.history
    token = h.tokens["DETH"]
    a, b = h.first_block, h.last_block
    cnt = Counter(n for n, _, _ in logs(c, token, TRANSFER, a, b))
    q = run(env, "transfer_logs_per_block", {"token": token, "from_block": a, "to_block": b})
    assert q.expected == sorted(cnt.items())
    _check_scan_witness(c, q, token, TRANSFER)


def test_approvals_by_spender_user_view(env):
    node, _, _ = env
    c, h = node.client, node.history
    a, b = h.first_block, h.last_block
    token, owner, _ = h.approvals[0]
    per = defaultdict(list)
    for _, t, v in logs(c, token, APPROVAL, a, b):
        if t[1][12:] == owner:
            per[t[2][12:]].append(v)
    want = sorted(((s, max(v), len(v)) for s, v in per.items()), key=lambda r: (-r[1], r[0]))
    q = run(
        env,
        "approvals_by_spender",
        {"token": token, "owner": owner, "from_block": a, "to_block": b},
    )
    assert q.expected == want and want


def test_every_catalogue_query_is_covered():
    tested = {
        "erc20_balance_at_block",
        "eth_balance_every_kth_block",
        "transfer_volume_into_account",
        "distinct_senders_to_contract",
        "failed_transactions_to_contract",
        "top_receivers",
        "erc20_allowance",
        "base_fee_and_gas",
        "code_hash_at_block",
        "transfer_logs_per_block",
        "approvals_by_spender",
    }
    assert set(CAT) == tested


def test_explain_and_anchor(env):
    node, store, _ = env
    h = node.history
    q = run(
        env,
        "transfer_volume_into_account",
        {
            "token": h.tokens["DUSD"],
            "account": h.accounts[1],
            "from_block": h.first_block,
            "to_block": h.first_block + 5,
        },
    )
    text = q.explain()
    assert "estimated guest cycles" in text and "queryHash 0x" + q.query_hash.hex() in text
    # anchored at the latest indexed block, 24 blocks after the range: EIP-2935 storage of
    # that block (the devchain is post-Prague) costs less than walking 24 headers
    assert q.anchor == h.last_block and "EIP-2935" in text
    assert len(q.witness.headers) == 6
    walked = compile(q.sql, params=q2_params(h), store=store, anchor_kind="walk")
    assert walked.anchor == h.last_block and walked.expected == q.expected
    assert len(walked.witness.headers) == h.last_block - h.first_block + 1
    q2 = compile(q.sql, params=q2_params(h), store=store, at_block=h.first_block + 5)
    assert q2.query_hash == q.query_hash and len(q2.witness.headers) == 6
    assert q2.expected == q.expected
    assert len(q2.witness_bytes) < len(walked.witness_bytes)


def q2_params(h) -> dict:
    return {
        "token": h.tokens["DUSD"],
        "account": h.accounts[1],
        "from_block": h.first_block,
        "to_block": h.first_block + 5,
    }
