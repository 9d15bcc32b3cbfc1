"""make demo: the coprocessor end to end.

1. start a local devchain (anvil) with an ERC20-rich history;
2. index it into a temporary DuckDB file;
3. run catalogue queries through the SDK in dev mode (executor, fast) and print each answer
   beside the node's own (eth_call balanceOf, eth_getBalance, eth_getLogs, eth_getCode);
4. prove one small catalogue query for real and verify the receipt from Python;
   then mine 300 empty blocks, prove the block history in dev batches and ask the same
   question anchored three ways (walking the headers, EIP-2935 storage, the accumulator);
5. on chain: deploy CoprocessorQuery (mock verifier) and the example ProvenAirdrop; a claimant
   requests its Transfer volume through the airdrop; the relayer proves the request with the
   query guest from the index and fulfils it; the callback's stored result is printed beside
   the node's own answer. This leg uses a dev receipt: RISC Zero's mock verifier accepts only
   fake seals, and the Groth16 seal its real verifier takes cannot be made on this machine.

anvil is stopped on every exit path (context manager, atexit, parent-death signal).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from rich.console import Console
from rich.table import Table
from web3 import Web3

from coprocessor.compiler import catalogue
from coprocessor.compiler import compile as compile_sql
from coprocessor.contracts import load_artifact
from coprocessor.devchain import BALANCE_SLOT, Anvil, History, build_history, selector
from coprocessor.history import HistoryProver, StepLog, default_path
from coprocessor.indexer import Indexer
from coprocessor.relayer import (
    ExampleAirdrop,
    QueryGuestProver,
    Relayer,
    RelayerConfig,
    deploy_contracts,
)
from coprocessor.relayer.prover import NO_GROTH16
from coprocessor.sdk import Coprocessor
from coprocessor.store import Store

TRANSFER = keccak(b"Transfer(address,address,uint256)")
AIRDROP_QUERY = "transfer_volume_into_account"
MAX_FEE_PER_GAS = 50 * 10**9


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def short(v) -> str:
    if isinstance(v, bytes):
        s = v.hex()
        return f"0x{s[:8]}…{s[-6:]}" if len(s) > 16 else "0x" + s
    return f"{v:,}" if isinstance(v, int) else str(v)


def rows_text(rows: list) -> str:
    text = "; ".join(", ".join(short(v) for v in r) for r in rows[:4])
    return text + (f" (+{len(rows) - 4} more)" if len(rows) > 4 else "")


class NodeAnswers:
    """The node's own answers to the demo's questions, asked over plain JSON-RPC."""

    def __init__(self, client, history: History, account: bytes):
        self.c, self.h, self.account = client, history, account
        self.token = history.tokens["DUSD"]
        self.first, self.last = history.first_block, history.last_block

    def _logs(self, topics: list) -> list:
        flt: dict[str, Any] = {"address": hx(self.token), "fromBlock": hex(self.first)}
        flt |= {"toBlock": hex(self.last), "topics": topics}
        return self.c.call("eth_getLogs", [flt])

    def busiest_receiver(self) -> bytes:
        logs = self._logs([hx(TRANSFER)])
        return Counter(bytes.fromhex(lg["topics"][2][-40:]) for lg in logs).most_common(1)[0][0]

    def balance_of(self, block: int) -> list[tuple]:
        data = selector("balanceOf(address)") + abi_encode(["address"], [self.account])
        call = {"to": hx(self.token), "data": hx(data)}
        return [(int(self.c.call("eth_call", [call, hex(block)]), 16),)]

    def transfers_in(self) -> list[tuple]:
        logs = self._logs([hx(TRANSFER), None, "0x" + "00" * 12 + self.account.hex()])
        values = [int(lg["data"], 16) for lg in logs]
        return [(sum(values), len(values))]

    def eth_balances(self, k: int) -> list[tuple]:
        holder = hx(self.h.accounts[3])
        blocks = [n for n in range(self.first, self.last + 1) if n % k == 0]
        return [(n, int(self.c.call("eth_getBalance", [holder, hex(n)]), 16)) for n in blocks]

    def code_hash(self) -> list[tuple]:
        code = self.c.call("eth_getCode", [hx(self.h.tokens["DETH"]), hex(self.last)])
        return [(keccak(bytes.fromhex(code[2:])),)]


def catalogue_cases(node: NodeAnswers) -> list[tuple]:
    """(catalogue query, params, how the node answers, the node's answer) per dev-mode query."""
    h, a, b, acct, token = node.h, node.first, node.last, node.account, node.token
    balance = {"token": token, "balance_slot": BALANCE_SLOT, "account": acct, "block": b - 2}
    volume = {"token": token, "account": acct, "from_block": a, "to_block": b}
    eth = {"account": h.accounts[3], "from_block": a, "to_block": b, "k": 6}
    code = {"contract": h.tokens["DETH"], "block": b}
    return [
        ("erc20_balance_at_block", balance, "eth_call balanceOf", lambda: node.balance_of(b - 2)),
        (AIRDROP_QUERY, volume, "eth_getLogs (sum, count)", node.transfers_in),
        (
            "eth_balance_every_kth_block",
            eth,
            "eth_getBalance per block",
            lambda: node.eth_balances(6),
        ),
        ("code_hash_at_block", code, "keccak(eth_getCode)", node.code_hash),
    ]


def index_devchain(console: Console, client, db: Path) -> None:
    with Store(db) as store:
        started = time.perf_counter()
        Indexer(client, store).run(first=0)
        cp = store.checkpoint()
        assert cp is not None
    seconds = time.perf_counter() - started
    console.print(
        f"[bold]indexed[/] blocks {cp.first_block}..{cp.last_block} into {db.name} "
        f"in {seconds:.1f}s"
    )


def dev_queries(console: Console, cop: Coprocessor, cases: list[tuple]) -> None:
    """Step 3: each catalogue query proven in dev mode beside the node's answer."""
    cat = catalogue()
    table = Table(title="catalogue queries, dev mode (executor; fake receipts prove nothing)")
    for col in ("query", "proven rows (query guest)", "node's answer", "source", "user cycles"):
        table.add_column(col)
    table.add_column("same")
    for name, params, how, ask in cases:
        res = cop.prove(cat[name], params=params, dev=True)
        res.verify(allow_dev=True)
        want = ask()
        same = "[green]yes[/]" if res.rows == want else "[red]NO[/]"
        table.add_row(name, rows_text(res.rows), rows_text(want), how, f"{res.user_cycles:,}", same)
        assert res.rows == want, (name, res.rows, want)
    console.print(table)


def real_proof(console: Console, cop: Coprocessor, case: tuple, rpc: str, tmp: Path) -> None:
    """Step 4: one header + one account proof, proven for real and verified from Python."""
    name, params, _, ask = case
    query = catalogue()[name]
    console.print(f"\n[bold]proving {name} for real[/] (composite receipt, no dev mode)")
    console.print(cop.explain(query, params=params), markup=False, highlight=False)
    with console.status("proving for real (about a minute on 2 cores)..."):
        res = cop.prove(query, params=params)
    started = time.perf_counter()
    j = res.verify(sql=query, params=params, trusted_rpc=rpc)  # question + anchor checked too
    verify_s = time.perf_counter() - started
    out = res.save(tmp / f"{res.query_hash.hex()}.receipt")
    t = Table(title=f"{name}, proven and verified from Python")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("answer (code_hash)", hx(j.rows[0][0]))
    t.add_row("node's answer", hx(ask()[0][0]))
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
    assert j.rows == ask()
    assert j.complete
    console.print(
        "[green]verified[/]: the seal proves the query guest computed this answer to this SQL "
        "(queryHash) from block data linked to the anchor, whose hash the node confirms; it "
        "equals the node's and DuckDB's."
    )


def anchors(console: Console, cop: Coprocessor, client, db: Path, node: NodeAnswers) -> None:
    """Step 4b: 300 blocks later, one question and three ways to reach its range."""
    client.call("anvil_mine", [hex(300)])
    Indexer(client, cop.store).run()
    with StepLog(default_path(db)) as log:
        steps = HistoryProver(cop.store, log, dev=True).prove_pending(batch=128, origin=0)
        state = log.last().journal
    console.print(
        f"[bold]block history[/] proven in {len(steps)} dev batches: blocks "
        f"{state.earliest}..{state.latest}, historyRoot {short(state.history_root)}"
    )
    _, params, _, ask = node_case = catalogue_cases(node)[1]
    query = catalogue()[node_case[0]]
    table = Table(title=f"{node_case[0]}, anchored 300 blocks after its range (dev mode)")
    for col in ("anchor", "proven rows", "user cycles", "journal anchor", "historyRoot"):
        table.add_column(col)
    for kind in ("walk", "eip2935", "history"):
        res = cop.prove(query, params=params, anchor=kind, history=state, dev=True)
        assert res.rows == ask(), (kind, res.rows)
        root = "-" if res.history_root == bytes(32) else short(res.history_root)
        table.add_row(
            kind, rows_text(res.rows), f"{res.user_cycles:,}", f"block {res.anchor_number}", root
        )
    console.print(table)
    console.print(
        "walk: every header up to the anchor; EIP-2935: the history contract's storage in the "
        "anchor's state; history: one MMR proof in the accumulator, whose root a BlockHistory "
        "contract must know. The cost of the last one does not grow with the distance."
    )


def _funded(w3: Web3):
    account = Account.create()
    transfer: Any = {"from": w3.eth.accounts[0], "to": account.address, "value": 10**19}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(transfer))
    return account


def _contract(w3: Web3, name: str, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def request_claim(console: Console, rpc: str, w3: Web3, node: NodeAnswers) -> tuple[dict, str]:
    """Deploys the contracts (mock verifier) and the airdrop for DUSD over the history; the
    busiest receiver asks for its claim. Returns (addresses, claimant)."""
    q = catalogue()[AIRDROP_QUERY]
    params: dict[str, Any] = {"token": node.token, "account": node.account}
    params |= {"from_block": node.first, "to_block": node.last}
    plan = compile_sql(q.sql, params=params, views=q.views).plan_bytes  # the template
    example = ExampleAirdrop(
        query_hash=keccak(plan),
        token=hx(node.token),
        from_block=node.first,
        to_block=node.last,
        threshold=1,
    )
    addresses = deploy_contracts(rpc, _funded(w3), mock_verifier=True, example=example)
    airdrop = _contract(w3, "ProvenAirdrop", addresses["proven_airdrop"])
    claimant = Web3.to_checksum_address(node.account)
    fee = airdrop.functions.claimFee(MAX_FEE_PER_GAS).call()
    call = airdrop.functions.requestClaim(plan, MAX_FEE_PER_GAS)
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": claimant, "value": fee}))
    console.print(
        f"\n[bold]on chain[/]: CoprocessorQuery {addresses['coprocessor_query']} (verifier: "
        f"RISC Zero's MOCK), ProvenAirdrop {addresses['proven_airdrop']} pinning queryHash "
        f"{short(example.query_hash)}; {short(node.account)} requested its claim in block "
        f"{receipt['blockNumber']}, paying {fee:,} wei of escrow"
    )
    return addresses, claimant


def relay_until_confirmed(rpc: str, w3: Web3, db: Path, addresses: dict) -> float:
    """The relayer (query guest prover over the index, dev receipts) until the fulfilment is
    at confirmation depth; it indexes up to the head itself before proving. Returns seconds."""
    config = RelayerConfig(
        rpc_url=rpc,
        contract=addresses["coprocessor_query"],
        db_path=Path(f"{db}.relayer.sqlite"),
        key_env="DEMO_KEY_UNUSED",  # the account is given below
        confirmations=2,
        dev=True,
    )
    prover = QueryGuestProver(db, rpc_url=rpc, dev=True, sync_index=True)
    started = time.perf_counter()
    with Relayer(config, prover=prover, account=_funded(w3)) as relayer:
        for _ in range(20):  # anvil mines on demand: one block per tick stands in for time
            w3.provider.make_request("anvil_mine", ["0x1"])  # type: ignore[arg-type]
            relayer.run_once()
            if relayer.outbox.requests_in("confirmed"):
                break
        else:
            raise AssertionError("the relayer did not fulfil the request")
    prover.close()
    return time.perf_counter() - started


def deliver_on_chain(console: Console, rpc: str, db: Path, node: NodeAnswers) -> None:
    """Step 5 (module docstring): request on chain, relay, compare with the node."""
    w3 = Web3(Web3.HTTPProvider(rpc))
    addresses, claimant = request_claim(console, rpc, w3, node)
    with console.status("relaying: prove the request from the index (dev), fulfil, confirm..."):
        seconds = relay_until_confirmed(rpc, w3, db, addresses)
    airdrop = _contract(w3, "ProvenAirdrop", addresses["proven_airdrop"])
    volume, transfers, anchor, proven, paid = airdrop.functions.results(claimant).call()
    reward = _contract(w3, "DevToken", addresses["reward_token"])
    (want,) = node.transfers_in()
    t = Table(title="ProvenAirdrop's callback result beside the node's own answer")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("stored by the callback: volume, transfers", f"{volume:,}, {transfers:,}")
    t.add_row("node's answer (eth_getLogs): volume, transfers", f"{want[0]:,}, {want[1]:,}")
    t.add_row("anchor (checked on chain: blockhash)", f"block {anchor}")
    t.add_row("reward paid (volume >= threshold)", f"{paid}")
    t.add_row("claimant's reward balance", f"{reward.functions.balanceOf(claimant).call():,}")
    t.add_row("relayer: index, prove (dev), fulfil, confirm", f"{seconds:.1f} s")
    console.print(t)
    assert proven and paid and (volume, transfers) == want, ((volume, transfers), want)
    console.print(
        "[yellow]note[/]: the on-chain seal check used RiscZeroMockVerifier, with the fake seal "
        "of a dev receipt (the query guest ran in the executor; nothing was proven for this "
        f"leg): {NO_GROTH16}."
    )


def main() -> None:
    console = Console(width=None if sys.stdout.isatty() else 150)  # `make demo | tee`
    with (
        tempfile.TemporaryDirectory(prefix="coprocessor-demo-") as tmp,
        Anvil() as anvil,
        anvil.client() as c,
    ):
        with console.status("building a devchain history on anvil..."):
            h = build_history(c, blocks=24, txs_per_block=8, seed=7)
        console.print(
            f"[bold]devchain[/] {anvil.url}: blocks {h.first_block}..{h.last_block}, "
            f"{h.transactions} transactions, tokens {', '.join(h.tokens)}"
        )
        db = Path(tmp) / "index.duckdb"
        index_devchain(console, c, db)
        node = NodeAnswers(c, h, b"")
        node.account = node.busiest_receiver()
        cases = catalogue_cases(node)
        with Coprocessor(db, rpc=anvil.url) as cop:
            dev_queries(console, cop, cases)
            real_proof(console, cop, cases[3], anvil.url, Path(tmp))
            anchors(console, cop, c, db, node)
        deliver_on_chain(console, anvil.url, db, node)
    console.print("anvil stopped, temporary index removed.")


if __name__ == "__main__":
    main()
