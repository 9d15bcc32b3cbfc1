"""make demo: the coprocessor end to end.

1. start a local devchain (anvil) with an ERC20-rich history;
2. index it into a temporary DuckDB file;
3. run catalogue queries through the SDK in dev mode (executor, fast) and print each answer
   beside the node's own (eth_call balanceOf, eth_getBalance, eth_getLogs, eth_getCode);
4. prove one small catalogue query for real and verify the receipt from Python.

anvil is stopped on every exit path (context manager, atexit, parent-death signal).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import encode as abi_encode  # noqa: E402
from eth_hash.auto import keccak  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from coprocessor.compiler import catalogue  # noqa: E402
from coprocessor.devchain import BALANCE_SLOT, Anvil, build_history, selector  # noqa: E402
from coprocessor.indexer import Indexer  # noqa: E402
from coprocessor.sdk import Coprocessor  # noqa: E402
from coprocessor.store import Store  # noqa: E402

TRANSFER = keccak(b"Transfer(address,address,uint256)")


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def short(v) -> str:
    if isinstance(v, bytes):
        s = v.hex()
        return f"0x{s[:8]}…{s[-6:]}" if len(s) > 16 else "0x" + s
    return f"{v:,}" if isinstance(v, int) else str(v)


def main() -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)  # `make demo | tee`: no squeezing
    cat = catalogue()
    with tempfile.TemporaryDirectory(prefix="coprocessor-demo-") as tmp, Anvil() as node, \
            node.client() as c:  # fmt: skip
        with console.status("building a devchain history on anvil..."):
            h = build_history(c, blocks=24, txs_per_block=8, seed=7)
        console.print(f"[bold]devchain[/] {node.url}: blocks {h.first_block}..{h.last_block}, "
                      f"{h.transactions} transactions, tokens {', '.join(h.tokens)}")  # fmt: skip
        db = Path(tmp) / "index.duckdb"
        with Store(db) as store:
            started = time.perf_counter()
            Indexer(c, store).run(first=0)
            cp_ = store.checkpoint()
            console.print(f"[bold]indexed[/] blocks {cp_.first_block}..{cp_.last_block} into {db.name} "
                          f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
        a, b = h.first_block, h.last_block
        token = h.tokens["DUSD"]
        receivers = Counter(bytes.fromhex(lg["topics"][2][-40:]) for lg in c.call("eth_getLogs", [
            {"address": hx(token), "fromBlock": hex(a), "toBlock": hex(b), "topics": [hx(TRANSFER)]}]))  # fmt: skip
        acct = receivers.most_common(1)[0][0]

        def node_balance_of(block):
            data = selector("balanceOf(address)") + abi_encode(["address"], [acct])
            return [(int(c.call("eth_call", [{"to": hx(token), "data": hx(data)}, hex(block)]), 16),)]

        def node_transfers_in():
            logs = c.call("eth_getLogs", [{"address": hx(token), "fromBlock": hex(a), "toBlock": hex(b),
                                           "topics": [hx(TRANSFER), None, "0x" + "00" * 12 + acct.hex()]}])  # fmt: skip
            vals = [int(lg["data"], 16) for lg in logs]
            return [(sum(vals), len(vals))]

        def node_eth_balances(k):
            return [(n, int(c.call("eth_getBalance", [hx(h.accounts[3]), hex(n)]), 16))
                    for n in range(a, b + 1) if n % k == 0]  # fmt: skip

        def node_code_hash():
            return [(keccak(bytes.fromhex(c.call("eth_getCode", [hx(h.tokens["DETH"]), hex(b)])[2:])),)]

        cases = [
            ("erc20_balance_at_block", {"token": token, "balance_slot": BALANCE_SLOT, "account": acct,
                                        "block": b - 2}, "eth_call balanceOf", lambda: node_balance_of(b - 2)),
            ("transfer_volume_into_account", {"token": token, "account": acct, "from_block": a, "to_block": b},
             "eth_getLogs (sum, count)", node_transfers_in),
            ("eth_balance_every_kth_block", {"account": h.accounts[3], "from_block": a, "to_block": b, "k": 6},
             "eth_getBalance per block", lambda: node_eth_balances(6)),
            ("code_hash_at_block", {"contract": h.tokens["DETH"], "block": b}, "keccak(eth_getCode)",
             node_code_hash),
        ]  # fmt: skip

        with Coprocessor(db, rpc=node.url) as cop:
            table = Table(title="catalogue queries, dev mode (executor; fake receipts prove nothing)")
            for col in ("query", "proven rows (query guest)", "node's answer", "source", "user cycles", "same"):
                table.add_column(col)
            for name, params, how, ask in cases:
                res = cop.prove(cat[name], params=params, dev=True)
                res.verify(allow_dev=True)
                want = ask()
                rows = "; ".join(", ".join(short(v) for v in r) for r in res.rows[:4])
                rows += f" (+{len(res.rows) - 4} more)" if len(res.rows) > 4 else ""
                nrows = "; ".join(", ".join(short(v) for v in r) for r in want[:4])
                table.add_row(name, rows, nrows, how, f"{res.user_cycles:,}",
                              "[green]yes[/]" if res.rows == want else "[red]NO[/]")  # fmt: skip
                assert res.rows == want, (name, res.rows, want)
            console.print(table)

            name, params = cases[3][0], cases[3][1]  # one header + one account proof: the cheapest
            console.print(f"\n[bold]proving {name} for real[/] (composite receipt, no dev mode)")
            console.print(cop.explain(cat[name], params=params), markup=False, highlight=False)
            with console.status("proving for real (about a minute on 2 cores)..."):
                res = cop.prove(cat[name], params=params)
            started = time.perf_counter()
            j = res.verify(sql=cat[name], params=params, trusted_rpc=node.url)  # question + anchor checked too
            verify_s = time.perf_counter() - started
            out = res.save(Path(tmp) / f"{res.query_hash.hex()}.receipt")
            t = Table(title=f"{name}, proven and verified from Python")
            t.add_column("figure"), t.add_column("value", justify="right")
            t.add_row("answer (code_hash)", hx(j.rows[0][0]))
            t.add_row("node's answer", hx(node_code_hash()[0][0]))
            t.add_row("queryHash", hx(res.query_hash))
            t.add_row("params", f"({', '.join(res.param_types)}) {hx(res.params)}")
            t.add_row("anchor", f"block {res.anchor_number} {short(res.anchor_hash)}")
            t.add_row("image ID (query guest)", hx(res.image_id))
            t.add_row("cycles (total / user)", f"{res.cycles:,} / {res.user_cycles:,}")
            t.add_row("segments", str(res.segments))
            t.add_row("proving time", f"{res.proving_seconds:.1f} s")
            t.add_row("verify time", f"{verify_s:.3f} s")
            t.add_row("receipt", f"{res.receipt.kind}, {res.receipt_size:,} bytes ({out.name})")
            console.print(t)
            assert j.rows == node_code_hash()
            assert j.complete
            console.print("[green]verified[/]: the seal proves the query guest computed this answer to this SQL "
                          "(queryHash) from block data linked to the anchor, whose hash the node confirms; it "
                          "equals the node's and DuckDB's.")  # fmt: skip
    console.print("anvil stopped, temporary index removed.")


if __name__ == "__main__":
    main()
