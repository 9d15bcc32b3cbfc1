"""The DuckDB index (layer 1): schema, atomic batch writes with the checkpoint, rollback.

The only module that imports duckdb; duckdb errors become `StoreError` here.
One connection per index: writes go through it, one at a time; each reading thread reads
through a cursor of its own (see `Store`), so readers neither wait for the writer nor for
each other.

uint256 values (wei amounts, balances, storage words, fee caps, difficulty)
are DuckDB `BIGNUM` (arbitrary precision integer; `VARINT` is its alias).
In DuckDB 2.0 SUM, MIN, MAX, comparisons, ORDER BY, `+` and `-` on BIGNUM
are exact at any size, so the SQL compiler can take SUM/MIN/MAX from DuckDB
as the expected result. `AVG`, `*`, `/` and `%` on BIGNUM return DOUBLE: an
exact average is `SUM(x)` (BIGNUM) and `COUNT(x)` combined by integer
division outside DuckDB (Python or the guest), never DuckDB's AVG. Values
arrive as decimal text in Arrow (Arrow has no 256-bit integer) and are cast
to BIGNUM in the INSERT; Python reads them back as decimal `str`.

Byte strings (hashes, addresses, topics, calldata, raw RLP) are BLOB.
Quantities that consensus bounds to 64 bits (gas, nonce, timestamp, block
numbers, indices) are UBIGINT.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from coprocessor.errors import InternalError, StoreError, StoreLockedError

DEFAULT_DB = "coprocessor.duckdb"
SCHEMA_VERSION = 1
CLOSE_SECONDS = 5.0  # how long closing waits for an interrupted read to let go of its cursor

# (column, DuckDB type). BIGNUM columns travel as decimal strings in Arrow.
TABLES: dict[str, list[tuple[str, str]]] = {
    "blocks": [
        ("number", "UBIGINT"),
        ("hash", "BLOB"),
        ("parent_hash", "BLOB"),
        ("ommers_hash", "BLOB"),
        ("miner", "BLOB"),
        ("state_root", "BLOB"),
        ("transactions_root", "BLOB"),
        ("receipts_root", "BLOB"),
        ("logs_bloom", "BLOB"),
        ("difficulty", "BIGNUM"),
        ("gas_limit", "UBIGINT"),
        ("gas_used", "UBIGINT"),
        ("timestamp", "UBIGINT"),
        ("extra_data", "BLOB"),
        ("mix_hash", "BLOB"),
        ("nonce", "BLOB"),
        ("base_fee_per_gas", "BIGNUM"),
        ("withdrawals_root", "BLOB"),
        ("blob_gas_used", "UBIGINT"),
        ("excess_blob_gas", "UBIGINT"),
        ("parent_beacon_block_root", "BLOB"),
        ("requests_hash", "BLOB"),
        ("transaction_count", "UINTEGER"),
        ("header_rlp", "BLOB"),
    ],
    "transactions": [
        ("block_number", "UBIGINT"),
        ("tx_index", "UINTEGER"),
        ("hash", "BLOB"),
        ("type", "UTINYINT"),
        ("from", "BLOB"),
        ("to", "BLOB"),
        ("value", "BIGNUM"),
        ("nonce", "UBIGINT"),
        ("gas", "UBIGINT"),
        ("gas_price", "BIGNUM"),
        ("max_fee_per_gas", "BIGNUM"),
        ("max_priority_fee_per_gas", "BIGNUM"),
        ("max_fee_per_blob_gas", "BIGNUM"),
        ("chain_id", "UBIGINT"),
        ("input", "BLOB"),
        ("raw", "BLOB"),
    ],
    "receipts": [
        ("block_number", "UBIGINT"),
        ("tx_index", "UINTEGER"),
        ("tx_hash", "BLOB"),
        ("type", "UTINYINT"),
        ("status", "UTINYINT"),
        ("post_state", "BLOB"),
        ("gas_used", "UBIGINT"),
        ("cumulative_gas_used", "UBIGINT"),
        ("effective_gas_price", "BIGNUM"),
        ("contract_address", "BLOB"),
        ("logs_bloom", "BLOB"),
        ("log_count", "UINTEGER"),
        ("raw", "BLOB"),
    ],
    "logs": [
        ("block_number", "UBIGINT"),
        ("tx_index", "UINTEGER"),
        ("log_index", "UINTEGER"),
        ("address", "BLOB"),
        ("topic0", "BLOB"),
        ("topic1", "BLOB"),
        ("topic2", "BLOB"),
        ("topic3", "BLOB"),
        ("data", "BLOB"),
    ],
    "withdrawals": [
        ("block_number", "UBIGINT"),
        ("position", "UINTEGER"),
        ("index", "UBIGINT"),
        ("validator_index", "UBIGINT"),
        ("address", "BLOB"),
        ("amount_gwei", "UBIGINT"),
    ],
    "accounts": [
        ("block_number", "UBIGINT"),
        ("address", "BLOB"),
        ("exists", "BOOLEAN"),
        ("nonce", "UBIGINT"),
        ("balance", "BIGNUM"),
        ("storage_root", "BLOB"),
        ("code_hash", "BLOB"),
        ("proof", "BLOB[]"),
    ],
    "storage": [
        ("block_number", "UBIGINT"),
        ("address", "BLOB"),
        ("slot", "BLOB"),
        ("value", "BIGNUM"),
        ("proof", "BLOB[]"),
    ],
}
DATA_TABLES = tuple(TABLES)
KEYS = {
    "blocks": ("number",),
    "transactions": ("block_number", "tx_index"),
    "receipts": ("block_number", "tx_index"),
    "logs": ("block_number", "log_index"),
    "withdrawals": ("block_number", "position"),
    "accounts": ("block_number", "address"),
    "storage": ("block_number", "address", "slot"),
}
_ARROW = {
    "UBIGINT": pa.uint64(),
    "UINTEGER": pa.uint32(),
    "UTINYINT": pa.uint8(),
    "BLOB": pa.binary(),
    "BIGNUM": pa.string(),
    "BOOLEAN": pa.bool_(),
    "BLOB[]": pa.list_(pa.binary()),
}
ARROW_SCHEMAS = {t: pa.schema([(c, _ARROW[ty]) for c, ty in cols]) for t, cols in TABLES.items()}

_SYNC_STATE = """CREATE TABLE IF NOT EXISTS sync_state (
    id UTINYINT PRIMARY KEY, schema_version UINTEGER, chain_id UBIGINT,
    first_block UBIGINT, last_block UBIGINT, last_hash BLOB, updated_at TIMESTAMPTZ)"""


def _one(con, query: str, params=()) -> tuple | None:
    """First row of a query, consuming the whole result (DuckDB 2 refuses new work otherwise)."""
    rows = con.execute(query, list(params)).fetchall()
    return rows[0] if rows else None


def _close_cursor(cursor: duckdb.DuckDBPyConnection) -> None:
    """Closes a cursor. DuckDB refuses to close one that is running a query (another thread's):
    that query is interrupted, and the close retried, for up to CLOSE_SECONDS."""
    deadline = time.monotonic() + CLOSE_SECONDS
    while True:
        try:
            cursor.close()
            return
        except duckdb.Error as exc:
            if time.monotonic() > deadline:
                raise StoreError(f"cannot close a read cursor: {exc}") from exc
            cursor.interrupt()
            time.sleep(0.01)


def _q(name: str) -> str:
    return '"' + name + '"'


def _block_col(table: str) -> str:
    return "number" if table == "blocks" else "block_number"


@dataclass(frozen=True)
class Checkpoint:
    chain_id: int
    first_block: int
    last_block: int
    last_hash: bytes


class Store:
    """One DuckDB file (or ":memory:") behind one connection, shared by threads.

    Writes go through that connection, serialised by a lock; each is one transaction. Reads go
    through a cursor of the reading thread's own (DuckDB's way to use one connection from
    several threads: `con.cursor()` is a further connection to the same database), so they run
    concurrently with each other and with a write, and see only committed data. A cursor lives
    as long as its thread; `close` closes every cursor and the connection.
    """

    def __init__(self, path: str | Path = DEFAULT_DB, *, read_only: bool = False):
        self.path = str(path)
        self._lock = threading.RLock()  # the writer's: the connection and the cursor registry
        self._reader = threading.local()
        self._cursors: dict[threading.Thread, duckdb.DuckDBPyConnection] = {}
        self._closed = False
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
            if not read_only:
                self._create()
        except duckdb.Error as exc:
            cls = StoreLockedError if "lock" in str(exc).lower() else StoreError
            raise cls(f"cannot open DuckDB index {self.path}: {exc}") from exc
        self._check_version()

    def close(self) -> None:
        """Closes every thread's cursor, then the connection, once a write in progress ends; a
        read in progress is interrupted (its thread gets a StoreError). Idempotent."""
        with self._lock:
            self._closed = True
            while self._cursors:
                _close_cursor(self._cursors.popitem()[1])
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _create(self) -> None:
        for table, cols in TABLES.items():
            body = ", ".join(f"{_q(c)} {t}" for c, t in cols)
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        self.con.execute(_SYNC_STATE)

    def _check_version(self) -> None:
        row = _one(self.con, "SELECT schema_version FROM sync_state WHERE id = 1")
        if row and row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}, this build writes "
                f"{SCHEMA_VERSION}: re-index into a new file"
            )

    # --- reads ------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's read cursor, opened on its first read."""
        cursor = getattr(self._reader, "cursor", None)
        if cursor is None:
            cursor = self._open_cursor()
        return cursor

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread, made under the lock (the connection is not thread-safe);
        the cursors of threads that have ended are closed on the way."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the index is closed")
            for thread in [t for t in self._cursors if not t.is_alive()]:
                _close_cursor(self._cursors.pop(thread))
            try:
                cursor = self.con.cursor()
            except duckdb.Error as exc:
                raise StoreError(f"cannot open a read cursor on {self.path}: {exc}") from exc
            self._cursors[threading.current_thread()] = cursor
        self._reader.cursor = cursor
        return cursor

    def sql(self, query: str, params: Sequence | None = None) -> list[tuple]:
        try:
            return self._cursor().execute(query, params or []).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def arrow(self, query: str, params: Sequence | None = None) -> pa.Table:
        try:
            return self._cursor().sql(query, params=params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def checkpoint(self) -> Checkpoint | None:
        row = self.sql(
            "SELECT chain_id, first_block, last_block, last_hash FROM sync_state WHERE id = 1"
        )
        return Checkpoint(row[0][0], row[0][1], row[0][2], row[0][3]) if row else None

    def indexed_checkpoint(self) -> Checkpoint:
        """The checkpoint of an index that holds blocks (StoreError when it holds none)."""
        cp = self.checkpoint()
        if cp is None:
            raise StoreError(f"{self.path}: the index holds no blocks yet")
        return cp

    def block_hash(self, number: int) -> bytes | None:
        row = self.sql("SELECT hash FROM blocks WHERE number = ?", [number])
        return row[0][0] if row else None

    def block_hashes(self, first: int, last: int) -> dict[int, bytes]:
        return dict(
            self.sql("SELECT number, hash FROM blocks WHERE number BETWEEN ? AND ?", [first, last])
        )

    def counts(self) -> dict[str, int]:
        return {t: self.sql(f"SELECT count(*) FROM {t}")[0][0] for t in DATA_TABLES}

    def export_select(self, table: str) -> str:
        """A SELECT of `table` with BIGNUM columns as decimal text (Parquet has no uint256)."""
        if table not in TABLES and table != "sync_state":
            raise StoreError(f"no table {table!r}")
        if table == "sync_state":
            return "SELECT * FROM sync_state"
        cols = ", ".join(
            f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" if t == "BIGNUM" else _q(c)
            for c, t in TABLES[table]
        )
        order = ", ".join(_q(k) for k in KEYS[table])
        return f"SELECT {cols} FROM {table} ORDER BY {order}"

    # --- writes -----------------------------------------------------------------------

    def _insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        name = f"_in_{table}"
        self.con.register(name, data)
        try:
            cols = ", ".join(
                f"CAST({_q(c)} AS BIGNUM)" if t == "BIGNUM" else _q(c) for c, t in TABLES[table]
            )
            self.con.execute(f"INSERT INTO {table} SELECT {cols} FROM {name}")
        finally:
            self.con.unregister(name)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """One DuckDB transaction under the store's lock: committed on success,
        rolled back on any exception; DuckDB errors become StoreError."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException as exc:
                try:
                    self.con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                if isinstance(exc, duckdb.Error):
                    raise StoreError(f"{what} failed: {exc}") from exc
                raise
            self.con.execute("COMMIT")

    def write_batch(
        self, tables: dict[str, pa.Table], *, chain_id: int, first: int, last: int, last_hash: bytes
    ) -> None:
        """Appends blocks first..last and moves the checkpoint to `last`, in one transaction.

        The batch must start right after the checkpoint (or the checkpoint must be
        absent): a gap or an overlap is refused, so no block is stored twice.
        """
        with self._transaction(f"writing blocks {first}..{last}"):
            row = _one(self.con, "SELECT chain_id, last_block FROM sync_state WHERE id = 1")
            if row is not None:
                if row[0] != chain_id:
                    raise StoreError(f"{self.path} indexes chain {row[0]}, not {chain_id}")
                if first != row[1] + 1:
                    raise InternalError(
                        f"batch {first}..{last} does not follow checkpoint {row[1]}"
                    )
            for table, data in tables.items():
                self._insert(table, data)
            if row is None:
                self.con.execute(
                    "INSERT INTO sync_state VALUES (1, ?, ?, ?, ?, ?, now())",
                    [SCHEMA_VERSION, chain_id, first, last, last_hash],
                )
            else:
                self.con.execute(
                    "UPDATE sync_state SET last_block = ?, last_hash = ?, "
                    "updated_at = now() WHERE id = 1",
                    [last, last_hash],
                )

    def rollback_to(self, ancestor: int) -> int:
        """Deletes every row above block `ancestor` and moves the checkpoint there (one
        transaction).

        Returns the number of blocks removed.
        """
        with self._transaction(f"rollback to {ancestor}"):
            cp = _one(self.con, "SELECT first_block, last_block FROM sync_state WHERE id = 1")
            if cp is None or ancestor >= cp[1]:
                return 0
            if ancestor < cp[0]:
                raise StoreError(f"cannot roll back below the first indexed block {cp[0]}")
            for table in DATA_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE {_block_col(table)} > ?", [ancestor])
            h = _one(self.con, "SELECT hash FROM blocks WHERE number = ?", [ancestor])
            if h is None:
                raise StoreError(f"rollback: block {ancestor} is not in the index")
            self.con.execute(
                "UPDATE sync_state SET last_block = ?, last_hash = ?, "
                "updated_at = now() WHERE id = 1",
                [ancestor, h[0]],
            )
            return cp[1] - ancestor

    def upsert_state(self, accounts: pa.Table, storage: pa.Table) -> None:
        """Adds on-demand account/storage rows (verified by the caller), replacing equal keys."""
        with self._transaction("storing state"):
            for table, data in (("accounts", accounts), ("storage", storage)):
                if data.num_rows == 0:
                    continue
                keys = KEYS[table]
                self.con.register("_keys", data.select(list(keys)))
                cond = " AND ".join(f"t.{_q(k)} = k.{_q(k)}" for k in keys)
                self.con.execute(
                    f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM _keys k WHERE {cond})"
                )
                self.con.unregister("_keys")
                self._insert(table, data)


def empty_tables() -> dict[str, pa.Table]:
    return {t: ARROW_SCHEMAS[t].empty_table() for t in DATA_TABLES}


def arrow_table(table: str, columns: dict[str, list]) -> pa.Table:
    """An Arrow table of `table`'s schema from Python column lists (bulk, not row by row)."""
    schema = ARROW_SCHEMAS[table]
    try:
        return pa.table({f.name: pa.array(columns[f.name], f.type) for f in schema}, schema=schema)
    except (KeyError, pa.ArrowException) as exc:
        raise InternalError(f"building {table} rows: {exc}") from exc


def query_scratch_db(
    view: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple], query: str
) -> list[tuple]:
    """Runs `query` in a new scratch in-memory DuckDB (not the index) over `rows`, exposed as
    view `view`; the database is dropped afterwards.

    `columns` are (name, DuckDB type); a column typed BIGNUM or HUGEINT takes Python ints
    (passed as decimal text, cast in the view). The view also has `__scan`, the row's position.
    The query compiler's cross-check runs the user's SQL here (compiler/crosscheck.py).
    """
    data = {"__scan": pa.array(range(len(rows)), pa.uint64())}
    casts = ['"__scan"']
    for i, (name, typ) in enumerate(columns):
        values = [r[i] for r in rows]
        if typ in ("BIGNUM", "HUGEINT"):
            data[f"c{i}"] = pa.array([None if v is None else str(v) for v in values], pa.string())
        else:
            data[f"c{i}"] = pa.array(values, {"BLOB": pa.binary(), "BOOLEAN": pa.bool_()}[typ])
        casts.append(f"CAST(c{i} AS {typ}) AS {_q(name)}")
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            "SET error_on_division_by_zero = false"
        )  # NULL, so the filter rule holds (crosscheck.py)
        con.register("__rows", pa.table(data))
        con.execute(f"CREATE VIEW {_q(view)} AS SELECT {', '.join(casts)} FROM __rows")
        return con.execute(query).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {exc}") from exc
    finally:
        con.close()
