"""gRPC service benchmark: dev-mode queries per second through `coprocessor serve` with 1 and 8
concurrent SDK clients (p50 and p99 latency), beside the same queries through the embedded
`Coprocessor` in this process: the gRPC overhead as a ratio.

Dev mode (executor + fake receipt) keeps proving cheap, so the figures show the service's own
costs: compiling in the server, the SQLite queue, a worker process per proof, streaming the
receipt, and the client's local verification (recompiling the question, checking the seal).

Usage: python scripts/bench_server.py [--rounds 12] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coprocessor.indexer import Indexer
from coprocessor.sdk import Coprocessor
from coprocessor.sdk.client import Client
from coprocessor.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.catalogue import CAT, params_for
from support.devchain import start_devnode
from support.serve import ServeProcess

QUERIES = ("code_hash_at_block", "base_fee_and_gas", "erc20_balance_at_block")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(mode: str, clients: int, latencies: list[float], seconds: float) -> dict:
    return {
        "mode": mode,
        "clients": clients,
        "queries": len(latencies),
        "qps": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
    }


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def bench_embedded(cp: Coprocessor, work: list) -> dict:
    started = time.perf_counter()
    lat = [_timed(lambda q=q, p=p: cp.prove(CAT[q], params=p, dev=True)) for q, p in work]
    return _row("embedded Coprocessor", 1, lat, time.perf_counter() - started)


def bench_grpc(target: str, work: list, clients: int) -> dict:
    def one_client(share: list) -> list[float]:
        with Client(target, timeout=120) as c:
            return [_timed(lambda q=q, p=p: c.prove(CAT[q], params=p, dev=True)) for q, p in share]

    shares = [work[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = [x for share in pool.map(one_client, shares) for x in share]
    return _row("gRPC Client", clients, lat, time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=12, help="queries per measurement")
    ap.add_argument("--workers", type=int, default=2, help="the server's prover workers")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    node = start_devnode()
    tmp = Path(tempfile.mkdtemp(prefix="bench-server-"))
    store = Store(tmp / "embedded.duckdb")
    server = None
    try:
        ix = Indexer(node.client, store)
        ix.run(first=0)
        env = (node, store, ix)
        params = {q: params_for(env, q) for q in QUERIES}
        work = [
            (QUERIES[i % len(QUERIES)], params[QUERIES[i % len(QUERIES)]])
            for i in range(args.rounds)
        ]
        server = ServeProcess(tmp / "served.duckdb", node.url, workers=args.workers)
        server.wait_serving()
        with Coprocessor(store, rpc=node.url) as cp:
            bench_embedded(cp, work[:2])  # warm-up: guest load, caches
            rows = [bench_embedded(cp, work)]
        bench_grpc(server.target, work[:2], 1)
        rows += [bench_grpc(server.target, work, 1), bench_grpc(server.target, work, 8)]
    finally:
        if server is not None:
            server.terminate()
        store.close()
        node.close()
    base = rows[0]["qps"]
    for r in rows:
        r["vs_embedded"] = r["qps"] / base
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"dev-mode queries ({', '.join(QUERIES)}), server with {args.workers} worker(s)")
    head = ("mode", "clients", "queries", "q/s", "p50 ms", "p99 ms", "x embedded")
    print(f"{head[0]:<22}" + "".join(f"{h:>9}" for h in head[1:-1]) + f"{head[-1]:>12}")
    for r in rows:
        print(
            f"{r['mode']:<22}{r['clients']:>9}{r['queries']:>9}{r['qps']:>9.2f}"
            f"{r['p50_ms']:>9.0f}{r['p99_ms']:>9.0f}{r['vs_embedded']:>12.2f}"
        )


if __name__ == "__main__":
    main()
