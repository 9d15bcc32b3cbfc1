"""The `query` guest on the indexed devchain: for every catalogue query its journal carries
exactly the compiler's expected rows and queryHash; tampered witnesses make it fail.

Executor only (no proofs). Helpers come from support/catalogue.py, fixtures from conftest.py.
"""

from __future__ import annotations

import dataclasses

import pytest
import rlp
from eth_hash.auto import keccak

from coprocessor import zkvm
from coprocessor.compiler import compile, native
from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.compiler import witness as W
from coprocessor.compiler.anchors import WalkAnchor
from coprocessor.compiler.journal import JOURNAL_VERSION, decode_journal, guest_input
from coprocessor.errors import ExecutionError, PlanRejectedError, QueryEvaluationError

from support.catalogue import CAT, params_for, run

TRANSFERS = ("transfer_volume_into_account", "top_receivers", "transfer_logs_per_block")


@pytest.fixture(scope="module")
def guest():
    return zkvm.Program.load("query")


@pytest.fixture(scope="module")
def chain_id(env):
    return env[0].client.chain_id()


def execute(guest, q, chain_id, witness: W.Witness | None = None, plan_bytes: bytes | None = None):
    wb = q.witness_bytes if witness is None else witness.encode()
    return zkvm.execute(
        guest, rlp.encode([chain_id, plan_bytes or q.plan_bytes, wb, q.params_bytes])
    )


CASES = sorted(CAT)


@pytest.mark.parametrize("name", CASES)
def test_catalogue_query_in_guest(guest, env, chain_id, name):
    q = run(env, name, params_for(env, name))
    ex = zkvm.execute(guest, guest_input(q, chain_id))
    assert (
        ex.journal == q.journal
    )  # the guest in the executor = the compiler's native run, byte for byte
    j = decode_journal(ex.journal, q.plan.output_types)
    assert j.rows == q.expected
    assert j.query_hash == q.query_hash == keccak(q.plan_bytes)
    assert (j.version, j.chain_id) == (JOURNAL_VERSION, chain_id)
    assert (j.first_block, j.last_block) == (q.plan.first_block, q.plan.last_block)
    assert (j.anchor_number, j.anchor_hash) == (q.anchor, q.witness.anchor_hash)
    assert j.history_root == q.witness.history_root
    print(f"{name}: {ex.user_cycles:,} user cycles, {len(j.rows)} rows")


def test_every_catalogue_query_is_run():
    assert set(CASES) == set(CAT)


# --- adversarial witnesses: each must make the guest fail -----------------------------------------


@pytest.fixture(scope="module")
def transfers(env):
    q = run(env, "transfer_volume_into_account", params_for(env, "transfer_volume_into_account"))
    modes = {b.mode for b in q.witness.blocks}
    assert modes == {W.MODE_BLOOM_SKIP, W.MODE_RECEIPTS}, "want both skipped and scanned blocks"
    return q


def _copy(w: W.Witness) -> W.Witness:
    return dataclasses.replace(
        w,
        headers=list(w.headers),
        blocks=[
            dataclasses.replace(b, transactions=list(b.transactions), receipts=list(b.receipts))
            for b in w.blocks
        ],
        state=[dataclasses.replace(s, account_proof=list(s.account_proof)) for s in w.state],
    )


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


def _matching_block(q) -> W.BlockItem:
    """A scanned block holding a Transfer of the token (its bloom does not prove absence)."""
    token = q.plan.bloom_keys[0][0]
    for item in q.witness.blocks:
        for r in item.receipts:
            fields = rlp.decode(r[1:] if r[0] < 0x80 else r)
            if any(log[0] == token for log in fields[3]):
                return item
    raise AssertionError("no block with a matching log")


def _fails(guest, q, chain_id, w):
    with pytest.raises(ExecutionError) as info:
        execute(guest, q, chain_id, witness=w)
    print(f"guest failed: {str(info.value).splitlines()[0][:160]}")


def test_untampered_witness_passes(guest, transfers, chain_id):
    ex = execute(guest, transfers, chain_id, witness=_copy(transfers.witness))
    assert decode_journal(ex.journal, transfers.plan.output_types).rows == transfers.expected


def test_flipped_header_byte(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.headers[len(w.headers) // 2] = _flip(w.headers[len(w.headers) // 2], 100)  # inside stateRoot
    _fails(guest, transfers, chain_id, w)


def test_flipped_receipt_byte(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    item = w.blocks[_matching_block(transfers).number - transfers.plan.first_block]
    item.receipts[-1] = _flip(
        item.receipts[-1], len(item.receipts[-1]) - 1
    )  # last byte of log data
    _fails(guest, transfers, chain_id, w)


def _bloom(logs) -> bytes:
    bits = bytearray(256)
    for log in logs:
        for x in [log[0], *log[1]]:
            h = keccak(x)
            for i in (0, 2, 4):
                bit = ((h[i] << 8) | h[i + 1]) & 2047
                bits[255 - bit // 8] |= 1 << (bit % 8)
    return bytes(bits)


def test_dropped_log(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    token = transfers.plan.bloom_keys[0][0]
    item = w.blocks[_matching_block(transfers).number - transfers.plan.first_block]
    for k, r in enumerate(item.receipts):
        typed = r[0] < 0x80
        status, cum, _, logs = rlp.decode(r[1:] if typed else r)
        keep = [lg for lg in logs if lg[0] != token]
        if len(keep) < len(logs):  # drop the token's logs, with a consistent receipt bloom
            body = rlp.encode([status, cum, _bloom(keep), keep])
            item.receipts[k] = (r[:1] + body) if typed else body
            break
    _fails(guest, transfers, chain_id, w)


def test_false_bloom_skip(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    item = w.blocks[_matching_block(transfers).number - transfers.plan.first_block]
    item.mode, item.receipts = W.MODE_BLOOM_SKIP, []
    _fails(guest, transfers, chain_id, w)


def test_missing_block_item(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.blocks.pop()
    _fails(guest, transfers, chain_id, w)


def test_wrong_anchor_hash(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.anchor = WalkAnchor(w.anchor.number, _flip(w.anchor.hash, 0))
    _fails(guest, transfers, chain_id, w)


def test_flipped_proof_node(guest, env, chain_id):
    q = run(env, "erc20_balance_at_block", params_for(env, "erc20_balance_at_block"))
    w = _copy(q.witness)
    node = w.state[0].account_proof[-1]
    w.state[0].account_proof[-1] = _flip(node, len(node) // 2)
    _fails(guest, q, chain_id, w)
    w = _copy(q.witness)
    slot, nodes = w.state[0].slots[0]
    w.state[0].slots[0] = (slot, [*nodes[:-1], _flip(nodes[-1], len(nodes[-1]) - 3)])
    _fails(guest, q, chain_id, w)


def test_tampered_plan_changes_query_hash(guest, env, chain_id):
    q = run(env, "base_fee_and_gas", params_for(env, "base_fee_and_gas"))  # cheap: headers only
    plan, outcomes = q.plan_bytes, []
    for i in range(
        0, len(plan), 3
    ):  # a flipped byte: the guest fails or the journal's hash differs
        try:
            ex = execute(guest, q, chain_id, plan_bytes=_flip(plan, i))
        except ExecutionError:
            outcomes.append("failed")
            continue
        assert decode_journal(ex.journal).query_hash == keccak(_flip(plan, i)) != q.query_hash
        outcomes.append("other hash")
    assert "failed" in outcomes


@pytest.fixture(scope="module")
def tx_query(env):
    q = run(
        env, "failed_transactions_to_contract", params_for(env, "failed_transactions_to_contract")
    )
    assert any(b.transactions for b in q.witness.blocks), "want a scanned block with transactions"
    return q


def test_transactions_source_untampered(guest, tx_query, chain_id):
    ex = execute(guest, tx_query, chain_id, witness=_copy(tx_query.witness))
    assert decode_journal(ex.journal, tx_query.plan.output_types).rows == tx_query.expected
    assert "sender recovery" in tx_query.explain()  # `from` is read: explain() counts its cost


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_transaction_byte(guest, tx_query, chain_id, where):
    w = _copy(tx_query.witness)
    item = next(b for b in w.blocks if b.transactions)
    raw = item.transactions[-1]
    i = {"first": 2, "middle": len(raw) // 2, "last": len(raw) - 1}[where]  # last = a byte of s
    item.transactions[-1] = _flip(raw, i)
    _fails(guest, tx_query, chain_id, w)


def test_dropped_transaction(guest, tx_query, chain_id):
    w = _copy(tx_query.witness)
    item = next(b for b in w.blocks if b.transactions)
    item.transactions.pop()
    _fails(guest, tx_query, chain_id, w)


# --- more adversarial witnesses: the header chain, lists out of order, state items ----------------


def _side_fork(header: bytes) -> bytes:
    """A sibling of `header`: same parent and number, other contents, so another hash."""
    fields = rlp.decode(header)
    fields[12] = b"side fork"  # extraData
    return rlp.encode(fields)


@pytest.mark.parametrize("which", ["oldest", "middle", "anchor"])
def test_header_from_a_side_fork(guest, transfers, chain_id, which):
    w = _copy(transfers.witness)
    i = {"oldest": 0, "middle": len(w.headers) // 2, "anchor": len(w.headers) - 1}[which]
    w.headers[i] = _side_fork(w.headers[i])
    assert keccak(w.headers[i]) != keccak(transfers.witness.headers[i])
    _fails(guest, transfers, chain_id, w)


def test_swapped_headers(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.headers[3], w.headers[4] = w.headers[4], w.headers[3]
    _fails(guest, transfers, chain_id, w)


def test_missing_header(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.headers.pop(len(w.headers) // 2)
    _fails(guest, transfers, chain_id, w)


def test_wrong_anchor_number(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.anchor = WalkAnchor(w.anchor.number + 1, w.anchor.hash)
    _fails(guest, transfers, chain_id, w)


def _scanned(w: W.Witness, least: int = 1) -> list[W.BlockItem]:
    out = [b for b in w.blocks if len(b.receipts) >= least]
    assert out, f"want a scanned block with at least {least} receipts"
    return out


def test_reordered_receipts(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    item = _scanned(w, 2)[0]
    item.receipts[0], item.receipts[1] = item.receipts[1], item.receipts[0]
    _fails(guest, transfers, chain_id, w)


def test_receipts_of_another_block(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    a, b = _scanned(w)[:2]
    a.receipts, b.receipts = list(b.receipts), list(a.receipts)
    _fails(guest, transfers, chain_id, w)


def test_extra_receipt(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    item = _scanned(w)[0]
    item.receipts.append(item.receipts[-1])
    _fails(guest, transfers, chain_id, w)


def test_mislabelled_block_item(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.blocks[1].number += 1  # two items claim the same block, one block has none
    _fails(guest, transfers, chain_id, w)


def test_extra_block_item(guest, transfers, chain_id):
    w = _copy(transfers.witness)
    w.blocks.append(W.BlockItem(transfers.plan.last_block + 1, W.MODE_BLOOM_SKIP))
    _fails(guest, transfers, chain_id, w)


def test_swapped_transactions(guest, tx_query, chain_id):
    w = _copy(tx_query.witness)
    item = next(b for b in w.blocks if len(b.transactions) >= 2)
    item.transactions[0], item.transactions[1] = item.transactions[1], item.transactions[0]
    _fails(guest, tx_query, chain_id, w)


@pytest.fixture(scope="module")
def balances(env):
    q = run(env, "eth_balance_every_kth_block", params_for(env, "eth_balance_every_kth_block"))
    assert len(q.witness.state) >= 3
    return q


def test_account_proof_of_another_block(guest, balances, chain_id):
    w = _copy(balances.witness)
    s0, s1 = w.state[0], w.state[1]
    assert s0.block != s1.block and s0.account_proof != s1.account_proof
    s0.account_proof, s1.account_proof = s1.account_proof, s0.account_proof
    _fails(guest, balances, chain_id, w)


def test_dropped_state_item(guest, balances, chain_id):
    w = _copy(balances.witness)
    w.state.pop(1)
    _fails(guest, balances, chain_id, w)


def test_storage_proof_for_another_slot(guest, env, chain_id):
    q = run(env, "erc20_balance_at_block", params_for(env, "erc20_balance_at_block"))
    w = _copy(q.witness)
    slot, nodes = w.state[0].slots[0]
    w.state[0].slots[0] = (_flip(slot, 31), nodes)
    _fails(guest, q, chain_id, w)


def test_witness_for_a_wider_plan(guest, env, chain_id):
    """A plan that does not match the witness: one block more than the witness covers."""
    p = params_for(env, "transfer_volume_into_account")
    narrow = run(env, "transfer_volume_into_account", {**p, "to_block": p["to_block"] - 1})
    wide = run(env, "transfer_volume_into_account", p)
    with pytest.raises(ExecutionError):
        execute(guest, wide, chain_id, witness=narrow.witness)


# --- adversarial plans: the guest alone decides what a plan means (issue 9) -----------------------

NOTHING = keccak(b"NothingEverEmitsThis()")  # a topic absent from every devchain bloom
TRANSFER_TOPIC = keccak(b"Transfer(address,address,uint256)")


def _token_logs(env, extra: str = "", **params):
    """COUNT(*) over the token's logs in the whole devchain range (plus `extra` conjuncts)."""
    node, store, ix = env
    h = node.history
    sql = (
        "SELECT COUNT(*) AS n FROM logs WHERE block_number BETWEEN :a AND :b AND address = :token"
        + extra
    )
    p = {"a": h.first_block, "b": h.last_block, "token": h.tokens["DUSD"], **params}
    return compile(sql, params=p, store=store)


def _plan_run(guest, q, chain_id, plan, witness=None):
    data = plan.encode()  # a concrete plan: a template without parameters
    return zkvm.execute(guest, rlp.encode([chain_id, data, (witness or q.witness).encode(), b""]))


def test_bloom_key_attack_fails(guest, env, chain_id):
    """filter address = A; a witness that skips every block by the bloom key (A, T*) of a topic
    no block has would drop any subset of A's logs. Plans carry no bloom keys (version 2): the
    guest derives them from the bound filter (none here), so it refuses every skip."""
    node, store, _ = env
    q = _token_logs(env)
    assert q.plan.bloom_keys == () and q.expected[0][0] > 0
    attack = dataclasses.replace(q.plan, bloom_keys=((node.history.tokens["DUSD"], NOTHING),))
    assert attack.encode() == q.plan.encode()  # the keys are not part of the plan
    w = W.build(store, attack, q.source, q.witness.anchor, [])
    assert all(b.mode == W.MODE_BLOOM_SKIP for b in w.blocks)  # every block skippable
    with pytest.raises(ExecutionError, match="bloom does not prove absence"):
        execute(guest, q, chain_id, witness=w)
    with pytest.raises(PlanRejectedError, match="bloom does not prove absence"):
        native.run(rlp.encode([chain_id, q.plan_bytes, w.encode(), q.params_bytes]))


def _all_scanned(q, store) -> W.Witness:
    """The witness with no block skipped: every block's whole receipt list."""
    w = _copy(q.witness)
    for item in w.blocks:
        if item.mode == W.MODE_BLOOM_SKIP:
            item.mode = W.MODE_RECEIPTS
            item.receipts = [
                r
                for (r,) in store.sql(
                    "SELECT raw FROM receipts WHERE block_number = ? ORDER BY tx_index",
                    [item.number],
                )
            ]
    return w


def test_errors_are_not_hidden_by_bloom_skips(guest, env, chain_id):
    """address = A AND topic0 = T AND 10 / (log_index - log_index) = 0: rows that fail a bloom-key
    conjunct are dropped whatever the division does, so skipping and scanning agree."""
    _, store, _ = env
    div = " AND topic0 = :t AND 10 / (log_index - log_index) = 0"
    q = _token_logs(env, div, t=NOTHING)  # no row has the topic: 0, however many blocks are skipped
    assert q.expected == [(0,)]
    assert any(b.mode == W.MODE_BLOOM_SKIP for b in q.witness.blocks)
    skipped = execute(guest, q, chain_id)
    scanned = execute(guest, q, chain_id, witness=_all_scanned(q, store))
    assert skipped.journal == scanned.journal == q.journal
    # with the token's Transfer topic, matching rows exist: no answer at all, in either witness
    with pytest.raises(QueryEvaluationError, match="division by zero"):
        _token_logs(env, div, t=TRANSFER_TOPIC)


def _ill_typed(plan):
    col = lambda i: (P.COL, i)  # noqa: E731
    uint = lambda v: (P.UINT_C, v)  # noqa: E731
    f = plan.filter
    return {
        "NOT of a uint": dataclasses.replace(plan, filter=(P.AND, f, (P.NOT, col(2)))),
        "AND of a uint": dataclasses.replace(plan, filter=(P.AND, f, col(0))),
        "uint compared with bytes": dataclasses.replace(
            plan, filter=(P.AND, f, (P.EQ, col(0), col(3)))
        ),
        "arithmetic on an address": dataclasses.replace(
            plan, filter=(P.AND, f, (P.GT, (P.ADD, col(3), uint(1)), uint(0)))
        ),
        "count typed as an address": dataclasses.replace(plan, output_types=(S.ADDRESS,)),
        "SUM of bytes": dataclasses.replace(plan, aggregates=((P.SUM, col(8)),)),
        "row column in an aggregated select": dataclasses.replace(plan, select=(col(0),)),
        "NULL constant": dataclasses.replace(plan, filter=(P.AND, f, (P.EQ, col(4), (P.NULL_C,)))),
    }


@pytest.mark.parametrize(
    "case",
    sorted(
        _ill_typed(
            P.QueryPlan(
                (4,),
                0,
                0,
                (),
                None,
                (P.BOOL_C, True),
                (),
                ((P.COUNT_STAR, None),),
                ((P.AGG_REF, 0),),
                (),
                None,
                (S.UINT,),
            )
        )
    ),
)
def test_ill_typed_plan_fails(guest, env, chain_id, case):
    q = _token_logs(env)
    bad = _ill_typed(q.plan)[case]
    with pytest.raises(ExecutionError, match="invalid input"):
        _plan_run(guest, q, chain_id, bad)


def test_too_deep_plan_fails(guest, env, chain_id):
    q = _token_logs(env)
    f = q.plan.filter
    for _ in range(260):  # NOT NOT ... keeps the meaning, not the depth bound
        f = (P.NOT, f)
    with pytest.raises(ExecutionError, match="nested too deeply"):
        _plan_run(guest, q, chain_id, dataclasses.replace(q.plan, filter=f))


def test_too_long_in_list_fails(guest, env, chain_id):
    q = _token_logs(env)
    addrs = tuple(sorted((P.BYTES_C, i.to_bytes(20, "big")) for i in range(1, 1500)))
    plan = dataclasses.replace(q.plan, filter=(P.AND, q.plan.filter, (P.IN, (P.COL, 3), addrs)))
    with pytest.raises(ExecutionError, match="IN list is empty or too long"):
        _plan_run(guest, q, chain_id, plan)


def test_too_large_plan_fails(guest, env, chain_id):
    q = _token_logs(env)
    plan = dataclasses.replace(
        q.plan, filter=(P.AND, q.plan.filter, (P.NE, (P.COL, 8), (P.BYTES_C, b"x" * 70_000)))
    )
    with pytest.raises(ExecutionError, match="plan too large"):
        _plan_run(guest, q, chain_id, plan)
