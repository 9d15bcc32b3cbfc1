"""One block from JSON-RPC objects to validated rows (no I/O).

`ingest_block` rebuilds the consensus bytes (encode.py), checks them with
`coprocessor.ethcore` (the guests' own rules) and appends rows to a `Rows`
collector; on any failed check it raises `InvalidBlockError(block, check)`
before touching the collector, so nothing of a bad block is kept.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pyarrow as pa
from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.errors import EthDataError, InternalError, InvalidArgument, InvalidBlockError
from coprocessor.indexer import encode
from coprocessor.store import ARROW_SCHEMAS, DATA_TABLES, TABLES, arrow_table
from coprocessor.types import Tracked, parse_slot
from coprocessor.types import hex_bytes as hb
from coprocessor.types import hex_int as hi

_EMPTY_TRIE = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
_EMPTY_CODE = keccak(b"")


def _s(v: int | None) -> str | None:
    """uint256 as decimal text for a BIGNUM column."""
    return None if v is None else str(v)


def _opt(tx: dict, key: str) -> int | None:
    v = tx.get(key)
    return None if v is None else hi(v)


@dataclass
class Rows:
    """Columns of every table for a run of blocks, appended block by block (`cols`, Python
    lists) or as whole Arrow tables from the native path (`parts`)."""

    cols: dict[str, dict[str, list]] = field(
        default_factory=lambda: {t: {c: [] for c, _ in TABLES[t]} for t in DATA_TABLES})
    parts: list[dict[str, pa.Table]] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    parent_hash: bytes | None = None  # parentHash of `first`
    last_hash: bytes | None = None
    blocks: int = 0

    def rows(self) -> int:
        return sum(len(next(iter(c.values()))) for c in self.cols.values()) + sum(
            t.num_rows for part in self.parts for t in part.values())

    def extend(self, other: "Rows") -> None:
        if other.blocks == 0:
            return
        if self.blocks and any(self.cols[t][c] for t in DATA_TABLES for c in self.cols[t]):
            # keep row order: what is in `cols` so far becomes a part before other's rows
            self.parts.append(self._col_tables())
            self.cols = Rows().cols
        self.parts.extend(other.parts)
        if any(other.cols[t][c] for t in DATA_TABLES for c in other.cols[t]):
            self.parts.append(other._col_tables())
        if self.first is None:
            self.first, self.parent_hash = other.first, other.parent_hash
        self.last, self.last_hash = other.last, other.last_hash
        self.blocks += other.blocks

    def _col_tables(self) -> dict[str, pa.Table]:
        return {t: arrow_table(t, self.cols[t]) for t in DATA_TABLES}

    def tables(self) -> dict[str, pa.Table]:
        if not self.parts:
            return self._col_tables()
        parts = [*self.parts, self._col_tables()]
        return {t: pa.concat_tables([p[t] for p in parts if t in p and p[t].num_rows])
                if any(t in p and p[t].num_rows for p in parts) else ARROW_SCHEMAS[t].empty_table()
                for t in DATA_TABLES}  # fmt: skip


_KINDS = {0: pa.uint64(), 1: pa.binary(), 2: pa.string()}


def native_tables(buf: bytes) -> dict[str, pa.Table]:
    """Arrow tables (store schemas) from the column buffers of `ethcore.ingest_blocks`
    (layout in native/risc0-py/src/ingest.rs); the buffers are wrapped, not copied."""
    mv = memoryview(buf)
    pos = 0

    def take(fmt: str):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v

    def name() -> str:
        nonlocal pos
        (n,) = take("<H")
        pos += n
        return bytes(mv[pos - n : pos]).decode()

    def buffer(size: int) -> pa.Buffer:
        nonlocal pos
        b = pa.py_buffer(mv[pos : pos + size])
        pos += -(-size // 8) * 8
        return b

    out = {}
    (ntables,) = take("<I")
    for _ in range(ntables):
        table = name()
        rows, ncols = take("<II")
        schema = ARROW_SCHEMAS[table]
        arrays = []
        for k in range(ncols):
            col = name()
            kind, has_validity = take("<BB")
            pos = -(-pos // 8) * 8
            validity = buffer(-(-rows // 8)) if has_validity else None
            if kind == 0:
                arr = pa.Array.from_buffers(pa.uint64(), rows, [validity, buffer(rows * 8)])
            else:
                offsets = buffer((rows + 1) * 4)
                (size,) = take("<Q")
                arr = pa.Array.from_buffers(_KINDS[kind], rows, [validity, offsets, buffer(size)])
            field_ = schema.field(k)
            if field_.name != col:
                raise InternalError(f"native rows: {table} column {k} is {col}, expected {field_.name}")
            if arr.type != field_.type:
                arr = arr.cast(field_.type)
            arrays.append(arr)
        out[table] = pa.Table.from_arrays(arrays, schema=schema)
    return out


def ingest_native(body: bytes, first: int, block_ids: list[int], receipt_ids: list[int]) -> Rows | None:
    """Blocks first.. validated natively from a batch response body (see
    `ethcore.ingest_blocks`); None when the native path declines (the caller then runs
    `ingest_block` on the parsed response, which decides)."""
    buf = ethcore.ingest_blocks(body, first, block_ids, receipt_ids)
    if buf is None:
        return None
    tables = native_tables(buf)
    blocks = tables["blocks"]
    rows = Rows()
    rows.parts.append(tables)
    rows.blocks = blocks.num_rows
    if rows.blocks != len(block_ids):
        raise InternalError(f"native rows: {rows.blocks} blocks for {len(block_ids)} requested")
    rows.first, rows.last = first, first + rows.blocks - 1
    rows.parent_hash = blocks.column("parent_hash")[0].as_py()
    rows.last_hash = blocks.column("hash")[rows.blocks - 1].as_py()
    return rows


def _fail(n: int, check: str, detail: str = "") -> InvalidBlockError:
    return InvalidBlockError(n, check, detail)


def verify_proof(n: int, state_root: bytes, proof: dict, slots: tuple[bytes, ...] = ()):
    """Checks an eth_getProof result against `state_root`; returns (account row, storage rows)."""
    address = hb(proof["address"])
    try:
        acct = ethcore.verify_account_proof(state_root, address, [hb(x) for x in proof["accountProof"]])
    except (EthDataError, InvalidArgument) as exc:
        raise _fail(n, "account_proof", f"{proof['address']}: {exc}") from exc
    claimed = (hi(proof.get("nonce")), hi(proof.get("balance")), hb(proof.get("storageHash")),
               hb(proof.get("codeHash")))  # fmt: skip
    if acct is None:
        ok = claimed[0] == 0 and claimed[1] == 0 and claimed[2] in (b"", _EMPTY_TRIE, bytes(32)) \
            and claimed[3] in (b"", _EMPTY_CODE, bytes(32))
        storage_root = _EMPTY_TRIE
    else:
        ok = claimed == (acct.nonce, acct.balance, acct.storage_root, acct.code_hash)
        storage_root = acct.storage_root
    if not ok:
        raise _fail(n, "account_proof", f"{proof['address']}: node's values differ from the proof")
    acct_row = (n, address, acct is not None, acct.nonce if acct else 0,
                acct.balance if acct else 0, storage_root, acct.code_hash if acct else _EMPTY_CODE,
                [hb(x) for x in proof["accountProof"]])  # fmt: skip
    by_slot = {parse_slot(sp["key"]): sp for sp in proof.get("storageProof", [])}
    storage_rows = []
    for slot in slots or tuple(by_slot):
        sp = by_slot.get(slot)
        if sp is None:
            raise _fail(n, "storage_proof", f"{proof['address']}: no proof for slot 0x{slot.hex()}")
        nodes = [hb(x) for x in sp["proof"]]
        try:
            value = ethcore.verify_storage_proof(storage_root, slot, nodes)
        except (EthDataError, InvalidArgument) as exc:
            raise _fail(n, "storage_proof", f"{proof['address']} slot 0x{slot.hex()}: {exc}") from exc
        if value != hi(sp["value"]):
            raise _fail(n, "storage_proof", f"{proof['address']} slot 0x{slot.hex()}: "
                        f"node says {hi(sp['value'])}, proof says {value}")  # fmt: skip
        storage_rows.append((n, address, slot, value, nodes))
    return acct_row, storage_rows


def add_state_rows(rows: Rows, acct_row, storage_rows) -> None:
    a = rows.cols["accounts"]
    for c, v in zip(("block_number", "address", "exists", "nonce", "balance", "storage_root",
                     "code_hash", "proof"), acct_row):  # fmt: skip
        a[c].append(_s(v) if c == "balance" else v)
    s = rows.cols["storage"]
    for n, address, slot, value, nodes in storage_rows:
        s["block_number"].append(n), s["address"].append(address), s["slot"].append(slot)
        s["value"].append(str(value)), s["proof"].append(nodes)


def ingest_block(rows: Rows, block: dict | None, receipts: list | None, *, number: int,
                 proofs: list[tuple[dict, Tracked]] = (), parent_hash: bytes | None = None,
                 require_receipts: bool = True) -> bytes:  # fmt: skip
    """Validates one block (full transactions) with its receipts and proofs; appends its rows.

    Returns the block hash. `parent_hash`, when given, must equal the block's parentHash.
    """
    n = number
    if block is None:
        raise _fail(n, "block_missing", "the node returned no block")
    if hi(block.get("number")) != n:
        raise _fail(n, "block_number", f"asked for {n}, got {block.get('number')}")
    try:
        h_rlp = encode.header_rlp(block)
        info = ethcore.decode_header(h_rlp)
    except (EthDataError, InvalidArgument, KeyError) as exc:
        raise _fail(n, "header_encoding", str(exc)) from exc
    bhash = hb(block["hash"])
    if info.hash != bhash or info.number != n:
        raise _fail(n, "header_hash", f"header fields hash to 0x{info.hash.hex()}, "
                    f"node says {block['hash']}")  # fmt: skip
    parent = hb(block["parentHash"])
    if parent_hash is not None and parent != parent_hash:
        raise _fail(n, "parent_hash", f"parentHash {block['parentHash']} != 0x{parent_hash.hex()}")

    txs = block.get("transactions") or []
    raws, hashes = [], []
    for i, tx in enumerate(txs):
        if not isinstance(tx, dict):
            raise _fail(n, "transactions", "the node returned hashes, not transaction objects")
        try:
            raw = encode.raw_transaction(tx)
        except (InvalidArgument, KeyError) as exc:
            raise _fail(n, "transaction_encoding", f"tx {i}: {exc}") from exc
        th = keccak(raw)
        if th != hb(tx["hash"]):
            raise _fail(n, "transaction_hash", f"tx {i} {tx['hash']} re-encodes to 0x{th.hex()}")
        raws.append(raw), hashes.append(th)
    try:
        troot = ethcore.transactions_root(raws)
    except EthDataError as exc:
        raise _fail(n, "transactions_root", str(exc)) from exc
    if troot != hb(block["transactionsRoot"]):
        raise _fail(n, "transactions_root", f"computed 0x{troot.hex()}, header has "
                    f"{block['transactionsRoot']}")  # fmt: skip

    consensus, logs_per, gas_used = [], [], []
    if receipts is None:
        if require_receipts:
            raise _fail(n, "receipts_missing", "the node returned no receipts")
    else:
        if len(receipts) != len(txs):
            raise _fail(n, "receipt_count", f"{len(receipts)} receipts for {len(txs)} transactions")
        prev_cum = 0
        for i, r in enumerate(receipts):
            if hb(r.get("transactionHash")) != hashes[i]:
                raise _fail(n, "receipt_tx_hash", f"receipt {i} is for {r.get('transactionHash')}")
            # gasUsed is not in the consensus receipt: it must be the cumulative difference
            cum = hi(r["cumulativeGasUsed"])
            if r.get("gasUsed") is not None and hi(r["gasUsed"]) != cum - prev_cum:
                raise _fail(n, "receipt_gas_used", f"receipt {i}: gasUsed {r['gasUsed']} != "
                            f"cumulative difference {cum - prev_cum}")  # fmt: skip
            gas_used.append(cum - prev_cum)  # stored as derived: a node may omit gasUsed
            prev_cum = cum
            logs = encode.receipt_logs(r)
            logs_per.append(logs)
            consensus.append(encode.consensus_receipt(r, logs))
        try:
            rroot, bloom = ethcore.receipts_root(consensus)
        except EthDataError as exc:
            raise _fail(n, "receipts_root", str(exc)) from exc
        if rroot != hb(block["receiptsRoot"]):
            raise _fail(n, "receipts_root", f"computed 0x{rroot.hex()}, header has {block['receiptsRoot']}")
        if bloom != hb(block["logsBloom"]):
            raise _fail(n, "logs_bloom", "the receipts' blooms do not OR to the header's logsBloom")

    wds = block.get("withdrawals")
    wd_items = []
    if block.get("withdrawalsRoot") is not None:
        if wds is None:
            raise _fail(n, "withdrawals_missing", "header has withdrawalsRoot, block has no withdrawals")
        wd_items = [(hi(w["index"]), hi(w["validatorIndex"]), hb(w["address"]), hi(w["amount"]))
                    for w in wds]  # fmt: skip
        try:
            wroot = ethcore.withdrawals_root(wd_items)
        except (EthDataError, InvalidArgument) as exc:
            raise _fail(n, "withdrawals_root", str(exc)) from exc
        if wroot != hb(block["withdrawalsRoot"]):
            raise _fail(n, "withdrawals_root", f"computed 0x{wroot.hex()}, header has {block['withdrawalsRoot']}")

    state_root = hb(block["stateRoot"])
    state = [verify_proof(n, state_root, p, t.slots) for p, t in proofs]

    # --- every check passed: append rows ---
    c = rows.cols["blocks"]
    for col, v in (
        ("number", n), ("hash", bhash), ("parent_hash", parent), ("ommers_hash", hb(block["sha3Uncles"])),
        ("miner", hb(block["miner"])), ("state_root", state_root),
        ("transactions_root", hb(block["transactionsRoot"])), ("receipts_root", hb(block["receiptsRoot"])),
        ("logs_bloom", hb(block["logsBloom"])), ("difficulty", _s(hi(block["difficulty"]))),
        ("gas_limit", hi(block["gasLimit"])), ("gas_used", hi(block["gasUsed"])),
        ("timestamp", hi(block["timestamp"])), ("extra_data", hb(block["extraData"])),
        ("mix_hash", hb(block.get("mixHash"))), ("nonce", hb(block.get("nonce"))),
        ("base_fee_per_gas", _s(_opt(block, "baseFeePerGas"))),
        ("withdrawals_root", hb(block["withdrawalsRoot"]) if block.get("withdrawalsRoot") else None),
        ("blob_gas_used", _opt(block, "blobGasUsed")), ("excess_blob_gas", _opt(block, "excessBlobGas")),
        ("parent_beacon_block_root", hb(block["parentBeaconBlockRoot"]) if block.get("parentBeaconBlockRoot") else None),
        ("requests_hash", hb(block["requestsHash"]) if block.get("requestsHash") else None),
        ("transaction_count", len(txs)), ("header_rlp", h_rlp),
    ):  # fmt: skip
        c[col].append(v)

    t = rows.cols["transactions"]
    for i, tx in enumerate(txs):
        typ = hi(tx.get("type", "0x0"))
        t["block_number"].append(n), t["tx_index"].append(i), t["hash"].append(hashes[i])
        t["type"].append(typ), t["from"].append(hb(tx["from"])), t["to"].append(hb(tx["to"]) if tx.get("to") else None)
        t["value"].append(str(hi(tx["value"]))), t["nonce"].append(hi(tx["nonce"])), t["gas"].append(hi(tx["gas"]))
        t["gas_price"].append(_s(_opt(tx, "gasPrice")) if typ in (0, 1) else None)
        t["max_fee_per_gas"].append(_s(_opt(tx, "maxFeePerGas")))
        t["max_priority_fee_per_gas"].append(_s(_opt(tx, "maxPriorityFeePerGas")))
        t["max_fee_per_blob_gas"].append(_s(_opt(tx, "maxFeePerBlobGas")))
        t["chain_id"].append(_opt(tx, "chainId") if typ else None)
        t["input"].append(hb(tx["input"])), t["raw"].append(raws[i])

    if receipts is not None:
        rc, lg = rows.cols["receipts"], rows.cols["logs"]
        log_index = 0
        for i, r in enumerate(receipts):
            status = r.get("status")
            rc["block_number"].append(n), rc["tx_index"].append(i), rc["tx_hash"].append(hashes[i])
            rc["type"].append(hi(r.get("type", "0x0")))
            rc["status"].append(hi(status) if status is not None else None)
            rc["post_state"].append(hb(r["root"]) if status is None and r.get("root") else None)
            rc["gas_used"].append(gas_used[i]), rc["cumulative_gas_used"].append(hi(r["cumulativeGasUsed"]))
            rc["effective_gas_price"].append(_s(_opt(r, "effectiveGasPrice")))
            rc["contract_address"].append(hb(r["contractAddress"]) if r.get("contractAddress") else None)
            rc["logs_bloom"].append(hb(r["logsBloom"])), rc["log_count"].append(len(logs_per[i]))
            rc["raw"].append(consensus[i])
            for address, topics, data in logs_per[i]:
                lg["block_number"].append(n), lg["tx_index"].append(i), lg["log_index"].append(log_index)
                lg["address"].append(address)
                for k in range(4):
                    lg[f"topic{k}"].append(topics[k] if k < len(topics) else None)
                lg["data"].append(data)
                log_index += 1

    w = rows.cols["withdrawals"]
    for pos, (idx, vidx, addr, amount) in enumerate(wd_items):
        w["block_number"].append(n), w["position"].append(pos), w["index"].append(idx)
        w["validator_index"].append(vidx), w["address"].append(addr), w["amount_gwei"].append(amount)

    for acct_row, storage_rows in state:
        add_state_rows(rows, acct_row, storage_rows)

    if rows.first is None:
        rows.first, rows.parent_hash = n, parent
    rows.last, rows.last_hash = n, bhash
    rows.blocks += 1
    return bhash
