"""The provable tables and decoded event views the dialect queries (their column order is the
plan's column numbering: see PLAN.md).

Value types: UINT (uint256, exact), ADDRESS (20 bytes), BYTES32, BYTES (any length), BOOL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_hash.auto import keccak

from coprocessor.errors import CompileError, InternalError

UINT, ADDRESS, BYTES32, BYTES, BOOL = 1, 2, 3, 4, 5
TYPE_NAMES = {UINT: "uint256", ADDRESS: "address", BYTES32: "bytes32", BYTES: "bytes", BOOL: "bool"}

# source kinds (plan field `source[0]`)
SRC_BLOCKS, SRC_TRANSACTIONS, SRC_RECEIPTS, SRC_LOGS = 1, 2, 3, 4
SRC_EVENT, SRC_ACCOUNTS, SRC_STORAGE = 5, 6, 7
STATE_SOURCES = (SRC_ACCOUNTS, SRC_STORAGE)
LOG_SOURCES = (SRC_LOGS, SRC_EVENT)

# event parameter type codes (plan field `source[2][i][0]`)
EV_ADDRESS, EV_UINT, EV_BOOL, EV_BYTES32 = 1, 2, 3, 4


@dataclass(frozen=True)
class Column:
    name: str
    type: int
    db: str  # expression over the DuckDB row source (see source_rows.py)
    # event bytesN parameter: N (its value is the whole left-aligned 32-byte word)
    bytes_n: int = 32


@dataclass(frozen=True)
class EventParam:
    name: str
    kind: int  # EV_*
    bits: int  # uintN width / bytesN*8
    indexed: bool


@dataclass(frozen=True)
class Source:
    name: str
    kind: int
    columns: tuple[Column, ...]
    event: tuple[bytes, tuple[EventParam, ...]] | None = None  # (topic0, params) for SRC_EVENT
    contract_column: str = "address"

    def index(self, name: str) -> int | None:
        """The column a name in a query means (unquoted names fold to lower case; aliases
        such as blocks.number), or None."""
        for i, c in enumerate(self.columns):
            if c.name == name:
                return i
        folded = [i for i, c in enumerate(self.columns) if c.name.lower() == name.lower()]
        if len(folded) == 1 and name == name.lower():  # unquoted names fold to lower case
            return folded[0]
        return ALIASES.get((self.kind, name))

    def position(self, name: str) -> int:
        """The position of a column the compiler itself names (an InternalError if absent)."""
        for i, c in enumerate(self.columns):
            if c.name == name:
                return i
        raise InternalError(f"{self.name} has no column {name!r}")


def _cols(*spec: tuple[str, int, str]) -> tuple[Column, ...]:
    return tuple(Column(n, t, d) for n, t, d in spec)


BLOCKS = Source(
    "blocks",
    SRC_BLOCKS,
    _cols(
        ("block_number", UINT, "number"),
        ("hash", BYTES32, "hash"),
        ("parent_hash", BYTES32, "parent_hash"),
        ("miner", ADDRESS, "miner"),
        ("state_root", BYTES32, "state_root"),
        ("transactions_root", BYTES32, "transactions_root"),
        ("receipts_root", BYTES32, "receipts_root"),
        ("difficulty", UINT, "difficulty"),
        ("gas_limit", UINT, "gas_limit"),
        ("gas_used", UINT, "gas_used"),
        ("timestamp", UINT, "timestamp"),
        ("extra_data", BYTES, "extra_data"),
        ("mix_hash", BYTES32, "mix_hash"),
        ("base_fee_per_gas", UINT, "base_fee_per_gas"),
        ("withdrawals_root", BYTES32, "withdrawals_root"),
        ("blob_gas_used", UINT, "blob_gas_used"),
        ("excess_blob_gas", UINT, "excess_blob_gas"),
        ("parent_beacon_block_root", BYTES32, "parent_beacon_block_root"),
    ),
)
TRANSACTIONS = Source(
    "transactions",
    SRC_TRANSACTIONS,
    _cols(
        ("block_number", UINT, "t.block_number"),
        ("tx_index", UINT, "t.tx_index"),
        ("hash", BYTES32, "t.hash"),
        ("type", UINT, "t.type"),
        ("from", ADDRESS, 't."from"'),
        ("to", ADDRESS, 't."to"'),
        ("value", UINT, "t.value"),
        ("nonce", UINT, "t.nonce"),
        ("gas", UINT, "t.gas"),
        ("gas_price", UINT, "t.gas_price"),
        ("max_fee_per_gas", UINT, "t.max_fee_per_gas"),
        ("max_priority_fee_per_gas", UINT, "t.max_priority_fee_per_gas"),
        ("input", BYTES, "t.input"),
        ("status", UINT, "r.status"),
        ("gas_used", UINT, "r.gas_used"),
        ("cumulative_gas_used", UINT, "r.cumulative_gas_used"),
    ),
)
RECEIPTS = Source(
    "receipts",
    SRC_RECEIPTS,
    _cols(
        ("block_number", UINT, "block_number"),
        ("tx_index", UINT, "tx_index"),
        ("type", UINT, "type"),
        ("status", UINT, "status"),
        ("gas_used", UINT, "gas_used"),
        ("cumulative_gas_used", UINT, "cumulative_gas_used"),
        ("log_count", UINT, "log_count"),
    ),
)
LOGS = Source(
    "logs",
    SRC_LOGS,
    _cols(
        ("block_number", UINT, "block_number"),
        ("tx_index", UINT, "tx_index"),
        ("log_index", UINT, "log_index"),
        ("address", ADDRESS, "address"),
        ("topic0", BYTES32, "topic0"),
        ("topic1", BYTES32, "topic1"),
        ("topic2", BYTES32, "topic2"),
        ("topic3", BYTES32, "topic3"),
        ("data", BYTES, "data"),
    ),
)
ACCOUNTS = Source(
    "accounts",
    SRC_ACCOUNTS,
    _cols(
        ("block_number", UINT, "block_number"),
        ("address", ADDRESS, "address"),
        ("exists", BOOL, '"exists"'),
        ("nonce", UINT, "nonce"),
        ("balance", UINT, "balance"),
        ("storage_root", BYTES32, "storage_root"),
        ("code_hash", BYTES32, "code_hash"),
    ),
)
STORAGE = Source(
    "storage",
    SRC_STORAGE,
    _cols(
        ("block_number", UINT, "block_number"),
        ("address", ADDRESS, "address"),
        ("slot", BYTES32, "slot"),
        ("value", UINT, "value"),
    ),
)

ALIASES = {(SRC_BLOCKS, "number"): 0}

# Columns the compiler reads bloom keys and signer costs from (positions in PLAN.md's tables).
LOGS_ADDRESS = LOGS.position("address")
LOGS_TOPIC0 = LOGS.position("topic0")
TRANSACTIONS_FROM = TRANSACTIONS.position("from")  # recovered from the signature: costs cycles
# An event view starts block_number, tx_index, log_index, then the emitting contract: the
# contract is column 3, as `address` is in logs.
EVENT_PREFIX = ("block_number", "tx_index", "log_index")
EVENT_CONTRACT = len(EVENT_PREFIX)

_EV_TYPES = {"address": (EV_ADDRESS, 160), "bool": (EV_BOOL, 8)}
_SIG = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.S)


def _param_type(t: str) -> tuple[int, int]:
    if t in _EV_TYPES:
        return _EV_TYPES[t]
    m = re.fullmatch(r"uint(\d*)", t)
    if m:
        bits = int(m.group(1) or 256)
        if bits % 8 or not 8 <= bits <= 256:
            raise CompileError(f"bad integer width in {t!r}", token=t)
        return EV_UINT, bits
    m = re.fullmatch(r"bytes(\d+)", t)
    if m and 1 <= int(m.group(1)) <= 32:
        return EV_BYTES32, int(m.group(1)) * 8
    raise CompileError(
        f"event parameter type {t!r} is not supported (address, bool, uintN, bytesN)", token=t
    )


def event_view(name: str, signature: str, contract_column: str = "address") -> Source:
    """A decoded event view from `Name(type [indexed] name, ...)` (static types only)."""
    m = _SIG.match(signature)
    if not m:
        raise CompileError(f"not an event signature: {signature!r}", token=signature)
    ev_name, body = m.group(1), m.group(2).strip()
    params, canon = [], []
    for i, part in enumerate([p.strip() for p in body.split(",")] if body else []):
        words = part.split()
        if not words:
            raise CompileError(f"empty parameter in {signature!r}", token=signature)
        t, indexed = words[0], "indexed" in words[1:]
        rest = [w for w in words[1:] if w != "indexed"]
        pname = rest[0] if rest else f"arg{i}"
        kind, bits = _param_type(t)
        canon.append("uint256" if t == "uint" else t)
        params.append(EventParam(pname, kind, bits, indexed))
    if sum(p.indexed for p in params) > 3:
        raise CompileError(f"more than 3 indexed parameters in {signature!r}", token=signature)
    topic0 = keccak(f"{ev_name}({','.join(canon)})".encode())
    cols = [Column(name, UINT, name) for name in EVENT_PREFIX]
    cols.append(Column(contract_column, ADDRESS, "address"))
    for p in params:
        t = {EV_ADDRESS: ADDRESS, EV_UINT: UINT, EV_BOOL: BOOL, EV_BYTES32: BYTES32}[p.kind]
        cols.append(Column(p.name, t, "", p.bits // 8 if p.kind == EV_BYTES32 else 32))
    names = [c.name for c in cols]
    if len(set(names)) != len(names):
        raise CompileError(f"duplicate column names in event view {name}: {names}", token=signature)
    return Source(name, SRC_EVENT, tuple(cols), (topic0, tuple(params)), contract_column)


ERC20_TRANSFERS = event_view(
    "erc20_transfers", "Transfer(address indexed from, address indexed to, uint256 value)", "token"
)
ERC20_APPROVALS = event_view(
    "erc20_approvals",
    "Approval(address indexed owner, address indexed spender, uint256 value)",
    "token",
)

BUILTIN: dict[str, Source] = {
    s.name: s
    for s in (
        BLOCKS,
        TRANSACTIONS,
        RECEIPTS,
        LOGS,
        ACCOUNTS,
        STORAGE,
        ERC20_TRANSFERS,
        ERC20_APPROVALS,
    )
}


def mapping_slot(base: int | bytes, *keys: int | bytes) -> bytes:
    """Slot of a Solidity mapping entry: keccak(pad32(key) ‖ pad32(base)), applied once per key."""
    slot = base.rjust(32, b"\0") if isinstance(base, bytes) else base.to_bytes(32, "big")
    for key in keys:
        k = key.rjust(32, b"\0") if isinstance(key, bytes) else key.to_bytes(32, "big")
        slot = keccak(k + slot)
    return slot
