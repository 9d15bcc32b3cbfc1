"""Queries anchored far from their range (PLAN.md "Anchors") on a devchain of several thousand
blocks: token activity in the first blocks, then empty blocks, the block history proven in dev
batches of 1024 (forward from an origin in the middle, then backward to genesis).

- a query about the first blocks, anchored on the accumulator at the head, answers exactly as
  the node does, and its guest cycles do not grow with the distance to the head (walking does);
- the same range through EIP-2935 storage of a later block, and the cheapest anchor by default;
- tampered anchors (a forged MMR sibling, a header from a side fork, a state that does not
  cover the block, another MMR root, EIP-2935 storage of another block, an anchor block that is
  not after the range) each fail in the guest or give a root BlockHistory never accepted.
Executor and dev receipts only."""

from __future__ import annotations

import dataclasses
import json

import pytest
import rlp
from typer.testing import CliRunner

from coprocessor import zkvm
from coprocessor.cli import app
from coprocessor.compiler import anchors as A
from coprocessor.compiler.journal import decode_journal, guest_input
from coprocessor.devchain import Anvil, build_history
from coprocessor.errors import ExecutionError, InvalidArgument
from coprocessor.history import StepLog, default_path
from coprocessor.indexer import Indexer
from coprocessor.sdk import Coprocessor
from coprocessor.store import Store

EMPTY_BLOCKS = 3000
ORIGIN = 1500
DISTANCES = (100, 1000, 2900)
runner = CliRunner()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """(anvil, history of the token activity, index path, head, proven history states)."""
    db = tmp_path_factory.mktemp("anchors") / "index.duckdb"
    with Anvil(hardfork="prague") as anvil, anvil.client() as client:
        hist = build_history(client, blocks=8, txs_per_block=4)
        for _ in range(EMPTY_BLOCKS // 200):  # anvil's mining slows as the chain grows
            client.call("anvil_mine", [hex(200)])
        head = client.block_number()
        with Store(db) as store:
            Indexer(client, store).run(first=0)
        for args in (["--origin", str(ORIGIN)], ["--backward"]):
            r = runner.invoke(
                app, ["history", "prove", "--db", str(db), "--dev", "--batch", "1024", *args]
            )
            assert r.exit_code == 0, r.output
        with StepLog(default_path(db)) as log:
            roots = {step.journal.history_root for step in log.steps()}
            state = log.last().journal
        assert (state.earliest, state.origin, state.latest) == (0, ORIGIN, head)
        yield anvil, hist, db, head, state, roots


@pytest.fixture(scope="module")
def guest():
    return zkvm.Program.load("query")


def transfers_sql(hist) -> str:
    token = hist.tokens["DUSD"]
    return (
        "SELECT COUNT(*) AS n, SUM(value) AS total FROM erc20_transfers "
        f"WHERE token = '0x{token.hex()}' AND block_number BETWEEN {hist.first_block} "
        f"AND {hist.last_block}"
    )


def node_transfers(client, hist) -> tuple[int, int]:
    logs = client.call(
        "eth_getLogs",
        [
            {
                "address": "0x" + hist.tokens["DUSD"].hex(),
                "fromBlock": hex(hist.first_block),
                "toBlock": hex(hist.last_block),
                "topics": [TRANSFER_TOPIC],
            }
        ],
    )
    return len(logs), sum(int(log["data"], 16) for log in logs)


TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def execute(guest, compiled, chain_id: int, witness=None):
    data = guest_input(compiled, chain_id)
    if witness is not None:
        data = rlp.encode([chain_id, compiled.plan_bytes, witness.encode(), compiled.params_bytes])
    return zkvm.execute(guest, data)


def test_a_query_near_genesis_anchored_on_the_history_answers_as_the_node(chain, guest):
    anvil, hist, db, head, state, roots = chain
    with Coprocessor(db, rpc=anvil.url) as cp:
        compiled = cp.compile(transfers_sql(hist), anchor="history")
        assert isinstance(compiled.witness.anchor, A.HistoryAnchor)
        assert compiled.witness.anchor.inclusion.backward  # below the origin
        assert len(compiled.witness.headers) == hist.last_block - hist.first_block + 1
        assert "accumulator" in compiled.explain()
        ex = execute(guest, compiled, cp.chain_id)
        assert ex.journal == compiled.journal
        j = decode_journal(ex.journal, compiled.plan.output_types)
        with anvil.client() as client:
            assert j.rows == [node_transfers(client, hist)]
            node_hash = bytes.fromhex(client.get_block(hist.last_block)["hash"][2:])
        assert (j.anchor_number, j.anchor_hash) == (hist.last_block, node_hash)
        assert j.history_root == state.history_root and j.history_root in roots
        res = cp.prove(transfers_sql(hist), anchor="history", dev=True)
        assert res.history_root == state.history_root
        res.verify(trusted_rpc=anvil.url, allow_dev=True)


def test_the_cli_anchors_on_the_proven_history(chain, tmp_path):
    """`coprocessor query --anchor history` reads the step log next to the index; `--explain`
    names the path; the receipt's journal carries the root and verifies against the node."""
    anvil, hist, db, head, state, _ = chain
    sql = transfers_sql(hist)
    r = runner.invoke(app, ["query", "--db", str(db), "--anchor", "history", "--explain", sql])
    assert r.exit_code == 0, r.output
    assert "accumulator: block" in r.stdout and state.history_root.hex() in r.stdout
    out = tmp_path / "history.receipt"
    args = ["query", "--db", str(db), "--anchor", "history", "--dev", "--json", "--out", str(out)]
    r = runner.invoke(app, [*args, sql])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["anchor"] == {
        "number": hist.last_block,
        "hash": d["anchor"]["hash"],
        "history_root": "0x" + state.history_root.hex(),
    }
    r = runner.invoke(app, ["verify", str(out), "--allow-dev", "--rpc", anvil.url, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["anchor_checked"] == f"node {anvil.url}"
    r = runner.invoke(app, ["query", "--db", str(db), "--anchor", "nearby", "--explain", sql])
    assert r.exit_code != 0 and "anchor kind" in r.output


def test_a_query_in_the_forward_mmr(chain, guest):
    anvil, _, db, head, state, _ = chain
    sql = f"SELECT number, hash FROM blocks WHERE number BETWEEN {ORIGIN + 500} AND {ORIGIN + 503}"
    with Coprocessor(db) as cp:
        compiled = cp.compile(sql, anchor="history")
        assert not compiled.witness.anchor.inclusion.backward
        j = decode_journal(execute(guest, compiled, cp.chain_id).journal)
    assert j.anchor_number == ORIGIN + 503 and j.history_root == state.history_root


def test_cycles_do_not_grow_with_the_distance_to_the_head(chain, guest):
    _, hist, db, head, state, _ = chain
    cycles: dict[tuple[str, int], int] = {}
    with Coprocessor(db) as cp:
        for distance in DISTANCES:
            at = hist.last_block + distance
            for kind in ("walk", "history"):
                compiled = cp.compile(transfers_sql(hist), at_block=at, anchor=kind)
                ex = execute(guest, compiled, cp.chain_id)
                assert ex.journal == compiled.journal
                cycles[kind, distance] = ex.user_cycles
    for (kind, distance), c in sorted(cycles.items()):
        print(f"{kind:>8} {distance:>5} blocks back: {c:>12,} user cycles")
    history = [cycles["history", d] for d in DISTANCES]
    assert max(history) - min(history) < 2_000  # the same witness, whatever the head
    assert cycles["walk", 2900] > cycles["walk", 1000] > cycles["walk", 100]
    assert cycles["walk", 2900] - cycles["walk", 1000] > 1900 * 9_000
    assert cycles["history", 100] < cycles["walk", 100]


def test_eip2935_anchor_and_the_cheapest_default(chain, guest):
    anvil, hist, db, head, state, _ = chain
    with Coprocessor(db, rpc=anvil.url) as cp:
        at = hist.last_block + 300
        compiled = cp.compile(transfers_sql(hist), at_block=at)  # default: the cheapest
        assert isinstance(compiled.witness.anchor, A.Eip2935Anchor)
        assert "EIP-2935" in compiled.explain()
        ex = execute(guest, compiled, cp.chain_id)
        j = decode_journal(ex.journal, compiled.plan.output_types)
        with anvil.client() as client:
            assert j.rows == [node_transfers(client, hist)]
            at_hash = bytes.fromhex(client.get_block(at)["hash"][2:])
        assert (j.anchor_number, j.anchor_hash, j.history_root) == (at, at_hash, bytes(32))
        walk = execute(guest, cp.compile(transfers_sql(hist), at_block=at, anchor="walk"), 31337)
        print(f"EIP-2935 {ex.user_cycles:,} vs walk {walk.user_cycles:,} user cycles (300 back)")
        assert ex.user_cycles < walk.user_cycles
        near = cp.compile(transfers_sql(hist), at_block=hist.last_block + 3)
        assert isinstance(near.witness.anchor, A.WalkAnchor)  # 3 headers cost less
        with pytest.raises(InvalidArgument, match="8191"):
            cp.compile(transfers_sql(hist), at_block=hist.last_block, anchor="eip2935")
        # with a history state, the accumulator is cheaper still
        best = cp.compile(transfers_sql(hist), at_block=at, history=state)
        assert isinstance(best.witness.anchor, A.HistoryAnchor)


# ------------------------------------------------------------------ tampered anchors


@pytest.fixture(scope="module")
def anchored(chain):
    anvil, hist, db, head, state, roots = chain
    with Coprocessor(db, rpc=anvil.url) as cp:
        history = cp.compile(transfers_sql(hist), anchor="history")
        eip = cp.compile(transfers_sql(hist), at_block=hist.last_block + 50, anchor="eip2935")
        other_slot = cp.compile(
            transfers_sql(hist).replace(f"AND {hist.last_block}", f"AND {hist.last_block - 1}"),
            at_block=hist.last_block + 50,
            anchor="eip2935",
        )
    return history, eip, other_slot, roots, cp.chain_id


def _with_anchor(compiled, anchor):
    return dataclasses.replace(compiled.witness, anchor=anchor)


def _flip(b: bytes, i: int = 0) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


def test_a_forged_mmr_sibling_fails(anchored, guest):
    history, _, _, _, chain_id = anchored
    a = history.witness.anchor
    forged = dataclasses.replace(
        a.inclusion, siblings=(_flip(a.inclusion.siblings[0]), *a.inclusion.siblings[1:])
    )
    with pytest.raises(ExecutionError):
        execute(guest, history, chain_id, _with_anchor(history, A.HistoryAnchor(a.state, forged)))


def test_a_side_fork_header_fails(anchored, guest):
    history, _, _, _, chain_id = anchored
    w = dataclasses.replace(history.witness, headers=list(history.witness.headers))
    fields = rlp.decode(w.headers[-1])
    fields[12] = b"side fork"  # extraData: same number and parent, another hash
    w.headers[-1] = rlp.encode(fields)
    with pytest.raises(ExecutionError):
        execute(guest, history, chain_id, w)


def test_a_state_that_does_not_cover_the_block_fails(anchored, guest):
    history, _, _, _, chain_id = anchored
    a = history.witness.anchor
    short = dataclasses.replace(a.state, earliest=history.plan.last_block + 1)
    with pytest.raises(ExecutionError):
        execute(
            guest, history, chain_id, _with_anchor(history, A.HistoryAnchor(short, a.inclusion))
        )


def test_another_mmr_root_gives_a_root_blockhistory_never_accepted(anchored, guest):
    history, _, _, roots, chain_id = anchored
    a = history.witness.anchor
    item = a.item()
    item[6] = _flip(item[6])  # the other MMR's root: not checked by the guest, bound by the root

    class Forged(A.HistoryAnchor):
        def item(self) -> list:
            return item

    ex = execute(guest, history, chain_id, _with_anchor(history, Forged(a.state, a.inclusion)))
    root = decode_journal(ex.journal).history_root
    assert root != a.history_root and root not in roots


def test_eip2935_storage_of_another_block_fails(anchored, guest):
    _, eip, other_slot, _, chain_id = anchored
    a = eip.witness.anchor
    swapped = dataclasses.replace(a, storage_proof=other_slot.witness.anchor.storage_proof)
    with pytest.raises(ExecutionError):
        execute(guest, eip, chain_id, _with_anchor(eip, swapped))
    tampered = dataclasses.replace(
        a, account_proof=[*a.account_proof[:-1], _flip(a.account_proof[-1], 40)]
    )
    with pytest.raises(ExecutionError):
        execute(guest, eip, chain_id, _with_anchor(eip, tampered))


def test_an_eip2935_anchor_block_not_after_the_range_fails(anchored, guest):
    _, eip, _, _, chain_id = anchored
    a = eip.witness.anchor
    own = eip.witness.headers[-1]  # block N as its own "later" block
    same = dataclasses.replace(a, header_rlp=own, number=eip.plan.last_block)
    with pytest.raises(ExecutionError):
        execute(guest, eip, chain_id, _with_anchor(eip, same))
