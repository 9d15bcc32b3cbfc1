"""The indexer against a real anvil: completeness, faults, lies, reorgs, kill -9 and resume."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from coprocessor.chain import RetryPolicy, RpcClient
from coprocessor.devchain import allowance_slot, balance_slot
from coprocessor.errors import InvalidBlockError, ReorgTooDeepError, RpcUnavailableError
from coprocessor.indexer import Indexer, IndexerConfig
from coprocessor.store import Store
from coprocessor.types import Tracked

from support.devchain import start_devnode
from support.faultproxy import FaultProxy, Faults
from support.indexer import assert_matches_node, dump

FAST = RetryPolicy(max_retries=10, backoff=0.01, max_backoff=0.1)


# anvil 1.7.1 answers eth_getProof at block 0 with proofs that do not match its genesis
# stateRoot (the indexer rightly rejects them: check account_proof, block 0), so indexes
# with tracked state start at block 1.
FIRST_TRACKED = 1


def index(url, db, *, tracked=(), retry=FAST, timeout=5.0, first=None, **cfg):
    first = (FIRST_TRACKED if tracked else 0) if first is None else first
    with RpcClient(url, retry=retry, timeout=timeout) as c, Store(db) as s:
        ix = Indexer(c, s, IndexerConfig(tracked=tracked, **cfg))
        ix.run(first=first)
        return dump(s), ix.stats


def tracked_of(node):
    token, owner, spender = node.history.approvals[0]
    whale = node.history.tokens["WHALE"]
    return (
        Tracked(token, (balance_slot(owner), allowance_slot(owner, spender))),
        Tracked(whale, (balance_slot(node.history.accounts[0]),)),
        Tracked(node.history.accounts[3]),
    )  # an EOA: account only


@pytest.fixture(scope="module")
def clean(devnode, tmp_path_factory):
    """The reference index of the module's devchain (with tracked state)."""
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    tables, stats = index(devnode.url, db, tracked=tracked_of(devnode))
    return db, tables


def test_full_index_matches_the_node(devnode, clean):
    db, tables = clean
    with Store(db, read_only=True) as s:
        assert_matches_node(s, devnode.client, 1, devnode.history.last_block)
        cp = s.checkpoint()
        assert (cp.first_block, cp.last_block) == (1, devnode.history.last_block)
        # tracked state: exact uint256 past 2**128, proofs stored, one row per block and slot
        n_blocks = devnode.history.last_block
        assert s.sql("SELECT count(*) FROM accounts")[0][0] == 3 * n_blocks
        assert s.sql("SELECT count(*) FROM storage")[0][0] == 3 * n_blocks
        whale_slot = balance_slot(devnode.history.accounts[0])
        v = s.sql(
            "SELECT value::VARCHAR FROM storage WHERE slot = ? ORDER BY block_number DESC LIMIT 1",
            [whale_slot],
        )[0][0]
        onchain = devnode.client.call(
            "eth_getStorageAt",
            ["0x" + devnode.history.tokens["WHALE"].hex(), "0x" + whale_slot.hex(), "latest"],
        )
        assert int(v) == int(onchain, 16) > 2**128
        # values: SUM over BIGNUM is exact against Python's sum of the node's values
        total = s.sql("SELECT SUM(value)::VARCHAR FROM transactions")[0][0]
        blocks = devnode.client.batch(
            [("eth_getBlockByNumber", [hex(n), True]) for n in range(1, n_blocks + 1)]
        )
        assert int(total) == sum(int(t["value"], 16) for b in blocks for t in b["transactions"])
        # header_rlp and raw bytes are what the node hashed
        from eth_hash.auto import keccak

        for h, rlp_ in s.sql("SELECT hash, header_rlp FROM blocks"):
            assert keccak(rlp_) == h
        for h, raw in s.sql("SELECT hash, raw FROM transactions"):
            assert keccak(raw) == h


def test_chunking_and_concurrency_do_not_change_the_tables(devnode, clean, tmp_path):
    tables, _ = index(
        devnode.url,
        tmp_path / "a.duckdb",
        tracked=tracked_of(devnode),
        chunk_blocks=1,
        max_chunk_blocks=3,
        workers=1,
        commit_blocks=2,
    )
    assert tables == clean[1]


def test_transient_faults_end_with_the_same_tables(devnode, clean, tmp_path):
    faults = Faults(p429=0.1, p500=0.1, pdrop=0.08, pstall=0.05, stall_seconds=1.5, seed=7)
    with FaultProxy(devnode.url, faults) as proxy:
        tables, _ = index(
            proxy.url,
            tmp_path / "f.duckdb",
            tracked=tracked_of(devnode),
            timeout=0.8,
            chunk_blocks=4,
            max_chunk_blocks=8,
        )
    assert tables == clean[1]
    assert all(faults.counts[k] > 0 for k in ("429", "500", "drop", "stall")), faults.counts


def test_range_too_large_splits_the_batch(devnode, clean, tmp_path):
    with FaultProxy(devnode.url, Faults(corrupt=lambda m, p, r: r)) as proxy:
        orig = proxy._corrupt

        def refuse_big(request, content):
            req = json.loads(request)
            if isinstance(req, list) and len(req) > 12:
                return json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {
                            "code": -32005,
                            "message": "query returned more than 10000 results; batch too large",
                        },
                    }
                ).encode()
            return orig(request, content)

        proxy._corrupt = refuse_big
        tables, _ = index(
            proxy.url, tmp_path / "r.duckdb", tracked=tracked_of(devnode), chunk_blocks=16
        )
    assert tables == clean[1]


def test_node_down_gives_up_with_a_clear_message(devnode, tmp_path):
    with FaultProxy(devnode.url, Faults(p500=1.0)) as proxy:
        with pytest.raises(RpcUnavailableError, match="HTTP 502"):
            index(proxy.url, tmp_path / "d.duckdb", retry=RetryPolicy(max_retries=2, backoff=0.01))


@pytest.mark.parametrize("what", ["header", "transaction", "receipt", "proof"])
def test_lying_node_is_reported_and_nothing_of_the_block_stored(devnode, what, tmp_path):
    bad = 17

    def corrupt(method, params, result):
        if (
            method not in ("eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getProof")
            or result is None
        ):
            return result
        if int(params[-1] if method == "eth_getProof" else params[0], 16) != bad:
            return result
        if what == "header" and method == "eth_getBlockByNumber":
            result["stateRoot"] = "0x" + "ab" * 32
        elif what == "transaction" and method == "eth_getBlockByNumber":
            result["transactions"][0]["input"] = "0x00"
        elif what == "receipt" and method == "eth_getBlockReceipts":
            result[0]["status"] = "0x0" if result[0]["status"] == "0x1" else "0x1"
        elif what == "proof" and method == "eth_getProof" and result["storageProof"]:
            result["storageProof"][0]["value"] = hex(
                int(result["storageProof"][0]["value"], 16) + 1
            )
        return result

    db = tmp_path / "l.duckdb"
    with FaultProxy(devnode.url, Faults(corrupt=corrupt)) as proxy:
        with pytest.raises(InvalidBlockError) as e:
            index(proxy.url, db, tracked=tracked_of(devnode), chunk_blocks=4, commit_blocks=1)
    assert e.value.block == bad
    assert (
        e.value.check
        == {
            "header": "header_hash",
            "transaction": "transaction_hash",
            "receipt": "receipts_root",
            "proof": "storage_proof",
        }[what]
    )
    with Store(db) as s:
        assert s.sql("SELECT max(number) FROM blocks")[0][0] < bad
        last = s.checkpoint().last_block
        for t in ("transactions", "receipts", "logs", "accounts", "storage"):
            assert s.sql(f"SELECT count(*) FROM {t} WHERE block_number > ?", [last])[0][0] == 0
        # restarting against an honest node completes the index
        with RpcClient(devnode.url) as c:
            Indexer(c, s, IndexerConfig(tracked=tracked_of(devnode))).run(first=FIRST_TRACKED)
        assert_matches_node(s, devnode.client, FIRST_TRACKED, devnode.history.last_block)


# --- reorgs and --follow ---------------------------------------------------------------------


class Follower:
    def __init__(self, url, db, **cfg):
        self.client = RpcClient(url, retry=FAST)
        self.store = Store(db)
        self.ix = Indexer(self.client, self.store, IndexerConfig(poll_interval=0.05, **cfg))
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.ix.follow(first=0, stop=self.stop)
        except BaseException as exc:  # reported to the test
            self.error = exc

    def wait_synced(self, node, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error:
                raise self.error
            head = node.client.get_block("latest", False)
            cp = self.store.checkpoint()
            if (
                cp
                and cp.last_block == int(head["number"], 16)
                and cp.last_hash.hex() == head["hash"][2:]
            ):
                return
            time.sleep(0.05)
        raise AssertionError("follower did not catch up")

    def close(self):
        self.stop.set()
        self.thread.join(30)
        self.store.close()
        self.client.close()


def test_follow_survives_reorgs_of_depth_1_to_5(fresh_devnode, tmp_path):
    node = fresh_devnode
    f = Follower(node.url, tmp_path / "follow.duckdb")
    try:
        f.wait_synced(node)
        accounts = node.history.accounts
        for depth in range(1, 6):
            # the replacement blocks carry a transaction, so hashes and rows really change
            tx = {
                "from": "0x" + accounts[depth].hex(),
                "to": "0x" + accounts[0].hex(),
                "value": hex(depth),
                "gas": hex(21000),
            }
            node.client.call("anvil_reorg", [depth, [[tx, 0]]])
            f.wait_synced(node)
            node.client.call("evm_mine")
            f.wait_synced(node)
        reorgs = list(f.ix.stats.reorgs)
    finally:
        f.close()
    assert [d for _, d in reorgs] == [1, 2, 3, 4, 5]
    with Store(tmp_path / "follow.duckdb") as s:
        followed = dump(s)
        assert_matches_node(s, node.client, 0, node.client.block_number())
    fresh, _ = index(node.url, tmp_path / "fresh.duckdb")
    assert followed == fresh


def test_reorg_deeper_than_the_limit_stops_and_keeps_the_index(fresh_devnode, tmp_path):
    node = fresh_devnode
    db = tmp_path / "deep.duckdb"
    index(node.url, db)
    with Store(db) as s:
        before = dump(s)
    node.client.call("anvil_reorg", [4, []])
    with RpcClient(node.url) as c, Store(db) as s:
        ix = Indexer(c, s, IndexerConfig(max_reorg_depth=2))
        with pytest.raises(ReorgTooDeepError, match="deeper than --max-reorg-depth 2"):
            ix.poll_once()
        assert dump(s) == before


def test_lagging_node_is_not_a_reorg(fresh_devnode, tmp_path):
    node = fresh_devnode
    db = tmp_path / "lag.duckdb"
    index(node.url, db)

    def lag(method, params, result):
        if method == "eth_blockNumber":
            return hex(int(result, 16) - 3)
        if method == "eth_getBlockByNumber" and int(params[0], 16) > node.history.last_block - 3:
            return None
        return result

    with (
        FaultProxy(node.url, Faults(corrupt=lag)) as proxy,
        RpcClient(proxy.url) as c,
        Store(db) as s,
    ):
        before = dump(s)
        ix = Indexer(c, s, IndexerConfig())
        assert ix.poll_once() == "lagging"
        assert dump(s) == before and not ix.stats.reorgs


def test_confirmations_keep_the_follower_behind(fresh_devnode, tmp_path):
    node = fresh_devnode
    with RpcClient(node.url) as c, Store(tmp_path / "c.duckdb") as s:
        ix = Indexer(c, s, IndexerConfig(confirmations=3))
        assert ix.poll_once() == "indexed"
        assert s.checkpoint().last_block == c.block_number() - 3
        assert ix.poll_once() == "idle"


# --- kill -9 and resume ------------------------------------------------------------------------


def _cli(url, db, *extra):
    return [
        sys.executable,
        "-m",
        "coprocessor.cli",
        "index",
        "--rpc",
        url,
        "--db",
        str(db),
        "--quiet",
        "--chunk",
        "2",
        "--workers",
        "2",
        "--commit-blocks",
        "3",
        "--commit-seconds",
        "0.05",
        "--from",
        str(FIRST_TRACKED),
        *extra,
    ]


def kill_once_and_resume(node, db, delay, args=()) -> bool:
    """Starts the CLI on a fresh `db`, SIGKILLs it `delay` s after it opened the file, resumes.

    Returns True when the kill landed mid-index (checkpoint below the last block).
    """
    p = subprocess.Popen(
        _cli(node.url, db, *args),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not db.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    with Store(db) as s:
        cp = s.checkpoint()
        mid = cp is None or cp.last_block < node.history.last_block
        if cp is not None:  # every table stops exactly at the checkpoint
            for t in ("transactions", "receipts", "logs", "storage"):
                assert (
                    s.sql(f"SELECT count(*) FROM {t} WHERE block_number > ?", [cp.last_block])[0][0]
                    == 0
                )
    done = subprocess.run(_cli(node.url, db, *args), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return mid


@pytest.fixture(scope="module")
def bignode():
    node = start_devnode(blocks=300, txs=10, seed=3)
    yield node
    node.close()


def _kill_runs(bignode, tmp_path, runs, seed):
    tracked = tracked_of(bignode)[:1]
    args = (
        "--track",
        "0x" + tracked[0].address.hex() + ":" + ",".join("0x" + s.hex() for s in tracked[0].slots),
    )
    ref, stats = index(bignode.url, tmp_path / "ref.duckdb", tracked=tracked)
    rng = random.Random(seed)
    mid = 0
    for i in range(runs):
        db = tmp_path / f"run{i}.duckdb"
        # the CLI indexes at about the in-process speed: kill anywhere within that time
        mid += kill_once_and_resume(bignode, db, rng.uniform(0, stats.seconds), args)
        with Store(db) as s:
            assert dump(s) == ref, f"run {i}"
            assert_matches_node(s, bignode.client, FIRST_TRACKED, bignode.history.last_block)
    return mid


def test_kill_9_and_resume(bignode, tmp_path):
    assert _kill_runs(bignode, tmp_path, runs=3, seed=1) >= 2


@pytest.mark.slow
def test_kill_9_and_resume_20_times(bignode, tmp_path):
    """20 fresh runs, each SIGKILLed at a random moment and resumed: tables identical every time."""
    assert _kill_runs(bignode, tmp_path, runs=20, seed=20) >= 12


def test_node_without_eth_getBlockReceipts(devnode, clean, tmp_path):
    with FaultProxy(devnode.url, Faults(corrupt=lambda m, p, r: r)) as proxy:
        orig = proxy._corrupt

        def no_block_receipts(request, content):
            req = json.loads(request)
            out = json.loads(orig(request, content))
            for q, item in zip(
                req if isinstance(req, list) else [req], out if isinstance(out, list) else [out]
            ):
                if q["method"] == "eth_getBlockReceipts":
                    item.pop("result", None)
                    item["error"] = {
                        "code": -32601,
                        "message": "the method eth_getBlockReceipts does not exist",
                    }
            return json.dumps(out).encode()

        proxy._corrupt = no_block_receipts
        tables, _ = index(proxy.url, tmp_path / "nr.duckdb", tracked=tracked_of(devnode))
    assert tables == clean[1]


def test_state_fetched_on_demand_is_verified(devnode, clean, tmp_path):
    import shutil

    db = tmp_path / "od.duckdb"
    shutil.copy(clean[0], db)
    token, owner, spender = devnode.history.approvals[-1]
    slot = allowance_slot(owner, spender)
    n = devnode.history.last_block
    with RpcClient(devnode.url) as c, Store(db) as s:
        ix = Indexer(c, s)
        ix.fetch_state(n, token, (slot,))
        ix.fetch_state(n, token, (slot,))  # idempotent: replaces, never duplicates
        got = s.sql(
            "SELECT value::VARCHAR FROM storage"
            " WHERE block_number = ? AND address = ? AND slot = ?",
            [n, token, slot],
        )
        onchain = c.call("eth_getStorageAt", ["0x" + token.hex(), "0x" + slot.hex(), hex(n)])
        assert got == [(str(int(onchain, 16)),)]
        with pytest.raises(Exception, match="not indexed"):
            ix.fetch_state(n + 100, token, (slot,))

    def lie(method, params, result):
        if method == "eth_getProof":
            result["storageProof"][0]["value"] = hex(
                int(result["storageProof"][0]["value"], 16) ^ 1
            )
        return result

    with (
        FaultProxy(devnode.url, Faults(corrupt=lie)) as proxy,
        RpcClient(proxy.url) as c,
        Store(db) as s,
    ):
        with pytest.raises(InvalidBlockError, match="storage_proof"):
            Indexer(c, s).fetch_state(n, token, (slot,))
