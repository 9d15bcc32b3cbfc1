"""One block from JSON-RPC objects to validated rows (no I/O).

`ingest_block` rebuilds the consensus bytes (encode.py), checks them with
`coprocessor.ethcore` (the guests' own rules), the tracked accounts' proofs with
proofs.py, and appends rows to a `Rows` collector (rows.py); on any failed check it
raises `InvalidBlockError(block, check)` before touching the collector, so nothing of a
bad block is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.errors import EthDataError, InvalidArgument, InvalidBlockError
from coprocessor.indexer import encode
from coprocessor.indexer.proofs import verify_proof
from coprocessor.indexer.rows import Rows, add_state_rows, bignum_text
from coprocessor.types import Tracked, hex_bytes, hex_int


def _optional_int(obj: dict, key: str) -> int | None:
    """A JSON-RPC quantity that may be absent (None)."""
    v = obj.get(key)
    return None if v is None else hex_int(v)


def ingest_block(
    rows: Rows,
    block: dict | None,
    receipts: list | None,
    *,
    number: int,
    proofs: Sequence[tuple[dict, Tracked]] = (),
    parent_hash: bytes | None = None,
    require_receipts: bool = True,
) -> bytes:
    """Validates one block (full transactions) with its receipts and proofs; appends its rows.

    Returns the block hash. `parent_hash`, when given, must equal the block's parentHash.
    """
    n = number
    if block is None:
        raise InvalidBlockError(n, "block_missing", "the node returned no block")
    header = _check_header(n, block, parent_hash)
    txs = _check_transactions(n, block)
    checked_receipts = None
    if receipts is not None:
        checked_receipts = _check_receipts(n, block, receipts, txs)
    elif require_receipts:
        raise InvalidBlockError(n, "receipts_missing", "the node returned no receipts")
    withdrawals = _check_withdrawals(n, block)
    state_root = hex_bytes(block["stateRoot"])
    state = [verify_proof(n, state_root, p, t.slots) for p, t in proofs]

    # every check passed: append rows
    _append_block(rows, n, block, header, len(txs.objects))
    _append_transactions(rows, n, txs)
    if checked_receipts is not None:
        _append_receipts(rows, n, txs.hashes, checked_receipts)
    _append_withdrawals(rows, n, withdrawals)
    for acct_row, storage_rows in state:
        add_state_rows(rows, acct_row, storage_rows)
    if rows.first is None:
        rows.first, rows.parent_hash = n, header.parent_hash
    rows.last, rows.last_hash = n, header.hash
    rows.blocks += 1
    return header.hash


@dataclass(frozen=True)
class _Header:
    rlp: bytes
    hash: bytes
    parent_hash: bytes


@dataclass(frozen=True)
class _Transactions:
    objects: list[dict]
    raws: list[bytes]
    hashes: list[bytes]


@dataclass(frozen=True)
class _Receipts:
    objects: list[dict]
    consensus: list[bytes]  # each receipt's consensus encoding
    logs: list[list[tuple[bytes, list[bytes], bytes]]]  # per receipt: (address, topics, data)
    gas_used: list[int]


def _check_header(n: int, block: dict, parent_hash: bytes | None) -> _Header:
    """The header re-encoded from the block's fields must hash to the block's hash."""
    if hex_int(block.get("number")) != n:
        raise InvalidBlockError(n, "block_number", f"asked for {n}, got {block.get('number')}")
    try:
        h_rlp = encode.header_rlp(block)
        info = ethcore.decode_header(h_rlp)
    except (EthDataError, InvalidArgument, KeyError) as exc:
        raise InvalidBlockError(n, "header_encoding", str(exc)) from exc
    bhash = hex_bytes(block["hash"])
    if info.hash != bhash or info.number != n:
        raise InvalidBlockError(
            n,
            "header_hash",
            f"header fields hash to 0x{info.hash.hex()}, node says {block['hash']}",
        )
    parent = hex_bytes(block["parentHash"])
    if parent_hash is not None and parent != parent_hash:
        raise InvalidBlockError(
            n, "parent_hash", f"parentHash {block['parentHash']} != 0x{parent_hash.hex()}"
        )
    return _Header(h_rlp, bhash, parent)


def _check_transactions(n: int, block: dict) -> _Transactions:
    """Each transaction re-encoded must hash to its hash, and all to transactionsRoot."""
    txs = block.get("transactions") or []
    raws, hashes = [], []
    for i, tx in enumerate(txs):
        if not isinstance(tx, dict):
            raise InvalidBlockError(
                n, "transactions", "the node returned hashes, not transaction objects"
            )
        try:
            raw = encode.raw_transaction(tx)
        except (InvalidArgument, KeyError) as exc:
            raise InvalidBlockError(n, "transaction_encoding", f"tx {i}: {exc}") from exc
        th = keccak(raw)
        if th != hex_bytes(tx["hash"]):
            raise InvalidBlockError(
                n, "transaction_hash", f"tx {i} {tx['hash']} re-encodes to 0x{th.hex()}"
            )
        raws.append(raw)
        hashes.append(th)
    try:
        troot = ethcore.transactions_root(raws)
    except EthDataError as exc:
        raise InvalidBlockError(n, "transactions_root", str(exc)) from exc
    if troot != hex_bytes(block["transactionsRoot"]):
        raise InvalidBlockError(
            n,
            "transactions_root",
            f"computed 0x{troot.hex()}, header has {block['transactionsRoot']}",
        )
    return _Transactions(txs, raws, hashes)


def _check_receipts(n: int, block: dict, receipts: list, txs: _Transactions) -> _Receipts:
    """One receipt per transaction, re-encoded to the header's receiptsRoot and logsBloom."""
    if len(receipts) != len(txs.objects):
        raise InvalidBlockError(
            n, "receipt_count", f"{len(receipts)} receipts for {len(txs.objects)} transactions"
        )
    out = _Receipts(receipts, [], [], [])
    prev_cum = 0
    for i, r in enumerate(receipts):
        if hex_bytes(r.get("transactionHash")) != txs.hashes[i]:
            raise InvalidBlockError(
                n, "receipt_tx_hash", f"receipt {i} is for {r.get('transactionHash')}"
            )
        # gasUsed is not in the consensus receipt: it must be the cumulative difference
        cum = hex_int(r["cumulativeGasUsed"])
        if r.get("gasUsed") is not None and hex_int(r["gasUsed"]) != cum - prev_cum:
            raise InvalidBlockError(
                n,
                "receipt_gas_used",
                f"receipt {i}: gasUsed {r['gasUsed']} != cumulative difference {cum - prev_cum}",
            )
        out.gas_used.append(cum - prev_cum)  # stored as derived: a node may omit gasUsed
        prev_cum = cum
        logs = encode.receipt_logs(r)
        out.logs.append(logs)
        out.consensus.append(encode.consensus_receipt(r, logs))
    try:
        rroot, bloom = ethcore.receipts_root(out.consensus)
    except EthDataError as exc:
        raise InvalidBlockError(n, "receipts_root", str(exc)) from exc
    if rroot != hex_bytes(block["receiptsRoot"]):
        raise InvalidBlockError(
            n, "receipts_root", f"computed 0x{rroot.hex()}, header has {block['receiptsRoot']}"
        )
    if bloom != hex_bytes(block["logsBloom"]):
        raise InvalidBlockError(
            n, "logs_bloom", "the receipts' blooms do not OR to the header's logsBloom"
        )
    return out


def _check_withdrawals(n: int, block: dict) -> list[tuple[int, int, bytes, int]]:
    """(index, validator index, address, amount in gwei) of each withdrawal, which together
    must give the header's withdrawalsRoot (none before Shanghai)."""
    if block.get("withdrawalsRoot") is None:
        return []
    wds = block.get("withdrawals")
    if wds is None:
        raise InvalidBlockError(
            n, "withdrawals_missing", "header has withdrawalsRoot, block has no withdrawals"
        )
    items = [
        (
            hex_int(w["index"]),
            hex_int(w["validatorIndex"]),
            hex_bytes(w["address"]),
            hex_int(w["amount"]),
        )
        for w in wds
    ]
    try:
        wroot = ethcore.withdrawals_root(items)
    except (EthDataError, InvalidArgument) as exc:
        raise InvalidBlockError(n, "withdrawals_root", str(exc)) from exc
    if wroot != hex_bytes(block["withdrawalsRoot"]):
        raise InvalidBlockError(
            n,
            "withdrawals_root",
            f"computed 0x{wroot.hex()}, header has {block['withdrawalsRoot']}",
        )
    return items


def _optional_bytes(obj: dict, key: str) -> bytes | None:
    return hex_bytes(obj[key]) if obj.get(key) else None


def _append_block(rows: Rows, n: int, block: dict, header: _Header, transaction_count: int) -> None:
    values = {
        "number": n,
        "hash": header.hash,
        "parent_hash": header.parent_hash,
        "ommers_hash": hex_bytes(block["sha3Uncles"]),
        "miner": hex_bytes(block["miner"]),
        "state_root": hex_bytes(block["stateRoot"]),
        "transactions_root": hex_bytes(block["transactionsRoot"]),
        "receipts_root": hex_bytes(block["receiptsRoot"]),
        "logs_bloom": hex_bytes(block["logsBloom"]),
        "difficulty": bignum_text(hex_int(block["difficulty"])),
        "gas_limit": hex_int(block["gasLimit"]),
        "gas_used": hex_int(block["gasUsed"]),
        "timestamp": hex_int(block["timestamp"]),
        "extra_data": hex_bytes(block["extraData"]),
        "mix_hash": hex_bytes(block.get("mixHash")),
        "nonce": hex_bytes(block.get("nonce")),
        "base_fee_per_gas": bignum_text(_optional_int(block, "baseFeePerGas")),
        "withdrawals_root": _optional_bytes(block, "withdrawalsRoot"),
        "blob_gas_used": _optional_int(block, "blobGasUsed"),
        "excess_blob_gas": _optional_int(block, "excessBlobGas"),
        "parent_beacon_block_root": _optional_bytes(block, "parentBeaconBlockRoot"),
        "requests_hash": _optional_bytes(block, "requestsHash"),
        "transaction_count": transaction_count,
        "header_rlp": header.rlp,
    }
    columns = rows.cols["blocks"]
    for col, v in values.items():
        columns[col].append(v)


def _append_transactions(rows: Rows, n: int, txs: _Transactions) -> None:
    t = rows.cols["transactions"]
    for i, tx in enumerate(txs.objects):
        typ = hex_int(tx.get("type", "0x0"))
        values = {
            "block_number": n,
            "tx_index": i,
            "hash": txs.hashes[i],
            "type": typ,
            "from": hex_bytes(tx["from"]),
            "to": _optional_bytes(tx, "to"),
            "value": str(hex_int(tx["value"])),
            "nonce": hex_int(tx["nonce"]),
            "gas": hex_int(tx["gas"]),
            "gas_price": bignum_text(_optional_int(tx, "gasPrice")) if typ in (0, 1) else None,
            "max_fee_per_gas": bignum_text(_optional_int(tx, "maxFeePerGas")),
            "max_priority_fee_per_gas": bignum_text(_optional_int(tx, "maxPriorityFeePerGas")),
            "max_fee_per_blob_gas": bignum_text(_optional_int(tx, "maxFeePerBlobGas")),
            "chain_id": _optional_int(tx, "chainId") if typ else None,
            "input": hex_bytes(tx["input"]),
            "raw": txs.raws[i],
        }
        for col, v in values.items():
            t[col].append(v)


def _append_receipts(rows: Rows, n: int, tx_hashes: list[bytes], checked: _Receipts) -> None:
    rc, lg = rows.cols["receipts"], rows.cols["logs"]
    log_index = 0
    for i, r in enumerate(checked.objects):
        status = r.get("status")
        values = {
            "block_number": n,
            "tx_index": i,
            "tx_hash": tx_hashes[i],
            "type": hex_int(r.get("type", "0x0")),
            "status": hex_int(status) if status is not None else None,
            "post_state": hex_bytes(r["root"]) if status is None and r.get("root") else None,
            "gas_used": checked.gas_used[i],
            "cumulative_gas_used": hex_int(r["cumulativeGasUsed"]),
            "effective_gas_price": bignum_text(_optional_int(r, "effectiveGasPrice")),
            "contract_address": _optional_bytes(r, "contractAddress"),
            "logs_bloom": hex_bytes(r["logsBloom"]),
            "log_count": len(checked.logs[i]),
            "raw": checked.consensus[i],
        }
        for col, v in values.items():
            rc[col].append(v)
        for address, topics, data in checked.logs[i]:
            lg["block_number"].append(n)
            lg["tx_index"].append(i)
            lg["log_index"].append(log_index)
            lg["address"].append(address)
            for k in range(4):
                lg[f"topic{k}"].append(topics[k] if k < len(topics) else None)
            lg["data"].append(data)
            log_index += 1


def _append_withdrawals(rows: Rows, n: int, items: list[tuple[int, int, bytes, int]]) -> None:
    w = rows.cols["withdrawals"]
    for pos, (idx, vidx, addr, amount) in enumerate(items):
        w["block_number"].append(n)
        w["position"].append(pos)
        w["index"].append(idx)
        w["validator_index"].append(vidx)
        w["address"].append(addr)
        w["amount_gwei"].append(amount)
