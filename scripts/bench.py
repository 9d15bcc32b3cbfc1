"""make bench: figures measured on this machine, in one run.

Each measurement runs in its own subprocess so peak memory (max RSS) is that
of one job. Timings are noisy on shared machines; compare the ratios printed
beside them (same run, same machine), not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure_echo(size: int, action: str) -> dict:
    """Runs in a child process: one execute or one real composite proof of echo."""
    from coprocessor.zkvm import Program, execute, prove, verify

    program = Program.load("echo")
    data = os.urandom(size)
    started = time.perf_counter()
    if action == "execute":
        run = execute(program, data)
        return {
            "seconds": time.perf_counter() - started,
            "cycles": run.cycles,
            "user_cycles": run.user_cycles,
            "segments": run.segments,
        }
    receipt = prove(program, data, kind=action)
    seconds = time.perf_counter() - started
    verify_started = time.perf_counter()
    verify(receipt, program.image_id)
    return {
        "seconds": seconds,
        "verify_seconds": time.perf_counter() - verify_started,
        "cycles": receipt.stats.cycles,
        "user_cycles": receipt.stats.user_cycles,
        "segments": receipt.stats.segments,
        "receipt_bytes": len(receipt.to_bytes()),
    }


def run_child(*args: str) -> dict:
    """Like in_child, reading peak RSS with wait4 so each job's own peak is reported."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--one", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"benchmark child {args} failed with exit {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def bench_echo() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="echo guest: execute vs real proof (composite and succinct)")
    for col in (
        "input",
        "cycles",
        "user cycles",
        "segments",
        "execute s",
        "prove s",
        "prove/execute",
        "verify s",
        "peak MiB (prove)",
        "receipt bytes",
        "kind",
    ):
        table.add_column(col, justify="right")
    for size in (1024, 64 * 1024):
        run = run_child("echo", str(size), "execute")
        for kind in ("composite", "succinct"):
            proof = run_child("echo", str(size), kind)
            table.add_row(
                f"{size // 1024} KiB",
                f"{proof['cycles']:,}",
                f"{proof['user_cycles']:,}",
                str(proof["segments"]),
                f"{run['seconds']:.3f}",
                f"{proof['seconds']:.1f}",
                f"{proof['seconds'] / run['seconds']:.0f}x",
                f"{proof['verify_seconds']:.3f}",
                f"{proof['peak_mib']:.0f}",
                f"{proof['receipt_bytes']:,}",
                kind,
            )
    Console(width=160).print(table)


def bench_ethcore_cycles() -> None:
    """Guest cycles of ethcore checks on mainnet data, accelerator vs software keccak."""
    from rich.console import Console
    from rich.table import Table

    sys.path.insert(0, str(REPO / "tests"))
    from coprocessor.zkvm import Program, execute

    from support import ethcheck_inputs, mainnet

    console = Console(width=160)
    if not mainnet.FIXTURES.is_dir():
        console.print(f"[yellow]skipped ethcore cycles: no fixtures at {mainnet.FIXTURES}[/]")
        return
    guests = {"accelerated": Program.load("ethcheck"), "software": Program.load("ethcheck-sw")}
    base = {k: execute(g, ethcheck_inputs.noop()).user_cycles for k, g in guests.items()}
    table = Table(title="ethcore in the guest (executor): user cycles above an empty run")
    for col in (
        "check",
        "keccak accelerator",
        "software keccak",
        "software / accelerator",
        "input bytes",
    ):
        table.add_column(col, justify="right")
    for name, build in ethcheck_inputs.CASES.items():
        command = build()
        cycles = {k: execute(g, command).user_cycles - base[k] for k, g in guests.items()}
        table.add_row(
            name,
            f"{cycles['accelerated']:,}",
            f"{cycles['software']:,}",
            f"{cycles['software'] / cycles['accelerated']:.1f}x",
            f"{len(command):,}",
        )
    console.print(table)
    console.print(
        f"empty run (guest start, read, commit): {base['accelerated']:,} user cycles; "
        "anchor: Steel ~4.3M cycles per ERC20 balanceOf, ~4M per block of receipts"
    )


# --- query guest: cycles per data point, end-to-end times -----------------------------------------

PROVE_BUDGET_S = 180  # a real proof is attempted only for queries expected to prove within this


def _query_env(tmp: Path):
    """A devchain (anvil) with the tests' history, fully indexed into a fresh DuckDB store."""
    sys.path.insert(0, str(REPO / "tests"))
    from coprocessor.indexer import Indexer
    from coprocessor.store import Store

    from support.devchain import start_devnode

    node = start_devnode()
    store = Store(tmp / "index.duckdb")
    ix = Indexer(node.client, store)
    ix.run(first=0)
    return node, store, ix


def _mainnet_receipts(guest) -> tuple[str, str]:
    """User cycles of a logs scan over one busy mainnet block (its whole receipts list rebuilt
    to receiptsRoot), minus a headers-only query of the same block."""
    sys.path.insert(0, str(REPO / "tests"))
    from eth_hash.auto import keccak
    from rlp import encode as rlp_encode

    from coprocessor.compiler import compile
    from coprocessor.compiler import witness as W
    from coprocessor.compiler.journal import decode_journal
    from coprocessor.zkvm import execute

    from support import ethcheck_inputs, mainnet

    if not mainnet.FIXTURES.is_dir():
        return "n/a", f"mainnet fixtures absent ({mainnet.FIXTURES})"
    n = int(ethcheck_inputs.RECEIPTS_BLOCK)
    fixture = mainnet.load(mainnet.FIXTURES / "block_rlp" / f"{n}.json")
    receipts = mainnet.receipts_from_eth69(mainnet.hexbytes(fixture["receipts"]))
    header = mainnet.hexbytes(fixture["header"])

    def run(sql, items):
        q = compile(sql)
        w = W.Witness(n, keccak(header), [header], items, [])
        ex = execute(guest, rlp_encode([1, q.plan_bytes, w.encode(), q.params_bytes]))
        return ex.user_cycles, decode_journal(ex.journal, q.plan.output_types).rows

    base, _ = run(f"SELECT COUNT(*) FROM blocks WHERE block_number = {n}", [])
    scan, rows = run(
        f"SELECT COUNT(*) FROM logs WHERE block_number = {n}",
        [W.BlockItem(n, W.MODE_RECEIPTS, [], receipts)],
    )
    return f"{scan - base:,}", (
        f"{len(receipts)} receipts, {rows[0][0]} logs: COUNT(*) FROM logs minus "
        "the header-only query (no bloom recomputation)"
    )


# Sender recovery with k256 in software: user cycles per recovery, measured 2026-12-04 with the
# query guest as built before the bigint2 accelerator (mainnet block 22725199, 234 txs of
# types 0-4: 11,085,732; block 14151203: 11,083,158). No guest built today runs that path.
SOFTWARE_RECOVERY_CYCLES = 11_085_732
SENDER_BLOCK = "22725199"  # every transaction type, 0 to 4


def _mainnet_senders(guest) -> tuple[str, str]:
    """User cycles per sender recovery over a mainnet block with every transaction type:
    COUNT(DISTINCT "from") minus COUNT(*) of the same one-block witness, per transaction."""
    sys.path.insert(0, str(REPO / "tests"))
    from coprocessor.indexer.encode import raw_transaction
    from coprocessor.zkvm import execute

    from support import mainnet
    from support.transactions_witness import query_input

    path = mainnet.FIXTURES / "blocks" / f"{SENDER_BLOCK}.json"
    if not path.is_file():
        return "n/a", f"mainnet fixture absent ({path})"
    block = mainnet.load(path)
    raw = [raw_transaction(t) for t in block["transactions"]]

    def user_cycles(sql: str) -> int:
        return execute(guest, query_input(block, raw, sql)[1]).user_cycles

    where = " FROM transactions WHERE block_number = {n}"
    after = (
        user_cycles('SELECT COUNT(DISTINCT "from")' + where)
        - user_cycles("SELECT COUNT(*)" + where)
    ) / len(raw)
    return f"{after:,.0f}", (
        f"{len(raw)} txs; bigint2 accelerator, before: {SOFTWARE_RECOVERY_CYCLES:,} "
        f"(k256 in software, recorded) = {SOFTWARE_RECOVERY_CYCLES / after:.0f}x fewer"
    )


def bench_query(skip_prove: bool = False) -> None:
    """Query guest on a devchain: user cycles per data point by kind (executor; each figure is a
    difference of two queries that differ only in that data), and end-to-end times."""
    import tempfile

    from rich.console import Console
    from rich.table import Table

    from coprocessor.compiler import catalogue, compile, native
    from coprocessor.compiler import schema as S
    from coprocessor.compiler import witness as W
    from coprocessor.compiler.journal import guest_input
    from coprocessor.devchain import BALANCE_SLOT
    from coprocessor.zkvm import Program, execute, keccak_po2_for, prove, verify

    console = Console(width=160)
    guest = Program.load("query")
    chain_id = 31337
    with tempfile.TemporaryDirectory() as tmp:
        node, store, ix = _query_env(Path(tmp))
        try:
            h = node.history
            chain_id = node.client.chain_id()
            b = h.last_block
            token = h.tokens["DUSD"]

            def cq(sql, params=None, views=None):
                return compile(
                    sql, params=params or {}, store=store, views=views, fetch_state=ix.fetch_state
                )

            def cycles(sql, params=None):
                q = cq(sql, params)
                return execute(guest, guest_input(q, chain_id)).user_cycles, q.witness.counts()

            table = Table(
                title="query guest (executor, devchain): user cycles per data point, "
                "by differencing two queries"
            )
            for col in ("data point", "user cycles", "how measured"):
                table.add_column(col, justify="right" if col == "user cycles" else "left")
            short, long_ = 4, 12  # range lengths (blocks ending at the anchor)
            rng = lambda n: {"a": b - n + 1, "b": b}  # noqa: E731

            # headers
            sql = "SELECT COUNT(*) FROM blocks WHERE block_number BETWEEN :a AND :b"
            c1, _ = cycles(sql, rng(short))
            c2, _ = cycles(sql, rng(long_))
            header = (c2 - c1) / (long_ - short)
            table.add_row(
                "header in a range (chain link + row)",
                f"{header:,.0f}",
                f"COUNT(*) FROM blocks over {long_} vs {short} blocks",
            )

            # account proof: one vs two addresses at one block
            sql = "SELECT balance FROM accounts WHERE address IN ({}) AND block_number = :b"
            a1, a2 = h.accounts[1], h.accounts[2]
            c1, _ = cycles(sql.format(":x"), {"x": a1, "b": b})
            c2, _ = cycles(sql.format(":x, :y"), {"x": a1, "y": a2, "b": b})
            table.add_row(
                "account (MPT proof)", f"{c2 - c1:,}", "accounts: 2 vs 1 addresses at one block"
            )

            # storage slot: one vs two slots of one account at one block
            sql = (
                "SELECT value FROM storage"
                " WHERE address = :t AND slot IN ({}) AND block_number = :b"
            )
            try:
                c1, _ = cycles(
                    sql.format("mapping_slot(:bs, :x)"),
                    {"t": token, "b": b, "bs": BALANCE_SLOT, "x": a1},
                )
                c2, _ = cycles(
                    sql.format("mapping_slot(:bs, :x), mapping_slot(:bs, :y)"),
                    {"t": token, "b": b, "bs": BALANCE_SLOT, "x": a1, "y": a2},
                )
                table.add_row(
                    "storage slot (MPT proof)",
                    f"{c2 - c1:,}",
                    "storage: 2 vs 1 slots of one token at one block",
                )
            except Exception as e:
                table.add_row("storage slot (MPT proof)", "n/a", f"not measured: {e}")

            # receipts of one block
            sql = "SELECT COUNT(*) FROM receipts WHERE block_number BETWEEN :a AND :b"
            c1, k1 = cycles(sql, rng(short))
            c2, k2 = cycles(sql, rng(long_))
            per_block = (c2 - c1) / (long_ - short) - header
            n_rc = (k2["receipts"] - k1["receipts"]) / (long_ - short)
            table.add_row(
                "receipts of one block (trie rebuild)",
                f"{per_block:,.0f}",
                f"receipts over {long_} vs {short} blocks minus headers; "
                f"{n_rc:.1f} receipts/block = {per_block / n_rc:,.0f} per receipt",
            )

            table.add_row(
                "receipts of mainnet block 22162263 (trie rebuild)", *_mainnet_receipts(guest)
            )
            table.add_row(
                f"sender recovery, mainnet block {SENDER_BLOCK}", *_mainnet_senders(guest)
            )

            # transactions (+ receipts) of one block, without and with sender recovery
            sql = "SELECT COUNT(*) FROM transactions WHERE block_number BETWEEN :a AND :b"
            t1, k1 = cycles(sql, rng(short))
            t2, k2 = cycles(sql, rng(long_))
            n_tx = (k2["transactions"] - k1["transactions"]) / (long_ - short)
            tx_block = (t2 - t1) / (long_ - short) - header - per_block
            table.add_row(
                "transactions of one block (trie rebuild + decode)",
                f"{tx_block:,.0f}",
                f"transactions minus receipts over {long_} vs {short} blocks; "
                f"{n_tx:.1f} txs/block = {tx_block / n_tx:,.0f} per tx",
            )
            sql = (
                'SELECT COUNT(DISTINCT "from") FROM transactions'
                " WHERE block_number BETWEEN :a AND :b"
            )
            f2, _ = cycles(sql, rng(long_))
            recover = (f2 - t2) / k2["transactions"]
            table.add_row(
                "one transaction's sender recovery (ecrecover)",
                f"{recover:,.0f}",
                f'COUNT(DISTINCT "from") minus COUNT(*) over {k2["transactions"]} txs '
                "(secp256k1 on the bigint2 accelerator)",
            )
            console.print(table)
            console.print(f"[dim]devchain: blocks {h.first_block}..{b}; anchor {b}[/]")

            # end to end
            cat = catalogue()
            cases = {  # the first three are proven for real; the others only when cheap enough
                "code_hash_at_block": {"contract": h.tokens["DETH"], "block": b},
                "erc20_balance_at_block": None,
                "base_fee_and_gas": {"from_block": h.first_block, "to_block": b},
                "transfer_volume_into_account": None,
                "failed_transactions_to_contract": {
                    "contract": token,
                    "from_block": h.first_block,
                    "to_block": b,
                },
            }
            from collections import Counter

            counts: Counter[bytes] = Counter()
            for item in node.client.call(
                "eth_getLogs",
                [
                    {
                        "address": "0x" + token.hex(),
                        "fromBlock": hex(h.first_block),
                        "toBlock": hex(b),
                    }
                ],
            ):
                if len(item["topics"]) == 3:
                    counts[bytes.fromhex(item["topics"][2][26:])] += 1
            receiver = counts.most_common(1)[0][0]
            cases["transfer_volume_into_account"] = {
                "token": token,
                "account": receiver,
                "from_block": h.first_block,
                "to_block": b,
            }
            cases["erc20_balance_at_block"] = {
                "token": token,
                "balance_slot": BALANCE_SLOT,
                "account": receiver,
                "block": b - 3,
            }
            e2e = Table(
                title="end to end on the devchain (seconds; prove = real composite proof, "
                f"dev=False: the first three, then where expected under {PROVE_BUDGET_S} s)"
            )
            for col in (
                "query",
                "compile",
                "witness",
                "execute",
                "user cycles",
                "segments",
                "prove",
                "verify",
                "rows",
            ):
                e2e.add_column(col, justify="left" if col == "query" else "right")
            proved_rate = None
            for k, (name, params) in enumerate(cases.items()):
                qd = cat[name]
                t0 = time.perf_counter()
                q = compile(
                    qd.sql, params=params, views=qd.views, store=store, fetch_state=ix.fetch_state
                )
                compile_s = time.perf_counter() - t0
                w0 = time.perf_counter()  # the witness part of compile, measured again on its own
                kind = q.source.kind
                points = (
                    native.state_points(q.plan.encode(), storage=kind == S.SRC_STORAGE)
                    if kind in S.STATE_SOURCES
                    else []
                )
                W.build(store, q.plan, q.source, q.witness.anchor, points).encode()
                witness_s = time.perf_counter() - w0
                data = guest_input(q, chain_id)
                x0 = time.perf_counter()
                ex = execute(guest, data)
                execute_s = time.perf_counter() - x0
                prove_s, verify_s = "not measured (dev)", "-"
                expect = None if proved_rate is None else ex.cycles / proved_rate
                if skip_prove:
                    prove_s = "not measured (--skip-prove)"
                elif k < 3 or (expect is not None and expect < PROVE_BUDGET_S):
                    kpo2 = keccak_po2_for(W.keccak_permutations(q.witness))
                    r = prove(guest, data, kind="composite", dev=False, keccak_po2=kpo2)
                    prove_s = f"{r.stats.seconds:.1f} (keccak po2 {kpo2})"
                    v0 = time.perf_counter()
                    verify(r, guest.image_id)
                    verify_s = f"{time.perf_counter() - v0:.2f}"
                    proved_rate = r.stats.cycles / r.stats.seconds
                elif expect is not None:
                    prove_s = f"not measured (dev; ~{expect:,.0f} s est.)"
                e2e.add_row(
                    name,
                    f"{compile_s - witness_s:.3f}",
                    f"{witness_s:.3f}",
                    f"{execute_s:.2f}",
                    f"{ex.user_cycles:,}",
                    str(ex.segments),
                    prove_s,
                    verify_s,
                    str(len(q.expected)),
                )
            console.print(e2e)
            console.print(
                "[dim]compile = SQL → plan + expected rows (native query-core run + DuckDB "
                "cross-check); witness = witness build + encode; "
                "prove estimates scale the measured proving rate (total cycles / s) of the proved "
                "query; the machine is shared, so proving seconds are an upper bound[/]"
            )
        finally:
            store.close()
            node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="coprocessor benchmarks")
    parser.add_argument("--one", nargs=3, metavar=("GUEST", "SIZE", "ACTION"))
    parser.add_argument("--only", choices=["ethcore", "echo", "query"], help="run one section")
    parser.add_argument(
        "--skip-prove",
        action="store_true",
        help="query section: no real proof (it takes minutes on 2 cores)",
    )
    args = parser.parse_args()
    if args.one:
        guest, size, action = args.one
        assert guest == "echo"
        print(json.dumps(measure_echo(int(size), action)))
        return
    if args.only in (None, "ethcore"):
        bench_ethcore_cycles()
    if args.only in (None, "echo"):
        bench_echo()
    if args.only in (None, "query"):
        bench_query(skip_prove=args.skip_prove)


if __name__ == "__main__":
    main()
