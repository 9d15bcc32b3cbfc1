"""Block history figures (issue 13), on a devchain of about 10,000 blocks (token activity in the
first 8, then empty blocks), indexed from genesis:

1. the accumulator: history guest user cycles per header (a 1024-header batch against a
   16-header one, same previous state), the wall time of proving the whole chain in dev
   batches of 1024, and one real succinct proof of a small batch (seconds, segments);
2. what a query pays to reach its range from the head: the same query over blocks 1..8 anchored
   100, 1,000 and 10,000 blocks later, by walking the headers, through the accumulator (one MMR
   proof) and through EIP-2935 storage (within 8191 blocks); user cycles (executor) and the
   cost model's proving time on this machine (its calibration, when `make bench` wrote one).

Usage: bench_history.py [--blocks N] [--no-real-proof]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coprocessor import zkvm  # noqa: E402
from coprocessor.compiler.anchors import EIP2935_ADDRESS, eip2935_slot  # noqa: E402
from coprocessor.compiler.journal import guest_input  # noqa: E402
from coprocessor.devchain import Anvil, build_history  # noqa: E402
from coprocessor.history import (  # noqa: E402
    MODE_FORWARD,
    MODE_NEW,
    Batch,
    HistoryProver,
    StepLog,
    default_path,
)
from coprocessor.history import guest_input as history_input  # noqa: E402
from coprocessor.history.prover import batch_headers  # noqa: E402
from coprocessor.indexer import Indexer  # noqa: E402
from coprocessor.prover.cost import Calibration, duration_text, estimate_query  # noqa: E402
from coprocessor.sdk import Coprocessor  # noqa: E402
from coprocessor.store import Store  # noqa: E402

DISTANCES = (100, 1_000, 10_000)
MINE_CHUNK = 500  # anvil's mining slows as its chain grows: many small calls


def build_chain(db: Path, blocks: int) -> tuple:
    """Mines and indexes the chain. The EIP-2935 proofs at each anchor block are fetched when
    that block is the head: anvil serves eth_getProof only for recent states."""
    anvil = Anvil(hardfork="prague")
    client = anvil.client()
    hist = build_history(client, blocks=8, txs_per_block=4)
    slot = eip2935_slot(hist.last_block)
    t0 = time.perf_counter()
    with Store(db) as store:
        indexer = Indexer(client, store)
        for target in [hist.last_block + d for d in DISTANCES if d <= 8191] + [
            hist.last_block + blocks
        ]:
            while client.block_number() < target:
                left = target - client.block_number()
                client.call("anvil_mine", [hex(min(MINE_CHUNK, left))])
            indexer.run(first=0, last=target)
            if target - hist.last_block <= 8191:
                indexer.fetch_state(target, EIP2935_ADDRESS, (slot,))
    print(
        f"devchain: {client.block_number():,} blocks, mined and indexed in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return anvil, client, hist


def bench_accumulator(db: Path, chain_id: int, real: bool) -> None:
    history = zkvm.Program.load("history")
    with Store(db, read_only=True) as store:
        headers = batch_headers(store, Batch(MODE_FORWARD, 0, 1040))
    image = history.image_id
    first = zkvm.prove(
        history, history_input(image, chain_id, MODE_NEW, b"", headers[:16]), dev=True
    )

    def forward(n: int) -> int:
        data = history_input(image, chain_id, MODE_FORWARD, first.journal, headers[16 : 16 + n])
        return zkvm.execute(history, data, assumptions=[first]).user_cycles

    small, large = forward(16), forward(1024)
    print(
        f"history guest: {(large - small) / 1008:,.0f} user cycles per header "
        f"({large:,} for a batch of 1024 composing the previous receipt, {small:,} for 16)"
    )
    t0 = time.perf_counter()
    with Store(db, read_only=True) as store, StepLog(default_path(db)) as log:
        prover = HistoryProver(store, log, dev=True)
        origin = store.checkpoint().last_block // 2
        steps = prover.prove_pending(batch=1024, origin=origin)
        steps += prover.prove_pending(batch=1024, backward=True)
        state = log.last().journal
    print(
        f"dev batches of 1024: {len(steps)} batches, blocks {state.earliest:,}..{state.latest:,} "
        f"in {time.perf_counter() - t0:.0f} s (executor; the proof of a batch is what costs)"
    )
    if real:
        t0 = time.perf_counter()
        receipt = zkvm.prove(
            history,
            history_input(image, chain_id, MODE_NEW, b"", headers[:8]),
            kind="succinct",
            keccak_po2=14,
        )
        zkvm.verify(receipt, image)
        s = receipt.stats
        print(
            f"real succinct proof of a batch of 8 headers: {time.perf_counter() - t0:.0f} s "
            f"({s.user_cycles:,} user cycles, {s.segments} segment(s))"
        )


def bench_anchors(db: Path, hist) -> None:
    token = hist.tokens["DUSD"]
    sql = (
        "SELECT COUNT(*) AS n, SUM(value) AS total FROM erc20_transfers "
        f"WHERE token = '0x{token.hex()}' AND block_number BETWEEN {hist.first_block} "
        f"AND {hist.last_block}"
    )
    guest = zkvm.Program.load("query")
    calibration = Calibration.load()
    rows = []
    with Coprocessor(db) as cp:  # the EIP-2935 proofs are indexed already
        for distance in (0, *DISTANCES):  # 0: anchored at the range's last block
            at = hist.last_block + distance
            row = {"distance": distance}
            for kind in ("walk", "history", "eip2935"):
                if kind == "eip2935" and not 0 < distance <= 8191:
                    row[kind] = None
                    continue
                compiled = cp.compile(sql, at_block=at, anchor=kind)
                ex = zkvm.execute(guest, guest_input(compiled, cp.chain_id))
                assert ex.journal == compiled.journal
                cost = estimate_query(compiled, calibration=calibration)
                seconds = cost.seconds(1) if cost is not None else None
                row[kind] = (ex.user_cycles, seconds)
            rows.append(row)
    print(
        "\nthe same query (blocks 1..8) anchored N blocks later: user cycles "
        "(1-worker proving time by the cost model)"
    )
    print(f"{'N':>7} | {'walk':>24} | {'accumulator':>22} | {'EIP-2935':>22} | saving")
    for row in rows:

        def cell(v) -> str:
            if v is None:
                return "out of reach"
            cycles, seconds = v
            return f"{cycles:,}" + (f" ({duration_text(seconds)})" if seconds is not None else "")

        walk, acc = row["walk"], row["history"]
        saving = f"{walk[0] - acc[0]:,} cycles ({walk[0] / acc[0]:.1f}x)"
        print(
            f"{row['distance']:>7,} | {cell(walk):>24} | {cell(acc):>22} | "
            f"{cell(row['eip2935']):>22} | {saving}"
        )
    if calibration is None:
        print("(no calibration: run scripts/bench_prover.py for proving times)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--blocks", type=int, default=10_100, help="empty blocks after the activity"
    )
    parser.add_argument("--no-real-proof", action="store_true", help="skip the real batch proof")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "index.duckdb"
        anvil, client, hist = build_chain(db, args.blocks)
        try:
            bench_accumulator(db, client.chain_id(), real=not args.no_real_proof)
            bench_anchors(db, hist)
        finally:
            client.close()
            anvil.stop()


if __name__ == "__main__":
    main()
