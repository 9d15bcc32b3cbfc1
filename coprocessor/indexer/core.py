"""The indexing loop: concurrent batched fetch, validation, atomic writes, reorgs, follow.

Pipeline: worker threads fetch chunks of blocks (one JSON-RPC batch holding
eth_getBlockByNumber(n, true), eth_getBlockReceipts(n) and eth_getProof for
tracked accounts, per block) and validate them (ethcore calls release the
GIL); the calling thread links chunks in order by parentHash and commits them
to DuckDB together with the checkpoint, one transaction per commit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from coprocessor.chain import JSONRPC_INVALID_REQUEST, JSONRPC_METHOD_NOT_FOUND, RpcClient
from coprocessor.errors import (
    IndexerError,
    InvalidArgument,
    InvalidBlockError,
    RangeTooLargeError,
    ReorgTooDeepError,
    RpcError,
)
from coprocessor.indexer.ingest import ingest_block
from coprocessor.indexer.native import ingest_native
from coprocessor.indexer.proofs import verify_proof
from coprocessor.indexer.rows import Rows, add_state_rows
from coprocessor.store import Store, arrow_table
from coprocessor.types import Tracked, hex_bytes, to_hex

Progress = Callable[[int, int, int], None]  # (last block committed, blocks done, rows done)
REORG_PROBE_BLOCKS = 16  # block hashes asked of the node per batch while seeking the ancestor


@dataclass(kw_only=True)
class IndexerConfig:
    chunk_blocks: int = 32  # blocks per JSON-RPC batch at start (adapts)
    max_chunk_blocks: int = 128
    workers: int = 3  # concurrent batches in flight
    commit_blocks: int = 2000  # at most this many blocks per DuckDB transaction
    commit_seconds: float = 2.0  # ... and commit at least this often
    confirmations: int = 0  # --follow stays this many blocks behind the head
    max_reorg_depth: int = 64
    poll_interval: float = 1.0
    tracked: tuple[Tracked, ...] = ()
    receipts: bool = True  # False only for sources without receipts (then receipts/logs stay empty)
    chunk_retries: int = 3  # refetch a chunk whose internal parent links break (a reorg mid-fetch)
    native: bool = (
        True  # validate and build rows in Rust (ethcore.ingest_blocks) when the source allows
    )
    native_always: bool = (
        False  # also for sources without batch_raw (tests: re-serialises their results)
    )


@dataclass
class Stats:
    blocks: int = 0
    rows: int = 0
    commits: int = 0
    reorgs: list[tuple[int, int]] = field(default_factory=list)  # (ancestor, depth)
    seconds: float = 0.0


class _Restart(Exception):
    """Internal: a reorg was rolled back; indexing restarts from the new checkpoint."""


class Indexer:
    def __init__(self, source: RpcClient, store: Store, config: IndexerConfig | None = None):
        self.source = source
        self.store = store
        self.config = config or IndexerConfig()
        self._chunk = self.config.chunk_blocks
        self._chain_id: int | None = None
        self._receipts_method: str | None = "eth_getBlockReceipts"
        self.stats = Stats()
        self.log: Callable[[str], None] = lambda msg: None

    # --- fetching -------------------------------------------------------------------------

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.source.chain_id()
        return self._chain_id

    def _calls(self, n: int) -> list:
        calls = [("eth_getBlockByNumber", [hex(n), True])]
        if self.config.receipts:
            # without eth_getBlockReceipts, a placeholder; receipts are fetched per tx afterwards
            calls.append(
                (self._receipts_method, [hex(n)]) if self._receipts_method else ("eth_chainId", [])
            )
        for t in self.config.tracked:
            calls.append(
                ("eth_getProof", [to_hex(t.address), [to_hex(s) for s in t.slots], hex(n)])
            )
        return calls

    def _fetch_validated(self, first: int, last: int) -> Rows:
        """Fetches and validates first..last; splits the range if the node finds it too large."""
        try:
            per = 1 + self.config.receipts + len(self.config.tracked)
            calls = [c for n in range(first, last + 1) for c in self._calls(n)]
            fast = self.config.native and (self._receipts_method or not self.config.receipts)
            if fast and hasattr(self.source, "batch_raw"):
                raw = self.source.batch_raw(calls)
                rows = self._native(raw.body, raw.ids, first, last, per)
                if rows is not None:
                    return rows
                results = raw.results()  # declined: the reference path decides on this response
            else:
                results = self.source.batch(calls)
                if fast and self.config.native_always:
                    ids = list(range(len(calls)))
                    body = orjson.dumps(
                        [{"jsonrpc": "2.0", "id": i, "result": r} for i, r in zip(ids, results)]
                    )
                    rows = self._native(body, ids, first, last, per)
                    if rows is not None:
                        return rows
            if self.config.receipts and not self._receipts_method:
                self._receipts_per_tx(results, per)
        except RpcError as exc:
            if not isinstance(exc, RangeTooLargeError):
                unknown_method = exc.code in (JSONRPC_METHOD_NOT_FOUND, JSONRPC_INVALID_REQUEST)
                if (
                    exc.method == "eth_getBlockReceipts"
                    and self._receipts_method
                    and unknown_method
                ):
                    self.log(
                        "the node has no eth_getBlockReceipts: fetching receipts per transaction"
                    )
                    self._receipts_method = None
                    return self._fetch_validated(first, last)
                raise
            if first == last:
                raise
            self._chunk = max(1, (last - first + 1) // 2)
            mid = (first + last) // 2
            left = self._fetch_validated(first, mid)
            left.extend(self._fetch_validated(mid + 1, last))
            return left
        rows = Rows()
        prev = None
        for i, n in enumerate(range(first, last + 1)):
            got = results[i * per : (i + 1) * per]
            block, receipts = got[0], (got[1] if self.config.receipts else None)
            proofs = got[1 + self.config.receipts :]
            prev = ingest_block(
                rows,
                block,
                receipts,
                number=n,
                parent_hash=prev,
                proofs=list(zip(proofs, self.config.tracked)),
                require_receipts=self.config.receipts,
            )
        return rows

    def _native(self, body, ids: list[int], first: int, last: int, per: int) -> Rows | None:
        """The native fast path over a batch response (None: declined, or a tracked proof
        needs the reference path's verdict)."""
        if not isinstance(body, (bytes, bytearray)):
            return None
        block_ids = ids[0::per]
        receipt_ids = ids[1::per] if self.config.receipts else []
        rows = ingest_native(body, first, block_ids, receipt_ids)
        if rows is None or not self.config.tracked:
            return rows
        # tracked accounts: their proofs are verified here, block by block, after every
        # block check passed natively (the order the reference path checks them in)
        by_id = {item.get("id"): item for item in orjson.loads(body) if isinstance(item, dict)}
        state_roots = rows.tables()["blocks"].column("state_root").to_pylist()
        for k, n in enumerate(range(first, last + 1)):
            for j, t in enumerate(self.config.tracked):
                item = by_id.get(ids[k * per + 1 + self.config.receipts + j])
                if (
                    item is None
                    or item.get("error") is not None
                    or not isinstance(item.get("result"), dict)
                ):
                    return None  # the reference path handles the error or the gap
                add_state_rows(rows, *verify_proof(n, state_roots[k], item["result"], t.slots))
        return rows

    def _receipts_per_tx(self, results: list, per: int) -> None:
        """Fills each block's receipts slot from eth_getTransactionReceipt (nodes without
        eth_getBlockReceipts)."""
        hashes = [
            (i, tx["hash"])
            for i in range(0, len(results), per)
            if results[i]
            for tx in results[i]["transactions"]
            if isinstance(tx, dict)
        ]
        got = self.source.batch([("eth_getTransactionReceipt", [h]) for _, h in hashes])
        for i in range(0, len(results), per):
            results[i + 1] = []
        for (i, _), r in zip(hashes, got):
            results[i + 1].append(r)

    def _fetch_chunk(self, first: int, last: int) -> Rows:
        for attempt in range(self.config.chunk_retries + 1):
            try:
                rows = self._fetch_validated(first, last)
                self._chunk = min(
                    self.config.max_chunk_blocks, self._chunk + max(1, self._chunk // 4)
                )
                return rows
            except InvalidBlockError as exc:
                # a broken link *inside* one batch means the node switched forks mid-batch
                if (
                    exc.check in ("parent_hash", "block_missing")
                    and attempt < self.config.chunk_retries
                ):
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise
        raise IndexerError("unreachable")

    # --- reorgs -----------------------------------------------------------------------------

    def _node_hashes(self, numbers: list[int]) -> dict[int, bytes | None]:
        blocks = self.source.batch([("eth_getBlockByNumber", [hex(k), False]) for k in numbers])
        return {k: (hex_bytes(b["hash"]) if b else None) for k, b in zip(numbers, blocks)}

    def _handle_reorg(self, tip: int) -> int:
        """Finds the newest common block at or below `tip`, rolls back to it; returns it."""
        cp = self.store.indexed_checkpoint()
        floor = max(cp.first_block, tip - self.config.max_reorg_depth)
        k = tip
        while k >= floor:
            lo = max(floor, k - REORG_PROBE_BLOCKS + 1)
            numbers = list(range(k, lo - 1, -1))
            node = self._node_hashes(numbers)
            ours = self.store.block_hashes(lo, k)
            for m in numbers:
                if node[m] is not None and node[m] == ours.get(m):
                    removed = self.store.rollback_to(m)
                    depth = cp.last_block - m
                    self.stats.reorgs.append((m, depth))
                    self.log(f"reorg: rolled back {removed} block(s) to common ancestor {m}")
                    return m
            k = lo - 1
        if floor == cp.first_block and tip - cp.first_block < self.config.max_reorg_depth:
            raise ReorgTooDeepError(
                f"the node's chain shares no block with the index down to its first block "
                f"{cp.first_block}: wrong node or chain? Re-index into a new file"
            )
        raise ReorgTooDeepError(
            f"reorg deeper than --max-reorg-depth {self.config.max_reorg_depth}: no common block "
            f"in {floor}..{tip}; the index is unchanged (last block {cp.last_block})"
        )

    # --- the loop ---------------------------------------------------------------------------

    def _commit(self, pending: Rows) -> None:
        if pending.blocks == 0:
            return
        assert pending.first is not None and pending.last is not None and pending.last_hash
        self.store.write_batch(
            pending.tables(),
            chain_id=self.chain_id(),
            first=pending.first,
            last=pending.last,
            last_hash=pending.last_hash,
        )
        self.stats.commits += 1

    def run(
        self, first: int | None = None, last: int | None = None, progress: Progress | None = None
    ) -> Stats:
        """Indexes up to `last` (default: head - confirmations), resuming from the checkpoint."""
        t0 = time.monotonic()
        cp = self.store.checkpoint()
        if cp is not None and cp.chain_id != self.chain_id():
            raise IndexerError(
                f"{self.store.path} indexes chain {cp.chain_id}, the node serves "
                f"chain {self.chain_id()}"
            )
        if (
            cp is not None
            and first is not None
            and not cp.first_block <= first <= cp.last_block + 1
        ):
            if first > cp.last_block + 1:
                raise InvalidArgument(
                    f"--from {first} would leave a gap after block {cp.last_block}"
                )
            raise InvalidArgument(
                f"--from {first} is below the first indexed block {cp.first_block}"
            )
        if last is None:
            last = self.source.block_number() - self.config.confirmations
        while True:
            try:
                self._run_once(first, last, progress)
                break
            except _Restart:
                continue
        self.stats.seconds += time.monotonic() - t0
        return self.stats

    def _run_once(self, first: int | None, last: int, progress: Progress | None) -> None:
        cp = self.store.checkpoint()
        start = cp.last_block + 1 if cp else (first if first is not None else 0)
        prev_hash = cp.last_hash if cp else None
        if start > last:
            return
        pending = Rows()
        last_commit = time.monotonic()
        futures: deque[tuple[int, int, Future]] = deque()
        nxt = start
        pool = ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="fetch")
        try:
            while nxt <= last or futures:
                while nxt <= last and len(futures) < self.config.workers * 2:
                    end = min(last, nxt + self._chunk - 1)
                    futures.append((nxt, end, pool.submit(self._fetch_chunk, nxt, end)))
                    nxt = end + 1
                a, b, fut = futures.popleft()
                try:
                    rows = fut.result()
                except InvalidBlockError as exc:
                    # our stored tip may be the stale side of a reorg: check before failing
                    if exc.check == "parent_hash" and exc.block == a and prev_hash is not None:
                        rows = None
                    else:
                        self._commit(pending)  # keep every block validated before the bad one
                        raise
                except BaseException:
                    self._commit(pending)
                    raise
                if rows is None or (prev_hash is not None and rows.parent_hash != prev_hash):
                    for _, _, f in futures:
                        f.cancel()
                    self._commit(pending)
                    pending = Rows()
                    tip = self.store.indexed_checkpoint().last_block
                    ancestor = self._handle_reorg(tip)
                    if ancestor == tip:
                        raise InvalidBlockError(
                            a,
                            "parent_hash",
                            "the node's block does not link to its own previous block",
                        )
                    raise _Restart()
                pending.extend(rows)
                prev_hash = rows.last_hash
                self.stats.blocks += rows.blocks
                self.stats.rows += rows.rows()
                now = time.monotonic()
                if (
                    pending.blocks >= self.config.commit_blocks
                    or now - last_commit >= self.config.commit_seconds
                ):
                    self._commit(pending)
                    pending, last_commit = Rows(), now
                    if progress:
                        done = self.store.indexed_checkpoint().last_block
                        progress(done, self.stats.blocks, self.stats.rows)
            self._commit(pending)
            if progress:
                progress(last, self.stats.blocks, self.stats.rows)
        finally:
            for _, _, f in futures:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def poll_once(self, progress: Progress | None = None) -> str:
        """One step of --follow: returns "lagging", "idle", "reorg" or "indexed"."""
        head = self.source.block_number()
        cp = self.store.checkpoint()
        if cp is not None:
            if head < cp.last_block:
                self.log(
                    f"node head {head} is below our tip {cp.last_block}: lagging node, waiting"
                )
                return "lagging"
            node = self._node_hashes([cp.last_block])[cp.last_block]
            if node is None:
                return "lagging"
            if node != cp.last_hash:
                self._handle_reorg(cp.last_block)
                return "reorg"
        target = head - self.config.confirmations
        if cp is not None and target <= cp.last_block:
            return "idle"
        self.run(last=target, progress=progress)
        return "indexed"

    def follow(
        self,
        first: int | None = None,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> Stats:
        """Tails the head (minus confirmations) until `stop` is set."""
        stop = stop or threading.Event()
        if self.store.checkpoint() is None:
            self.run(first=first, progress=progress)
        while not stop.is_set():
            state = self.poll_once(progress)
            if state in ("idle", "lagging"):
                stop.wait(self.config.poll_interval)
        return self.stats

    # --- state on demand ----------------------------------------------------------------------

    def fetch_state(self, block: int, address: bytes, slots: tuple[bytes, ...] = ()) -> None:
        """Fetches, verifies against the stored header's stateRoot and stores account + slots."""
        row = self.store.sql("SELECT state_root FROM blocks WHERE number = ?", [block])
        if not row:
            raise IndexerError(f"block {block} is not indexed: index it before fetching its state")
        proof = self.source.call(
            "eth_getProof", [to_hex(address), [to_hex(s) for s in slots], hex(block)]
        )
        acct_row, storage_rows = verify_proof(block, row[0][0], proof, slots)
        rows = Rows()
        add_state_rows(rows, acct_row, storage_rows)
        self.store.upsert_state(
            arrow_table("accounts", rows.cols["accounts"]),
            arrow_table("storage", rows.cols["storage"]),
        )


__all__ = ["Indexer", "IndexerConfig", "Stats"]
